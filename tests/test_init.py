"""Set-up, unload, devices appearing from messages, and persistence."""

from __future__ import annotations

import itertools
import threading
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.ixicare as integration
from custom_components.ixicare import compat, subscriptions as coordinator_module
from custom_components.ixicare.const import DOMAIN, STORAGE_VERSION
from custom_components.ixicare.subscriptions import DEVICES_PER_ITERATION
from ixicare_simulator import IxicareSimulator

from .conftest import SITE_UUID
from .helpers import LoopTurns, find_device, state_of, wait_for


async def test_setup_and_unload(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> None:
    assert init_integration.state is ConfigEntryState.LOADED
    assert state_of(hass, "binary_sensor.ixicare_8c1f2a3e_connection") == "on"
    assert state_of(hass, "sensor.ixicare_8c1f2a3e_active_alerts") == "0"
    assert simulator.connected_clients(SITE_UUID) == 1
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.NOT_LOADED
    await wait_for(hass, lambda: simulator.connected_clients(SITE_UUID) == 0)


async def test_entry_methods_return_what_the_running_release_expects(
    hass: HomeAssistant, simulator: IxicareSimulator, mock_config_entry: MockConfigEntry
) -> None:
    """2026.11 wants None from async_setup_entry/async_unload_entry (a bool is a
    deprecated use); up to 2026.10 anything but a bool is a failed set-up."""
    expected = None if compat.HA_VERSION >= (2026, 11) else True
    results: dict[str, object] = {}

    def spy(name: str) -> Any:
        method = getattr(integration, name)

        async def wrapper(*args: Any) -> Any:
            results[name] = await method(*args)
            return results[name]

        return wrapper

    mock_config_entry.add_to_hass(hass)
    with (
        patch.object(integration, "async_setup_entry", spy("async_setup_entry")),
        patch.object(integration, "async_unload_entry", spy("async_unload_entry")),
    ):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
        assert mock_config_entry.state is ConfigEntryState.LOADED
        assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED
    assert results == {"async_setup_entry": expected, "async_unload_entry": expected}


async def test_device_appears_from_first_message(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    device = simulator.make_devices(SITE_UUID, 1, seed=3)[0]
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=55.5)
    mac = device.mac.lower()
    name = f"ixi_{mac.replace(':', '')[-4:]}"
    await wait_for(hass, lambda: state_of(hass, f"sensor.{name}_battery") == "55.5")
    entry = find_device(hass, mac)
    assert entry is not None
    assert entry.name == f"IXI {mac.replace(':', '')[-4:].upper()}"
    assert (dr.CONNECTION_NETWORK_MAC, mac) in entry.connections
    assert entry.via_device_id is None
    assert state_of(hass, f"sensor.{name}_zone") == device.zone
    zone = hass.states.get(f"sensor.{name}_zone")
    assert zone is not None
    assert zone.attributes["floor"] == device.floor
    assert state_of(hass, f"sensor.{name}_floor") == device.floor
    assert state_of(hass, f"binary_sensor.{name}_man_down") == "off"
    assert state_of(hass, f"sensor.{name}_active_alert") == "none"
    for key in ("phone_number", "last_update"):
        disabled = entity_registry.async_get(f"sensor.{name}_{key}")
        assert disabled is not None
        assert disabled.disabled_by is er.RegistryEntryDisabler.INTEGRATION
        assert disabled.unique_id == f"{SITE_UUID}_{mac}_{key}"
        assert hass.states.get(f"sensor.{name}_{key}") is None

    # Enabled by the user, they show the device's data.
    for key in ("phone_number", "last_update"):
        entity_registry.async_update_entity(f"sensor.{name}_{key}", disabled_by=None)
    await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    message = await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=56)
    last_update = dt_util.utc_from_timestamp(message["device"]["last_update"])
    await wait_for(
        hass,
        lambda: (
            state_of(hass, f"sensor.{name}_last_update")
            == last_update.isoformat(timespec="seconds")
        ),
    )
    assert state_of(hass, f"sensor.{name}_phone_number") == device.phone_number


