"""Logbook lines for ixicare alerts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

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


def describe_alert(data: Mapping[str, Any]) -> str:
    """Return a sentence for an `ixicare_alert` event."""
    alert_type = data.get(ATTR_ALERT_TYPE) or "Unknown"
    transition = data.get(ATTR_TRANSITION, "changed")
    if transition == TRANSITION_ESCALATED:
        message = f"alert escalated from {data.get(ATTR_PREVIOUS_TYPE)} to {alert_type}"
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
            LOGBOOK_ENTRY_MESSAGE: describe_alert(event.data),
        }

    async_describe_event(DOMAIN, EVENT_ALERT, async_describe)
