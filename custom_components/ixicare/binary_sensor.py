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
from .entity import IxicareDeviceEntity, IxicareSiteEntity, async_setup_device_entities
from .pyixicare import AlertType
from .pyixicare.state import CHANGED_ALERTS, CHANGED_RESIDENT, TrackedAlert

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class IxicareAlertBinarySensorEntityDescription(BinarySensorEntityDescription):
    """Describes the binary sensor of one alert type."""

    alert_type: AlertType


ALERT_SENSORS: tuple[IxicareAlertBinarySensorEntityDescription, ...] = tuple(
    IxicareAlertBinarySensorEntityDescription(
        key=alert_type.value.lower(),
        translation_key=alert_type.value.lower(),
        device_class=BinarySensorDeviceClass.SAFETY,
        alert_type=alert_type,
    )
    for alert_type in (
        AlertType.MAN_DOWN,
        AlertType.GEOFENCING,
        AlertType.PANIC_BUTTON,
        AlertType.CRITICAL_BATTERY,
    )
)

CONNECTION_DESCRIPTION = BinarySensorEntityDescription(
    key="connection",
    translation_key="connection",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IxicareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the connection sensor and the alert sensors of each device."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        [IxicareConnectionBinarySensor(coordinator, CONNECTION_DESCRIPTION)]
    )
    await async_setup_device_entities(
        entry,
        async_add_entities,
        lambda device: (
            IxicareAlertBinarySensor(coordinator, device, description)
            for description in ALERT_SENSORS
        ),
    )


class IxicareAlertBinarySensor(IxicareDeviceEntity, BinarySensorEntity):
    """On while an alert of one type is open or accepted on the device."""

    entity_description: IxicareAlertBinarySensorEntityDescription
    _shows = CHANGED_ALERTS | CHANGED_RESIDENT

    def _alert(self) -> TrackedAlert | None:
        alert_type = self.entity_description.alert_type
        alerts = [a for a in self.device.alerts.values() if a.type is alert_type]
        return min(alerts, key=lambda a: a.raised_at) if alerts else None

    @property
    def is_on(self) -> bool:
        """Return True while such an alert is active."""
        return self._alert() is not None

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the active alert's id, type, status, time and resident."""
        if (alert := self._alert()) is None:
            return None
        return {
            ATTR_ALERT_ID: alert.alert_id,
            # Lets templates (the blueprints) find the alerts of a type.
            ATTR_ALERT_TYPE: alert.type_name,
            ATTR_STATUS: alert.status.value,
            ATTR_RAISED_AT: dt_util.utc_from_timestamp(alert.raised_at).isoformat(),
            ATTR_RESIDENT: alert.resident or self.device.resident,
        }

    def _state_key(self) -> tuple[Any, ...]:
        alert = self._alert()
        if alert is None:
            return (None,)
        return (alert.alert_id, alert.status, alert.resident or self.device.resident)


class IxicareConnectionBinarySensor(IxicareSiteEntity, BinarySensorEntity):
    """On while the socket.io session with the site is established."""

    @property
    def available(self) -> bool:
        """The connection is always known."""
        return True

    @property
    def is_on(self) -> bool:
        """Return True while connected."""
        return self.coordinator.client.connected

    def _state_key(self) -> tuple[Any, ...]:
        return (self.is_on,)
