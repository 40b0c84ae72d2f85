"""The demo's configuration: what the README promises a new user."""

from __future__ import annotations

import importlib
from pathlib import Path
import re
import sys
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from ixicare_simulator import IxicareSimulator
from ixicare_simulator.server import DEFAULT_TOKEN

from .conftest import SITE_UUID
from .helpers import entity_id, state_of, wait_for

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
demo_dashboard: Any = importlib.import_module("demo_dashboard")
demo_setup: Any = importlib.import_module("demo_setup")


class _Loader(yaml.SafeLoader):
    """Reads Home Assistant's `!include...` tags as plain strings."""


_Loader.add_multi_constructor(
    "!", lambda loader, suffix, node: f"!{suffix} {loader.construct_scalar(node)}"
)


def prepared(tmp_path: Path) -> dict[str, Any]:
    demo_setup.prepare(tmp_path, 8123)
    text = (tmp_path / "configuration.yaml").read_text("utf-8")
    loaded: dict[str, Any] = yaml.load(text, Loader=_Loader)
    return loaded


def test_only_this_machine_logs_in_without_a_password(tmp_path: Path) -> None:
    config = prepared(tmp_path)
    providers = config["homeassistant"]["auth_providers"]
    trusted, password = providers
    # First: the login page opens on it, and with one user it is skipped.
    assert trusted == {
        "type": "trusted_networks",
        "trusted_networks": ["127.0.0.1/32"],
        "allow_bypass_login": True,
    }
    assert password == {"type": "homeassistant"}
    assert config["http"]["server_host"] == "127.0.0.1"


def test_demo_automations_are_brought_up_to_date(tmp_path: Path) -> None:
    """A config directory from an older run gets the current demo automations."""
    own = {"id": "mine", "alias": "Mine", "triggers": [], "actions": []}
    old_lights = {
        **demo_setup.DEMO_AUTOMATIONS[0],
        "use_blueprint": {
            "path": "ixicare/lights_on_when_down.yaml",
            "input": {"lights": {"entity_id": "light.corridor"}},
        },
    }
    (tmp_path / "automations.yaml").write_text(
        yaml.safe_dump([own, old_lights]), "utf-8"
    )
    prepared(tmp_path)
    automations = yaml.safe_load((tmp_path / "automations.yaml").read_text("utf-8"))
    assert automations == [own, *demo_setup.DEMO_AUTOMATIONS]
    lights = automations[1]["use_blueprint"]["input"]
    assert lights["when_clear"] == "off"


def test_simulator_readme_token_is_the_demos() -> None:
    readme = (ROOT / "ixicare_simulator" / "README.md").read_text("utf-8")
    tokens = set(re.findall(rf"{demo_dashboard.DEMO_SITE}:([\w-]+)", readme))
    tokens |= set(re.findall(r"token `([\w-]+)`", readme))
    assert tokens == {demo_dashboard.DEMO_TOKEN}
    assert DEFAULT_TOKEN == demo_dashboard.DEMO_TOKEN
    # The main README names the same, and its "raise a fall yourself" names
    # the first resident (the one the demo's test below raises).
    main_readme = (ROOT / "README.md").read_text("utf-8")
    assert demo_dashboard.DEMO_TOKEN in main_readme
    assert re.findall(r'"mac": "([0-9A-F:]+)", "type": "MAN_DOWN"', main_readme) == [
        demo_dashboard.residents()[0].mac.upper()
    ]


@pytest.fixture
def blueprints(hass: HomeAssistant, tmp_path: Path) -> None:
    """Install the demo's configuration: blueprints and automations."""
    hass.config.config_dir = str(tmp_path)
    demo_setup.prepare(tmp_path, 8123)


@pytest.mark.usefixtures("blueprints")
async def test_raise_a_fall_yourself_turns_the_corridor_light_on(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> None:
    """The README's step, with the demo's own automations and light.

    The scenario's fall before it does not leave the light on.
    """
    from homeassistant.components import automation
    from homeassistant.setup import async_setup_component

    config = demo_setup.DEMO_LIGHT_CONFIG
    for domain in ("input_boolean", "input_number", "template"):
        assert await async_setup_component(hass, domain, {domain: config[domain]})
    automations = yaml.safe_load(
        (Path(hass.config.config_dir) / "automations.yaml").read_text("utf-8")
    )
    assert await async_setup_component(
        hass, automation.DOMAIN, {automation.DOMAIN: automations}
    )
    await hass.async_block_till_done()
    light = demo_setup.DEMO_LIGHT
    assert state_of(hass, light) == "off"
    first, other = simulator.make_devices(SITE_UUID, 2, seed=demo_dashboard.DEMO_SEED)
    for device in (first, other):
        await simulator.send_heartbeat(SITE_UUID, device.mac)
    coordinator = init_integration.runtime_data.coordinator
    await wait_for(hass, lambda: len(coordinator.state.devices) == 2)

    # The scenario: someone falls, and the fall is resolved.
    fall = await simulator.raise_alert(SITE_UUID, other.mac, "MAN_DOWN")
    await wait_for(hass, lambda: state_of(hass, light) == "on")
    await simulator.set_alert_status(SITE_UUID, fall, "RESOLVED")
    await wait_for(hass, lambda: state_of(hass, light) == "off")

    # The README's curl: the light visibly turns on.
    assert first.mac.upper() == demo_dashboard.residents()[0].mac.upper()
    await simulator.raise_alert(SITE_UUID, first.mac, "MAN_DOWN")
    await wait_for(hass, lambda: state_of(hass, light) == "on")
    man_down = entity_id(hass, "binary_sensor", first.mac, "man_down")
    assert state_of(hass, man_down) == "on"
