"""A site's devices in Home Assistant's device registry: ids, names, DeviceInfo."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import CONNECTION_NETWORK_MAC, DeviceInfo

from .const import CONF_SITE_UUID, DOMAIN, MANUFACTURER
from .pyixicare.state import SiteState
from .pyixicare.tracked import TrackedDevice

if TYPE_CHECKING:
    from . import IxicareConfigEntry


def default_device_name(mac: str) -> str:
    """Return the name of a device no alert has named yet."""
    return f"IXI {mac.replace(':', '')[-4:].upper()}"


class SiteDevices:
    """Maps MAC addresses to registry devices and names them after residents."""

    def __init__(
        self, hass: HomeAssistant, entry: IxicareConfigEntry, state: SiteState
    ) -> None:
        """Start with empty caches."""
        self.hass = hass
        self.entry = entry
        self.state = state
        self.site_uuid: str = entry.data[CONF_SITE_UUID]
        self._device_ids: dict[str, str] = {}
        # The DeviceInfo of each device, shared by its entities (ten of them,
        # each otherwise holding its own dict and two sets for as long as it
        # lives).
        self._device_info: dict[str, DeviceInfo] = {}

    def device_info(self, device: TrackedDevice | None) -> DeviceInfo:
        """Return the DeviceInfo of `device` (the same object while unchanged).

        Without a device, that of the site (the hub).
        """
        if device is None:
            return DeviceInfo(
                identifiers={(DOMAIN, self.site_uuid)},
                manufacturer=MANUFACTURER,
                model="Site",
                name=self.entry.title,
            )
        name = device.resident or default_device_name(device.mac)
        info = self._device_info.get(device.mac)
        if info is None or info.get("name") != name:
            info = self._device_info[device.mac] = DeviceInfo(
                identifiers={(DOMAIN, device.mac)},
                connections={(CONNECTION_NETWORK_MAC, device.mac)},
                manufacturer=MANUFACTURER,
                model="IXI",
                name=name,
            )
        return info

    def device_id(self, mac: str) -> str | None:
        """Return the Home Assistant device id of a MAC address."""
        if (device_id := self._device_ids.get(mac)) is None:
            self._refresh_device_ids()
            device_id = self._device_ids.get(mac)
        return device_id

    def mac_of(self, device_id: str) -> str | None:
        """Return the MAC address of a Home Assistant device id."""
        registry = dr.async_get(self.hass)
        entry = registry.async_get(device_id)
        # Ours only. Not through DeviceEntry.config_entries: 2026.11 reports it as
        # deprecated, and its replacement (config_entry_id) is missing in 2025.4.
        if entry is None or entry not in dr.async_entries_for_config_entry(
            registry, self.entry.entry_id
        ):
            return None
        for domain, identifier in entry.identifiers:
            if domain == DOMAIN and identifier in self.state.devices:
                return identifier
        return None

    def _refresh_device_ids(self) -> None:
        registry = dr.async_get(self.hass)
        for entry in dr.async_entries_for_config_entry(registry, self.entry.entry_id):
            for domain, identifier in entry.identifiers:
                if domain == DOMAIN:
                    self._device_ids[identifier] = entry.id

    @callback
    def update_name(self, device: TrackedDevice) -> None:
        """Name the registry device after its resident."""
        if device.resident and (device_id := self.device_id(device.mac)) is not None:
            # Only `name` is passed: none of the reported arguments.
            registry = dr.async_get(self.hass)
            registry.async_update_device(  # ha-compat: ignore
                device_id, name=device.resident
            )

    @callback
    def forget(self, mac: str) -> None:
        """Forget what is cached of a removed device."""
        self._device_ids.pop(mac, None)
        self._device_info.pop(mac, None)
