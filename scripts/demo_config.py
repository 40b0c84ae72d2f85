"""The demo's settings, and ``prepare``: writing its configuration directory.

Run before Home Assistant starts (``demo_setup.py prepare``): writes
configuration.yaml, the custom component and dashboard links, the blueprints,
the demo automations, and the onboarding steps that are not the user's. Also
holds what every step of the demo shares: the demo user, the light, the
automations, ``log`` and ``DemoError``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import shutil
from typing import Any, Final

import demo_site as demo
import yaml  # type: ignore[import-untyped, unused-ignore]

ROOT: Final = demo.ROOT
DEMO_USER: Final = "demo"
DEMO_PASSWORD: Final = "demo-ixicare"  # noqa: S105 - the documented demo password
DEMO_NAME: Final = "Demo"
DASHBOARD_URL_PATH: Final = "care-home"
DEMO_LIGHT: Final = "light.corridor"
BLUEPRINT_DIR: Final = ROOT / "blueprints" / "automation" / "ixicare"
LIGHTS_AUTOMATION_ID: Final = "ixicare_demo_corridor_light"
NOTIFY_AUTOMATION_ID: Final = "ixicare_demo_notify_caregivers"
# The demo site is at the outdoor position of the protocol document.
HOME_LATITUDE: Final = 56.823279
HOME_LONGITUDE: Final = 22.162609
# The only network whose browsers log in without a password.
TRUSTED_NETWORK: Final = "127.0.0.1/32"

# A light the "lights on" blueprint can switch: a template light over two
# helpers, so no hardware and no network. The tests use the same one. It is
# configured under the `template:` key, the form both Home Assistant 2025.4 and
# 2026.11 accept (2026.11 refuses `light: - platform: template`); its name
# gives it the entity id light.corridor.
DEMO_LIGHT_CONFIG: Final[dict[str, Any]] = {
    "input_boolean": {"corridor_light_power": {"name": "Corridor light power"}},
    "input_number": {
        "corridor_light_level": {
            "name": "Corridor light level",
            "min": 0,
            "max": 255,
            "step": 1,
            "initial": 0,
        }
    },
    "template": [
        {
            "light": [
                {
                    "name": "Corridor",
                    "unique_id": "ixicare_demo_corridor_light",
                    "state": "{{ is_state('input_boolean.corridor_light_power', 'on') }}",
                    "level": "{{ states('input_number.corridor_light_level') | int(0) }}",
                    "turn_on": [
                        {
                            "action": "input_boolean.turn_on",
                            "target": {
                                "entity_id": "input_boolean.corridor_light_power"
                            },
                        }
                    ],
                    "turn_off": [
                        {
                            "action": "input_boolean.turn_off",
                            "target": {
                                "entity_id": "input_boolean.corridor_light_power"
                            },
                        }
                    ],
                    "set_level": [
                        {
                            "action": "input_number.set_value",
                            "target": {
                                "entity_id": "input_number.corridor_light_level"
                            },
                            "data": {"value": "{{ brightness }}"},
                        },
                        {
                            "action": "input_boolean.turn_on",
                            "target": {
                                "entity_id": "input_boolean.corridor_light_power"
                            },
                        },
                    ],
                }
            ]
        }
    ],
}

DEMO_AUTOMATIONS: Final[list[dict[str, Any]]] = [
    {
        "id": LIGHTS_AUTOMATION_ID,
        "alias": "Corridor light on when someone is down",
        "description": "ixicare demo: the lights_on_when_down blueprint.",
        "use_blueprint": {
            "path": "ixicare/lights_on_when_down.yaml",
            "input": {
                "alert_type": "MAN_DOWN",
                "lights": {"entity_id": DEMO_LIGHT},
                "brightness": 100,
                # Off again once nobody is down: the README's "raise a fall
                # yourself" then visibly turns it on.
                "when_clear": "off",
            },
        },
    },
    {
        "id": NOTIFY_AUTOMATION_ID,
        "alias": "Notify caregivers (demo: persistent notifications)",
        "description": (
            "ixicare demo: the notify_caregivers blueprint, sending to Home "
            "Assistant's own notifications as there is no phone here. Try its "
            "buttons by firing a mobile_app_notification_action event with "
            "action ACCEPT_<alert id> in Developer tools > Events."
        ),
        "use_blueprint": {
            "path": "ixicare/notify_caregivers.yaml",
            "input": {
                "notify_action": "notify.persistent_notification",
                "alert_types": ["MAN_DOWN", "GEOFENCING", "PANIC_BUTTON"],
            },
        },
    },
]

CONFIGURATION_YAML: Final = """\
# Written by scripts/develop on each run: changes here are lost. Put your own
# configuration in packages/*.yaml (each file is a package), which is kept.
homeassistant:
  name: ixicare demo
  latitude: {latitude}
  longitude: {longitude}
  elevation: 10
  radius: 100
  unit_system: metric
  currency: EUR
  country: LV
  time_zone: Europe/Riga
  language: en
  packages: !include_dir_named packages
  # A browser on this machine opens the demo without logging in (as the only
  # user, demo); any other address gets the login page. The demo only: never
  # put this in a real configuration reachable from a network.
  auth_providers:
    - type: trusted_networks
      trusted_networks:
        - {trusted_network}
      allow_bypass_login: true
    - type: homeassistant

