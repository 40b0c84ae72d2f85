"""Alerts: binary sensors, active alert, event entity, bus event, replays."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.ixicare.const import EVENT_ALERT
from ixicare_simulator import IxicareSimulator

from .conftest import SITE_UUID
from .helpers import entity_id, find_device, state_of, wait_for

ALERT_KEYS = ("man_down", "geofencing", "panic_button", "critical_battery")


@pytest.fixture
async def device(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> Any:
    """A resident's device the integration has seen."""
    sim_device = simulator.make_devices(SITE_UUID, 1, seed=7)[0]
    await simulator.send_heartbeat(SITE_UUID, sim_device.mac, battery_level=80)
    await wait_for(
        hass,
        lambda: (
            hass.states.async_entity_ids("binary_sensor")
            and len(hass.states.async_entity_ids("binary_sensor")) == 5
        ),
    )
    return sim_device


def alert_states(hass: HomeAssistant, mac: str) -> dict[str, str | None]:
    return {
        key: state_of(hass, entity_id(hass, "binary_sensor", mac, key))
        for key in ALERT_KEYS
    }


async def test_alert_life_cycle(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    device: Any,
    device_registry: dr.DeviceRegistry,
) -> None:
    events = async_capture_events(hass, EVENT_ALERT)
    mac = device.mac.lower()
    man_down = entity_id(hass, "binary_sensor", mac, "man_down")
    event_entity = entity_id(hass, "event", mac, "alert")
    active = entity_id(hass, "sensor", mac, "active_alert")
    count = "sensor.ixicare_8c1f2a3e_active_alerts"

    alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
    await wait_for(hass, lambda: state_of(hass, man_down) == "on")
    state = hass.states.get(man_down)
    assert state is not None
    assert state.attributes["alert_id"] == alert_id
    assert state.attributes["status"] == "OPEN"
    assert state.attributes["resident"] == device.name
    assert state.attributes["raised_at"]
    assert state.attributes["device_class"] == "safety"
    assert alert_states(hass, mac) == {
        "man_down": "on",
        "geofencing": "off",
        "panic_button": "off",
        "critical_battery": "off",
    }
    assert state_of(hass, active) == "man_down"
    assert state_of(hass, count) == "1"
    event_state = hass.states.get(event_entity)
    assert event_state is not None
    assert event_state.attributes["event_type"] == "raised"
    assert event_state.attributes["alert_id"] == alert_id
    assert event_state.attributes["alert_type"] == "MAN_DOWN"
    assert event_state.attributes["resident"] == device.name
    # The resident's name now names the device.
    entry = find_device(hass, mac)
    assert entry is not None
    assert entry.name == device.name

    assert len(events) == 1
    data = events[0].data
    assert data["config_entry_id"] == init_integration.entry_id
    assert data["site_uuid"] == SITE_UUID
    assert data["device_id"] == entry.id
    assert data["mac"] == mac
    assert data["alert_id"] == alert_id
    assert data["alert_type"] == "MAN_DOWN"
    assert data["previous_type"] is None
    assert data["status"] == "OPEN"
    assert data["previous_status"] is None
    assert data["resident"] == device.name
    assert data["transition"] == "raised"
    assert data["timestamp"] > 0

    await simulator.set_alert_status(SITE_UUID, alert_id, "ACCEPTED")
    await wait_for(hass, lambda: len(events) == 2)
    assert hass.states.get(man_down).attributes["status"] == "ACCEPTED"  # type: ignore[union-attr]
    assert events[1].data["transition"] == "accepted"
    assert events[1].data["previous_status"] == "OPEN"
    assert hass.states.get(event_entity).attributes["event_type"] == "accepted"  # type: ignore[union-attr]

    await simulator.set_alert_status(SITE_UUID, alert_id, "RESOLVED")
    await wait_for(hass, lambda: state_of(hass, man_down) == "off")
    assert events[2].data["transition"] == "resolved"
    assert events[2].data["status"] == "RESOLVED"
    assert state_of(hass, active) == "none"
    assert state_of(hass, count) == "0"
    assert len(events) == 3


