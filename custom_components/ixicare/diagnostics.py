"""Diagnostics of the ixicare integration, free of residents' personal data.

Users attach diagnostics to public bug reports. They keep counts, states,
timings and structure, and leave out everything that identifies a resident
or the care home: names, phone numbers, GPS positions, zone and floor names
and ids, MAC addresses, the site UUID and the token. Where two records are
about the same device, zone or floor, they carry the same placeholder
(`device_1`, `zone_2`, `floor_1`), stable within one download only.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.const import CONF_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceEntry

from . import IxicareConfigEntry
from .const import DOMAIN
from .pyixicare.tracked import TrackedAlert, TrackedDevice

REDACTED = "**REDACTED**"
# Config entry data kept as is; everything else is redacted.
KEPT_DATA = {"namespace", "socketio_path", "url", "verify_ssl"}
# Shorter values are not searched for in free texts.
MIN_SCRUBBED = 4


class _Placeholders:
    """Stable placeholders for the values of one download."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}

    def __call__(self, kind: str, value: str | None) -> str | None:
        """Return `<kind>_<n>` for `value`, the same for the same value."""
        if value is None:
            return None
        key = (kind, value)
        if (name := self._names.get(key)) is None:
            count = self._counts[kind] = self._counts.get(kind, 0) + 1
            name = self._names[key] = f"{kind}_{count}"
        return name


class _Anonymiser:
    """Turns the site's state into diagnostics without personal data."""

    def __init__(self, entry: IxicareConfigEntry) -> None:
        self.coordinator = entry.runtime_data.coordinator
        self.placeholder = _Placeholders()
        state = self.coordinator.state
        # Number the devices, floors and zones in the site's order, so that
        # a device's diagnostics use the same names as the site's.
        for device in state.devices.values():
            self.device(device)

    # What a free text (an error message) might carry, longest first.
    def _secrets(self) -> list[tuple[str, str]]:
        secrets: dict[str, str] = {}
        coordinator = self.coordinator
        secrets[coordinator.site_uuid] = "site_uuid"
        token = coordinator.entry.data.get(CONF_TOKEN)
        if token:
            secrets[str(token)] = REDACTED
        for device in coordinator.state.devices.values():
            name = self.placeholder("device", device.mac) or REDACTED
            for form in (device.mac, device.mac.replace(":", "")):
                secrets[form] = name
            for text in (device.resident, device.phone_number):
                if text:
                    secrets[text] = REDACTED
            if (indoor := device.indoor) is not None:
                zone = self.placeholder("zone", indoor.zone_id or indoor.zone)
                texts: tuple[tuple[str | None, str | None], ...] = (
                    (indoor.floor, self.placeholder("floor", indoor.floor)),
                    (indoor.zone, zone),
                    (indoor.zone_id, zone),
                )
                for text, placeholder in texts:
                    if text:
                        secrets[text] = placeholder or REDACTED
        for alert in coordinator.state.alerts.values():
            if alert.resident:
                secrets[alert.resident] = REDACTED
        return sorted(secrets.items(), key=lambda item: -len(item[0]))

    def scrub(self, text: str | None) -> str | None:
        """Replace the personal values a free text (an error) may carry."""
        if text is None:
            return None
        for secret, name in self._secrets():
            # A floor called "1" is no reason to mangle every number.
            if len(secret) >= MIN_SCRUBBED and secret.lower() in text.lower():
                text = _replace_folded(text, secret, name)
        return text

    def device(self, device: TrackedDevice) -> dict[str, Any]:
        """Return a device without its resident's details."""
        indoor = device.indoor
        outdoor = device.outdoor
        return {
            "device": self.placeholder("device", device.mac),
            "resident_known": device.resident is not None,
            "phone_number_known": device.phone_number is not None,
            "battery_level": device.battery_level,
            "last_update": device.last_update,
            "indoor": None
            if indoor is None
            else {
                "floor": self.placeholder("floor", indoor.floor),
                # A zone id and its name are the same zone.
                "zone": self.placeholder("zone", indoor.zone_id or indoor.zone),
                "last_update": indoor.last_update,
            },
            "outdoor": None
            if outdoor is None
            else {"last_update": outdoor.last_update},
            "active_alerts": len(device.alerts),
        }

    def alert(self, alert: TrackedAlert) -> dict[str, Any]:
        """Return an alert; its id is the server's, not the resident's."""
        return {
            "alert_id": alert.alert_id,
            "device": self.placeholder("device", alert.mac),
            "type": alert.raw_type,
            "status": alert.status.value,
            "raised_at": alert.raised_at,
        }

    def site(self) -> dict[str, Any]:
        coordinator = self.coordinator
        client = coordinator.client
        return {
            "connection": {
                "state": client.state.value,
                "available": coordinator.available,
                "client": {
                    **asdict(client.stats),
                    "last_error": self.scrub(client.stats.last_error),
                },
            },
            "messages": coordinator.stats.as_dict(),
            "devices": len(coordinator.state.devices),
            "active_alerts": len(coordinator.state.alerts),
            "remembered_ended_alerts": len(coordinator.state.ended),
        }


def _replace_folded(text: str, old: str, new: str) -> str:
    """Replace every occurrence of `old` in `text`, ignoring case."""
    folded, target = text.lower(), old.lower()
    parts: list[str] = []
    start = 0
    while (found := folded.find(target, start)) >= 0:
        parts.append(text[start:found])
        parts.append(new)
        start = found + len(old)
    parts.append(text[start:])
    return "".join(parts)


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: IxicareConfigEntry
) -> dict[str, Any]:
    """Return diagnostics of a site."""
    anonymiser = _Anonymiser(entry)
    state = anonymiser.coordinator.state
    data = {
        key: (anonymiser.scrub(value) if isinstance(value, str) else value)
        if key in KEPT_DATA
        else REDACTED
        for key, value in entry.data.items()
    }
    return {
        "entry": {
            "title": REDACTED,
            "data": data,
            "options": dict(entry.options),
        },
        "site": anonymiser.site(),
        "state": {
            "devices": [anonymiser.device(d) for d in state.devices.values()],
            "alerts": [anonymiser.alert(a) for a in state.alerts.values()],
        },
    }


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: IxicareConfigEntry, device: DeviceEntry
) -> dict[str, Any]:
    """Return diagnostics of one device."""
    anonymiser = _Anonymiser(entry)
    state = anonymiser.coordinator.state
    data: dict[str, Any] = {"site": anonymiser.site()}
    for domain, identifier in device.identifiers:
        if domain == DOMAIN and (tracked := state.devices.get(identifier)):
            data["device"] = anonymiser.device(tracked)
            data["alerts"] = [anonymiser.alert(a) for a in tracked.alerts.values()]
    return data
