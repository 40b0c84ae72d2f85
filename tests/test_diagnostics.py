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
USER_ID = "7f3e9d2c-1b4a-4c8e-9f6d-2a1b3c4d5e6f"
PHONE = "+32470918273"
LATITUDE = 51.2194475
LONGITUDE = 4.4024643
FLOOR = "Rosewood wing"
ZONE = "Room of the Vandersmissen family"
ZONE_ID = "3c2b1a0f-9e8d-4c7b-a695-847362514031"
ALERT_ID = "5d3c2b1a-0f9e-4d8c-b7a6-958473625140"

# Values that change from run to run: times.
VOLATILE = props(
    "url",
    "last_update",
    "raised_at",
    "last_message",
    "timestamp",
)


def personal_data(mac: str) -> list[str]:
    """Everything that identifies the resident or the site, in every spelling."""
    return [
        TOKEN,
        RESIDENT,
        USER_ID,
        PHONE,
        PHONE.lstrip("+"),
        str(LATITUDE),
        str(LONGITUDE),
        FLOOR,
        ZONE,
        ZONE_ID,
        SITE_UUID,
        SITE_UUID.replace("-", ""),
        mac.lower(),
        mac.upper(),
        mac.replace(":", "").lower(),
        # The config entry's title holds the start of the site UUID.
        SITE_UUID[:8],
    ]


@pytest.fixture
async def site_with_alert(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> str:
    """Give the site one device with every personal detail, and an alert."""
    device = simulator.make_devices(SITE_UUID, 1, seed=7)[0]
    device.user_id = USER_ID
    mac = device.mac.lower()
    await simulator.send_heartbeat(
        SITE_UUID,
        device.mac,
        name=RESIDENT,
        phone_number=PHONE,
        outdoor=(LATITUDE, LONGITUDE),
        floor=FLOOR,
        zone=ZONE,
        zone_id=ZONE_ID,
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
    assert tracked.indoor is not None
    assert (tracked.indoor.floor, tracked.indoor.zone) == (FLOOR, ZONE)
    assert tracked.indoor.zone_id == ZONE_ID
    assert simulator.alert_event(SITE_UUID, ALERT_ID)["user"]["id"] == USER_ID
    # An error text naming the site, the device and its zone (as a
    # connection error names the URL with the site UUID in its query).
    coordinator.client.stats.last_error = (
        f"Cannot connect to ws://127.0.0.1/ws/?site_uuid={SITE_UUID}: "
        f"device {mac.upper()} in {ZONE}"
    )
    return mac


def assert_no_personal_data(result: Any, mac: str) -> None:
    """Fail when a secret or a personal detail is anywhere in the diagnostics."""
    dump = json.dumps(result).lower()
    for secret in personal_data(mac):
        assert secret.lower() not in dump, secret


async def test_config_entry_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    site_with_alert: str,
    snapshot: SnapshotAssertion,
) -> None:
    """Counters, states and structure are there; nothing personal is."""
    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert_no_personal_data(result, site_with_alert)

    assert result["entry"]["title"] == "**REDACTED**"
    assert result["entry"]["data"]["token"] == "**REDACTED**"
    assert result["entry"]["data"]["site_uuid"] == "**REDACTED**"
    assert result["entry"]["options"] == {"unavailable_after": 120}
    site = result["site"]
    assert site["devices"] == 1
    assert site["active_alerts"] == 1
    assert site["connection"]["state"] == "connected"
    assert site["connection"]["available"] is True
    assert site["connection"]["client"]["connections"] == 1
    assert site["connection"]["client"]["invalid"] == 1
    assert site["connection"]["client"]["last_error"] == (
        "Cannot connect to ws://127.0.0.1/ws/?site_uuid=site_uuid: "
        "device device_1 in zone_1"
    )
    assert site["messages"]["heartbeats"] == 1
    assert site["messages"]["alerts"] == 1
    assert site["messages"]["invalid"] == 1
    assert sum(site["messages"]["invalid_by_field"].values()) == 1
    (device,) = result["state"]["devices"]
    assert device["device"] == "device_1"
    assert device["resident_known"] is True
    assert device["phone_number_known"] is True
    assert device["indoor"]["floor"] == "floor_1"
    assert device["indoor"]["zone"] == "zone_1"
    assert device["outdoor"]["last_update"] is not None
    assert device["active_alerts"] == 1
    (alert,) = result["state"]["alerts"]
    assert alert["alert_id"] == ALERT_ID
    assert alert["device"] == "device_1"
    assert alert["type"] == "PANIC_BUTTON"

    assert result == snapshot(exclude=VOLATILE)


async def test_placeholders_correlate_records(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    site_with_alert: str,
) -> None:
    """Two residents on one floor share its placeholder; each alert names its device."""
    other = simulator.make_devices(SITE_UUID, 2, seed=7)[1]
    await simulator.send_heartbeat(SITE_UUID, other.mac, floor=FLOOR, zone="Lounge")
    await simulator.raise_alert(SITE_UUID, other.mac, "MAN_DOWN")
    coordinator = init_integration.runtime_data.coordinator
    await wait_for(hass, lambda: len(coordinator.state.alerts) == 2)

    result = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert_no_personal_data(result, site_with_alert)
    assert other.mac.lower() not in json.dumps(result).lower()
    first, second = result["state"]["devices"]
    assert (first["device"], second["device"]) == ("device_1", "device_2")
    assert first["indoor"]["floor"] == second["indoor"]["floor"] == "floor_1"
    assert (first["indoor"]["zone"], second["indoor"]["zone"]) == ("zone_1", "zone_2")
    assert {(a["type"], a["device"]) for a in result["state"]["alerts"]} == {
        ("PANIC_BUTTON", "device_1"),
        ("MAN_DOWN", "device_2"),
    }


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
    assert_no_personal_data(result, site_with_alert)

    assert result["site"]["devices"] == 1
    assert result["site"]["active_alerts"] == 1
    assert result["site"]["messages"]["invalid"] == 1
    assert result["device"]["device"] == "device_1"
    assert result["device"]["battery_level"] is not None
    assert result["device"]["indoor"]["zone"] == "zone_1"
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
    assert_no_personal_data(result, "00:00:00:00:00:00")
    assert set(result) == {"site"}
    assert result["site"]["devices"] == 0
    assert result["site"]["active_alerts"] == 0