async def test_steady_messages_do_not_postpone_the_save(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> None:
    coordinator = init_integration.runtime_data.coordinator
    device = simulator.make_devices(SITE_UUID, 1, seed=4)[0]
    with patch.object(coordinator._store, "async_delay_save") as delay_save:
        for level in (50, 51, 52):
            await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=level)
        await wait_for(hass, lambda: coordinator.stats.heartbeats == 3)
        # One save is asked for; later messages do not push it back.
        assert delay_save.call_count == 1
        data_func = delay_save.call_args.args[0]
        assert [d["battery_level"] for d in data_func()["devices"]] == [52.0]
        # Once written, the next change asks for the next save.
        await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=53)
        await wait_for(hass, lambda: coordinator.stats.heartbeats == 4)
        assert delay_save.call_count == 2


async def test_the_stored_snapshot_is_taken_in_the_event_loop(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> None:
    """Home Assistant 2025.4 asks for the data from a thread; the state is the loop's."""
    coordinator = init_integration.runtime_data.coordinator
    device = simulator.make_devices(SITE_UUID, 1, seed=5)[0]
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=40)
    await wait_for(hass, lambda: coordinator.stats.heartbeats == 1)
    threads: list[int] = []
    as_dict = coordinator.state.as_dict

    def recorded() -> dict[str, Any]:
        threads.append(threading.get_ident())
        return as_dict()

    with patch.object(coordinator.state, "as_dict", side_effect=recorded):
        from_a_thread = await hass.async_add_executor_job(coordinator._data_to_save)
        in_the_loop = coordinator._data_to_save()
    assert threads == [hass.loop_thread_id, hass.loop_thread_id]
    assert from_a_thread == in_the_loop
    assert [d["battery_level"] for d in in_the_loop["devices"]] == [40.0]
    # The snapshot shares nothing the loop goes on changing.
    assert in_the_loop["ended"] is not coordinator.state.ended


async def test_known_devices_are_handed_over_in_time_slices(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """However many fit the count, a slice ends once its time is up."""
    coordinator = init_integration.runtime_data.coordinator
    for device in simulator.make_devices(SITE_UUID, 4, seed=6):
        await simulator.send_heartbeat(SITE_UUID, device.mac)
    await wait_for(hass, lambda: len(coordinator.state.devices) == 4)
    monkeypatch.setattr(coordinator_module, "DEVICES_PER_ITERATION", 1000)
    monkeypatch.setattr(coordinator_module, "SETUP_SLICE", 0.0)
    seen: list[int] = []
    async with LoopTurns().counting() as turns:
        unsubscribe = await coordinator.async_add_new_device_listener(
            lambda _device: seen.append(turns.count)
        )
    unsubscribe()
    assert len(seen) == 4
    assert all(later > earlier for earlier, later in itertools.pairwise(seen))


async def test_many_stored_devices_get_their_entities(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    # More devices than a platform is handed per event-loop iteration.
    count = 2 * DEVICES_PER_ITERATION + 3
    macs = [f"00:02:04:00:00:{number:02x}" for number in range(count)]
    hass_storage[f"{DOMAIN}.{mock_config_entry.entry_id}"] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": f"{DOMAIN}.{mock_config_entry.entry_id}",
        "data": {
            "devices": [
                {"mac": mac, "battery_level": 70.0, "last_update": 1.7e9}
                for mac in macs
            ],
            "alerts": [],
            "ended": {},
        },
    }
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    for mac in macs:
        for platform, key in (
            ("sensor", "battery"),
            ("binary_sensor", "man_down"),
            ("event", "alert"),
        ):
            entity = entity_registry.async_get_entity_id(
                platform, DOMAIN, f"{SITE_UUID}_{mac}_{key}"
            )
            assert entity is not None
        assert state_of(hass, entity) is not None
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()


async def test_removing_the_site_deletes_its_stored_data(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> None:
    """The residents' names, phone numbers and positions leave the disk too."""
    key = f"{DOMAIN}.{init_integration.entry_id}"
    device = simulator.make_devices(SITE_UUID, 1, seed=4)[0]
    await simulator.send_heartbeat(
        SITE_UUID, device.mac, phone_number="+32470918273", outdoor=(51.2, 4.4)
    )
    await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
    coordinator = init_integration.runtime_data.coordinator
    await wait_for(hass, lambda: len(coordinator.state.alerts) == 1)
    # Unloading writes what the site knows: the resident's data is stored.
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    stored = str(hass_storage[key]["data"])
    for detail in (device.name, "+32470918273", "51.2", device.mac.lower()):
        assert detail in stored

    assert await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage
