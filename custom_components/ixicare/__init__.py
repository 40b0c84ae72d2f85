"""The ixicare integration: nurse-call alerts and device data over socket.io."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_VERIFY_SSL, EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.device_registry import DeviceEntry
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType

from .compat import HAS_OPTIONS_FLOW_WITH_RELOAD, SETUP_ENTRY_DONE, unload_entry_result
from .const import CONNECT_TIMEOUT, DOMAIN, LOGGER, STORAGE_VERSION
from .coordinator import IxicareCoordinator
from .pyixicare import IxicareAuthError, IxicareConnectionError
from .services import async_setup_services
from .storage import store_key

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.DEVICE_TRACKER,
    Platform.EVENT,
    Platform.SENSOR,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


@dataclass(slots=True)
class IxicareData:
    """Runtime data of a config entry."""

    coordinator: IxicareCoordinator


type IxicareConfigEntry = ConfigEntry[IxicareData]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the integration's services."""
    async_setup_services(hass)
    return True


async def async_setup_entry(
    hass: HomeAssistant, entry: IxicareConfigEntry
) -> bool | None:
    """Connect to the site and set its entities up."""
    _update_tls_issue(hass, entry)
    coordinator = IxicareCoordinator(hass, entry)
    await coordinator.async_load()
    try:
        await coordinator.async_start(CONNECT_TIMEOUT)
    except IxicareAuthError as err:
        await coordinator.async_shutdown()
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="invalid_auth"
        ) from err
    except IxicareConnectionError as err:
        await coordinator.async_shutdown()
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="cannot_connect",
            translation_placeholders={"error": str(err)},
        ) from err
    entry.runtime_data = IxicareData(coordinator=coordinator)
    entry.async_on_unload(coordinator.async_shutdown)

    async def _async_stop(_event: Event) -> None:
        # Home Assistant does not unload entries when it stops: close the
        # session (no reconnection once its HTTP session is closed) and write
        # the state now.
        await coordinator.async_shutdown()

    # Not `async_listen_once`: its remover, called at unload after the event
    # fired, would log an error.
    entry.async_on_unload(hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, _async_stop))
    if not HAS_OPTIONS_FLOW_WITH_RELOAD:
        entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Announce alert transitions from now on (those of the set-up and of Home
    # Assistant's start go out once it has started; see `announce.py`).
    coordinator.announcer.async_release()
    return SETUP_ENTRY_DONE  # None from 2026.11, True before (compat.py)


# Entries warned about in this run: the warning is logged once, not at each reload.
_TLS_WARNED: set[str] = set()


def _update_tls_issue(hass: HomeAssistant, entry: IxicareConfigEntry) -> None:
    """Keep a repair issue while the TLS certificate is not verified."""
    issue_id = f"tls_verification_off_{entry.entry_id}"
    if entry.data.get(CONF_VERIFY_SSL, True):
        _TLS_WARNED.discard(entry.entry_id)
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    if entry.entry_id not in _TLS_WARNED:
        _TLS_WARNED.add(entry.entry_id)
        LOGGER.warning(
            "%s does not verify the ixicare server's TLS certificate: its token "
            "goes to whoever answers at that address",
            entry.title,
        )
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="tls_verification_off",
        translation_placeholders={"title": entry.title},
    )


async def _async_options_updated(
    hass: HomeAssistant, entry: IxicareConfigEntry
) -> None:
    """Reload when the options change (Home Assistant before 2025.8)."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(
    hass: HomeAssistant, entry: IxicareConfigEntry
) -> bool | None:
    """Unload the platforms; the session is closed by the unload callback."""
    return unload_entry_result(
        await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    )


async def async_remove_entry(hass: HomeAssistant, entry: IxicareConfigEntry) -> None:
    """Delete what the site stored (its residents' data) and its repair issues."""
    # The coordinator's store, by its key (the entry is unloaded by now).
    await Store[dict[str, object]](
        hass, STORAGE_VERSION, store_key(entry.entry_id)
    ).async_remove()
    _TLS_WARNED.discard(entry.entry_id)
    for issue in (
        "tls_verification_off",
        "invalid_namespace",
        "device_limit",
        "alert_limit",
    ):
        ir.async_delete_issue(hass, DOMAIN, f"{issue}_{entry.entry_id}")


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: IxicareConfigEntry, device_entry: DeviceEntry
) -> bool:
    """Let the user remove a device; it returns only if a new message names it."""
    coordinator = entry.runtime_data.coordinator
    if (DOMAIN, coordinator.site_uuid) in device_entry.identifiers:
        return False
    for domain, identifier in device_entry.identifiers:
        if domain == DOMAIN:
            coordinator.async_forget_device(identifier)
    return True
