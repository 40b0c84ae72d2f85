"""Best effort over the socket: an odd side field never costs an alert.

Every message goes from the simulator over loopback through the client, the
parser and the coordinator into Home Assistant.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ixicare.const import DOMAIN, EVENT_ALERT, STORAGE_VERSION
from ixicare_simulator import IxicareSimulator

from .client.test_parser import ALERT, HEARTBEAT
from .conftest import SITE_UUID
from .helpers import entity_id, state_of, wait_for

MAC = "00:02:04:06:08:0a"
YEARS_AHEAD = 10 * 365 * 86400.0


def alert_message(alert_id: str, alert_type: str, **changes: Any) -> dict[str, Any]:
    """The vendor's example alert, now, with another id and type."""
    message = copy.deepcopy(ALERT)
    now = time.time()
    message["device"]["last_update"] = now
    message["alert"].update(id=alert_id, type=alert_type, timestamp=now)
    for part in message["location"].values():
        part["last_update"] = now
    message.update(changes)
    return message


def heartbeat_message(**device: Any) -> dict[str, Any]:
    message = copy.deepcopy(HEARTBEAT)
    message["device"].update({"last_update": time.time(), **device})
    for part in message["location"].values():
        part["last_update"] = time.time()
    return message


async def test_man_down_with_odd_side_fields_is_announced_once(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """user null, battery 101, last_update in ms: the fall still goes through."""
    coordinator = init_integration.runtime_data.coordinator
    events = async_capture_events(hass, EVENT_ALERT)
    message = alert_message("7a1c0e52-5f1e-4a51-9d0e-2f3b4c5d6e7f", "MAN_DOWN")
    message["user"] = None
    message["device"]["battery_level"] = 101
    message["device"]["last_update"] = int(time.time() * 1000)
    await simulator.send_raw(SITE_UUID, "alerts", message)
    await wait_for(hass, lambda: len(events) == 1)
    man_down = entity_id(hass, "binary_sensor", MAC, "man_down")
    assert state_of(hass, man_down) == "on"
    assert events[0].data["transition"] == "raised"
    assert events[0].data["alert_type"] == "MAN_DOWN"
    # The same message again (a replay) announces nothing more.
    await simulator.send_raw(SITE_UUID, "alerts", message)
    await wait_for(hass, lambda: coordinator.stats.alerts == 2)
    assert len(events) == 1
    # The time in milliseconds was read as one; the battery left unknown.
    device = coordinator.state.devices[MAC]
    assert device.last_update is not None
    assert abs(device.last_update - time.time()) < 60
    assert state_of(hass, entity_id(hass, "sensor", MAC, "battery")) == "unknown"
    assert coordinator.stats.invalid == 0
    assert coordinator.stats.dropped_by_field == {
        "device.battery_level": 2,
        "user": 2,
    }
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )
    messages = diagnostics["site"]["messages"]
    assert messages["dropped"] == 4
    assert messages["dropped_by_field"] == {"device.battery_level": 2, "user": 2}
    # One warning (rate-limited) naming the fields.
    warnings = [r for r in caplog.records if "unusable field" in r.message]
    assert len(warnings) == 1
    assert "device.battery_level" in warnings[0].message
    assert "user" in warnings[0].message


