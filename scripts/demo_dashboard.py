"""The demo's devices and the example dashboard built from them.

The simulator creates its devices deterministically from a seed, so the
residents, their MAC addresses and so the entity ids Home Assistant gives them
are known in advance. This module holds the demo's constants (shared by
``scripts/develop``, ``scripts/screenshot`` and the tests) and writes
``dashboards/ixicare.yaml``:

    .venv/bin/python scripts/demo_dashboard.py           # rewrite the file
    .venv/bin/python scripts/demo_dashboard.py --check   # exit 1 if it is stale

Entity ids come from the device name when Home Assistant first sees a device.
The demo's devices are first seen through a heartbeat, which carries no
resident name, so they are named ``IXI <last 4 hex digits of the MAC>`` and
their entities ``sensor.ixi_c80a_battery`` and so on (the device is renamed
after its resident on the first alert; entity ids stay).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
import sys
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # type: ignore[import-untyped, unused-ignore]  # noqa: E402

from ixicare_simulator.server import (  # noqa: E402
    COMMON_ZONES,
    DEFAULT_SITE,
    DEFAULT_TOKEN,
    MODEL_IXI_PRO,
    IxicareSimulator,
)

DASHBOARD_FILE: Final = ROOT / "dashboards" / "ixicare.yaml"

# The demo site: the simulator's default site with a token of its own.
DEMO_SITE: Final = DEFAULT_SITE
DEMO_TOKEN: Final = DEFAULT_TOKEN  # the simulator's default, in its README too
# Seed 12 brings every alert type and an escalation within about 9 minutes of
# simulated time (ticks), whenever the demo's set-up steps in.
DEMO_SEED: Final = 12
DEMO_DEVICES: Final = 8
# The config entry's title is "ixicare" and the first 8 characters of the
# site UUID; the site's entities are named after it.
SITE_SLUG: Final = f"ixicare_{DEMO_SITE[:8]}"

ALERT_STATES: Final = ("man_down", "geofencing", "panic_button", "critical_battery")

# Entity key (end of the unique id) -> domain, for every entity of a device.
DEVICE_ENTITY_KEYS: Final[dict[str, str]] = {
    "battery": "sensor",
    "zone": "sensor",
    "floor": "sensor",
    "active_alert": "sensor",
    "last_update": "sensor",
    "phone_number": "sensor",
    "man_down": "binary_sensor",
    "geofencing": "binary_sensor",
    "panic_button": "binary_sensor",
    "critical_battery": "binary_sensor",
    "alert": "event",
    "location": "device_tracker",
    "accept_alert": "button",
    "resolve_alert": "button",
}

# The floors of the demo's care home (the simulator's), in the order shown.
# A resident is listed under the floor they are on now; one on none of them
# (outdoors, or not located yet) under "Elsewhere".
FLOORS: Final = tuple(COMMON_ZONES)
# States of the active alert sensor that mean "nothing to show".
QUIET: Final = ("none", "unknown", "unavailable")


@dataclass(frozen=True)
class DemoResident:
    """A resident of the demo and the device they wear."""

    mac: str
    name: str
    model: str
    floor: str
    zone: str

    @property
    def slug(self) -> str:
        """Return the object id prefix of the device's entities: ``ixi_c80a``."""
        return "ixi_" + self.mac.replace(":", "")[-4:].lower()

    @property
    def initials(self) -> str:
        """Return the resident's initials: ``OF`` for Odette Fontaine."""
        return "".join(word[0] for word in self.name.split() if word[:1].isupper())

    @property
    def gps(self) -> bool:
        """Return True for an IXI PRO (it has a GPS)."""
        return self.model == MODEL_IXI_PRO

    def entity_id(self, key: str) -> str:
        """Return the entity id of one of the device's entities."""
        return f"{DEVICE_ENTITY_KEYS[key]}.{self.slug}_{key}"


def residents(seed: int = DEMO_SEED, count: int = DEMO_DEVICES) -> list[DemoResident]:
    """Return the residents the simulator creates with this seed and count."""
    sim = IxicareSimulator(sites={DEMO_SITE: DEMO_TOKEN})
    return [
        DemoResident(
            mac=device.mac,
            name=device.name,
            model=device.model,
            floor=device.floor or "",
            zone=device.zone or "",
        )
        for device in sim.make_devices(DEMO_SITE, count, seed=seed)
    ]


