"""GPS position of IXI PRO devices."""

from __future__ import annotations

from typing import Any

from homeassistant.components.device_tracker import SourceType, TrackerEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import IxicareConfigEntry
from .entity import IxicareDeviceEntity, async_setup_device_entities
from .pyixicare.state import CHANGED_LOCATION

PARALLEL_UPDATES = 0

LOCATION_DESCRIPTION = EntityDescription(key="location", translation_key="location")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IxicareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create a tracker for each device once its first outdoor position arrives."""
    coordinator = entry.runtime_data.coordinator
    await async_setup_device_entities(
        entry,
        async_add_entities,
        lambda device: [IxicareTracker(coordinator, device, LOCATION_DESCRIPTION)],
        wanted=lambda device: device.outdoor is not None,
    )


class IxicareTracker(IxicareDeviceEntity, TrackerEntity):
    """The last outdoor GPS position of an IXI PRO."""

    _attr_source_type = SourceType.GPS
    _shows = CHANGED_LOCATION

    @property
    def latitude(self) -> float | None:
        """Return the latitude."""
        return self.device.outdoor.latitude if self.device.outdoor else None

    @property
    def longitude(self) -> float | None:
        """Return the longitude."""
        return self.device.outdoor.longitude if self.device.outdoor else None

    def _state_key(self) -> tuple[Any, ...]:
        return (self.device.outdoor,)
