"""What HACS and Home Assistant read: manifest, hacs.json, translations, icons, brand."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

from awesomeversion import AwesomeVersion
from homeassistant.const import __version__ as HA_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.helpers import translation
from homeassistant.loader import async_get_integration
from packaging.requirements import Requirement
from PIL import Image
import pytest
import yaml

from custom_components.ixicare.binary_sensor import (
    ALERT_SENSORS,
    CONNECTION_DESCRIPTION,
)
from custom_components.ixicare.const import DOMAIN, TRANSITIONS
from custom_components.ixicare.device_trigger import TRIGGER_TYPES
from custom_components.ixicare.sensor import (
    ACTIVE_ALERT_OPTIONS,
    ACTIVE_ALERTS_DESCRIPTION,
    DEVICE_SENSORS,
)

ROOT = Path(__file__).parents[1]
COMPONENT = ROOT / "custom_components" / DOMAIN


def load(name: str) -> Any:
    return json.loads((COMPONENT / name).read_text())


async def test_manifest_loads_as_home_assistant_reads_it(hass: HomeAssistant) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    manifest = integration.manifest
    assert integration.domain == DOMAIN == COMPONENT.name
    assert manifest["config_flow"] is True
    assert manifest["iot_class"] == "cloud_push"
    assert manifest["integration_type"] == "hub"
    assert AwesomeVersion(manifest["version"]).valid
    assert manifest["documentation"].startswith("https://")
    assert manifest["issue_tracker"].startswith("https://")
    assert manifest["codeowners"]
    assert not any(req.startswith("voluptuous") for req in manifest["requirements"])
    # Ranges, never exact pins: Home Assistant shares these packages with
    # other integrations (yalexs needs python-socketio>=5.11.3), and a pin
    # would make its installer replace the shared one. The versions the
    # tests run with are in each range.
    pinned = {
        Requirement(line).name: Requirement(line).specifier
        for line in (ROOT / "requirements_test.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for line in manifest["requirements"]:
        requirement = Requirement(line)
        (version,) = [spec.version for spec in pinned[requirement.name]]
        assert requirement.specifier.contains(version), line
        assert {spec.operator for spec in requirement.specifier} == {">=", "<"}
    assert set(load("manifest.json")) <= {
        "domain", "name", "codeowners", "config_flow", "dependencies", "documentation",
        "integration_type", "iot_class", "issue_tracker", "loggers", "quality_scale",
        "requirements", "version", "after_dependencies",
    }  # fmt: skip


def test_hacs_json() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert set(hacs) <= {
        "name", "content_in_root", "zip_release", "filename", "hide_default_branch",
        "country", "homeassistant", "hacs", "persistent_directory", "render_readme",
    }  # fmt: skip
    assert hacs["homeassistant"] == "2025.4.0"
    assert AwesomeVersion(hacs["homeassistant"]) <= AwesomeVersion(HA_VERSION)


def test_translations_are_complete_and_flat() -> None:
    strings = load("strings.json")
    assert load("translations/en.json") == strings
    text = json.dumps(strings)
    assert "[%key:" not in text
    entity = strings["entity"]
    for description in (*DEVICE_SENSORS, ACTIVE_ALERTS_DESCRIPTION):
        if description.translation_key:
            assert "name" in entity["sensor"][description.translation_key]
    assert set(entity["sensor"]["active_alert"]["state"]) == set(ACTIVE_ALERT_OPTIONS)
    for description in (*ALERT_SENSORS, CONNECTION_DESCRIPTION):
        assert description.translation_key in entity["binary_sensor"]
    event_states = entity["event"]["alert"]["state_attributes"]["event_type"]["state"]
    assert set(event_states) == set(TRANSITIONS)
    assert set(strings["device_automation"]["trigger_type"]) == set(TRIGGER_TYPES)
    services = yaml.safe_load((COMPONENT / "services.yaml").read_text())
    for service, spec in services.items():
        assert set(spec["fields"]) == set(strings["services"][service]["fields"])
    # Every translation key the code raises exists.
    code = "\n".join(p.read_text() for p in COMPONENT.rglob("*.py"))
    raised = re.findall(r'translation_domain=DOMAIN,\s*translation_key="(\w+)"', code)
    assert len(set(raised)) >= 8
    for key in set(raised):
        assert key in strings["exceptions"] or key in strings.get("issues", {}), key
    for error in set(re.findall(r'"base": "(\w+)"', code)):
        assert error in strings["config"]["error"], error


async def test_home_assistant_loads_the_translations(hass: HomeAssistant) -> None:
    names = await translation.async_get_translations(hass, "en", "entity", [DOMAIN])
    assert names[f"component.{DOMAIN}.entity.binary_sensor.man_down.name"] == "Man down"
    errors = await translation.async_get_translations(
        hass, "en", "exceptions", [DOMAIN]
    )
    assert (
        "{alert_id}" in errors[f"component.{DOMAIN}.exceptions.no_active_alert.message"]
    )


def test_icons_cover_entities_and_services() -> None:
    icons = load("icons.json")
    strings = load("strings.json")
    for platform, keys in strings["entity"].items():
        assert set(keys) <= set(icons["entity"][platform]), platform
    assert set(icons["services"]) == set(strings["services"])


@pytest.mark.parametrize(("name", "size"), [("icon.png", 256), ("icon@2x.png", 512)])
def test_brand_icons(name: str, size: int) -> None:
    with Image.open(COMPONENT / "brand" / name) as image:
        assert image.format == "PNG"
        assert image.size == (size, size)


def test_quality_scale_lists_every_rule_with_a_status() -> None:
    rules = yaml.safe_load((COMPONENT / "quality_scale.yaml").read_text())["rules"]
    assert len(rules) >= 50
    for name, rule in rules.items():
        assert rule["status"] in ("done", "exempt", "todo"), name
        if rule["status"] == "exempt":
            assert rule.get("comment"), name
