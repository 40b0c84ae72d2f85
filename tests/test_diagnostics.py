"""Diagnostics of an ixicare site and of its devices."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from ixicare_simulator import IxicareSimulator

from .conftest import SITE_UUID, TOKEN
from .helpers import find_device, wait_for

RESIDENT = "Yvonne Vandersmissen"
PHONE = "+32470918273"
LATITUDE = 51.2194475
LONGITUDE = 4.4024643
ALERT_ID = "5d3c2b1a-0f9e-4d8c-b7a6-958473625140"

# Values that change from run to run: times, the simulator's port.
VOLATILE = props(
    "url",
    "last_update",
    "raised_at",
    "last_message",
    "timestamp",
)

SECRETS = (TOKEN, RESIDENT, PHONE, str(LATITUDE), str(LONGITUDE))


@pytest.fixture
async def site_with_alert(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> str:
    """Give the site one device with a phone, a GPS position and an alert."""
    device = simulator.make_devices(SITE_UUID, 1, seed=7)[0]
    mac = device.mac.lower()
    await simulator.send_heartbeat(
        SITE_UUID,
        device.mac,
        name=RESIDENT,
        phone_number=PHONE,
        outdoor=(LATITUDE, LONGITUDE),
    )
    await simulator.raise_alert(
        SITE_UUID, device.mac, "PANIC_BUTTON", alert_id=ALERT_ID
    )
    coordinator = init_integration.runtime_data.coordinator
    await wait_for(hass, lambda: len(coordinator.state.alerts) == 1)
    await simulator.send_raw(SITE_UUID, "heartbeats", {"bad": 1})
    await wait_for(hass, lambda: coordinator.stats.invalid == 1)
    tracked = coordinator.state.devices[mac]
    # The messages really carried what must not leak.
    assert tracked.resident == RESIDENT
    assert tracked.phone_number == PHONE
    assert tracked.outdoor is not None
    assert tracked.outdoor.latitude == LATITUDE
    return mac


def assert_no_secrets(result: Any) -> None:
    """Fail when a secret or a personal detail is in the diagnostics."""
    dump = json.dumps(result)
    for secret in SECRETS:
        assert secret not in dump, secret


async def test_config_entry_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    site_with_alert: str,
    snapshot: SnapshotAssertion,
) -> None:
    """Counters are there; the token and the residents' details are not."""
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert_no_secrets(result)

    assert result["entry"]["data"]["token"] == "**REDACTED**"
    assert result["entry"]["data"]["site_uuid"] == SITE_UUID
    assert result["entry"]["options"] == {"unavailable_after": 120}
    site = result["site"]
    assert site["devices"] == 1
    assert site["active_alerts"] == 1
    assert site["connection"]["state"] == "connected"
    assert site["connection"]["available"] is True
    assert site["connection"]["client"]["connections"] == 1
    assert site["connection"]["client"]["invalid"] == 1
    assert site["messages"]["heartbeats"] == 1
    assert site["messages"]["alerts"] == 1
    assert site["messages"]["invalid"] == 1
    assert sum(site["messages"]["invalid_by_field"].values()) == 1
    device = result["state"]["devices"][0]
    assert device["mac"] == site_with_alert
    assert device["resident"] == "**REDACTED**"
    assert device["phone_number"] == "**REDACTED**"
    assert device["outdoor"] == "**REDACTED**"
    assert result["state"]["alerts"][0]["alert_id"] == ALERT_ID
    assert result["state"]["alerts"][0]["resident"] == "**REDACTED**"

    assert result == snapshot(exclude=VOLATILE)


async def test_device_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    site_with_alert: str,
    snapshot: SnapshotAssertion,
) -> None:
    """A resident's device shows its state and alerts, without personal data."""
    device = find_device(hass, site_with_alert)
    assert device is not None
    # The device is named after its resident, yet the name does not leak.
    assert device.name == RESIDENT

    result = await get_diagnostics_for_device(
        hass, hass_client, init_integration, device
    )
    assert_no_secrets(result)

    assert result["site"]["devices"] == 1
    assert result["site"]["active_alerts"] == 1
    assert result["site"]["messages"]["invalid"] == 1
    assert result["device"]["mac"] == site_with_alert
    assert result["device"]["battery_level"] is not None
    assert result["device"]["indoor"]["zone"]
    assert [alert["alert_id"] for alert in result["alerts"]] == [ALERT_ID]
    assert result["alerts"][0]["type"] == "PANIC_BUTTON"
    assert result["alerts"][0]["status"] == "OPEN"

    assert result == snapshot(exclude=VOLATILE)


async def test_site_device_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """The site's own device gets the site counters and no resident data."""
    device = find_device(hass, SITE_UUID)
    assert device is not None

    result = await get_diagnostics_for_device(
        hass, hass_client, init_integration, device
    )
    assert TOKEN not in json.dumps(result)
    assert set(result) == {"site"}
    assert result["site"]["devices"] == 0
    assert result["site"]["active_alerts"] == 0
