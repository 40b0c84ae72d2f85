"""The example dashboard, built from the demo's devices.

Writes ``dashboards/ixicare.yaml`` from the residents of the demo
(``demo_site.py``, whose names are re-exported here for the tests):

    .venv/bin/python scripts/demo_dashboard.py           # rewrite the file
    .venv/bin/python scripts/demo_dashboard.py --check   # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys
from typing import Any, Final

from demo_site import (
    DASHBOARD_FILE,
    DEMO_DEVICES,
    DEMO_SEED,
    DEMO_SITE,
    DEMO_TOKEN,
    FLOORS,
    ROOT,
    SITE_SLUG,
    DemoResident,
    expected_entity_ids,
    residents,
)
import yaml  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "DASHBOARD_FILE",
    "DEMO_DEVICES",
    "DEMO_SEED",
    "DEMO_SITE",
    "DEMO_TOKEN",
    "FLOORS",
    "ROOT",
    "build_dashboard",
    "dashboard_yaml",
    "expected_entity_ids",
    "main",
    "residents",
]

# States of the active alert sensor that mean "nothing to show".
QUIET: Final = ("none", "unknown", "unavailable")


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
