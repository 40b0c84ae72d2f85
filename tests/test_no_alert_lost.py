"""No alert lost: a command's SUCCESS, escalations and forgotten alerts.

Each test holds the integration to the least the protocol promises: no echo
of the new status after a SUCCESS, escalations as the only sign that an alert
became a fall, and a server that may forget an alert.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components import automation
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.ixicare import async_remove_config_entry_device
from custom_components.ixicare.const import CONF_MAX_DEVICES, DOMAIN, EVENT_ALERT
from custom_components.ixicare.logbook import describe_alert
from ixicare_simulator import IxicareSimulator

from .conftest import SITE_UUID
from .helpers import calls_service, entity_id, state_of, wait_for


@pytest.fixture
async def sim_device(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> Any:
    """A device the integration knows."""
    device = simulator.make_devices(SITE_UUID, 1, seed=51)[0]
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=60)
    coordinator = init_integration.runtime_data.coordinator
    await wait_for(hass, lambda: device.mac.lower() in coordinator.state.devices)
    return device


async def in_order(
    hass: HomeAssistant, simulator: IxicareSimulator, mac: str, battery: int
) -> None:
    """Send a heartbeat and wait for it: what was sent before it is handled."""
    await simulator.send_heartbeat(SITE_UUID, mac, battery_level=battery)
    coordinator = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.coordinator
    await wait_for(
        hass, lambda: coordinator.state.devices[mac.lower()].battery_level == battery
    )


def transitions(events: list[Any]) -> list[tuple[str, str]]:
    return [(e.data["transition"], e.data["alert_type"]) for e in events]


async def call(hass: HomeAssistant, service: str, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


async def test_success_applies_without_an_echo(
    hass: HomeAssistant, simulator: IxicareSimulator, sim_device: Any
) -> None:
    """ACCEPT and RESOLVE take effect on SUCCESS; no status event follows."""
    simulator.echo_updates = False
    events = async_capture_events(hass, EVENT_ALERT)
    alert_id = await simulator.raise_alert(SITE_UUID, sim_device.mac, "MAN_DOWN")
    await wait_for(hass, lambda: len(events) == 1)
    man_down = entity_id(hass, "binary_sensor", sim_device.mac, "man_down")

    await call(hass, "accept_alert", alert_id=alert_id)
    await hass.async_block_till_done()
    assert hass.states.get(man_down).attributes["status"] == "ACCEPTED"  # type: ignore[union-attr]
    await call(hass, "resolve_alert", alert_id=alert_id)
    await hass.async_block_till_done()
    assert state_of(hass, man_down) == "off"
    assert [e.data["transition"] for e in events] == ["raised", "accepted", "resolved"]

    # An echo that comes late (here: the server's own resend) changes nothing.
    await simulator.send_raw(
        SITE_UUID, "alerts", simulator.alert_event(SITE_UUID, alert_id)
    )
    await in_order(hass, simulator, sim_device.mac, 59)
    assert len(events) == 3
    assert state_of(hass, man_down) == "off"


async def test_echo_after_success_announces_once(
    hass: HomeAssistant, simulator: IxicareSimulator, sim_device: Any
) -> None:
    """With the echo on, each transition is still announced once."""
    events = async_capture_events(hass, EVENT_ALERT)
    alert_id = await simulator.raise_alert(SITE_UUID, sim_device.mac, "GEOFENCING")
    await wait_for(hass, lambda: len(events) == 1)
    await call(hass, "accept_alert", alert_id=alert_id)
    await call(hass, "resolve_alert", alert_id=alert_id)
    await in_order(hass, simulator, sim_device.mac, 58)
    assert [e.data["transition"] for e in events] == ["raised", "accepted", "resolved"]


async def test_man_down_raised_fires_on_escalation(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    sim_device: Any,
    mock_config_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """`man_down_raised` fires for a panic button escalated to a fall."""
    device_id = next(
        d.id
        for d in dr.async_entries_for_config_entry(
            device_registry, mock_config_entry.entry_id
        )
        if (DOMAIN, sim_device.mac.lower()) in d.identifiers
    )
    calls = calls_service(hass)
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "triggers": {
                        "trigger": "device",
                        "domain": DOMAIN,
                        "device_id": device_id,
                        "type": trigger_type,
                    },
                    "actions": {
                        "action": "test.automation",
                        "data": {"type": trigger_type},
                    },
                }
                for trigger_type in ("man_down_raised", "panic_button_raised")
            ]
        },
    )
    alert_id = await simulator.raise_alert(SITE_UUID, sim_device.mac, "PANIC_BUTTON")
    await wait_for(hass, lambda: len(calls) == 1)
    assert calls[0].data["type"] == "panic_button_raised"
    await simulator.escalate_alert(SITE_UUID, alert_id, "MAN_DOWN")
    await wait_for(hass, lambda: len(calls) == 2)
    assert calls[1].data["type"] == "man_down_raised"
    # A replay of the escalated alert fires nothing more.
    await simulator.send_raw(
        SITE_UUID, "alerts", simulator.alert_event(SITE_UUID, alert_id)
    )
    await in_order(hass, simulator, sim_device.mac, 57)
    assert len(calls) == 2


async def test_dismiss_an_alert_the_server_forgot(
    hass: HomeAssistant, simulator: IxicareSimulator, sim_device: Any
) -> None:
    """An alert the server no longer knows can be ended in Home Assistant."""
    events = async_capture_events(hass, EVENT_ALERT)
    alert_id = await simulator.raise_alert(SITE_UUID, sim_device.mac, "MAN_DOWN")
    await wait_for(hass, lambda: len(events) == 1)
    event_before = simulator.alert_event(SITE_UUID, alert_id)
    man_down = entity_id(hass, "binary_sensor", sim_device.mac, "man_down")
    # The server lost it (a restart): resolving fails.
    simulator.fail_next_command(SITE_UUID, "Unknown alert")
    with pytest.raises(HomeAssistantError, match="Unknown alert"):
        await call(hass, "resolve_alert", alert_id=alert_id)
    assert state_of(hass, man_down) == "on"

    response = await call(hass, "dismiss_alert", alert_id=alert_id)
    assert response == {
        "alert_id": alert_id,
        "action": "dismissed",
        "result": "SUCCESS",
    }
    await hass.async_block_till_done()
    assert state_of(hass, man_down) == "off"
    assert transitions(events)[1:] == [("dismissed", "MAN_DOWN")]
    assert describe_alert(hass, events[1].data).startswith(
        "Man down alert dismissed in Home Assistant"
    )
    event_entity = hass.states.get(entity_id(hass, "event", sim_device.mac, "alert"))
    assert event_entity is not None
    assert event_entity.attributes["event_type"] == "dismissed"
    active = hass.states.get(entity_id(hass, "sensor", sim_device.mac, "active_alert"))
    assert active is not None and active.state == "none"

    # The alert, replayed as it was, does not come back.
    await simulator.send_raw(SITE_UUID, "alerts", event_before)
    await in_order(hass, simulator, sim_device.mac, 56)
    assert state_of(hass, man_down) == "off"
    assert len(events) == 2
    # Nothing left to dismiss.
    with pytest.raises(HomeAssistantError):
        await call(hass, "dismiss_alert", alert_id=alert_id)


async def test_alerts_past_the_device_limit_are_announced(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    mock_config_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The device limit caps entities, never alerts."""
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={CONF_MAX_DEVICES: 1}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    coordinator = mock_config_entry.runtime_data.coordinator
    listed, extra = simulator.make_devices(SITE_UUID, 2, seed=52)
    await simulator.send_heartbeat(SITE_UUID, listed.mac, battery_level=40)
    await wait_for(hass, lambda: listed.mac.lower() in coordinator.state.devices)
    events = async_capture_events(hass, EVENT_ALERT)
    issue_id = f"device_limit_{mock_config_entry.entry_id}"
    active_alerts = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{SITE_UUID}_active_alerts"
    )
    assert active_alerts is not None

    alert_id = await simulator.raise_alert(SITE_UUID, extra.mac, "MAN_DOWN")
    await wait_for(hass, lambda: len(events) == 1)
    assert events[0].data["transition"] == "raised"
    assert events[0].data["mac"] == extra.mac.lower()
    assert events[0].data["device_id"] is None
    assert describe_alert(hass, events[0].data).startswith("Man down alert raised")
    assert state_of(hass, active_alerts) == "1"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    assert extra.mac.lower() not in coordinator.state.devices
    assert (
        len(
            dr.async_entries_for_config_entry(
                device_registry, mock_config_entry.entry_id
            )
        )
        == 2
    )

    # It survives a reload, and staff can act on it.
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    coordinator = mock_config_entry.runtime_data.coordinator
    await wait_for(hass, lambda: coordinator.client.connected)
    assert coordinator.state.find_alert(alert_id) is not None
    assert state_of(hass, active_alerts) == "1"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    await call(hass, "accept_alert", alert_id=alert_id)
    await call(hass, "resolve_alert", alert_id=alert_id)
    await wait_for(hass, lambda: state_of(hass, active_alerts) == "0")
    assert [e.data["transition"] for e in events] == ["raised", "accepted", "resolved"]
    assert coordinator.state.unlisted == {}

    # Once the user removes the listed device, the other one gets its
    # entities with its next message, and the repair issue goes.
    device = next(
        d
        for d in dr.async_entries_for_config_entry(
            device_registry, mock_config_entry.entry_id
        )
        if (DOMAIN, listed.mac.lower()) in d.identifiers
    )
    assert await async_remove_config_entry_device(hass, mock_config_entry, device)
    await simulator.send_heartbeat(SITE_UUID, extra.mac, battery_level=30)
    await wait_for(hass, lambda: extra.mac.lower() in coordinator.state.devices)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
