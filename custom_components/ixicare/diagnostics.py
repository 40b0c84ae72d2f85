"""Diagnostics of the ixicare integration."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntry

from . import IxicareConfigEntry
from .const import DOMAIN

TO_REDACT = {
    CONF_TOKEN,
    "resident",
    "phone_number",
    "latitude",
    "longitude",
    "outdoor",
    "name",
    "title",
}


def _site(entry: IxicareConfigEntry) -> dict[str, Any]:
    coordinator = entry.runtime_data.coordinator
    client = coordinator.client
    return {
        "connection": {
            "state": client.state.value,
            "available": coordinator.available,
            "client": asdict(client.stats),
        },
        "messages": asdict(coordinator.stats),
        "devices": len(coordinator.state.devices),
        "active_alerts": len(coordinator.state.alerts),
        "remembered_ended_alerts": len(coordinator.state.ended),
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: IxicareConfigEntry
) -> dict[str, Any]:
    """Return diagnostics of a site."""
    state = entry.runtime_data.coordinator.state
    return async_redact_data(
        {
            "entry": {
                "title": entry.title,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            "site": _site(entry),
            "state": state.as_dict(),
        },
        TO_REDACT,
    )


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: IxicareConfigEntry, device: DeviceEntry
) -> dict[str, Any]:
    """Return diagnostics of one device."""
    state = entry.runtime_data.coordinator.state
    data: dict[str, Any] = {"site": _site(entry)}
    for domain, identifier in device.identifiers:
        if domain == DOMAIN and (tracked := state.devices.get(identifier)):
            data["device"] = tracked.as_dict()
            data["alerts"] = [alert.as_dict() for alert in tracked.alerts.values()]
    return async_redact_data(data, TO_REDACT)
