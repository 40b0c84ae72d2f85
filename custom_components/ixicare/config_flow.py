"""Config flow of the ixicare integration."""

from __future__ import annotations

from collections.abc import Mapping
import ipaddress
from typing import Any
import unicodedata
from urllib.parse import urlsplit
import uuid

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_NAME, CONF_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from . import IxicareConfigEntry
from .compat import OptionsFlowBase
from .connection import create_client
from .const import (
    CONF_COMMAND_TIMEOUT,
    CONF_IDLE_TIMEOUT,
    CONF_MAX_DEVICES,
    CONF_NAMESPACE,
    CONF_SITE_UUID,
    CONF_SOCKETIO_PATH,
    CONF_UNAVAILABLE_AFTER,
    CONNECT_TIMEOUT,
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_DEVICES,
    DEFAULT_UNAVAILABLE_AFTER,
    DEFAULT_URL,
    DOMAIN,
    LOGGER,
)
from .pyixicare import (
    DEFAULT_NAMESPACE,
    DEFAULT_SOCKETIO_PATH,
    IxicareAuthError,
    IxicareConnectionError,
    IxicareNamespaceError,
    IxicareTLSError,
)

SECTION_ADVANCED = "advanced"
ADVANCED_KEYS = (CONF_URL, CONF_SOCKETIO_PATH, CONF_NAMESPACE, CONF_VERIFY_SSL)
PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))


def _advanced_schema(defaults: Mapping[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_URL, default=defaults.get(CONF_URL, DEFAULT_URL)): URL,
            vol.Required(
                CONF_SOCKETIO_PATH,
                default=defaults.get(CONF_SOCKETIO_PATH, DEFAULT_SOCKETIO_PATH),
            ): str,
            vol.Required(
                CONF_NAMESPACE, default=defaults.get(CONF_NAMESPACE, DEFAULT_NAMESPACE)
            ): str,
            vol.Required(
                CONF_VERIFY_SSL, default=defaults.get(CONF_VERIFY_SSL, True)
            ): bool,
        }
    )


def is_loopback(host: str | None) -> bool:
    """Return True for an address of this machine."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_url(url: str) -> str | None:
    """Return an error key for a server URL, or None when it may be used."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        return "invalid_url"
    if parts.scheme not in ("https", "wss", "http", "ws") or not hostname:
        return "invalid_url"
    # On the text itself: urlsplit drops tabs and line breaks silently.
    if any(char.isspace() or unicodedata.category(char)[0] == "C" for char in url):
        return "url_characters"
    if parts.username is not None or parts.password is not None:
        # Never sent: python-engineio would write them to its log.
        return "url_credentials"
    try:
        port = parts.port
    except ValueError:
        return "invalid_port"
    if port == 0:
        return "invalid_port"
    if parts.scheme in ("http", "ws") and not is_loopback(hostname):
        return "insecure_url"
    return None


def normalize_site_uuid(value: str) -> str | None:
    """Return the site UUID lower-case, or None when it is not a UUID."""
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


async def validate_connection(hass: HomeAssistant, data: Mapping[str, Any]) -> None:
    """Connect once with `data`; raise IxicareAuthError or IxicareConnectionError."""
    client = create_client(hass, data)
    try:
        await client.connect(CONNECT_TIMEOUT)
    finally:
        await client.close()


async def _errors_for(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, str]:
    if (error := validate_url(data[CONF_URL])) is not None:
        return {CONF_URL: error}
    try:
        await validate_connection(hass, data)
    except IxicareNamespaceError:
        return {CONF_NAMESPACE: "invalid_namespace"}
    except IxicareAuthError:
        return {"base": "invalid_auth"}
    except IxicareTLSError as err:
        LOGGER.debug("TLS certificate of the ixicare server refused: %s", err)
        return {"base": "invalid_certificate"}
    except IxicareConnectionError as err:
        LOGGER.debug("Cannot connect to ixicare: %s", err)
        return {"base": "cannot_connect"}
    except Exception:  # noqa: BLE001 - the flow must show an error, not crash
        LOGGER.exception("Unexpected error while connecting to ixicare")
        return {"base": "unknown"}
    return {}


def _concerns_advanced(errors: Mapping[str, str]) -> bool:
    """Return True when an error asks to check the advanced settings."""
    return SECTION_ADVANCED in errors or errors.get("base") in (
        "cannot_connect",
        "invalid_certificate",
    )


class IxicareConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up an ixicare site."""

    VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: IxicareConfigEntry) -> IxicareOptionsFlow:
        """Return the options flow."""
        return IxicareOptionsFlow()

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the site UUID and the token."""
        errors: dict[str, str] = {}
        if user_input is not None:
            advanced = user_input.get(SECTION_ADVANCED, {})
            site_uuid = normalize_site_uuid(user_input[CONF_SITE_UUID])
            if site_uuid is None:
                errors[CONF_SITE_UUID] = "invalid_site_uuid"
            else:
                await self.async_set_unique_id(site_uuid)
                # Reports only for an entry with an update listener, which we
                # never add where OptionsFlowWithReload exists (compat.py).
                self._abort_if_unique_id_configured()  # ha-compat: ignore
                data = {
                    CONF_SITE_UUID: site_uuid,
                    # A pasted token often brings a space or a line break.
                    CONF_TOKEN: user_input[CONF_TOKEN].strip(),
                    CONF_URL: advanced.get(CONF_URL, DEFAULT_URL).strip().rstrip("/"),
                    CONF_SOCKETIO_PATH: advanced.get(
                        CONF_SOCKETIO_PATH, DEFAULT_SOCKETIO_PATH
                    ),
                    CONF_NAMESPACE: advanced.get(CONF_NAMESPACE, DEFAULT_NAMESPACE),
                    CONF_VERIFY_SSL: advanced.get(CONF_VERIFY_SSL, True),
                }
                errors = await _errors_for(self.hass, data)
                for key in (CONF_URL, CONF_NAMESPACE):
                    if key in errors:
                        # The frontend shows errors of a section's fields
                        # only when they are keyed by the section.
                        errors[SECTION_ADVANCED] = errors.pop(key)
                if not errors:
                    title = (user_input.get(CONF_NAME) or "").strip()
                    return self.async_create_entry(
                        title=title or f"ixicare {site_uuid[:8]}", data=data
                    )
        defaults = user_input or {}
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_SITE_UUID, default=defaults.get(CONF_SITE_UUID, vol.UNDEFINED)
                ): str,
                vol.Required(CONF_TOKEN): PASSWORD,
                vol.Optional(
                    CONF_NAME, default=defaults.get(CONF_NAME, vol.UNDEFINED)
                ): str,
                vol.Required(SECTION_ADVANCED): section(
                    _advanced_schema(defaults.get(SECTION_ADVANCED, {})),
                    # Open again, with the user's values, when an error
                    # concerns the settings inside it.
                    {"collapsed": not _concerns_advanced(errors)},
                ),
            }
        )
        return self.async_show_form(step_id="user", data_schema=schema, errors=errors)

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start reauthentication after the server refused the token."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new token."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_TOKEN: user_input[CONF_TOKEN].strip()}
            # The form has the token only: other fields' errors go to the form.
            errors = {
                key if key in ("base", CONF_TOKEN) else "base": error
                for key, error in (await _errors_for(self.hass, data)).items()
            }
            if not errors:
                return self.async_update_reload_and_abort(  # ha-compat: ignore
                    entry, data_updates={CONF_TOKEN: data[CONF_TOKEN]}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_TOKEN): PASSWORD}),
            description_placeholders={"title": entry.title},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the server, path, namespace, TLS check or token."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {
                **entry.data,
                **{key: user_input[key] for key in ADVANCED_KEYS},
                CONF_URL: user_input[CONF_URL].strip().rstrip("/"),
                CONF_TOKEN: (user_input.get(CONF_TOKEN) or "").strip()
                or entry.data[CONF_TOKEN],
            }
            errors = await _errors_for(self.hass, data)
            if not errors:
                return self.async_update_reload_and_abort(  # ha-compat: ignore
                    entry,
                    data_updates={
                        key: data[key] for key in (*ADVANCED_KEYS, CONF_TOKEN)
                    },
                )
        schema = _advanced_schema(user_input or entry.data).extend(
            {vol.Optional(CONF_TOKEN): PASSWORD}
        )
        return self.async_show_form(
            step_id="reconfigure", data_schema=schema, errors=errors
        )


class IxicareOptionsFlow(OptionsFlowBase):
    """Timeouts and limits of a site."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the options."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        options = self.config_entry.options

        def seconds(low: int, high: int) -> NumberSelector:
            return NumberSelector(
                {
                    "min": low,
                    "max": high,
                    "step": 1,
                    "mode": NumberSelectorMode.BOX,
                    "unit_of_measurement": "s",
                }
            )

        schema = vol.Schema(
            {
                vol.Required(
                    CONF_UNAVAILABLE_AFTER,
                    default=options.get(
                        CONF_UNAVAILABLE_AFTER, DEFAULT_UNAVAILABLE_AFTER
                    ),
                ): vol.All(seconds(0, 86400), vol.Coerce(int)),
                vol.Required(
                    CONF_COMMAND_TIMEOUT,
                    default=options.get(CONF_COMMAND_TIMEOUT, DEFAULT_COMMAND_TIMEOUT),
                ): vol.All(seconds(1, 300), vol.Coerce(int)),
                vol.Required(
                    CONF_IDLE_TIMEOUT,
                    default=options.get(CONF_IDLE_TIMEOUT, DEFAULT_IDLE_TIMEOUT),
                ): vol.All(seconds(30, 86400), vol.Coerce(int)),
                vol.Required(
                    CONF_MAX_DEVICES,
                    default=options.get(CONF_MAX_DEVICES, DEFAULT_MAX_DEVICES),
                ): vol.All(
                    NumberSelector(
                        {
                            "min": 1,
                            "max": 100000,
                            "step": 1,
                            "mode": NumberSelectorMode.BOX,
                        }
                    ),
                    vol.Coerce(int),
                ),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema)
