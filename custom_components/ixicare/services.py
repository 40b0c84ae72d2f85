"""Services: accept, resolve and dismiss an alert."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
import voluptuous as vol

from .const import (
    ATTR_ACTION,
    ATTR_ALERT_ID,
    ATTR_RESULT,
    DOMAIN,
    LOGGER,
    SERVICE_ACCEPT_ALERT,
    SERVICE_DISMISS_ALERT,
    SERVICE_RESOLVE_ALERT,
    TRANSITION_DISMISSED,
)
from .pyixicare import (
    AlertAction,
    IxicareCommandTimeoutError,
    IxicareConnectionError,
    UpdateResult,
)

if TYPE_CHECKING:
    from .coordinator import IxicareCoordinator
    from .pyixicare.tracked import TrackedAlert

ATTR_DEVICE_ID = "device_id"

SERVICE_SCHEMA = vol.All(
    vol.Schema(
        {
            vol.Optional(ATTR_ALERT_ID): cv.string,
            vol.Optional(ATTR_DEVICE_ID): cv.string,
        }
    ),
    cv.has_at_least_one_key(ATTR_ALERT_ID, ATTR_DEVICE_ID),
)


def _coordinators(hass: HomeAssistant) -> list[IxicareCoordinator]:
    return [
        entry.runtime_data.coordinator
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
    ]


def _find_alert(
    hass: HomeAssistant, call: ServiceCall
) -> tuple[IxicareCoordinator, TrackedAlert]:
    """Return the site and the active alert the call names."""
    alert_id: str | None = call.data.get(ATTR_ALERT_ID)
    device_id: str | None = call.data.get(ATTR_DEVICE_ID)
    coordinators = _coordinators(hass)
    if device_id is not None:
        for coordinator in coordinators:
            if (mac := coordinator.mac_of(device_id)) is None:
                continue
            device = coordinator.state.devices[mac]
            if alert_id is not None:
                alert = device.alerts.get(alert_id.lower())
            else:
                alert = device.top_alert
            if alert is None and alert_id is None:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="no_alert_on_device",
                    translation_placeholders={"device": device.resident or mac},
                )
            if alert is None:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="no_active_alert_on_device",
                    translation_placeholders={
                        "device": device.resident or mac,
                        "alert_id": str(alert_id),
                    },
                )
            return coordinator, alert
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_device",
            translation_placeholders={"device_id": device_id},
        )
    assert alert_id is not None
    for coordinator in coordinators:
        if (alert := coordinator.state.find_alert(alert_id)) is not None:
            return coordinator, alert
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="no_active_alert",
        translation_placeholders={"alert_id": alert_id},
    )


async def _async_update_alert(
    call: ServiceCall, action: AlertAction
) -> ServiceResponse:
    coordinator, alert = _find_alert(call.hass, call)
    return await async_send_command(coordinator, alert, action)


async def async_send_command(
    coordinator: IxicareCoordinator, alert: TrackedAlert, action: AlertAction
) -> ServiceResponse:
    """Send `action` for `alert` and wait for the answer (services and buttons).

    Raise a translated error when the site is not connected, the server
    refuses, does not answer in time or the connection drops meanwhile.
    """
    if not coordinator.client.connected:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_connected",
            translation_placeholders={"title": coordinator.entry.title},
        )
    try:
        response = await coordinator.client.update_alert(
            alert.mac, alert.alert_id, action, coordinator.command_timeout
        )
    except IxicareCommandTimeoutError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_timeout",
            translation_placeholders={
                "action": action.value,
                "alert_id": alert.alert_id,
                "timeout": f"{coordinator.command_timeout:g}",
            },
        ) from err
    except IxicareConnectionError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_disconnected",
            translation_placeholders={
                "action": action.value,
                "alert_id": alert.alert_id,
            },
        ) from err
    if response.result is UpdateResult.FAILURE:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_failed",
            translation_placeholders={
                "action": action.value,
                "alert_id": alert.alert_id,
                "error": response.error or "no reason given",
            },
        )
    return {
        ATTR_ALERT_ID: alert.alert_id,
        ATTR_ACTION: action.value,
        ATTR_RESULT: response.result.value,
    }


async def _async_accept(call: ServiceCall) -> ServiceResponse:
    return await _async_update_alert(call, AlertAction.ACCEPT)


async def _async_resolve(call: ServiceCall) -> ServiceResponse:
    return await _async_update_alert(call, AlertAction.RESOLVE)


async def _async_dismiss(call: ServiceCall) -> ServiceResponse:
    """End an alert in Home Assistant only, for one the server has forgotten."""
    coordinator, alert = _find_alert(call.hass, call)
    # The server has forgotten it: end it in Home Assistant only.
    LOGGER.info(
        "ixicare alert %s of site %s dismissed in Home Assistant",
        alert.alert_id,
        coordinator.site_uuid,
    )
    coordinator.async_apply_local(
        coordinator.state.dismiss(alert.alert_id, time.time())
    )
    return {
        ATTR_ALERT_ID: alert.alert_id,
        ATTR_ACTION: TRANSITION_DISMISSED.value,
        ATTR_RESULT: "SUCCESS",
    }


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the services."""
    for service, handler in (
        (SERVICE_ACCEPT_ALERT, _async_accept),
        (SERVICE_RESOLVE_ALERT, _async_resolve),
        (SERVICE_DISMISS_ALERT, _async_dismiss),
    ):
        hass.services.async_register(
            DOMAIN,
            service,
            handler,
            schema=SERVICE_SCHEMA,
            supports_response=SupportsResponse.OPTIONAL,
        )
