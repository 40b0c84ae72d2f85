"""Sensors of the ixicare integration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from . import IxicareConfigEntry
from .const import (
    ATTR_ALERT_ID,
    ATTR_ALERT_TYPE,
    ATTR_FLOOR,
    ATTR_LAST_UPDATE,
    ATTR_STATUS,
    ATTR_ZONE_ID,
)
from .coordinator import IxicareCoordinator
from .entity import IxicareDeviceEntity, IxicareSiteEntity, async_setup_device_entities
from .pyixicare import AlertType
from .pyixicare.state import (
    CHANGED_ALERTS,
    CHANGED_ALL,
    CHANGED_DATA,
    CHANGED_LOCATION,
    TrackedDevice,
)

PARALLEL_UPDATES = 0

ACTIVE_ALERT_OPTIONS = [
    "none",
    "man_down",
    "geofencing",
    "panic_button",
    "critical_battery",
    "other",
]


def _timestamp(value: float | None) -> datetime | None:
    return dt_util.utc_from_timestamp(value) if value is not None else None


def _zone_attributes(device: TrackedDevice) -> dict[str, Any]:
    indoor = device.indoor
    if indoor is None:
        return {}
    return {
        ATTR_FLOOR: indoor.floor,
        ATTR_ZONE_ID: indoor.zone_id,
        ATTR_LAST_UPDATE: _timestamp(indoor.last_update),
    }


def _active_alert(device: TrackedDevice) -> str:
    alert = device.top_alert
    if alert is None:
        return "none"
    if alert.type is AlertType.UNKNOWN:
        # A type this version does not know: `alert_type` names it.
        return "other"
    return alert.type.value.lower()


def _active_alert_attributes(device: TrackedDevice) -> dict[str, Any]:
    alert = device.top_alert
    if alert is None:
        return {}
    attributes: dict[str, Any] = {
        ATTR_ALERT_ID: alert.alert_id,
        ATTR_STATUS: alert.status.value,
        ATTR_ALERT_TYPE: alert.type_name,
    }
    return attributes


@dataclass(frozen=True, kw_only=True)
class IxicareSensorEntityDescription(SensorEntityDescription):
    """Describes a sensor of a device."""

    value_fn: Callable[[TrackedDevice], StateType | datetime]
    attributes_fn: Callable[[TrackedDevice], dict[str, Any]] | None = None
    # What value_fn and attributes_fn read (CHANGED_* bits).
    shows: int = CHANGED_ALL


DEVICE_SENSORS: tuple[IxicareSensorEntityDescription, ...] = (
    IxicareSensorEntityDescription(
        key="battery",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        value_fn=lambda device: device.battery_level,
        shows=CHANGED_DATA,
    ),
    IxicareSensorEntityDescription(
        key="zone",
        translation_key="zone",
        value_fn=lambda device: device.indoor.zone if device.indoor else None,
        attributes_fn=_zone_attributes,
        shows=CHANGED_LOCATION,
    ),
    IxicareSensorEntityDescription(
        key="floor",
        translation_key="floor",
        value_fn=lambda device: device.indoor.floor if device.indoor else None,
        shows=CHANGED_LOCATION,
    ),
    IxicareSensorEntityDescription(
        key="active_alert",
        translation_key="active_alert",
        device_class=SensorDeviceClass.ENUM,
        options=ACTIVE_ALERT_OPTIONS,
        value_fn=_active_alert,
        attributes_fn=_active_alert_attributes,
        shows=CHANGED_ALERTS,
    ),
    IxicareSensorEntityDescription(
        key="last_update",
        translation_key="last_update",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        # It changes with every heartbeat: one more state write (and recorder
        # row) per message, for a value most dashboards never show.
        entity_registry_enabled_default=False,
        value_fn=lambda device: _timestamp(device.last_update),
        shows=CHANGED_DATA,
    ),
    IxicareSensorEntityDescription(
        key="phone_number",
        translation_key="phone_number",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda device: device.phone_number,
        shows=CHANGED_DATA,
    ),
)

ACTIVE_ALERTS_DESCRIPTION = SensorEntityDescription(
    key="active_alerts",
    translation_key="active_alerts",
    state_class=SensorStateClass.MEASUREMENT,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IxicareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the sensors of the site and of each device, now and later."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        [IxicareActiveAlertsSensor(coordinator, ACTIVE_ALERTS_DESCRIPTION)]
    )
    await async_setup_device_entities(
        entry,
        async_add_entities,
        lambda device: (
            IxicareSensor(coordinator, device, description)
            for description in DEVICE_SENSORS
        ),
    )


class IxicareSensor(IxicareDeviceEntity, SensorEntity):
    """A sensor of one device."""

    entity_description: IxicareSensorEntityDescription

    def __init__(
        self,
        coordinator: IxicareCoordinator,
        device: TrackedDevice,
        description: IxicareSensorEntityDescription,
    ) -> None:
        """Initialise the sensor of `device`."""
        super().__init__(coordinator, device, description)
        self._shows = description.shows

    @property
    def native_value(self) -> StateType | datetime:
        """Return the state."""
        return self.entity_description.value_fn(self.device)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the attributes."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.device)

    def _state_key(self) -> tuple[Any, ...]:
        attributes = self.extra_state_attributes
        return (
            self.native_value,
            tuple(sorted(attributes.items())) if attributes else None,
        )


class IxicareActiveAlertsSensor(IxicareSiteEntity, SensorEntity):
    """The number of active alerts of the site."""

    @property
    def native_value(self) -> int:
        """Return the number of active alerts."""
        return len(self.coordinator.state.alerts)

    def _state_key(self) -> tuple[Any, ...]:
        return (self.native_value,)
