"""The client of a site, made from its config entry data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import CONF_NAMESPACE, CONF_SITE_UUID, CONF_SOCKETIO_PATH
from .pyixicare import DEFAULT_NAMESPACE, DEFAULT_SOCKETIO_PATH, IxicareClient


def create_client(
    hass: HomeAssistant, data: Mapping[str, Any], **kwargs: Any
) -> IxicareClient:
    """Return a client (not connected) for config entry `data`.

    `kwargs` are the client's callbacks and options.
    """
    return IxicareClient(
        async_get_clientsession(hass, verify_ssl=data.get(CONF_VERIFY_SSL, True)),
        url=data[CONF_URL],
        site_uuid=data[CONF_SITE_UUID],
        token=data[CONF_TOKEN],
        socketio_path=data.get(CONF_SOCKETIO_PATH, DEFAULT_SOCKETIO_PATH),
        namespace=data.get(CONF_NAMESPACE, DEFAULT_NAMESPACE),
        **kwargs,
    )
