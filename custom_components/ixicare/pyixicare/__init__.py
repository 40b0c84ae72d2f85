"""ixicare protocol client: models, parser and socket.io session (no Home Assistant)."""

from .client import IxicareClient
from .exceptions import (
    IxicareAuthError,
    IxicareCommandTimeoutError,
    IxicareConnectionError,
    IxicareError,
    IxicareNamespaceError,
    IxicareNotConnectedError,
    IxicareParseError,
    IxicareTLSError,
)
from .models import (
    Alert,
    AlertAction,
    AlertEvent,
    AlertStatus,
    AlertType,
    AlertUpdate,
    AlertUpdateResponse,
    ConnectionState,
    DeviceData,
    HeartbeatEvent,
    IndoorLocation,
    Location,
    OutdoorLocation,
    UpdateResult,
    User,
)
from .parser import normalize_mac, parse_alerts_message, parse_heartbeat
from .session import Backoff, ClientStats
from .transport import DEFAULT_NAMESPACE, DEFAULT_SOCKETIO_PATH

__all__ = [
    "DEFAULT_NAMESPACE",
    "DEFAULT_SOCKETIO_PATH",
    "Alert",
    "AlertAction",
    "AlertEvent",
    "AlertStatus",
    "AlertType",
    "AlertUpdate",
    "AlertUpdateResponse",
    "Backoff",
    "ClientStats",
    "ConnectionState",
    "DeviceData",
    "HeartbeatEvent",
    "IndoorLocation",
    "IxicareAuthError",
    "IxicareClient",
    "IxicareCommandTimeoutError",
    "IxicareConnectionError",
    "IxicareError",
    "IxicareNamespaceError",
    "IxicareNotConnectedError",
    "IxicareParseError",
    "IxicareTLSError",
    "Location",
    "OutdoorLocation",
    "UpdateResult",
    "User",
    "normalize_mac",
    "parse_alerts_message",
    "parse_heartbeat",
]