# The parts of default_config the demo needs. Left out, as they need the
# network, Bluetooth, USB, a camera stack or packages the demo does not
# install: cloud, assist/conversation, bluetooth, dhcp, ssdp, usb, zeroconf,
# go2rtc, stream, mobile_app, homeassistant_alerts, energy, media_source.
frontend:
config:
api:
history:
logbook:
sun:
my:
webhook:
notify:

http:
  server_host: 127.0.0.1
  server_port: {ha_port}

logger:
  default: warning
  logs:
    custom_components.ixicare: debug
    homeassistant.components.automation: info
    # Nothing here uses a camera; its helper only regrets a missing system
    # library (libturbojpeg) when the template integration imports it.
    homeassistant.components.camera.img_util: critical

recorder:
  purge_keep_days: 3

lovelace:
  dashboards:
    {dashboard}:
      mode: yaml
      title: Care home
      icon: mdi:hospital-building
      show_in_sidebar: true
      filename: dashboards/ixicare.yaml

automation: !include automations.yaml
script: !include scripts.yaml
scene: !include scenes.yaml

# The demo light the "lights on when someone is down" automation switches.
{light}"""


def log(message: str) -> None:
    """Print a progress line."""
    print(f"    {message}", flush=True)


class DemoError(Exception):
    """The demo could not be set up or did not behave."""


# ---------------------------------------------------------------------------
# prepare: the configuration directory


def _link(link: Path, target: Path) -> None:
    """Make ``link`` a relative symlink to ``target`` (replacing what is there)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    relative = os.path.relpath(target, link.parent)
    if link.is_symlink() and os.readlink(link) == relative:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        shutil.rmtree(link)
    link.symlink_to(relative)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _ensure_automations(path: Path) -> None:
    """Add the demo automations to automations.yaml, keeping the others."""
    automations: list[Any] = []
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            log(f"{path} is not plain YAML ({err}); demo automations not added")
            return
        if isinstance(loaded, list):
            automations = loaded
        elif loaded is not None:
            log(f"{path} is not a list; demo automations not added")
            return
    # The demo's own automations are brought up to date; others are kept.
    demo_ids = {item["id"]: item for item in DEMO_AUTOMATIONS}
    current = [
        demo_ids.get(item.get("id"), item) if isinstance(item, dict) else item
        for item in automations
    ]
    ids = {item.get("id") for item in current if isinstance(item, dict)}
    current.extend(item for item in DEMO_AUTOMATIONS if item["id"] not in ids)
    if current == automations and path.exists():
        return
    automations = current
    path.write_text(
        yaml.safe_dump(automations, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )


def _mark_onboarding_steps(storage: Path) -> None:
    """Mark every onboarding step but the user's as done, on a new config.

    Home Assistant's core_config step starts the flows of met, radio_browser,
    google_translate and shopping_list, which need the network and packages
    the demo does not install; the location and units come from
    configuration.yaml instead. The user step is done through the onboarding
    API by ``setup``.
    """
    onboarding = storage / "onboarding"
    if onboarding.exists() or (storage / "auth").exists():
        return
    storage.mkdir(parents=True, exist_ok=True)
    onboarding.write_text(
        json.dumps(
            {
                "version": 4,
                "minor_version": 1,
                "key": "onboarding",
                "data": {"done": ["core_config", "analytics", "integration"]},
            },
            indent=2,
        ),
        encoding="utf-8",
    )


def prepare(config: Path, ha_port: int) -> None:
    """Write the configuration directory; changes nothing that is right."""
    config.mkdir(parents=True, exist_ok=True)
    (config / "packages").mkdir(exist_ok=True)
    light = yaml.safe_dump(DEMO_LIGHT_CONFIG, sort_keys=False, allow_unicode=True)
    _write_if_changed(
        config / "configuration.yaml",
        CONFIGURATION_YAML.format(
            latitude=HOME_LATITUDE,
            longitude=HOME_LONGITUDE,
            ha_port=ha_port,
            dashboard=DASHBOARD_URL_PATH,
            light=light,
            trusted_network=TRUSTED_NETWORK,
        ),
    )
    for name in ("scripts.yaml", "scenes.yaml"):
        if not (config / name).exists():
            (config / name).write_text("[]\n", encoding="utf-8")
    _ensure_automations(config / "automations.yaml")
    _link(
        config / "custom_components" / "ixicare",
        ROOT / "custom_components" / "ixicare",
    )
    _link(config / "dashboards" / "ixicare.yaml", demo.DASHBOARD_FILE)
    blueprints = config / "blueprints" / "automation" / "ixicare"
    blueprints.mkdir(parents=True, exist_ok=True)
    for source in sorted(BLUEPRINT_DIR.glob("*.yaml")):
        _write_if_changed(blueprints / source.name, source.read_text("utf-8"))
    _mark_onboarding_steps(config / ".storage")