async def test_escalation_moves_the_alert(
    hass: HomeAssistant, simulator: IxicareSimulator, device: Any
) -> None:
    events = async_capture_events(hass, EVENT_ALERT)
    mac = device.mac.lower()
    alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "PANIC_BUTTON")
    await wait_for(hass, lambda: alert_states(hass, mac)["panic_button"] == "on")
    await simulator.escalate_alert(SITE_UUID, alert_id, "MAN_DOWN")
    await wait_for(hass, lambda: alert_states(hass, mac)["man_down"] == "on")
    assert alert_states(hass, mac)["panic_button"] == "off"
    assert [e.data["transition"] for e in events] == ["raised", "escalated"]
    assert events[1].data["alert_id"] == alert_id
    assert events[1].data["previous_type"] == "PANIC_BUTTON"
    assert events[1].data["alert_type"] == "MAN_DOWN"
    man_down = hass.states.get(entity_id(hass, "binary_sensor", mac, "man_down"))
    assert man_down is not None
    assert man_down.attributes["alert_id"] == alert_id
    assert state_of(hass, "sensor.ixicare_8c1f2a3e_active_alerts") == "1"


async def test_most_critical_alert_wins(
    hass: HomeAssistant, simulator: IxicareSimulator, device: Any
) -> None:
    mac = device.mac.lower()
    active = entity_id(hass, "sensor", mac, "active_alert")
    low = await simulator.raise_alert(SITE_UUID, device.mac, "CRITICAL_BATTERY")
    await wait_for(hass, lambda: state_of(hass, active) == "critical_battery")
    high = await simulator.raise_alert(SITE_UUID, device.mac, "GEOFENCING")
    await wait_for(hass, lambda: state_of(hass, active) == "geofencing")
    state = hass.states.get(active)
    assert state is not None
    assert state.attributes["alert_id"] == high
    await simulator.set_alert_status(SITE_UUID, high, "CANCELLED")
    await wait_for(hass, lambda: state_of(hass, active) == "critical_battery")
    assert hass.states.get(active).attributes["alert_id"] == low  # type: ignore[union-attr]
    assert state_of(hass, "sensor.ixicare_8c1f2a3e_active_alerts") == "1"


async def test_replayed_events_fire_nothing(
    hass: HomeAssistant, simulator: IxicareSimulator, device: Any
) -> None:
    events = async_capture_events(hass, EVENT_ALERT)
    mac = device.mac.lower()
    event_entity = entity_id(hass, "event", mac, "alert")
    alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
    await wait_for(hass, lambda: len(events) == 1)
    fired_at = hass.states.get(event_entity).state  # type: ignore[union-attr]
    # The same event again, as a server replays it after a reconnection.
    event = simulator.alert_event(SITE_UUID, alert_id)
    for _ in range(3):
        await simulator.send_raw(SITE_UUID, "alerts", event)
    heartbeat_mark = await simulator.send_heartbeat(
        SITE_UUID, device.mac, battery_level=12
    )
    assert heartbeat_mark
    battery = entity_id(hass, "sensor", mac, "battery")
    await wait_for(hass, lambda: state_of(hass, battery) == "12.0")
    assert len(events) == 1
    assert hass.states.get(event_entity).state == fired_at  # type: ignore[union-attr]


async def test_final_alert_is_never_reopened(
    hass: HomeAssistant, simulator: IxicareSimulator, device: Any
) -> None:
    events = async_capture_events(hass, EVENT_ALERT)
    mac = device.mac.lower()
    alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "PANIC_BUTTON")
    opened = simulator.alert_event(SITE_UUID, alert_id)
    await simulator.set_alert_status(SITE_UUID, alert_id, "ACCEPTED")
    accepted = simulator.alert_event(SITE_UUID, alert_id)
    await simulator.set_alert_status(SITE_UUID, alert_id, "RESOLVED")
    await wait_for(hass, lambda: len(events) == 3)
    # Late and reordered copies of earlier states.
    await simulator.send_raw(SITE_UUID, "alerts", accepted)
    await simulator.send_raw(SITE_UUID, "alerts", opened)
    escalated = {**opened, "alert": {**opened["alert"], "type": "MAN_DOWN"}}
    await simulator.send_raw(SITE_UUID, "alerts", escalated)
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=33)
    battery = entity_id(hass, "sensor", mac, "battery")
    await wait_for(hass, lambda: state_of(hass, battery) == "33.0")
    assert alert_states(hass, mac)["panic_button"] == "off"
    assert alert_states(hass, mac)["man_down"] == "off"
    assert [e.data["transition"] for e in events] == ["raised", "accepted", "resolved"]


