"""Typed, immutable models of the ixicare WebSocket protocol (v1.x messages)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import re
from typing import Any

PROTOCOL_VERSION = "1.0.0"
# The longest alert type text kept (an unknown type is cut to this length).
MAX_TYPE_LENGTH = 64


class AlertType(StrEnum):
    """Alert types, most critical first; UNKNOWN keeps types we do not know."""

    MAN_DOWN = "MAN_DOWN"
    GEOFENCING = "GEOFENCING"
    PANIC_BUTTON = "PANIC_BUTTON"
    CRITICAL_BATTERY = "CRITICAL_BATTERY"
    UNKNOWN = "UNKNOWN"

    @property
    def priority(self) -> int:
        """Return the priority: 0 is the most critical."""
        return _PRIORITY[self]

    @classmethod
    def from_text(cls, text: str) -> AlertType:
        """Return the type a text names, however it is spelt, else UNKNOWN.

        "MAN DOWN", "man-down" and " Man_Down " all name MAN_DOWN: the
        vendor's own document spells types with spaces.
        """
        known = _KNOWN_TYPES.get(text)
        if known is not None:
            return known
        if len(text) > MAX_TYPE_LENGTH:
            return AlertType.UNKNOWN
        return _KNOWN_TYPES.get(normalize_type(text), AlertType.UNKNOWN)


_PRIORITY = {
    AlertType.MAN_DOWN: 0,
    AlertType.GEOFENCING: 1,
    AlertType.PANIC_BUTTON: 2,
    AlertType.CRITICAL_BATTERY: 3,
    AlertType.UNKNOWN: 4,
}
_KNOWN_TYPES = {t.value: t for t in AlertType if t is not AlertType.UNKNOWN}
_TYPE_SEPARATORS = re.compile(r"[\s_\-]+")


def normalize_type(text: str) -> str:
    """Return a type or status spelt the canonical way: upper case, underscores.

    Runs of spaces, hyphens and underscores become one underscore, and none
    is kept at either end: " Man - Down " -> "MAN_DOWN".
    """
    return _TYPE_SEPARATORS.sub("_", text).strip("_").upper()


class AlertStatus(StrEnum):
    """Alert statuses: OPEN and ACCEPTED are active, the others final."""

    OPEN = "OPEN"
    ACCEPTED = "ACCEPTED"
    RESOLVED = "RESOLVED"
    CANCELLED = "CANCELLED"

    @property
    def is_active(self) -> bool:
        """Return True while the alert needs attention."""
        return self in (AlertStatus.OPEN, AlertStatus.ACCEPTED)

    @property
    def rank(self) -> int:
        """Return the order of statuses in an alert's life."""
        return _STATUS_RANK[self]


_STATUS_RANK = {
    AlertStatus.OPEN: 0,
    AlertStatus.ACCEPTED: 1,
    AlertStatus.RESOLVED: 2,
    AlertStatus.CANCELLED: 2,
}


class AlertAction(StrEnum):
    """Actions a third party may send for an active alert."""

    ACCEPT = "ACCEPT"
    RESOLVE = "RESOLVE"


class UpdateResult(StrEnum):
    """Result of an alert update command."""

    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"


class ConnectionState(StrEnum):
    """State of the client's session."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    AUTH_FAILED = "auth_failed"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class DeviceData:
    """Device information carried by alert events and heartbeats."""

    mac: str
    battery_level: float | None = None
    last_update: float | None = None
    phone_number: str | None = None


@dataclass(frozen=True, slots=True)
class IndoorLocation:
    """Indoor position: zone and floor (at least one of them is known)."""

    floor: str | None
    zone: str | None
    zone_id: str | None = None
    last_update: float | None = None


@dataclass(frozen=True, slots=True)
class OutdoorLocation:
    """Outdoor GPS position (IXI PRO only)."""

    latitude: float
    longitude: float
    last_update: float | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """Indoor and/or outdoor location."""

    indoor: IndoorLocation | None = None
    outdoor: OutdoorLocation | None = None


@dataclass(frozen=True, slots=True)
class User:
    """The resident the device belongs to (at least one field is known)."""

    id: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert.

    `raw_type` is the type as sent (cleaned and cut) when it is UNKNOWN to
    us, else the known type's value. `timestamp` is None when the server sent
    none we could use: the site then takes the time the alert arrived.
    """

    id: str
    type: AlertType
    status: AlertStatus
    timestamp: float | None
    raw_type: str

    @property
    def key(self) -> str:
        """Return the alert id normalised for comparisons."""
        return self.id.lower()


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """Downlink alert event (topic `alerts`).

    `dropped` names, as dotted paths ("device.battery_level", "user.name",
    "location"), the side fields the parser could not use and left out.
    """

    version: str
    device: DeviceData
    alert: Alert
    user: User | None = None
    location: Location | None = None
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HeartbeatEvent:
    """Downlink heartbeat event (topic `heartbeats`).

    `location` is None when the message brought none we could use;
    `dropped` as in `AlertEvent`.
    """

    version: str
    type: str
    device: DeviceData
    location: Location | None = None
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertUpdate:
    """Uplink alert update (topic `alerts`)."""

    device_id: str
    alert_id: str
    action: AlertAction
    version: str = PROTOCOL_VERSION

    def as_dict(self) -> dict[str, Any]:
        """Return the message as sent on the wire."""
        return {
            "version": self.version,
            "type": "ALERT",
            "device_id": self.device_id.upper(),
            "alert": {"id": self.alert_id, "action": self.action.value},
        }


@dataclass(frozen=True, slots=True)
class AlertUpdateResponse:
    """Downlink answer to an alert update."""

    version: str
    device_id: str
    alert_id: str
    action: AlertAction
    result: UpdateResult
    error: str | None = None

    @property
    def key(self) -> tuple[str, AlertAction]:
        """Return the correlation key of the response."""
        return (self.alert_id.lower(), self.action)

    @property
    def confirmed_status(self) -> AlertStatus | None:
        """Return the status a SUCCESS confirms the alert has now, else None."""
        if self.result is not UpdateResult.SUCCESS:
            return None
        if self.action is AlertAction.ACCEPT:
            return AlertStatus.ACCEPTED
        return AlertStatus.RESOLVED
