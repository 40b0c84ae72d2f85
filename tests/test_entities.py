"""Device data, GPS tracker, freshness, availability, persistence and removal."""

from __future__ import annotations

from datetime import timedelta
import time
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.ixicare.const import DOMAIN
from ixicare_simulator import IxicareSimulator

from .conftest import SITE_UUID
from .helpers import entity_id, find_device, state_of, wait_for

CONNECTION = "binary_sensor.ixicare_8c1f2a3e_connection"


@pytest.fixture
async def devices(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> list[Any]:
    """Two devices the integration has seen."""
    sim_devices = simulator.make_devices(SITE_UUID, 2, seed=21)
    for device in sim_devices:
        await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=60)
    coordinator = init_integration.runtime_data.coordinator
    await wait_for(hass, lambda: len(coordinator.state.devices) == 2)
    return sim_devices


async def test_message_wakes_only_its_device_and_writes_only_changes(
    hass: HomeAssistant, simulator: IxicareSimulator, devices: list[Any]
) -> None:
    changed: list[str] = []

    @callback
    def record(event: Event) -> None:
        changed.append(event.data["entity_id"])

    unsub = hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    first, second = devices
    battery = entity_id(hass, "sensor", first.mac, "battery")
    await simulator.send_heartbeat(SITE_UUID, first.mac, battery_level=61)
    await wait_for(hass, lambda: state_of(hass, battery) == "61.0")
    # Only the battery sensor changed (the device data time has its own
    # sensor, disabled by default).
    assert changed == [battery]
    changed.clear()
    # A heartbeat with nothing new writes nothing.
    message = await simulator.send_heartbeat(SITE_UUID, second.mac)
    await simulator.send_raw(SITE_UUID, "heartbeats", message)
    await simulator.send_heartbeat(SITE_UUID, first.mac, battery_level=62)
    await wait_for(hass, lambda: state_of(hass, battery) == "62.0")
    assert all(e.startswith(("sensor.", "binary_sensor.")) for e in changed)
    assert changed == [battery]
    unsub()


async def test_older_data_never_overwrites_newer(
    hass: HomeAssistant, simulator: IxicareSimulator, devices: list[Any]
) -> None:
    device = devices[0]
    battery = entity_id(hass, "sensor", device.mac, "battery")
    zone = entity_id(hass, "sensor", device.mac, "zone")
    now = time.time()
    await simulator.send_heartbeat(
        SITE_UUID,
        device.mac,
        battery_level=50,
        device_last_update=now,
        zone="2.01 Lounge",
        floor="Floor 2",
        location_last_update=now,
    )
    await wait_for(hass, lambda: state_of(hass, zone) == "2.01 Lounge")
    # Old device data with a new location: only the location is taken.
    await simulator.send_heartbeat(
        SITE_UUID,
        device.mac,
        battery_level=99,
        device_last_update=now - 100,
        zone="2.02 Kitchen",
        location_last_update=now + 1,
    )
    await wait_for(hass, lambda: state_of(hass, zone) == "2.02 Kitchen")
    assert state_of(hass, battery) == "50.0"
    # New device data with an old location: only the device data is taken.
    await simulator.send_heartbeat(
        SITE_UUID,
        device.mac,
        battery_level=48,
        device_last_update=now + 2,
        zone="2.03 Garden",
        location_last_update=now - 50,
    )
    await wait_for(hass, lambda: state_of(hass, battery) == "48.0")
    assert state_of(hass, zone) == "2.02 Kitchen"


async def test_tracker_appears_with_the_first_outdoor_position(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    devices: list[Any],
    entity_registry: er.EntityRegistry,
) -> None:
    device = devices[0]
    unique_id = f"{SITE_UUID}_{device.mac.lower()}_location"
    assert (
        entity_registry.async_get_entity_id("device_tracker", DOMAIN, unique_id) is None
    )
    await simulator.send_heartbeat(SITE_UUID, device.mac, outdoor=(50.8503, 4.3517))
    await wait_for(
        hass,
        lambda: (
            entity_registry.async_get_entity_id("device_tracker", DOMAIN, unique_id)
            is not None
        ),
    )
    tracker = entity_id(hass, "device_tracker", device.mac, "location")
    state = hass.states.get(tracker)
    assert state is not None
    assert state.attributes["latitude"] == pytest.approx(50.8503)
    assert state.attributes["longitude"] == pytest.approx(4.3517)
    assert state.attributes["source_type"] == "gps"
    await simulator.send_heartbeat(SITE_UUID, device.mac, outdoor=(50.86, 4.36))
    await wait_for(
        hass,
        lambda: hass.states.get(tracker).attributes["latitude"] == pytest.approx(50.86),  # type: ignore[union-attr]
    )
    assert len(hass.states.async_entity_ids("device_tracker")) == 1


