"""Sensors of the ixicare integration."""

from __future__ import annotations

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
from .entity import IxicareEntity, IxicareEntityDescription, async_setup_entities
from .pyixicare import AlertType
from .pyixicare.state import CHANGED_ALERTS, CHANGED_DATA, CHANGED_LOCATION
from .pyixicare.tracked import TrackedDevice

PARALLEL_UPDATES = 0

# The states of the active alert sensor: one per known alert type, "other"
# for a type this version does not know.
ACTIVE_ALERT_OPTIONS = [
    "none",
    *(t.value.lower() for t in AlertType if t is not AlertType.UNKNOWN),
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
class IxicareSensorEntityDescription[T](
    SensorEntityDescription, IxicareEntityDescription[T]
):
    """Describes a sensor of a device or of the site."""


ACTIVE_ALERTS_DESCRIPTION = IxicareSensorEntityDescription[IxicareCoordinator](
    key="active_alerts",
    translation_key="active_alerts",
    state_class=SensorStateClass.MEASUREMENT,
    value_fn=lambda coordinator: len(coordinator.state.alerts),
    of_site=True,
)

DEVICE_SENSORS: tuple[IxicareSensorEntityDescription[TrackedDevice], ...] = (
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
        attrs_fn=_zone_attributes,
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
        attrs_fn=_active_alert_attributes,
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

SENSORS: tuple[IxicareSensorEntityDescription[Any], ...] = (
    ACTIVE_ALERTS_DESCRIPTION,
    *DEVICE_SENSORS,
)


class IxicareSensor(IxicareEntity, SensorEntity):
    """A sensor of one device or of the site."""

    entity_description: IxicareSensorEntityDescription[Any]

    @property
    def native_value(self) -> StateType | datetime:
        """Return the state."""
        return self._value()  # type: ignore[no-any-return]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IxicareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the sensors of the site and of each device, now and later."""
    await async_setup_entities(entry, async_add_entities, IxicareSensor, SENSORS)
