"""Validate and parse downlink messages into models, best effort.

A message is rejected (`IxicareParseError`, naming the field and the reason)
only when what identifies it cannot be read:
- every message: a JSON object with a `version` of major version 1;
- an alert event: `device.id` (a MAC address), `alert.id`, `alert.type` and
  `alert.status`;
- a heartbeat: `device.id`;
- an update response: `device_id`, `alert.id`, `alert.action` and `result`.

Everything else is a side field, taken when it is usable and otherwise left
out, and the message goes on: an alert is never lost for an odd battery level,
a null user or a location in an unknown shape. The dotted path of each side
field left out ("device.battery_level", "user.name", "location.indoor") is
listed in the event's `dropped`; these paths are fixed names, never text from
the server. Unknown keys are ignored and not listed. Optional fields that are
simply absent (a user, a location on an alert, a phone number, a position's
`last_update`) are not listed; schema-required ones that are absent are.

A position part is kept when it is usable on its own: an indoor part that
names a zone or a floor (its zone id and time are best effort), an outdoor
part with both coordinates. A user is kept when its id or its name is usable.

Text from the server that is stored or logged (names, zones, floors, phone
numbers, ids, an unknown alert type, the error of a response) has its control
characters removed (line breaks and tabs become spaces; bidirectional
overrides and lone surrogates go too)
and is cut to a bounded length; text that is empty afterwards is left out. A
required id longer than `MAX_ID_LENGTH` is rejected.

Numbers must be finite JSON numbers (not booleans); a number too large for a
float (`10**400`) is as unusable as NaN, never an exception. Times are epoch
seconds from 2000-01-01 to the present plus `FUTURE_TOLERANCE`: a time beyond
that would make every later real update look older, so it is left out and the
message is handled as if it had none. A time that is plausible only when
divided by 1000 is read as epoch milliseconds (some servers send JavaScript's
`Date.now()`); it is used, and not listed as dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
import time
from typing import Any

from .exceptions import IxicareParseError
from .fields import (
    FUTURE_TOLERANCE,
    LATITUDE,
    LONGITUDE,
    MAX_ENUM_LENGTH,
    MAX_ERROR_LENGTH,
    MAX_ID_LENGTH,
    MAX_TEXT_LENGTH,
    MIN_EPOCH,
    PERCENT,
    as_obj,
    clean_text,
    enum_field,
    id_field,
    is_obj,
    mac_field,
    normalize_mac,
    req_str,
    side_epoch,
    side_number,
    side_text,
)
from .models import (
    MAX_TYPE_LENGTH,
    Alert,
    AlertAction,
    AlertEvent,
    AlertStatus,
    AlertType,
    AlertUpdateResponse,
    DeviceData,
    HeartbeatEvent,
    IndoorLocation,
    Location,
    OutdoorLocation,
    UpdateResult,
    User,
    normalize_type,
)

# Where they have always been imported from.
__all__ = [
    "FUTURE_TOLERANCE",
    "MAX_ERROR_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_TEXT_LENGTH",
    "MIN_EPOCH",
    "clean_text",
    "normalize_mac",
    "parse_alerts_message",
    "parse_heartbeat",
]

HEARTBEAT_TYPES = frozenset({"HEARTBEAT", "LOCATION"})
_STATUSES = {s.value: s for s in AlertStatus}
_ACTIONS = {a.value: a for a in AlertAction}
_RESULTS = {r.value: r for r in UpdateResult}


def _version(payload: Mapping[str, Any]) -> str:
    version = req_str(payload, "version", "")
    if len(version) > MAX_ID_LENGTH:
        raise IxicareParseError("version", f"is longer than {MAX_ID_LENGTH} characters")
    if version.split(".", 1)[0].strip() != "1":
        raise IxicareParseError(
            "version", f"unsupported protocol version {version[:20]!r}"
        )
    return version


def _message_type(
    payload: Mapping[str, Any], allowed: frozenset[str], dropped: list[str]
) -> str | None:
    """Return the message's type if it is one of `allowed`; best effort."""
    value = payload.get("type")
    if type(value) is str:
        if value in allowed:
            return value
        if len(value) <= MAX_ENUM_LENGTH:
            value = normalize_type(value)
            if value in allowed:
                return value
    dropped.append("type")
    return None


def _device(payload: Mapping[str, Any], dropped: list[str], now: float) -> DeviceData:
    if "device" not in payload:
        raise IxicareParseError("device", "is missing")
    device = as_obj(payload["device"], "device")
    mac = mac_field(device, "id", "device")
    return DeviceData(
        mac=mac,
        battery_level=side_number(device, "battery_level", "device", dropped, PERCENT),
        last_update=side_epoch(device, "last_update", "device", dropped, now),
        phone_number=side_text(
            device, "phone_number", "device", dropped, expected=False
        ),
    )


def _indoor(value: Any, dropped: list[str], now: float) -> IndoorLocation | None:
    path = "location.indoor"
    if not is_obj(value):
        dropped.append(path)
        return None
    floor = side_text(value, "floor", path, dropped)
    zone = side_text(value, "zone", path, dropped)
    zone_id = side_text(value, "zone_id", path, dropped)
    last_update = side_epoch(value, "last_update", path, dropped, now, expected=False)
    if floor is None and zone is None:
        return None
    return IndoorLocation(
        floor=floor, zone=zone, zone_id=zone_id, last_update=last_update
    )


