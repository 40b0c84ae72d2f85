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
import math
import re
import time
from typing import Any

from .exceptions import IxicareParseError
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

# Required ids (an alert id) longer than this are rejected.
MAX_ID_LENGTH = 128
# Side text (names, zones, floors, phone numbers, zone and user ids) is cut to this.
MAX_TEXT_LENGTH = 128
# The error text of an update response is cut to this.
MAX_ERROR_LENGTH = 256
# Required enumerations (status, action, result, message types) longer than
# this are not normalised: they cannot name a known value.
_MAX_ENUM_LENGTH = 32
# 2000-01-01: anything earlier is a corrupt clock or unit.
MIN_EPOCH = 946_684_800.0
# How far in the future a time may lie (clock skew between server and us).
FUTURE_TOLERANCE = 300.0
HEARTBEAT_TYPES = frozenset({"HEARTBEAT", "LOCATION"})

_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}([:-]?)(?:[0-9a-fA-F]{2}\1){4}[0-9a-fA-F]{2}$")
# Control characters (C0, DEL, C1), Unicode line breaks, the bidirectional
# embeddings, overrides and isolates (they can make a log line read otherwise)
# and lone surrogates (not storable as JSON).
_CONTROL_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
# ... of which these become a space rather than nothing.
_BREAK_RE = re.compile("[\t\n\x0b\x0c\r\x85\u2028\u2029]+")
_STATUSES = {s.value: s for s in AlertStatus}
_ACTIONS = {a.value: a for a in AlertAction}
_RESULTS = {r.value: r for r in UpdateResult}


def normalize_mac(value: str) -> str:
    """Return a MAC address lower-case and colon-separated, or raise ValueError."""
    match = _MAC_RE.match(value)
    if match is None:
        raise ValueError("not a MAC address")
    # The pattern allows a trailing newline ($): the address is the prefix.
    separator = match.group(1)
    if separator:
        return value[:17].replace("-", ":").lower()
    digits = value[:12].lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def clean_text(value: str, limit: int = MAX_TEXT_LENGTH, *, strip: bool = True) -> str:
    """Return server text fit to store and log.

    Cut to `limit` characters, control characters removed (line breaks and
    tabs become a space), and, with `strip`, surrounding spaces removed.
    """
    if len(value) > limit:
        value = value[:limit]
    if _CONTROL_RE.search(value) is not None:
        value = _CONTROL_RE.sub("", _BREAK_RE.sub(" ", value))
    return value.strip() if strip else value


def _is_obj(value: Any) -> bool:
    # JSON objects are dicts: skip the (slow) abstract class check for them.
    return type(value) is dict or isinstance(value, Mapping)


def _obj(value: Any, field: str) -> Mapping[str, Any]:
    if not _is_obj(value):
        raise IxicareParseError(field, "must be an object")
    return value  # type: ignore[no-any-return]


def _req_str(obj: Mapping[str, Any], key: str, path: str) -> str:
    # The field's path is only formatted for an error: this runs per field.
    if key not in obj:
        raise IxicareParseError(f"{path}.{key}" if path else key, "is missing")
    value = obj[key]
    if type(value) is not str:
        raise IxicareParseError(f"{path}.{key}" if path else key, "must be a string")
    return value


def _enum[T](
    obj: Mapping[str, Any], key: str, path: str, values: dict[str, T], names: str
) -> T:
    """Return a required enumeration, however it is spelt ("accepted" too)."""
    text = _req_str(obj, key, path)
    found = values.get(text)
    if found is None and len(text) <= _MAX_ENUM_LENGTH:
        found = values.get(normalize_type(text))
    if found is None:
        raise IxicareParseError(f"{path}.{key}" if path else key, f"must be {names}")
    return found


def _number(value: Any) -> float | None:
    """Return a finite JSON number as a float, else None."""
    if type(value) is float:
        number = value
    # bool is an int in Python, but not a number in JSON.
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    else:
        try:
            number = float(value)
        except OverflowError:  # an int beyond a double: 10**400
            return None
    return number if math.isfinite(number) else None


def _epoch_value(value: Any, now: float) -> float | None:
    """Return a plausible epoch time in seconds, else None."""
    number = _number(value)
    if number is None:
        return None
    latest = now + FUTURE_TOLERANCE
    if MIN_EPOCH <= number <= latest:
        return number
    if MIN_EPOCH * 1000 <= number <= latest * 1000:
        return number / 1000  # epoch milliseconds
    return None


def _side_text(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    dropped: list[str],
    *,
    expected: bool = True,
    limit: int = MAX_TEXT_LENGTH,
) -> str | None:
    """Return a side string, cleaned; list it as dropped when unusable.

    `expected`: the schema requires it, so its absence is listed too.
    """
    if key not in obj:
        if expected:
            dropped.append(f"{path}.{key}")
        return None
    value = obj[key]
    if type(value) is str and (text := clean_text(value, limit)):
        return text
    dropped.append(f"{path}.{key}")
    return None


def _side_number(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    dropped: list[str],
    *,
    low: float,
    high: float,
) -> float | None:
    """Return a side number within [low, high]; list it as dropped otherwise."""
    if key in obj:
        number = _number(obj[key])
        if number is not None and low <= number <= high:
            return number
    dropped.append(f"{path}.{key}")
    return None