async def test_status_never_goes_back(
    hass: HomeAssistant, simulator: IxicareSimulator, device: Any
) -> None:
    events = async_capture_events(hass, EVENT_ALERT)
    mac = device.mac.lower()
    alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "GEOFENCING")
    opened = simulator.alert_event(SITE_UUID, alert_id)
    await simulator.set_alert_status(SITE_UUID, alert_id, "ACCEPTED")
    await wait_for(hass, lambda: len(events) == 2)
    await simulator.send_raw(SITE_UUID, "alerts", opened)
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=31)
    battery = entity_id(hass, "sensor", mac, "battery")
    await wait_for(hass, lambda: state_of(hass, battery) == "31.0")
    geofencing = hass.states.get(entity_id(hass, "binary_sensor", mac, "geofencing"))
    assert geofencing is not None
    assert geofencing.attributes["status"] == "ACCEPTED"
    assert len(events) == 2


async def test_unknown_alert_type_still_counts(
    hass: HomeAssistant, simulator: IxicareSimulator, device: Any
) -> None:
    events = async_capture_events(hass, EVENT_ALERT)
    mac = device.mac.lower()
    alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "PANIC_BUTTON")
    await wait_for(hass, lambda: len(events) == 1)
    await simulator.set_alert_status(SITE_UUID, alert_id, "CANCELLED")
    await wait_for(hass, lambda: len(events) == 2)
    event = simulator.alert_event(SITE_UUID, alert_id)
    unknown = {
        **event,
        "alert": {
            **event["alert"],
            "id": "5eb86f15-16be-49f8-9430-3b3ca0585819",
            "type": "FIRE_ALARM",
            "status": "OPEN",
        },
    }
    await simulator.send_raw(SITE_UUID, "alerts", unknown)
    await wait_for(hass, lambda: len(events) == 3)
    assert events[2].data["alert_type"] == "FIRE_ALARM"
    assert events[2].data["transition"] == "raised"
    assert state_of(hass, "sensor.ixicare_8c1f2a3e_active_alerts") == "1"
    active = hass.states.get(entity_id(hass, "sensor", mac, "active_alert"))
    assert active is not None
    # Shown as "other", the type it has in an attribute.
    assert active.state == "other"
    assert active.attributes["alert_type"] == "FIRE_ALARM"
    assert active.attributes["alert_id"] == "5eb86f15-16be-49f8-9430-3b3ca0585819"
    event_state = hass.states.get(entity_id(hass, "event", mac, "alert"))
    assert event_state is not None
    assert event_state.attributes["alert_type"] == "FIRE_ALARM"
    assert set(alert_states(hass, mac).values()) == {"off"}


async def test_alert_of_an_unknown_device_creates_it_named(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    sim_device = simulator.make_devices(SITE_UUID, 1, seed=11)[0]
    await simulator.raise_alert(SITE_UUID, sim_device.mac, "MAN_DOWN")
    mac = sim_device.mac.lower()
    await wait_for(
        hass,
        lambda: find_device(hass, mac) is not None,
    )
    await wait_for(
        hass,
        lambda: (
            state_of(hass, entity_id(hass, "binary_sensor", mac, "man_down")) == "on"
        ),
    )
    entry = find_device(hass, mac)
    assert entry is not None
    assert entry.name == sim_device.name


async def test_user_given_name_is_kept(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    device: Any,
    device_registry: dr.DeviceRegistry,
) -> None:
    mac = device.mac.lower()
    entry = find_device(hass, mac)
    assert entry is not None
    device_registry.async_update_device(entry.id, name_by_user="Room 12")
    events = async_capture_events(hass, EVENT_ALERT)
    await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
    await wait_for(hass, lambda: len(events) == 1)
    entry = device_registry.async_get(entry.id)
    assert entry is not None
    assert entry.name == device.name
    assert entry.name_by_user == "Room 12"