def _outdoor(value: Any, dropped: list[str], now: float) -> OutdoorLocation | None:
    path = "location.outdoor"
    if not is_obj(value):
        dropped.append(path)
        return None
    latitude = side_number(value, "latitude", path, dropped, LATITUDE)
    longitude = side_number(value, "longitude", path, dropped, LONGITUDE)
    last_update = side_epoch(value, "last_update", path, dropped, now, expected=False)
    if latitude is None or longitude is None:
        return None
    return OutdoorLocation(
        latitude=latitude, longitude=longitude, last_update=last_update
    )


def _location(value: Any, dropped: list[str], now: float) -> Location | None:
    if not is_obj(value) or ("indoor" not in value and "outdoor" not in value):
        dropped.append("location")
        return None
    indoor = _indoor(value["indoor"], dropped, now) if "indoor" in value else None
    outdoor = _outdoor(value["outdoor"], dropped, now) if "outdoor" in value else None
    if indoor is None and outdoor is None:
        return None
    return Location(indoor=indoor, outdoor=outdoor)


def _alert(payload: Mapping[str, Any], dropped: list[str], now: float) -> Alert:
    if "alert" not in payload:
        raise IxicareParseError("alert", "is missing")
    raw = as_obj(payload["alert"], "alert")
    alert_id = id_field(raw, "id", "alert")
    raw_type = req_str(raw, "type", "alert")
    status = enum_field(
        raw, "status", "alert", _STATUSES, "one of OPEN, ACCEPTED, RESOLVED, CANCELLED"
    )
    alert_type = AlertType.from_text(raw_type)
    if alert_type is AlertType.UNKNOWN:
        raw_type = clean_text(raw_type, MAX_TYPE_LENGTH) or AlertType.UNKNOWN.value
    else:
        raw_type = alert_type.value
    return Alert(
        id=alert_id,
        type=alert_type,
        status=status,
        timestamp=side_epoch(raw, "timestamp", "alert", dropped, now),
        raw_type=raw_type,
    )


def _user(value: Any, dropped: list[str]) -> User | None:
    if not is_obj(value):
        dropped.append("user")
        return None
    user_id = side_text(value, "id", "user", dropped)
    name = side_text(value, "name", "user", dropped)
    if user_id is None and name is None:
        return None
    return User(id=user_id, name=name)


def _response(payload: Mapping[str, Any], version: str) -> AlertUpdateResponse:
    raw = as_obj(payload["alert"], "alert") if "alert" in payload else None
    if raw is None:
        raise IxicareParseError("alert", "is missing")
    alert_id = id_field(raw, "id", "alert")
    action = enum_field(raw, "action", "alert", _ACTIONS, "ACCEPT or RESOLVE")
    result = enum_field(payload, "result", "", _RESULTS, "SUCCESS or FAILURE")
    error = payload.get("error")
    return AlertUpdateResponse(
        version=version,
        device_id=mac_field(payload, "device_id", ""),
        alert_id=alert_id,
        action=action,
        result=result,
        error=(clean_text(error, MAX_ERROR_LENGTH) or None)
        if type(error) is str
        else None,
    )


def _is_response(message: Mapping[str, Any]) -> bool:
    # A response has `result`; an event has `alert.status`. Both: an event
    # (an alert must not be lost to a key a server added).
    if "result" not in message:
        return False
    alert: Any = message.get("alert")
    return not (is_obj(alert) and "status" in alert)


def parse_alerts_message(
    payload: Any, now: float | None = None
) -> AlertEvent | AlertUpdateResponse:
    """Parse a message of topic `alerts`: an alert event or an update response.

    `now` (epoch seconds, default the current time) bounds the times.
    """
    message = as_obj(payload, "message")
    version = _version(message)
    dropped: list[str] = []
    _message_type(message, frozenset({"ALERT"}), dropped)
    if _is_response(message):
        return _response(message, version)
    if now is None:
        now = time.time()
    device = _device(message, dropped, now)
    alert = _alert(message, dropped, now)
    return AlertEvent(
        version=version,
        device=device,
        alert=alert,
        user=_user(message["user"], dropped) if "user" in message else None,
        location=_location(message["location"], dropped, now)
        if "location" in message
        else None,
        dropped=tuple(dropped),
    )


def parse_heartbeat(payload: Any, now: float | None = None) -> HeartbeatEvent:
    """Parse a message of topic `heartbeats` (`now` as for alerts)."""
    message = as_obj(payload, "message")
    version = _version(message)
    dropped: list[str] = []
    message_type = _message_type(message, HEARTBEAT_TYPES, dropped)
    if now is None:
        now = time.time()
    device = _device(message, dropped, now)
    if "location" in message:
        location = _location(message["location"], dropped, now)
    else:
        dropped.append("location")
        location = None
    return HeartbeatEvent(
        version=version,
        type=message_type or "HEARTBEAT",
        device=device,
        location=location,
        dropped=tuple(dropped),
    )