def expected_entity_ids(
    seed: int = DEMO_SEED, count: int = DEMO_DEVICES
) -> dict[str, str]:
    """Return the entity id of each unique id of the demo's device entities.

    The tracker of a device without GPS does not exist and is left out.
    """
    ids: dict[str, str] = {}
    for resident in residents(seed, count):
        for key in DEVICE_ENTITY_KEYS:
            if key == "location" and not resident.gps:
                continue
            unique_id = f"{DEMO_SITE}_{resident.mac.lower()}_{key}"
            ids[unique_id] = resident.entity_id(key)
    return ids


def _state(entity: str, **test: Any) -> dict[str, Any]:
    """Return a conditional card's state condition."""
    return {"condition": "state", "entity": entity, **test}


def _press(button: str, *, confirm: str | None = None) -> dict[str, Any]:
    """Return a tap action that presses `button` (optionally after a question)."""
    action: dict[str, Any] = {
        "action": "perform-action",
        "perform_action": "button.press",
        "target": {"entity_id": button},
    }
    if confirm:
        action["confirmation"] = {"text": confirm}
    return action


def _help_card(resident: DemoResident) -> dict[str, Any]:
    """Return the card of a resident needing help: the alert, where, and buttons.

    Shown only while the resident's device has an active alert: a resolved
    alert leaves the list.
    """
    accept = resident.entity_id("accept_alert")
    resolve = resident.entity_id("resolve_alert")
    return {
        "type": "conditional",
        "conditions": [
            _state(resident.entity_id("active_alert"), state_not=list(QUIET))
        ],
        "card": {
            "type": "vertical-stack",
            "cards": [
                {
                    "type": "tile",
                    "entity": resident.entity_id("active_alert"),
                    "name": resident.name,
                    "color": "red",
                    "vertical": False,
                    "state_content": ["state", "status", "last-changed"],
                },
                {
                    "type": "tile",
                    "entity": resident.entity_id("zone"),
                    "name": "Where",
                    "color": "red",
                    "state_content": ["state", "floor"],
                },
                {
                    "type": "horizontal-stack",
                    "cards": [
                        {
                            "type": "tile",
                            "entity": accept,
                            "name": "Accept",
                            "icon": "mdi:account-check",
                            "color": "amber",
                            "hide_state": True,
                            "tap_action": _press(accept),
                            "icon_tap_action": _press(accept),
                        },
                        {
                            "type": "tile",
                            "entity": resolve,
                            "name": "Resolve",
                            "icon": "mdi:check-circle",
                            "color": "green",
                            "hide_state": True,
                            "tap_action": _press(
                                resolve, confirm=f"Resolve {resident.name}'s alert?"
                            ),
                            "icon_tap_action": _press(
                                resolve, confirm=f"Resolve {resident.name}'s alert?"
                            ),
                        },
                    ],
                },
            ],
        },
    }


def _floor_cards(resident: DemoResident, on_floor: dict[str, Any]) -> list[Any]:
    """Return the resident's cards in a floor's section.

    `on_floor` is the condition "the resident is on this floor now". A quiet
    resident is a grey tile with their zone; one with an active alert a red
    tile with the alert.
    """
    active_alert = resident.entity_id("active_alert")
    return [
        {
            "type": "conditional",
            "conditions": [on_floor, _state(active_alert, state=list(QUIET))],
            "card": {
                "type": "tile",
                "entity": resident.entity_id("zone"),
                "name": resident.name,
                "icon": "mdi:account",
                "color": "grey",
                "state_content": ["state", "last-changed"],
            },
        },
        {
            "type": "conditional",
            "conditions": [on_floor, _state(active_alert, state_not=list(QUIET))],
            "card": {
                "type": "tile",
                "entity": active_alert,
                "name": resident.name,
                "color": "red",
                "state_content": ["state", "status"],
            },
        },
    ]