async def test_alert_types_however_spelt_and_unknown(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> None:
    coordinator = init_integration.runtime_data.coordinator
    events = async_capture_events(hass, EVENT_ALERT)
    await simulator.send_raw(
        SITE_UUID,
        "alerts",
        alert_message("0d9e2c4b-1111-4a51-9d0e-2f3b4c5d6e7f", "FIRE_ALARM"),
    )
    await wait_for(hass, lambda: len(events) == 1)
    active_id = entity_id(hass, "sensor", MAC, "active_alert")
    active = hass.states.get(active_id)
    assert active is not None
    assert active.state == "other"
    assert active.attributes["alert_type"] == "FIRE_ALARM"
    assert "other" in active.attributes["options"]
    assert state_of(hass, entity_id(hass, "binary_sensor", MAC, "man_down")) == "off"
    # The vendor's document spells it with a space.
    await simulator.send_raw(
        SITE_UUID,
        "alerts",
        alert_message("0d9e2c4b-2222-4a51-9d0e-2f3b4c5d6e7f", "MAN DOWN"),
    )
    await wait_for(hass, lambda: len(events) == 2)
    assert events[1].data["alert_type"] == "MAN_DOWN"
    assert state_of(hass, entity_id(hass, "binary_sensor", MAC, "man_down")) == "on"
    assert state_of(hass, active_id) == "man_down"
    assert coordinator.stats.dropped == 0


async def test_a_heartbeat_from_the_future_does_not_freeze_the_device(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> None:
    coordinator = init_integration.runtime_data.coordinator
    await simulator.send_raw(
        SITE_UUID,
        "heartbeats",
        heartbeat_message(battery_level=40, last_update=time.time() + YEARS_AHEAD),
    )
    await wait_for(hass, lambda: coordinator.stats.heartbeats == 1)
    battery = entity_id(hass, "sensor", MAC, "battery")
    assert state_of(hass, battery) == "40.0"
    # The real heartbeat that follows is shown.
    await simulator.send_raw(
        SITE_UUID, "heartbeats", heartbeat_message(battery_level=77)
    )
    await wait_for(hass, lambda: state_of(hass, battery) == "77.0")
    assert coordinator.stats.dropped_by_field == {"device.last_update": 1}
    assert coordinator.state.devices[MAC].last_update is not None
    assert coordinator.state.devices[MAC].last_update <= time.time()


async def test_stored_future_times_are_repaired_at_load(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    simulator: IxicareSimulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A future time stored by an older version no longer freezes the device."""
    future = time.time() + YEARS_AHEAD
    hass_storage[f"{DOMAIN}.{mock_config_entry.entry_id}"] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": f"{DOMAIN}.{mock_config_entry.entry_id}",
        "data": {
            "devices": [{"mac": MAC, "battery_level": 20.0, "last_update": future}],
            "alerts": [],
            "ended": {},
        },
    }
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    battery = entity_id(hass, "sensor", MAC, "battery")
    assert state_of(hass, battery) == "20.0"
    await simulator.send_raw(
        SITE_UUID, "heartbeats", heartbeat_message(battery_level=66)
    )
    await wait_for(hass, lambda: state_of(hass, battery) == "66.0")
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()


async def test_numbers_beyond_a_float_are_dropped_not_raised(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    coordinator = init_integration.runtime_data.coordinator
    events = async_capture_events(hass, EVENT_ALERT)
    caplog.set_level(logging.DEBUG)
    await simulator.send_raw(
        SITE_UUID, "heartbeats", heartbeat_message(battery_level=10**400)
    )
    message = alert_message("0d9e2c4b-3333-4a51-9d0e-2f3b4c5d6e7f", "MAN_DOWN")
    message["alert"]["timestamp"] = 10**400
    message["device"]["last_update"] = -(10**400)
    message["location"]["outdoor"]["latitude"] = 10**400
    await simulator.send_raw(SITE_UUID, "alerts", message)
    await wait_for(hass, lambda: len(events) == 1)
    assert coordinator.stats.dropped_by_field == {
        "device.battery_level": 1,
        "alert.timestamp": 1,
        "device.last_update": 1,
        "location.outdoor.latitude": 1,
    }
    assert coordinator.stats.invalid == 0
    assert state_of(hass, entity_id(hass, "binary_sensor", MAC, "man_down")) == "on"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text


async def test_server_text_is_cut_and_cleaned(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> None:
    events = async_capture_events(hass, EVENT_ALERT)
    message = alert_message("0d9e2c4b-4444-4a51-9d0e-2f3b4c5d6e7f", "PANIC_BUTTON")
    message["user"]["name"] = "Eve\nERROR forged log line\x1b[0m"
    message["location"]["indoor"]["zone"] = "z" * 1_048_576
    await simulator.send_raw(SITE_UUID, "alerts", message)
    await wait_for(hass, lambda: len(events) == 1)
    assert events[0].data["resident"] == "Eve ERROR forged log line[0m"
    zone = state_of(hass, entity_id(hass, "sensor", MAC, "zone"))
    assert zone == "z" * 128
