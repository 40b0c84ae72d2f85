"""Event entity: each alert transition of a device, once."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import IxicareConfigEntry
from .const import ATTR_ALERT_ID, ATTR_ALERT_TYPE, ATTR_RESIDENT
from .entity import IxicareEntity, IxicareEntityDescription, async_setup_entities
from .pyixicare.tracked import AlertTransition, TrackedDevice, Transition
from .subscriptions import Kind

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class IxicareEventEntityDescription[T](
    EventEntityDescription, IxicareEntityDescription[T]
):
    """Describes an event entity of a device."""


EVENTS: tuple[IxicareEventEntityDescription[TrackedDevice], ...] = (
    IxicareEventEntityDescription(
        key="alert",
        translation_key="alert",
        event_types=[transition.value for transition in Transition],
        # Its state follows transitions (written below) and the availability.
        shows=0,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IxicareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the alert event entity of each device, now and later."""
    await async_setup_entities(entry, async_add_entities, IxicareAlertEvent, EVENTS)


class IxicareAlertEvent(IxicareEntity, EventEntity):
    """Fires raised, escalated, accepted, resolved, cancelled and dismissed."""

    entity_description: IxicareEventEntityDescription[TrackedDevice]

    async def async_added_to_hass(self) -> None:
        """Subscribe to the transitions of the device."""
        await super().async_added_to_hass()
        assert self.device is not None
        self.async_on_remove(
            self.coordinator.subscriptions.subscribe(
                Kind.TRANSITION, self._handle_transition, self.device.mac
            )
        )

    @callback
    def _handle_transition(self, transition: AlertTransition) -> None:
        assert self.device is not None
        self._trigger_event(
            transition.transition.value,
            {
                ATTR_ALERT_ID: transition.alert.alert_id,
                ATTR_ALERT_TYPE: transition.type_name,
                ATTR_RESIDENT: transition.alert.resident or self.device.resident,
            },
        )
        self.async_write_ha_state()