def build_dashboard(seed: int = DEMO_SEED, count: int = DEMO_DEVICES) -> dict[str, Any]:
    """Return the dashboard (Lovelace YAML mode) for the demo's devices."""
    people = residents(seed, count)
    active_alerts = f"sensor.{SITE_SLUG}_active_alerts"
    help_section: dict[str, Any] = {
        "type": "grid",
        "cards": [
            {"type": "heading", "heading": "Needs help", "icon": "mdi:alarm-light"},
            {
                "type": "tile",
                "entity": f"binary_sensor.{SITE_SLUG}_connection",
                "name": "Connection",
            },
            {
                # Red while alerts are active; quiet, it is not shown.
                "type": "conditional",
                "conditions": [_state(active_alerts, state_not=["0", *QUIET[1:]])],
                # Half the section's width, as a tile outside a conditional.
                "grid_options": {"columns": 6},
                "card": {
                    "type": "tile",
                    "entity": active_alerts,
                    "name": "Active alerts",
                    "icon": "mdi:alarm-light",
                    "color": "red",
                },
            },
            {
                # Shown while no alert is active.
                "type": "conditional",
                "conditions": [_state(active_alerts, state="0")],
                "grid_options": {"columns": 6},
                "card": {
                    "type": "tile",
                    "entity": active_alerts,
                    "name": "Nobody needs help",
                    "icon": "mdi:check-circle",
                    "color": "green",
                    "state_content": "last-changed",
                },
            },
            *(_help_card(person) for person in people),
        ],
    }
    sections: list[dict[str, Any]] = [help_section]
    for floor in FLOORS:
        sections.append(
            {
                "type": "grid",
                "cards": [
                    {"type": "heading", "heading": floor, "icon": "mdi:floor-plan"},
                    *(
                        card
                        for person in people
                        for card in _floor_cards(
                            person, _state(person.entity_id("floor"), state=floor)
                        )
                    ),
                ],
            }
        )
    sections.append(
        {
            "type": "grid",
            "cards": [
                {"type": "heading", "heading": "Elsewhere", "icon": "mdi:map-marker"},
                *(
                    card
                    for person in people
                    for card in _floor_cards(
                        person,
                        _state(person.entity_id("floor"), state_not=list(FLOORS)),
                    )
                ),
                # The IXI PROs' last outdoor positions.
                {
                    "type": "map",
                    "entities": [
                        # The marker shows the name: the initials fit in it.
                        {
                            "entity": person.entity_id("location"),
                            "name": person.initials,
                        }
                        for person in people
                        if person.gps
                    ],
                    "default_zoom": 16,
                    "hours_to_show": 1,
                },
            ],
        }
    )
    return {
        "title": "Care home",
        "views": [
            {
                "title": "Residents",
                "path": "residents",
                "icon": "mdi:account-group",
                "type": "sections",
                "max_columns": 4,
                "sections": sections,
            }
        ],
    }


def dashboard_yaml(seed: int = DEMO_SEED, count: int = DEMO_DEVICES) -> str:
    """Return the text of ``dashboards/ixicare.yaml``."""
    header = (
        "# Example ixicare dashboard (built-in cards only), made for the demo of\n"
        f"# scripts/develop: simulator seed {seed}, {count} devices.\n"
        "# Generated by scripts/demo_dashboard.py; change that script, not this\n"
        "# file. For your own site, replace the entity ids (Settings > Devices &\n"
        "# services > ixicare lists them).\n"
    )
    body: str = yaml.safe_dump(
        build_dashboard(seed, count), sort_keys=False, allow_unicode=True, width=88
    )
    return header + body


def main(argv: list[str] | None = None) -> int:
    """Write the dashboard file, or check that it is up to date."""
    parser = argparse.ArgumentParser(description="Write dashboards/ixicare.yaml.")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the file is stale"
    )
    args = parser.parse_args(argv)
    text = dashboard_yaml()
    if args.check:
        current = (
            DASHBOARD_FILE.read_text(encoding="utf-8")
            if DASHBOARD_FILE.exists()
            else ""
        )
        if current != text:
            print(f"{DASHBOARD_FILE} is stale: run {Path(__file__).name}")
            return 1
        return 0
    DASHBOARD_FILE.parent.mkdir(parents=True, exist_ok=True)
    DASHBOARD_FILE.write_text(text, encoding="utf-8")
    print(f"Wrote {DASHBOARD_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