def _side_epoch(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    dropped: list[str],
    now: float,
    *,
    expected: bool = True,
) -> float | None:
    """Return a side time (see the module's docstring); list it when unusable."""
    if key not in obj:
        if expected:
            dropped.append(f"{path}.{key}")
        return None
    value = _epoch_value(obj[key], now)
    if value is None:
        dropped.append(f"{path}.{key}")
    return value


def _version(payload: Mapping[str, Any]) -> str:
    version = _req_str(payload, "version", "")
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
        if len(value) <= _MAX_ENUM_LENGTH:
            value = normalize_type(value)
            if value in allowed:
                return value
    dropped.append("type")
    return None


def _mac(obj: Mapping[str, Any], key: str, path: str) -> str:
    value = _req_str(obj, key, path)
    try:
        return normalize_mac(value)
    except ValueError:
        raise IxicareParseError(
            f"{path}.{key}" if path else key, "is not a MAC address"
        ) from None


def _id(obj: Mapping[str, Any], key: str, path: str) -> str:
    """Return a required id: not empty, bounded, without control characters."""
    value = _req_str(obj, key, path)
    if len(value) > MAX_ID_LENGTH:
        raise IxicareParseError(
            f"{path}.{key}", f"is longer than {MAX_ID_LENGTH} characters"
        )
    if _CONTROL_RE.search(value) is not None:
        value = _CONTROL_RE.sub("", value)
    if not value:
        raise IxicareParseError(f"{path}.{key}", "must not be empty")
    return value


def _device(payload: Mapping[str, Any], dropped: list[str], now: float) -> DeviceData:
    if "device" not in payload:
        raise IxicareParseError("device", "is missing")
    device = _obj(payload["device"], "device")
    mac = _mac(device, "id", "device")
    return DeviceData(
        mac=mac,
        battery_level=_side_number(
            device, "battery_level", "device", dropped, low=0.0, high=100.0
        ),
        last_update=_side_epoch(device, "last_update", "device", dropped, now),
        phone_number=_side_text(
            device, "phone_number", "device", dropped, expected=False
        ),
    )


def _indoor(value: Any, dropped: list[str], now: float) -> IndoorLocation | None:
    path = "location.indoor"
    if not _is_obj(value):
        dropped.append(path)
        return None
    floor = _side_text(value, "floor", path, dropped)
    zone = _side_text(value, "zone", path, dropped)
    zone_id = _side_text(value, "zone_id", path, dropped)
    last_update = _side_epoch(value, "last_update", path, dropped, now, expected=False)
    if floor is None and zone is None:
        return None
    return IndoorLocation(
        floor=floor, zone=zone, zone_id=zone_id, last_update=last_update
    )


def _outdoor(value: Any, dropped: list[str], now: float) -> OutdoorLocation | None:
    path = "location.outdoor"
    if not _is_obj(value):
        dropped.append(path)
        return None
    latitude = _side_number(value, "latitude", path, dropped, low=-90.0, high=90.0)
    longitude = _side_number(value, "longitude", path, dropped, low=-180.0, high=180.0)
    last_update = _side_epoch(value, "last_update", path, dropped, now, expected=False)
    if latitude is None or longitude is None:
        return None
    return OutdoorLocation(
        latitude=latitude, longitude=longitude, last_update=last_update
    )


def _location(value: Any, dropped: list[str], now: float) -> Location | None:
    if not _is_obj(value) or ("indoor" not in value and "outdoor" not in value):
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
    raw = _obj(payload["alert"], "alert")
    alert_id = _id(raw, "id", "alert")
    raw_type = _req_str(raw, "type", "alert")
    status = _enum(
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
        timestamp=_side_epoch(raw, "timestamp", "alert", dropped, now),
        raw_type=raw_type,
    )


def _user(value: Any, dropped: list[str]) -> User | None:
    if not _is_obj(value):
        dropped.append("user")
        return None
    user_id = _side_text(value, "id", "user", dropped)
    name = _side_text(value, "name", "user", dropped)
    if user_id is None and name is None:
        return None
    return User(id=user_id, name=name)


def _response(payload: Mapping[str, Any], version: str) -> AlertUpdateResponse:
    raw = _obj(payload["alert"], "alert") if "alert" in payload else None
    if raw is None:
        raise IxicareParseError("alert", "is missing")
    alert_id = _id(raw, "id", "alert")
    action = _enum(raw, "action", "alert", _ACTIONS, "ACCEPT or RESOLVE")
    result = _enum(payload, "result", "", _RESULTS, "SUCCESS or FAILURE")
    error = payload.get("error")
    return AlertUpdateResponse(
        version=version,
        device_id=_mac(payload, "device_id", ""),
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
    return not (_is_obj(alert) and "status" in alert)


def parse_alerts_message(
    payload: Any, now: float | None = None
) -> AlertEvent | AlertUpdateResponse:
    """Parse a message of topic `alerts`: an alert event or an update response.

    `now` (epoch seconds, default the current time) bounds the times.
    """
    message = _obj(payload, "message")
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
    message = _obj(payload, "message")
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
