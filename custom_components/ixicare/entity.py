"""Base entities of the ixicare integration."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from homeassistant.core import callback
from homeassistant.helpers.device_registry import CONNECTION_NETWORK_MAC, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

from .const import DOMAIN, MANUFACTURER
from .coordinator import IxicareCoordinator
from .pyixicare.state import CHANGED_ALL, TrackedDevice

if TYPE_CHECKING:
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from . import IxicareConfigEntry


def default_device_name(mac: str) -> str:
    """Return the name of a device no alert has named yet."""
    return f"IXI {mac.replace(':', '')[-4:].upper()}"


# The DeviceInfo of each device, shared by its entities (ten of them, each
# otherwise holding its own dict and two sets for as long as it lives).
_DEVICE_INFO: WeakKeyDictionary[IxicareCoordinator, dict[str, DeviceInfo]] = (
    WeakKeyDictionary()
)


def _device_info(coordinator: IxicareCoordinator, device: TrackedDevice) -> DeviceInfo:
    """Return the DeviceInfo of `device` (the same object while unchanged)."""
    name = device.resident or default_device_name(device.mac)
    infos = _DEVICE_INFO.setdefault(coordinator, {})
    info = infos.get(device.mac)
    if info is None or info.get("name") != name:
        info = infos[device.mac] = DeviceInfo(
            identifiers={(DOMAIN, device.mac)},
            connections={(CONNECTION_NETWORK_MAC, device.mac)},
            manufacturer=MANUFACTURER,
            model="IXI",
            name=name,
        )
    return info


class IxicareEntity(Entity):
    """An entity that shows a part of the site or of one device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self, coordinator: IxicareCoordinator, description: EntityDescription
    ) -> None:
        """Initialise the entity."""
        self.coordinator = coordinator
        self.entity_description = description
        self._written: tuple[Any, ...] | None = None

    @property
    def available(self) -> bool:
        """Return True while the site's data can be trusted."""
        return self.coordinator.available

    def _state_key(self) -> tuple[Any, ...]:
        """Return what the entity shows; a state is written only when it changes."""
        raise NotImplementedError

    @callback
    def _handle_update(self) -> None:
        """Write the state if what the entity shows changed."""
        key = (self.available, *self._state_key())
        if key != self._written:
            self._written = key
            self.async_write_ha_state()

    async def async_added_to_hass(self) -> None:
        """Remember what was written first."""
        await super().async_added_to_hass()
        self._written = (self.available, *self._state_key())


class IxicareDeviceEntity(IxicareEntity):
    """An entity of one resident's device."""

    # The parts of the device the entity shows (CHANGED_* bits): a message
    # that changes none of them does not ask the entity for its state.
    _shows: int = CHANGED_ALL

    def __init__(
        self,
        coordinator: IxicareCoordinator,
        device: TrackedDevice,
        description: EntityDescription,
    ) -> None:
        """Initialise the entity of `device`."""
        super().__init__(coordinator, description)
        self.device = device
        self._attr_unique_id = f"{coordinator.site_uuid}_{device.mac}_{description.key}"
        self._attr_device_info = _device_info(coordinator, device)

    async def async_added_to_hass(self) -> None:
        """Subscribe to the one device this entity shows."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.async_add_device_listener(
                self.device.mac, self._handle_update, self._shows
            )
        )


class IxicareSiteEntity(IxicareEntity):
    """An entity of the site (the hub)."""

    def __init__(
        self, coordinator: IxicareCoordinator, description: EntityDescription
    ) -> None:
        """Initialise the site entity."""
        super().__init__(coordinator, description)
        self._attr_unique_id = f"{coordinator.site_uuid}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, coordinator.site_uuid)},
            manufacturer=MANUFACTURER,
            model="Site",
            name=coordinator.entry.title,
        )

    async def async_added_to_hass(self) -> None:
        """Subscribe to the site's changes."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.async_add_site_listener(self._handle_update)
        )


async def async_setup_device_entities(
    entry: IxicareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    build: Callable[[TrackedDevice], Iterable[Entity]],
    wanted: Callable[[TrackedDevice], bool] = lambda _device: True,
) -> None:
    """Add a platform's entities for each device, now and when devices appear.

    `wanted` may hold a device back until it has what the entities show (the
    GPS tracker waits for the first outdoor position). A device the user
    removed gets its entities again when a new message names it.
    """
    coordinator = entry.runtime_data.coordinator
    known: set[str] = set()

    @callback
    def add_device(device: TrackedDevice) -> None:
        if device.mac in known or not wanted(device):
            return
        known.add(device.mac)
        async_add_entities(build(device))

    entry.async_on_unload(await coordinator.async_add_new_device_listener(add_device))
    entry.async_on_unload(coordinator.async_add_forget_listener(known.discard))
