"""Constants of the ixicare integration."""

from __future__ import annotations

import logging
from typing import Final

from .pyixicare.tracked import Transition

DOMAIN: Final = "ixicare"
LOGGER = logging.getLogger(__package__)

CONF_SITE_UUID: Final = "site_uuid"
CONF_SOCKETIO_PATH: Final = "socketio_path"
CONF_NAMESPACE: Final = "namespace"
CONF_UNAVAILABLE_AFTER: Final = "unavailable_after"
CONF_COMMAND_TIMEOUT: Final = "command_timeout"
CONF_IDLE_TIMEOUT: Final = "idle_timeout"
CONF_MAX_DEVICES: Final = "max_devices"

DEFAULT_URL: Final = "https://dx.svc.ixicare.com"
# The default socket.io path and namespace are pyixicare's (DEFAULT_SOCKETIO_PATH,
# DEFAULT_NAMESPACE), imported from there.
DEFAULT_UNAVAILABLE_AFTER: Final = 120
DEFAULT_COMMAND_TIMEOUT: Final = 15
DEFAULT_IDLE_TIMEOUT: Final = 900
DEFAULT_MAX_DEVICES: Final = 1000
CONNECT_TIMEOUT: Final = 10.0

MANUFACTURER: Final = "ixicare"
EVENT_ALERT: Final = "ixicare_alert"
STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 5.0
# Ended alert ids are remembered this long, so replays fire nothing.
ENDED_ALERT_MEMORY: Final = 48 * 3600

ATTR_ALERT_ID: Final = "alert_id"
ATTR_ALERT_TYPE: Final = "alert_type"
ATTR_PREVIOUS_TYPE: Final = "previous_type"
ATTR_STATUS: Final = "status"
ATTR_PREVIOUS_STATUS: Final = "previous_status"
ATTR_RESIDENT: Final = "resident"
ATTR_RAISED_AT: Final = "raised_at"
ATTR_TRANSITION: Final = "transition"
ATTR_MAC: Final = "mac"
ATTR_ZONE: Final = "zone"
ATTR_FLOOR: Final = "floor"
ATTR_ZONE_ID: Final = "zone_id"
ATTR_LAST_UPDATE: Final = "last_update"
ATTR_ACTION: Final = "action"
ATTR_RESULT: Final = "result"
ATTR_TIMESTAMP: Final = "timestamp"
ATTR_SITE_UUID: Final = "site_uuid"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"

# Alert transitions (`Transition`, defined in pyixicare): event entity event
# types, bus event `transition` values and device trigger suffixes.
TRANSITION_RAISED: Final = Transition.RAISED
TRANSITION_ESCALATED: Final = Transition.ESCALATED
TRANSITION_ACCEPTED: Final = Transition.ACCEPTED
TRANSITION_RESOLVED: Final = Transition.RESOLVED
TRANSITION_CANCELLED: Final = Transition.CANCELLED
TRANSITION_DISMISSED: Final = Transition.DISMISSED
TRANSITIONS: Final = tuple(Transition)

SERVICE_ACCEPT_ALERT: Final = "accept_alert"
SERVICE_RESOLVE_ALERT: Final = "resolve_alert"
SERVICE_DISMISS_ALERT: Final = "dismiss_alert"
