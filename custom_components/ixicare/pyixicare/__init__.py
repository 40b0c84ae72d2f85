"""ixicare protocol client: models, parser and socket.io session (no Home Assistant)."""

from .client import Backoff, ClientStats, IxicareClient
from .exceptions import (
    IxicareAuthError,
    IxicareCommandTimeoutError,
    IxicareConnectionError,
    IxicareError,
    IxicareNotConnectedError,
    IxicareParseError,
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

__all__ = [
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
    "IxicareNotConnectedError",
    "IxicareParseError",
    "Location",
    "OutdoorLocation",
    "UpdateResult",
    "User",
    "normalize_mac",
    "parse_alerts_message",
    "parse_heartbeat",
]
