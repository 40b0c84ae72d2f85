"""Device triggers, logbook lines, alerts that ended while away, and the replay guard."""

from __future__ import annotations

from typing import Any

from homeassistant.components import automation
from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.translation import async_get_translations
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
from .helpers import calls_service, entity_id, find_device, state_of, wait_for


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
        "alert_dismissed",
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
    await wait_for(hass, lambda: len(calls) == 7)
    fired = [c.data["type"] for c in calls]
    assert fired[0] == "panic_button_raised"
    # An escalation to MAN_DOWN makes a fall: both triggers fire.
    assert sorted(fired[1:3]) == ["alert_escalated", "man_down_raised"]
    assert fired[3:] == [
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
    # Plain words, not the protocol's MAN_DOWN (nor str.title()'s "Man_Down").
    assert (
        describe_alert(hass, events[0].data)
        == f"Panic button alert raised for {device.name} in {device.zone}"
    )
    assert describe_alert(hass, events[1].data) == (
        f"Alert escalated from Panic button to Man down for {device.name} "
        f"in {device.zone}"
    )
    for alert_type, words in (
        ("MAN_DOWN", "Man down"),
        ("GEOFENCING", "Geofencing"),
        ("PANIC_BUTTON", "Panic button"),
        ("CRITICAL_BATTERY", "Critical battery"),
        # A type this version does not know reads as the server sent it.
        ("FIRE_ALARM", "FIRE_ALARM"),
    ):
        assert describe_alert(
            hass, {"alert_type": alert_type, "transition": "resolved"}
        ) == (f"{words} alert resolved")
    # The logbook platform registers a describer for the event.
    registered: dict[str, Any] = {}
    async_describe_events(
        hass, lambda domain, event, fn: registered.__setitem__(event, (domain, fn))
    )
    domain, describe = registered[EVENT_ALERT]
    assert domain == DOMAIN
    assert describe(events[0]) == {
        "name": "ixicare",
        "message": f"Panic button alert raised for {device.name} in {device.zone}",
    }


async def test_alert_words_where_the_ui_shows_them(
    hass: HomeAssistant, simulator: IxicareSimulator, device: Any
) -> None:
    """Attribute values the entities show have plain words; so do the triggers."""
    words = await async_get_translations(hass, "en", "entity", [DOMAIN])
    prefix = f"component.{DOMAIN}.entity"
    event = entity_id(hass, "event", device.mac, "alert")
    active = entity_id(hass, "sensor", device.mac, "active_alert")
    for alert_type, plain in (
        ("MAN_DOWN", "Man down"),
        ("GEOFENCING", "Geofencing"),
        ("PANIC_BUTTON", "Panic button"),
        ("CRITICAL_BATTERY", "Critical battery"),
    ):
        alert_id = await simulator.raise_alert(SITE_UUID, device.mac, alert_type)
        sensor = entity_id(hass, "binary_sensor", device.mac, alert_type.lower())
        await wait_for(hass, lambda s=sensor: state_of(hass, s) == "on")  # type: ignore[misc]
        shown = hass.states.get(event)
        assert shown is not None
        value = shown.attributes["alert_type"]
        assert value == alert_type  # automations read the protocol's value
        key = f"{prefix}.event.alert.state_attributes.alert_type.state.{value}"
        assert words[key] == plain
        status = hass.states.get(sensor).attributes["status"]  # type: ignore[union-attr]
        key = (
            f"{prefix}.binary_sensor.{alert_type.lower()}"
            f".state_attributes.status.state.{status}"
        )
        assert words[key] == "Open"
        top = hass.states.get(active)
        assert top is not None
        key = (
            f"{prefix}.sensor.active_alert.state_attributes.alert_type"
            f".state.{top.attributes['alert_type']}"
        )
        assert words[key] == "Man down"  # the most critical one
        await simulator.set_alert_status(SITE_UUID, alert_id, "ACCEPTED")
    triggers = await async_get_translations(hass, "en", "device_automation", [DOMAIN])
    assert (
        triggers[f"component.{DOMAIN}.device_automation.trigger_type.man_down_raised"]
        == "Man down alert raised"
    )
    assert "_" not in " ".join(
        text for key, text in triggers.items() if key.startswith(f"component.{DOMAIN}")
    )


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