async def test_availability_follows_the_grace_period(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    devices: list[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    battery = entity_id(hass, "sensor", devices[0].mac, "battery")
    coordinator = init_integration.runtime_data.coordinator
    await simulator.stop()
    await wait_for(hass, lambda: state_of(hass, CONNECTION) == "off")
    assert state_of(hass, battery) == "60.0"
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=60))
    await hass.async_block_till_done()
    assert state_of(hass, battery) == "60.0"
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=121))
    await hass.async_block_till_done()
    assert state_of(hass, battery) == "unavailable"
    assert state_of(hass, CONNECTION) == "off"
    assert caplog.text.count("is unavailable: no connection for 120 seconds") == 1
    await simulator.start()
    await wait_for(hass, lambda: coordinator.client.connected, timeout=15)
    assert state_of(hass, battery) == "60.0"
    assert state_of(hass, CONNECTION) == "on"
    assert caplog.text.count("is connected again") == 1


async def test_short_reconnection_keeps_entities_available(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    devices: list[Any],
) -> None:
    battery = entity_id(hass, "sensor", devices[0].mac, "battery")
    unavailable: list[str] = []

    @callback
    def record(event: Event) -> None:
        new = event.data["new_state"]
        if new is not None and new.state == "unavailable":
            unavailable.append(event.data["entity_id"])

    unsub = hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    coordinator = init_integration.runtime_data.coordinator
    await simulator.restart()
    await wait_for(hass, lambda: coordinator.client.stats.connections == 2, timeout=15)
    assert state_of(hass, battery) == "60.0"
    assert unavailable == []
    unsub()


async def test_state_survives_a_restart(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    devices: list[Any],
) -> None:
    device = devices[0]
    alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "PANIC_BUTTON")
    panic = entity_id(hass, "binary_sensor", device.mac, "panic_button")
    await wait_for(hass, lambda: state_of(hass, panic) == "on")
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    # The server is gone when Home Assistant comes back: entities exist with
    # their last values and the alert stays active.
    await simulator.stop()
    await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.SETUP_RETRY
    coordinator_data = hass.data.get("ixicare")
    assert coordinator_data is None
    await simulator.start()
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, panic) == "on"
    assert state_of(hass, entity_id(hass, "sensor", device.mac, "battery")) == "60.0"
    assert (
        hass.states.get(panic).attributes["alert_id"] == alert_id  # type: ignore[union-attr]
    )
    await simulator.set_alert_status(SITE_UUID, alert_id, "RESOLVED")
    await wait_for(hass, lambda: state_of(hass, panic) == "off")


async def test_remove_device(
    hass: HomeAssistant,
    hass_ws_client: Any,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    devices: list[Any],
    device_registry: dr.DeviceRegistry,
) -> None:
    assert await async_setup_component(hass, "config", {})
    device = devices[0]
    mac = device.mac.lower()
    entry = find_device(hass, mac)
    assert entry is not None
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "config/device_registry/remove_config_entry",
            "config_entry_id": init_integration.entry_id,
            "device_id": entry.id,
        }
    )
    response = await client.receive_json()
    assert response["success"]
    await hass.async_block_till_done()
    assert find_device(hass, mac) is None
    coordinator = init_integration.runtime_data.coordinator
    assert mac not in coordinator.state.devices
    # The hub cannot be removed.
    hub = find_device(hass, SITE_UUID)
    assert hub is not None
    await client.send_json_auto_id(
        {
            "type": "config/device_registry/remove_config_entry",
            "config_entry_id": init_integration.entry_id,
            "device_id": hub.id,
        }
    )
    assert not (await client.receive_json())["success"]
    # It comes back when a new message names it.
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=10)
    await wait_for(
        hass,
        lambda: find_device(hass, mac) is not None,
    )
    battery = entity_id(hass, "sensor", mac, "battery")
    await wait_for(hass, lambda: state_of(hass, battery) == "10.0")
