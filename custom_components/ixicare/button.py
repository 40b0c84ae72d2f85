"""Buttons of the ixicare integration: accept and resolve a resident's alert."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import IxicareConfigEntry
from .const import DOMAIN
from .devices import default_device_name
from .entity import IxicareEntity, IxicareEntityDescription, async_setup_entities
from .pyixicare import AlertAction, AlertStatus
from .pyixicare.tracked import TrackedDevice
from .services import async_send_command

# Each press waits for the server's answer; presses of different buttons may
# run side by side.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class IxicareButtonEntityDescription(
    ButtonEntityDescription, IxicareEntityDescription[TrackedDevice]
):
    """Describes a button that sends one action for the device's alert."""

    action: AlertAction
    # The statuses of the alerts the action applies to.
    statuses: frozenset[AlertStatus]
    # The translation key of the error when no alert has one of them.
    nothing_to_do: str
    # A button shows nothing of the device, only the site's availability.
    shows: int = 0


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


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IxicareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the buttons of each device, now and when devices appear."""
    await async_setup_entities(entry, async_add_entities, IxicareAlertButton, BUTTONS)


class IxicareAlertButton(IxicareEntity, ButtonEntity):
    """Accept or resolve the most critical alert of a resident's device."""

    entity_description: IxicareButtonEntityDescription

    async def async_press(self) -> None:
        """Send the action for the device's most critical alert it applies to."""
        description = self.entity_description
        device = self.device
        assert device is not None
        if (alert := device.alert_to_act_on(description.statuses)) is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key=description.nothing_to_do,
                translation_placeholders={
                    "device": device.resident or default_device_name(device.mac)
                },
            )
        await async_send_command(self.coordinator, alert, description.action)
