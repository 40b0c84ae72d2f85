"""The accept_alert and resolve_alert services against the simulator."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ixicare.const import DOMAIN
from ixicare_simulator import IxicareSimulator

from .conftest import OTHER_SITE, OTHER_TOKEN, SITE_UUID, entry_data
from .helpers import entity_id, find_device, state_of, wait_for


@pytest.fixture
async def alert(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> tuple[Any, str]:
    """An open MAN_DOWN alert the integration knows."""
    device = simulator.make_devices(SITE_UUID, 1, seed=5)[0]
    alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
    await wait_for(
        hass,
        lambda: (
            init_integration.runtime_data.coordinator.state.find_alert(alert_id)
            is not None
        ),
    )
    return device, alert_id


async def call(hass: HomeAssistant, service: str, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


async def test_accept_then_resolve_by_alert_id(
    hass: HomeAssistant, simulator: IxicareSimulator, alert: tuple[Any, str]
) -> None:
    device, alert_id = alert
    response = await call(hass, "accept_alert", alert_id=alert_id)
    assert response == {"alert_id": alert_id, "action": "ACCEPT", "result": "SUCCESS"}
    assert simulator.active_alerts(SITE_UUID)[alert_id]["status"] == "ACCEPTED"
    uplink = simulator.uplinks(SITE_UUID)[-1]
    assert uplink == {
        "version": "1.0.0",
        "type": "ALERT",
        "device_id": device.mac.upper(),
        "alert": {"id": alert_id, "action": "ACCEPT"},
    }
    man_down = entity_id(hass, "binary_sensor", device.mac, "man_down")
    await wait_for(
        hass,
        lambda: hass.states.get(man_down).attributes.get("status") == "ACCEPTED",  # type: ignore[union-attr]
    )
    response = await call(hass, "resolve_alert", alert_id=alert_id.upper())
    assert response["result"] == "SUCCESS"
    await wait_for(hass, lambda: state_of(hass, man_down) == "off")
    assert simulator.active_alerts(SITE_UUID) == {}


async def test_by_device_takes_its_most_critical_alert(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    alert: tuple[Any, str],
    device_registry: dr.DeviceRegistry,
) -> None:
    device, man_down_id = alert
    coordinator = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.coordinator
    low = await simulator.raise_alert(SITE_UUID, device.mac, "CRITICAL_BATTERY")
    await wait_for(hass, lambda: coordinator.state.find_alert(low) is not None)
    entry = find_device(hass, device.mac.lower())
    assert entry is not None
    response = await call(hass, "accept_alert", device_id=entry.id)
    assert response["alert_id"] == man_down_id
    response = await call(hass, "resolve_alert", device_id=entry.id, alert_id=low)
    assert response["alert_id"] == low


async def test_failure_says_why(
    hass: HomeAssistant, simulator: IxicareSimulator, alert: tuple[Any, str]
) -> None:
    _, alert_id = alert
    simulator.fail_next_command(SITE_UUID, "Action not allowed")
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "accept_alert", alert_id=alert_id)
    assert err.value.translation_key == "command_failed"
    assert err.value.translation_placeholders["error"] == "Action not allowed"
    assert "Action not allowed" in str(err.value)


async def test_timeout_says_so(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    alert: tuple[Any, str],
) -> None:
    _, alert_id = alert
    init_integration.runtime_data.coordinator.command_timeout = 0.2
    simulator.ignore_next_command(SITE_UUID)
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "resolve_alert", alert_id=alert_id)
    assert err.value.translation_key == "command_timeout"
    assert "did not answer" in str(err.value)


async def test_disconnection_while_waiting(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    alert: tuple[Any, str],
) -> None:
    _, alert_id = alert
    simulator.delay_next_command(SITE_UUID, 10)
    task = hass.async_create_task(call(hass, "resolve_alert", alert_id=alert_id))
    await simulator.wait_for_uplinks(SITE_UUID, 1)
    await simulator.disconnect_clients(SITE_UUID)
    with pytest.raises(HomeAssistantError) as err:
        await task
    assert err.value.translation_key == "command_disconnected"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"alert_id": "5eb86f15-16be-49f8-9430-3b3ca0585819"}, "no_active_alert"),
        ({"device_id": "not-a-device"}, "unknown_device"),
    ],
)
async def test_validation_errors(
    hass: HomeAssistant, alert: tuple[Any, str], data: dict[str, str], key: str
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "accept_alert", **data)
    assert err.value.translation_key == key


async def test_device_without_alert(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    alert: tuple[Any, str],
    device_registry: dr.DeviceRegistry,
) -> None:
    device, alert_id = alert
    await call(hass, "resolve_alert", alert_id=alert_id)
    entry = find_device(hass, device.mac.lower())
    assert entry is not None
    coordinator = hass.config_entries.async_entries(DOMAIN)[0].runtime_data.coordinator
    await wait_for(hass, lambda: not coordinator.state.alerts)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "accept_alert", device_id=entry.id)
    assert err.value.translation_key == "no_alert_on_device"
    # Plain words: no dangling "-" where an alert id would be.
    assert str(err.value) == f"{device.name} has no active alert"
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "accept_alert", device_id=entry.id, alert_id=alert_id)
    assert err.value.translation_key == "no_active_alert_on_device"
    assert str(err.value).startswith(
        f"{device.name} has no active alert with the id {alert_id}."
    )


async def test_needs_one_of_the_fields(
    hass: HomeAssistant, alert: tuple[Any, str]
) -> None:
    with pytest.raises(Exception, match="at least one"):
        await call(hass, "accept_alert")


async def test_not_connected(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    alert: tuple[Any, str],
) -> None:
    _, alert_id = alert
    simulator.set_token(SITE_UUID, "other", revoke=True)
    coordinator = init_integration.runtime_data.coordinator
    await wait_for(hass, lambda: not coordinator.client.connected)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "accept_alert", alert_id=alert_id)
    assert err.value.translation_key == "not_connected"


async def test_finds_the_site_owning_the_alert(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    alert: tuple[Any, str],
) -> None:
    other = MockConfigEntry(
        domain=DOMAIN,
        title="ixicare 0b5e2c1d",
        unique_id=OTHER_SITE,
        data=entry_data(simulator, site_uuid=OTHER_SITE, token=OTHER_TOKEN),
    )
    other.add_to_hass(hass)
    assert await hass.config_entries.async_setup(other.entry_id)
    await hass.async_block_till_done()
    other_device = simulator.make_devices(OTHER_SITE, 1, seed=9)[0]
    other_alert = await simulator.raise_alert(
        OTHER_SITE, other_device.mac, "GEOFENCING"
    )
    await wait_for(
        hass,
        lambda: (
            other.runtime_data.coordinator.state.find_alert(other_alert) is not None
        ),
    )
    _, alert_id = alert
    assert (await call(hass, "accept_alert", alert_id=other_alert))[
        "result"
    ] == "SUCCESS"
    assert (await call(hass, "accept_alert", alert_id=alert_id))["result"] == "SUCCESS"
    assert simulator.active_alerts(OTHER_SITE)[other_alert]["status"] == "ACCEPTED"
    assert simulator.active_alerts(SITE_UUID)[alert_id]["status"] == "ACCEPTED"
    # By device: the first site does not own the other site's device and leaves it
    # to the site that does.
    other_device_entry = find_device(hass, other_device.mac.lower())
    assert other_device_entry is not None
    coordinator = init_integration.runtime_data.coordinator
    assert coordinator.mac_of(other_device_entry.id) is None
    # Nor is the site's own device a resident's.
    hub = find_device(hass, SITE_UUID)
    assert hub is not None
    assert coordinator.mac_of(hub.id) is None
    assert (await call(hass, "resolve_alert", device_id=other_device_entry.id))[
        "result"
    ] == "SUCCESS"
    assert await hass.config_entries.async_unload(other.entry_id)
