"""SiteState tells which parts of a device a message changed."""

from __future__ import annotations

import copy
from typing import Any

from custom_components.ixicare.pyixicare import parse_alerts_message, parse_heartbeat
from custom_components.ixicare.pyixicare.state import (
    CHANGED_ALERTS,
    CHANGED_ALL,
    CHANGED_DATA,
    CHANGED_LOCATION,
    CHANGED_RESIDENT,
    SiteState,
)

from .test_parser import ALERT, HEARTBEAT


def heartbeat(**device: Any) -> Any:
    message = copy.deepcopy(HEARTBEAT)
    message["device"].update(device)
    return parse_heartbeat(message)


def test_changed_parts_of_heartbeats() -> None:
    state = SiteState()
    first = state.apply_heartbeat(heartbeat())
    assert first.new_device
    assert first.changed == CHANGED_ALL
    same = state.apply_heartbeat(heartbeat())
    assert (same.changed, same.device_changed) == (0, False)
    battery = state.apply_heartbeat(heartbeat(battery_level=50))
    assert (battery.changed, battery.device_changed) == (CHANGED_DATA, True)
    message = copy.deepcopy(HEARTBEAT)
    message["device"]["battery_level"] = 50
    message["location"]["indoor"]["zone"] = "1.17 Bedroom"
    moved = state.apply_heartbeat(parse_heartbeat(message))
    assert moved.changed == CHANGED_LOCATION
    # Older data changes nothing (device data and location are judged apart).
    message = copy.deepcopy(HEARTBEAT)
    message["device"].update(battery_level=10, last_update=1.0e9)
    for part in message["location"].values():
        part["last_update"] = 1.0e9
    older = state.apply_heartbeat(parse_heartbeat(message))
    assert older.changed == 0


def test_changed_parts_of_alerts() -> None:
    state = SiteState()
    state.apply_heartbeat(parse_heartbeat(copy.deepcopy(HEARTBEAT)))
    raised = state.apply_alert(parse_alerts_message(copy.deepcopy(ALERT)), 0.0)
    # The alert names the resident and raises the alert; device data and
    # location are those the heartbeat brought.
    assert raised.changed == CHANGED_ALERTS | CHANGED_RESIDENT
    replay = state.apply_alert(parse_alerts_message(copy.deepcopy(ALERT)), 0.0)
    assert (replay.changed, replay.device_changed) == (0, False)
    accepted = copy.deepcopy(ALERT)
    accepted["alert"]["status"] = "ACCEPTED"
    accepted["device"]["battery_level"] = 80
    update = state.apply_alert(parse_alerts_message(accepted), 0.0)
    assert update.changed == CHANGED_ALERTS | CHANGED_DATA
