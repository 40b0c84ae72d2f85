"""Device triggers of the ixicare integration, for the automation editor."""

from __future__ import annotations

from typing import Any

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import (
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_EVENT_DATA,
    CONF_PLATFORM,
    CONF_TYPE,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType
import voluptuous as vol

from .const import (
    ATTR_ALERT_TYPE,
    ATTR_TRANSITION,
    DOMAIN,
    EVENT_ALERT,
    TRANSITION_ACCEPTED,
    TRANSITION_CANCELLED,
    TRANSITION_DISMISSED,
    TRANSITION_ESCALATED,
    TRANSITION_RAISED,
    TRANSITION_RESOLVED,
)
from .pyixicare import AlertType

RAISED_TRIGGERS = {
    f"{alert_type.value.lower()}_raised": alert_type
    for alert_type in AlertType
    if alert_type is not AlertType.UNKNOWN
}
TRANSITION_TRIGGERS = {
    f"alert_{transition}": transition
    for transition in (
        TRANSITION_ESCALATED,
        TRANSITION_ACCEPTED,
        TRANSITION_RESOLVED,
        TRANSITION_CANCELLED,
        TRANSITION_DISMISSED,
    )
}
CONF_EVENT_TYPE = "event_type"
TRIGGER_TYPES = (*RAISED_TRIGGERS, *TRANSITION_TRIGGERS)

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {vol.Required(CONF_TYPE): vol.In(TRIGGER_TYPES)}
)


async def async_get_triggers(
    hass: HomeAssistant, device_id: str
) -> list[dict[str, Any]]:
    """List the triggers of an ixicare device."""
    return [
        {
            CONF_PLATFORM: "device",
            CONF_DOMAIN: DOMAIN,
            CONF_DEVICE_ID: device_id,
            CONF_TYPE: trigger_type,
        }
        for trigger_type in TRIGGER_TYPES
    ]


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Listen to the `ixicare_alert` events of the device.

    `<type>_raised` fires whenever an alert of that type becomes active: when
    it is raised, and when another alert is escalated to it.
    """
    trigger_type: str = config[CONF_TYPE]
    device = {CONF_DEVICE_ID: config[CONF_DEVICE_ID]}
    if trigger_type in RAISED_TRIGGERS:
        alert_type = RAISED_TRIGGERS[trigger_type].value
        matches = [
            {**device, ATTR_TRANSITION: transition, ATTR_ALERT_TYPE: alert_type}
            for transition in (TRANSITION_RAISED, TRANSITION_ESCALATED)
        ]
    else:
        matches = [{**device, ATTR_TRANSITION: TRANSITION_TRIGGERS[trigger_type]}]
    detach = [
        await event_trigger.async_attach_trigger(
            hass,
            event_trigger.TRIGGER_SCHEMA(
                {
                    CONF_PLATFORM: "event",
                    CONF_EVENT_TYPE: EVENT_ALERT,
                    CONF_EVENT_DATA: event_data,
                }
            ),
            action,
            trigger_info,
            platform_type="device",
        )
        for event_data in matches
    ]

    @callback
    def async_detach() -> None:
        for unsubscribe in detach:
            unsubscribe()

    return async_detach
