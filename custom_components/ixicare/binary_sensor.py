"""Binary sensors of the ixicare integration: alerts and the connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from . import IxicareConfigEntry
from .const import (
    ATTR_ALERT_ID,
    ATTR_ALERT_TYPE,
    ATTR_RAISED_AT,
    ATTR_RESIDENT,
    ATTR_STATUS,
)
from .coordinator import IxicareCoordinator
from .entity import IxicareEntity, IxicareEntityDescription, async_setup_entities
from .pyixicare import AlertType
from .pyixicare.state import CHANGED_ALERTS, CHANGED_RESIDENT
from .pyixicare.tracked import TrackedDevice

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class IxicareBinarySensorEntityDescription[T](
    BinarySensorEntityDescription, IxicareEntityDescription[T]
):
    """Describes a binary sensor of a device or of the site (on: `value_fn`)."""

    # The connection is always known: its sensor is available while offline.
    always_available: bool = False


def _alert_attributes(
    device: TrackedDevice, alert_type: AlertType
) -> dict[str, Any] | None:
    """Return the id, type, status, time and resident of the alert shown."""
    if (alert := device.alert_of_type(alert_type)) is None:
        return None
    return {
        ATTR_ALERT_ID: alert.alert_id,
        # Lets templates (the blueprints) find the alerts of a type.
        ATTR_ALERT_TYPE: alert.type_name,
        ATTR_STATUS: alert.status.value,
        ATTR_RAISED_AT: dt_util.utc_from_timestamp(alert.raised_at).isoformat(),
        ATTR_RESIDENT: alert.resident or device.resident,
    }


def _alert_sensor(
    alert_type: AlertType,
) -> IxicareBinarySensorEntityDescription[TrackedDevice]:
    """Describe the sensor that is on while an alert of `alert_type` is active."""
    return IxicareBinarySensorEntityDescription(
        key=alert_type.value.lower(),
        translation_key=alert_type.value.lower(),
        device_class=BinarySensorDeviceClass.SAFETY,
        value_fn=lambda device: device.alert_of_type(alert_type) is not None,
        attrs_fn=lambda device: _alert_attributes(device, alert_type),
        shows=CHANGED_ALERTS | CHANGED_RESIDENT,
    )


ALERT_SENSORS: tuple[IxicareBinarySensorEntityDescription[TrackedDevice], ...] = tuple(
    _alert_sensor(alert_type)
    for alert_type in AlertType
    if alert_type is not AlertType.UNKNOWN
)

CONNECTION_DESCRIPTION = IxicareBinarySensorEntityDescription[IxicareCoordinator](
    key="connection",
    translation_key="connection",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
    value_fn=lambda coordinator: coordinator.client.connected,
    always_available=True,
    of_site=True,
)

SENSORS: tuple[IxicareBinarySensorEntityDescription[Any], ...] = (
    CONNECTION_DESCRIPTION,
    *ALERT_SENSORS,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IxicareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the connection sensor and the alert sensors of each device."""
    await async_setup_entities(entry, async_add_entities, IxicareBinarySensor, SENSORS)


class IxicareBinarySensor(IxicareEntity, BinarySensorEntity):
    """An alert of one type on a device, or the site's connection."""

    entity_description: IxicareBinarySensorEntityDescription[Any]

    @property
    def available(self) -> bool:
        """Return True while the site's data can be trusted."""
        return self.entity_description.always_available or super().available

    @property
    def is_on(self) -> bool:
        """Return the state."""
        return bool(self._value())
