"""Device triggers, logbook lines, alerts that ended while away, and the replay guard."""

from __future__ import annotations

from typing import Any

from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_get_device_automations,
)

from custom_components.ixicare.const import DOMAIN, EVENT_ALERT
from custom_components.ixicare.logbook import async_describe_events, describe_alert
from ixicare_simulator import IxicareSimulator

from .conftest import SITE_UUID
from .helpers import entity_id, find_device, state_of, wait_for


@pytest.fixture
async def device(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> Any:
    sim_device = simulator.make_devices(SITE_UUID, 1, seed=31)[0]
    await simulator.send_heartbeat(SITE_UUID, sim_device.mac, battery_level=70)
    coordinator = init_integration.runtime_data.coordinator
    await wait_for(hass, lambda: bool(coordinator.state.devices))
    await hass.async_block_till_done()
    return sim_device


def calls_service(hass: HomeAssistant) -> list[ServiceCall]:
    calls: list[ServiceCall] = []

    async def record(call: ServiceCall) -> None:
        calls.append(call)

    hass.services.async_register("test", "automation", record)
    return calls


async def test_device_triggers(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    device: Any,
    device_registry: dr.DeviceRegistry,
) -> None:
    entry = find_device(hass, device.mac.lower())
    assert entry is not None
    triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, entry.id
    )
    types = {t["type"] for t in triggers if t["domain"] == DOMAIN}
    assert types == {
        "man_down_raised",
        "geofencing_raised",
        "panic_button_raised",
        "critical_battery_raised",
        "alert_escalated",
        "alert_accepted",
        "alert_resolved",
        "alert_cancelled",
    }
    calls = calls_service(hass)
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "trigger": {
                        "platform": "device",
                        "domain": DOMAIN,
                        "device_id": entry.id,
                        "type": trigger_type,
                    },
                    "action": {
                        "service": "test.automation",
                        "data": {
                            "type": trigger_type,
                            "alert_id": "{{ trigger.event.data.alert_id }}",
                        },
                    },
                }
                for trigger_type in sorted(types)
            ]
        },
    )
    alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "PANIC_BUTTON")
    await simulator.escalate_alert(SITE_UUID, alert_id, "MAN_DOWN")
    await simulator.set_alert_status(SITE_UUID, alert_id, "ACCEPTED")
    await simulator.set_alert_status(SITE_UUID, alert_id, "RESOLVED")
    second = await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
    await simulator.set_alert_status(SITE_UUID, second, "CANCELLED")
    await wait_for(hass, lambda: len(calls) == 6)
    assert [c.data["type"] for c in calls] == [
        "panic_button_raised",
        "alert_escalated",
        "alert_accepted",
        "alert_resolved",
        "man_down_raised",
        "alert_cancelled",
    ]
    assert calls[0].data["alert_id"] == alert_id
    assert calls[-1].data["alert_id"] == second


async def test_logbook_sentences(
    hass: HomeAssistant, simulator: IxicareSimulator, device: Any
) -> None:
    events = async_capture_events(hass, EVENT_ALERT)
    alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "PANIC_BUTTON")
    await simulator.escalate_alert(SITE_UUID, alert_id, "MAN_DOWN")
    await wait_for(hass, lambda: len(events) == 2)
    assert (
        describe_alert(events[0].data)
        == f"PANIC_BUTTON alert raised for {device.name} in {device.zone}"
    )
    assert (
        describe_alert(events[1].data)
        == f"alert escalated from PANIC_BUTTON to MAN_DOWN for {device.name} in {device.zone}"
    )
    assert describe_alert({"alert_type": "MAN_DOWN", "transition": "resolved"}) == (
        "MAN_DOWN alert resolved"
    )
    # The logbook platform registers a describer for the event.
    registered: dict[str, Any] = {}
    async_describe_events(
        hass, lambda domain, event, fn: registered.__setitem__(event, (domain, fn))
    )
    domain, describe = registered[EVENT_ALERT]
    assert domain == DOMAIN
    assert describe(events[0]) == {
        "name": "ixicare",
        "message": f"PANIC_BUTTON alert raised for {device.name} in {device.zone}",
    }


async def test_alert_ended_while_away_ends_once(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    device: Any,
) -> None:
    events = async_capture_events(hass, EVENT_ALERT)
    alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
    man_down = entity_id(hass, "binary_sensor", device.mac, "man_down")
    await wait_for(hass, lambda: state_of(hass, man_down) == "on")
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    # Resolved while Home Assistant is away: the server keeps the resolution.
    await simulator.set_alert_status(SITE_UUID, alert_id, "RESOLVED")
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await wait_for(hass, lambda: state_of(hass, man_down) == "off")
    assert [e.data["transition"] for e in events] == ["raised", "resolved"]
    # A later replay of the same resolution, even after another restart, fires nothing.
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    await simulator.send_raw(
        SITE_UUID, "alerts", simulator.alert_event(SITE_UUID, alert_id)
    )
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=5)
    battery = entity_id(hass, "sensor", device.mac, "battery")
    await wait_for(hass, lambda: state_of(hass, battery) == "5.0")
    assert [e.data["transition"] for e in events] == ["raised", "resolved"]


async def test_not_from_unavailable_guard(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    device: Any,
) -> None:
    """An event entity coming back from unavailable must not run an alert automation."""
    event_entity = entity_id(hass, "event", device.mac, "alert")
    calls = calls_service(hass)

    def rule(name: str, trigger: dict[str, Any]) -> dict[str, Any]:
        return {
            "trigger": {"platform": "state", "entity_id": event_entity, **trigger},
            "condition": {
                "condition": "template",
                "value_template": "{{ trigger.to_state.attributes.event_type == 'raised' }}",
            },
            "action": {"service": "test.automation", "data": {"rule": name}},
        }

    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                rule("guarded", {"not_from": "unavailable"}),
                rule("unguarded", {}),
            ]
        },
    )

    def fired(name: str) -> int:
        return sum(1 for c in calls if c.data["rule"] == name)

    await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
    await wait_for(hass, lambda: fired("guarded") == 1 and fired("unguarded") == 1)
    # The entity goes unavailable and comes back (a reload, as after a restart).
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, event_entity) not in (None, "unavailable")
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=3)
    battery = entity_id(hass, "sensor", device.mac, "battery")
    await wait_for(hass, lambda: state_of(hass, battery) == "3.0")
    # Without the guard the restored state looks like a new alert.
    assert fired("unguarded") == 2
    assert fired("guarded") == 1
