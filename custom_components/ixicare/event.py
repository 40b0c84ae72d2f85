"""Event entity: each alert transition of a device, once."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import IxicareConfigEntry
from .const import ATTR_ALERT_ID, ATTR_ALERT_TYPE, ATTR_RESIDENT, TRANSITIONS
from .entity import IxicareDeviceEntity, async_setup_device_entities
from .pyixicare.state import AlertTransition

PARALLEL_UPDATES = 0

ALERT_EVENT_DESCRIPTION = EventEntityDescription(
    key="alert",
    translation_key="alert",
    event_types=list(TRANSITIONS),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: IxicareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the alert event entity of each device, now and later."""
    coordinator = entry.runtime_data.coordinator
    await async_setup_device_entities(
        entry,
        async_add_entities,
        lambda device: [
            IxicareAlertEvent(coordinator, device, ALERT_EVENT_DESCRIPTION)
        ],
    )


class IxicareAlertEvent(IxicareDeviceEntity, EventEntity):
    """Fires raised, escalated, accepted, resolved and cancelled."""

    # Its state follows transitions (written below) and the availability.
    _shows = 0

    def _state_key(self) -> tuple[Any, ...]:
        return ()

    async def async_added_to_hass(self) -> None:
        """Subscribe to the transitions of the device."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.async_add_transition_listener(
                self.device.mac, self._handle_transition
            )
        )

    @callback
    def _handle_transition(self, transition: AlertTransition) -> None:
        self._trigger_event(
            transition.transition,
            {
                ATTR_ALERT_ID: transition.alert.alert_id,
                ATTR_ALERT_TYPE: transition.type_name,
                ATTR_RESIDENT: transition.alert.resident or self.device.resident,
            },
        )
        self.async_write_ha_state()
