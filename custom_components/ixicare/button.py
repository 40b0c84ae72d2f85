"""Buttons of the ixicare integration: accept and resolve a resident's alert."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import IxicareConfigEntry
from .const import DOMAIN
from .entity import (
    IxicareDeviceEntity,
    async_setup_device_entities,
    default_device_name,
)
from .pyixicare import AlertAction, AlertStatus
from .pyixicare.state import TrackedAlert, TrackedDevice
from .services import async_send_command

# Each press waits for the server's answer; presses of different buttons may
# run side by side.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class IxicareButtonEntityDescription(ButtonEntityDescription):
    """Describes a button that sends one action for the device's alert."""

    action: AlertAction
    # The statuses of the alerts the action applies to.
    statuses: frozenset[AlertStatus]
    # The translation key of the error when no alert has one of them.
    nothing_to_do: str


BUTTONS: tuple[IxicareButtonEntityDescription, ...] = (
    IxicareButtonEntityDescription(
        key="accept_alert",
        translation_key="accept_alert",
        action=AlertAction.ACCEPT,
        statuses=frozenset({AlertStatus.OPEN}),
        nothing_to_do="no_alert_to_accept",
    ),
    IxicareButtonEntityDescription(
        key="resolve_alert",
        translation_key="resolve_alert",
        action=AlertAction.RESOLVE,
        statuses=frozenset({AlertStatus.OPEN, AlertStatus.ACCEPTED}),
        nothing_to_do="no_alert_to_resolve",
    ),
)


def target_alert(
    device: TrackedDevice, statuses: frozenset[AlertStatus]
) -> TrackedAlert | None:
    """Return the device's most critical active alert with one of `statuses`.

    The earliest among alerts of the same type, as the services choose.
    """
    alerts = [alert for alert in device.alerts.values() if alert.status in statuses]
    if not alerts:
        return None
    return min(alerts, key=lambda alert: (alert.type.priority, alert.raised_at))


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IxicareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the buttons of each device, now and when devices appear."""
    coordinator = entry.runtime_data.coordinator
    await async_setup_device_entities(
        entry,
        async_add_entities,
        lambda device: (
            IxicareAlertButton(coordinator, device, description)
            for description in BUTTONS
        ),
    )


class IxicareAlertButton(IxicareDeviceEntity, ButtonEntity):
    """Accept or resolve the most critical alert of a resident's device."""

    entity_description: IxicareButtonEntityDescription
    # A button shows nothing of the device, only the site's availability.
    _shows = 0

    def _state_key(self) -> tuple[Any, ...]:
        return ()

    async def async_press(self) -> None:
        """Send the action for the device's most critical alert it applies to."""
        description = self.entity_description
        alert = target_alert(self.device, description.statuses)
        if alert is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key=description.nothing_to_do,
                translation_placeholders={
                    "device": self.device.resident
                    or default_device_name(self.device.mac)
                },
            )
        await async_send_command(self.coordinator, alert, description.action)
