"""Alerts that arrive while Home Assistant starts reach every automation once.

The server replays its retained alerts as soon as the integration connects,
which happens during Home Assistant's start, before automations are armed.
The announcements are held until Home Assistant has started and its start-up
work (the arming of automations) is done; states are written at once.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components import automation
from homeassistant.const import STATE_ON
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.ixicare.const import DOMAIN, EVENT_ALERT
from ixicare_simulator import IxicareSimulator

from .conftest import SITE_UUID
from .helpers import calls_service, entity_id, state_of, wait_for
from .test_blueprints import LIGHT, LIGHTS, blueprints, light  # noqa: F401 (fixtures)


def action(kind: str, alert_id: str) -> dict[str, Any]:
    """Return an automation action that records `kind` and the alert id."""
    return {
        "action": "test.automation",
        "data": {"kind": kind, "alert_id": alert_id},
    }


def automations(
    hass: HomeAssistant, mac: str, device_id: str | None
) -> list[dict[str, Any]]:
    """Return automations on the bus event, the event entity and a device trigger."""
    configs: list[dict[str, Any]] = [
        {
            "alias": "bus event",
            "triggers": {
                "trigger": "event",
                "event_type": EVENT_ALERT,
                "event_data": {"transition": "raised", "alert_type": "MAN_DOWN"},
            },
            "actions": action("event", "{{ trigger.event.data.alert_id }}"),
        }
    ]
    if device_id is not None:
        configs.append(
            {
                "alias": "device trigger",
                "triggers": {
                    "trigger": "device",
                    "domain": DOMAIN,
                    "device_id": device_id,
                    "type": "man_down_raised",
                },
                "actions": action("device", "{{ trigger.event.data.alert_id }}"),
            }
        )
        configs.append(
            {
                "alias": "event entity",
                "triggers": {
                    "trigger": "state",
                    "entity_id": entity_id(hass, "event", mac, "alert"),
                    "not_from": "unavailable",
                },
                "conditions": "{{ trigger.to_state.attributes.event_type == 'raised' }}",
                "actions": action(
                    "entity", "{{ trigger.to_state.attributes.alert_id }}"
                ),
            }
        )
    return configs


@pytest.mark.parametrize("automations_first", [True, False], ids=["before", "after"])
async def test_alert_replayed_during_start_reaches_automations_once(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    mock_config_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    automations_first: bool,
) -> None:
    """A retained MAN_DOWN replayed during the start runs each automation once."""
    sim_device = simulator.make_devices(SITE_UUID, 1, seed=41)[0]
    mac = sim_device.mac.lower()
    mock_config_entry.add_to_hass(hass)
    if not automations_first:
        # The device and its entities exist from an earlier run.
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await simulator.send_heartbeat(SITE_UUID, sim_device.mac, battery_level=80)
        coordinator = mock_config_entry.runtime_data.coordinator
        await wait_for(hass, lambda: mac in coordinator.state.devices)
        assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    # While Home Assistant is down, the server keeps a fall.
    alert_id = await simulator.raise_alert(SITE_UUID, sim_device.mac, "MAN_DOWN")
    bus_events = async_capture_events(hass, EVENT_ALERT)
    calls = calls_service(hass)

    hass.set_state(CoreState.not_running)
    device_id = None
    if automations_first:
        configs = automations(hass, mac, None)
        assert await async_setup_component(
            hass, automation.DOMAIN, {automation.DOMAIN: configs}
        )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    coordinator = mock_config_entry.runtime_data.coordinator
    await wait_for(hass, lambda: alert_id in coordinator.state.alerts)
    if not automations_first:
        device = dr.async_entries_for_config_entry(
            device_registry, mock_config_entry.entry_id
        )
        device_id = next(d.id for d in device if (DOMAIN, mac) in d.identifiers)
        configs = automations(hass, mac, device_id)
        assert await async_setup_component(
            hass, automation.DOMAIN, {automation.DOMAIN: configs}
        )
    await hass.async_block_till_done()

    # The state is written at once; the announcements wait for the start.
    assert state_of(hass, entity_id(hass, "binary_sensor", mac, "man_down")) == STATE_ON
    assert bus_events == []
    assert calls == []
    assert coordinator.announcer.holding

    await hass.async_start()
    await hass.async_block_till_done(wait_background_tasks=True)

    assert not coordinator.announcer.holding
    assert [(e.data["transition"], e.data["alert_id"]) for e in bus_events] == [
        ("raised", alert_id)
    ]
    assert bus_events[0].data["device_id"] is not None
    kinds = sorted(call.data["kind"] for call in calls)
    assert kinds == (["event"] if automations_first else ["device", "entity", "event"])
    assert {call.data["alert_id"] for call in calls} == {alert_id}

    # A reconnection replays nothing new; nothing runs twice.
    await simulator.disconnect_clients(SITE_UUID)
    await wait_for(hass, lambda: coordinator.client.connected, timeout=10)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(bus_events) == 1
    assert len(calls) == len(kinds)

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()


async def test_alerts_after_the_start_are_announced_at_once(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> None:
    """With Home Assistant running, nothing is held."""
    coordinator = init_integration.runtime_data.coordinator
    assert not coordinator.announcer.holding
    bus_events = async_capture_events(hass, EVENT_ALERT)
    sim_device = simulator.make_devices(SITE_UUID, 1, seed=42)[0]
    alert_id = await simulator.raise_alert(SITE_UUID, sim_device.mac, "PANIC_BUTTON")
    await wait_for(hass, lambda: len(bus_events) == 1)
    assert bus_events[0].data["alert_id"] == alert_id


async def test_held_announcements_survive_a_restart_before_the_start(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Home Assistant stopped before it had started: nothing held is lost."""
    sim_device = simulator.make_devices(SITE_UUID, 1, seed=43)[0]
    alert_id = await simulator.raise_alert(SITE_UUID, sim_device.mac, "MAN_DOWN")
    bus_events = async_capture_events(hass, EVENT_ALERT)
    hass.set_state(CoreState.not_running)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    coordinator = mock_config_entry.runtime_data.coordinator
    await wait_for(hass, lambda: alert_id in coordinator.state.alerts)
    assert coordinator.announcer.holding
    # Stopped (the final save) and set up again, still before the start.
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    coordinator = mock_config_entry.runtime_data.coordinator
    await wait_for(hass, lambda: coordinator.client.connected)
    assert bus_events == []

    await hass.async_start()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [(e.data["transition"], e.data["alert_id"]) for e in bus_events] == [
        ("raised", alert_id)
    ]
    # Once announced, a reload announces nothing again.
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(bus_events) == 1
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("blueprints", "light")
@pytest.mark.parametrize("automations_first", [True, False], ids=["before", "after"])
async def test_blueprints_act_on_an_alert_replayed_during_start(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    mock_config_entry: MockConfigEntry,
    automations_first: bool,
) -> None:
    """A fall kept by the server while Home Assistant was down lights the corridor.

    The blueprint automation and an automation on `ixicare_alert`, set up
    before or after the integration, each act once when Home Assistant starts.
    """
    sim_device = simulator.make_devices(SITE_UUID, 1, seed=44)[0]
    alert_id = await simulator.raise_alert(SITE_UUID, sim_device.mac, "MAN_DOWN")
    calls = calls_service(hass)
    configs = [
        {
            "id": "lights",
            "use_blueprint": {
                "path": f"ixicare/{LIGHTS}.yaml",
                "input": {"lights": {"entity_id": LIGHT}},
            },
        },
        *automations(hass, sim_device.mac.lower(), None),
    ]
    hass.set_state(CoreState.not_running)
    mock_config_entry.add_to_hass(hass)
    if automations_first:
        assert await async_setup_component(
            hass, automation.DOMAIN, {automation.DOMAIN: configs}
        )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    coordinator = mock_config_entry.runtime_data.coordinator
    await wait_for(hass, lambda: alert_id in coordinator.state.alerts)
    if not automations_first:
        assert await async_setup_component(
            hass, automation.DOMAIN, {automation.DOMAIN: configs}
        )
    await hass.async_block_till_done()
    assert state_of(hass, LIGHT) == "off"
    assert calls == []

    await hass.async_start()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state_of(hass, LIGHT) == "on"
    assert [(c.data["kind"], c.data["alert_id"]) for c in calls] == [
        ("event", alert_id)
    ]
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
