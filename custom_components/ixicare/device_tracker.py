"""GPS position of IXI PRO devices."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.device_tracker import (
    SourceType,
    TrackerEntity,
    TrackerEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import IxicareConfigEntry
from .entity import IxicareEntity, IxicareEntityDescription, async_setup_entities
from .pyixicare import OutdoorLocation
from .pyixicare.state import CHANGED_LOCATION
from .pyixicare.tracked import TrackedDevice

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class IxicareTrackerEntityDescription(
    TrackerEntityDescription, IxicareEntityDescription[TrackedDevice]
):
    """Describes the position of a device (`value_fn`: its OutdoorLocation)."""


TRACKERS: tuple[IxicareTrackerEntityDescription, ...] = (
    IxicareTrackerEntityDescription(
        key="location",
        translation_key="location",
        value_fn=lambda device: device.outdoor,
        shows=CHANGED_LOCATION,
        exists_fn=lambda device: device.outdoor is not None,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IxicareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create a tracker for each device once its first outdoor position arrives."""
    await async_setup_entities(entry, async_add_entities, IxicareTracker, TRACKERS)


class IxicareTracker(IxicareEntity, TrackerEntity):
    """The last outdoor GPS position of an IXI PRO."""

    _attr_source_type = SourceType.GPS
    entity_description: IxicareTrackerEntityDescription

    @property
    def _position(self) -> OutdoorLocation | None:
        return self._value()  # type: ignore[no-any-return]

    @property
    def latitude(self) -> float | None:
        """Return the latitude."""
        return position.latitude if (position := self._position) else None

    @property
    def longitude(self) -> float | None:
        """Return the longitude."""
        return position.longitude if (position := self._position) else None
