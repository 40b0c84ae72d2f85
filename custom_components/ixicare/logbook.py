"""Logbook lines for ixicare alerts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers.translation import async_get_cached_translations

from .const import (
    ATTR_ALERT_TYPE,
    ATTR_PREVIOUS_TYPE,
    ATTR_RESIDENT,
    ATTR_TRANSITION,
    ATTR_ZONE,
    DOMAIN,
    EVENT_ALERT,
    TRANSITION_DISMISSED,
    TRANSITION_ESCALATED,
)


@callback
def alert_type_name(hass: HomeAssistant, alert_type: str | None) -> str:
    """Return an alert type in plain words ("Man down" for MAN_DOWN).

    The words are the translated states of the `Active alert` sensor, in
    Home Assistant's language; a type this version does not know reads as
    the server sent it.
    """
    if not alert_type:
        return "Unknown"
    translations = async_get_cached_translations(
        hass, hass.config.language, "entity", DOMAIN
    )
    key = f"component.{DOMAIN}.entity.sensor.active_alert.state.{alert_type.lower()}"
    return translations.get(key) or alert_type


@callback
def describe_alert(hass: HomeAssistant, data: Mapping[str, Any]) -> str:
    """Return a sentence for an `ixicare_alert` event."""
    alert_type = alert_type_name(hass, data.get(ATTR_ALERT_TYPE))
    transition = data.get(ATTR_TRANSITION, "changed")
    if transition == TRANSITION_ESCALATED:
        previous = alert_type_name(hass, data.get(ATTR_PREVIOUS_TYPE))
        message = f"Alert escalated from {previous} to {alert_type}"
    elif transition == TRANSITION_DISMISSED:
        message = f"{alert_type} alert dismissed in Home Assistant"
    else:
        message = f"{alert_type} alert {transition}"
    if resident := data.get(ATTR_RESIDENT):
        message += f" for {resident}"
    if zone := data.get(ATTR_ZONE):
        message += f" in {zone}"
    return message


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the `ixicare_alert` events."""

    @callback
    def async_describe(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: "ixicare",
            LOGBOOK_ENTRY_MESSAGE: describe_alert(hass, event.data),
        }

    async_describe_event(DOMAIN, EVENT_ALERT, async_describe)
