"""The Accept and Resolve buttons of a resident's device, against the simulator."""

from __future__ import annotations

from typing import Any

from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ixicare.const import DOMAIN
from ixicare_simulator import IxicareSimulator

from .conftest import SITE_UUID
from .helpers import entity_id, state_of, wait_for


@pytest.fixture
async def resident(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> Any:
    """A resident's device Home Assistant knows, with no alert."""
    device = simulator.make_devices(SITE_UUID, 1, seed=5)[0]
    await simulator.send_heartbeat(SITE_UUID, device.mac)
    coordinator = init_integration.runtime_data.coordinator
    await wait_for(hass, lambda: device.mac.lower() in coordinator.state.devices)
    return device


async def press(hass: HomeAssistant, entity: str) -> None:
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: entity}, blocking=True
    )


async def raise_and_wait(
    hass: HomeAssistant, simulator: IxicareSimulator, entry: MockConfigEntry, mac: str
) -> Any:
    async def raise_alert(alert_type: str) -> str:
        alert_id = await simulator.raise_alert(SITE_UUID, mac, alert_type)
        coordinator = entry.runtime_data.coordinator
        await wait_for(hass, lambda: coordinator.state.find_alert(alert_id) is not None)
        return alert_id

    return raise_alert


async def test_buttons_of_a_device(
    hass: HomeAssistant, resident: Any, entity_registry: er.EntityRegistry
) -> None:
    mac = resident.mac.lower()
    for key, name in (
        ("accept_alert", "Accept alert"),
        ("resolve_alert", "Resolve alert"),
    ):
        button = entity_registry.async_get_entity_id(
            BUTTON_DOMAIN, DOMAIN, f"{SITE_UUID}_{mac}_{key}"
        )
        assert button is not None
        entry = entity_registry.async_get(button)
        assert entry is not None
        assert entry.translation_key == key
        state = hass.states.get(button)
        assert state is not None
        assert state.state == "unknown"  # never pressed
        assert state.attributes["friendly_name"].endswith(name)


async def test_accept_and_resolve_the_most_critical_alert(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    resident: Any,
) -> None:
    raise_alert = await raise_and_wait(hass, simulator, init_integration, resident.mac)
    battery = await raise_alert("CRITICAL_BATTERY")
    fall = await raise_alert("MAN_DOWN")
    accept = entity_id(hass, "button", resident.mac, "accept_alert")
    resolve = entity_id(hass, "button", resident.mac, "resolve_alert")
    man_down = entity_id(hass, "binary_sensor", resident.mac, "man_down")
    critical_battery = entity_id(
        hass, "binary_sensor", resident.mac, "critical_battery"
    )

    def status(sensor: str) -> Any:
        state = hass.states.get(sensor)
        return None if state is None else state.attributes.get("status")

    # Accept takes the fall first, then the next open alert.
    await press(hass, accept)
    assert simulator.uplinks(SITE_UUID)[-1]["alert"] == {"id": fall, "action": "ACCEPT"}
    await wait_for(hass, lambda: status(man_down) == "ACCEPTED")
    assert state_of(hass, accept) not in (None, "unknown")  # the press is recorded
    await press(hass, accept)
    assert simulator.uplinks(SITE_UUID)[-1]["alert"] == {
        "id": battery,
        "action": "ACCEPT",
    }
    await wait_for(hass, lambda: status(critical_battery) == "ACCEPTED")

    # Nothing left to accept: a validation error naming the resident.
    with pytest.raises(ServiceValidationError) as err:
        await press(hass, accept)
    assert err.value.translation_key == "no_alert_to_accept"
    assert str(err.value) == (
        f"{resident.name} has no open alert to accept. "
        "An accepted alert can only be resolved"
    )
    assert len(simulator.uplinks(SITE_UUID)) == 2

    # Resolve ends the fall first, then the battery alert.
    await press(hass, resolve)
    assert simulator.uplinks(SITE_UUID)[-1]["alert"] == {
        "id": fall,
        "action": "RESOLVE",
    }
    await wait_for(hass, lambda: state_of(hass, man_down) == "off")
    await press(hass, resolve)
    await wait_for(hass, lambda: state_of(hass, critical_battery) == "off")
    assert simulator.active_alerts(SITE_UUID) == {}

    with pytest.raises(ServiceValidationError) as err:
        await press(hass, resolve)
    assert err.value.translation_key == "no_alert_to_resolve"
    assert str(err.value) == f"{resident.name} has no active alert to resolve"


async def test_resolve_an_open_alert(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    resident: Any,
) -> None:
    raise_alert = await raise_and_wait(hass, simulator, init_integration, resident.mac)
    panic = await raise_alert("PANIC_BUTTON")
    await press(hass, entity_id(hass, "button", resident.mac, "resolve_alert"))
    assert simulator.uplinks(SITE_UUID)[-1]["alert"] == {
        "id": panic,
        "action": "RESOLVE",
    }
    assert simulator.alerts(SITE_UUID)[panic]["status"] == "RESOLVED"


async def test_refusal_and_timeout_say_so(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    resident: Any,
) -> None:
    raise_alert = await raise_and_wait(hass, simulator, init_integration, resident.mac)
    fall = await raise_alert("MAN_DOWN")
    accept = entity_id(hass, "button", resident.mac, "accept_alert")

    simulator.fail_next_command(SITE_UUID, "Action not allowed")
    with pytest.raises(HomeAssistantError) as err:
        await press(hass, accept)
    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_key == "command_failed"
    assert str(err.value) == (
        f"The ixicare server refused ACCEPT for alert {fall}: Action not allowed"
    )

    init_integration.runtime_data.coordinator.command_timeout = 0.2
    simulator.ignore_next_command(SITE_UUID)
    with pytest.raises(HomeAssistantError) as err:
        await press(hass, entity_id(hass, "button", resident.mac, "resolve_alert"))
    assert err.value.translation_key == "command_timeout"
    assert "did not answer RESOLVE" in str(err.value)
    assert simulator.alerts(SITE_UUID)[fall]["status"] == "OPEN"


async def test_unnamed_device_is_named_in_the_error(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> None:
    """A device no alert named yet is called by its default name, not 'None'."""
    device = simulator.make_devices(SITE_UUID, 1, seed=8)[0]
    await simulator.send_heartbeat(SITE_UUID, device.mac)
    coordinator = init_integration.runtime_data.coordinator
    await wait_for(hass, lambda: device.mac.lower() in coordinator.state.devices)
    with pytest.raises(ServiceValidationError) as err:
        await press(hass, entity_id(hass, "button", device.mac, "accept_alert"))
    suffix = device.mac.replace(":", "")[-4:].upper()
    assert str(err.value).startswith(f"IXI {suffix} has no open alert")
