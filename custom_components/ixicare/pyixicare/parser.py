"""Validate and parse downlink messages into models.

The parser accepts what the repaired JSON schemas accept, with a few
defensive limits the schemas do not state (string lengths, finite numbers,
plausible epochs). Every rejection raises `IxicareParseError` naming the
field and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
import math
import re
from typing import Any

from .exceptions import IxicareParseError
from .models import (
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
)

MAX_STRING_LENGTH = 1024
# 2000-01-01 .. 2200-01-01: anything outside is a corrupt clock or unit.
MIN_EPOCH = 946_684_800.0
MAX_EPOCH = 7_258_118_400.0
HEARTBEAT_TYPES = frozenset({"HEARTBEAT", "LOCATION"})

_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}([:-]?)(?:[0-9a-fA-F]{2}\1){4}[0-9a-fA-F]{2}$")
_ALERT_TYPES = {t.value: t for t in AlertType if t is not AlertType.UNKNOWN}


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


def _obj(value: Any, field: str) -> Mapping[str, Any]:
    # JSON objects are dicts: skip the (slow) abstract class check for them.
    if type(value) is not dict and not isinstance(value, Mapping):
        raise IxicareParseError(field, "must be an object")
    return value


def _str(
    obj: Mapping[str, Any], key: str, path: str, *, required: bool = True
) -> str | None:
    # The field's path is only formatted for an error: this runs per field.
    if key not in obj:
        if required:
            raise IxicareParseError(f"{path}.{key}" if path else key, "is missing")
        return None
    value = obj[key]
    if not isinstance(value, str):
        raise IxicareParseError(f"{path}.{key}" if path else key, "must be a string")
    if len(value) > MAX_STRING_LENGTH:
        raise IxicareParseError(
            f"{path}.{key}" if path else key,
            f"is longer than {MAX_STRING_LENGTH} characters",
        )
    return value


def _req_str(obj: Mapping[str, Any], key: str, path: str) -> str:
    value = _str(obj, key, path)
    assert value is not None
    return value


def _num(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    *,
    required: bool = True,
    low: float | None = None,
    high: float | None = None,
) -> float | None:
    if key not in obj:
        if required:
            raise IxicareParseError(f"{path}.{key}", "is missing")
        return None
    value = obj[key]
    if type(value) is float:
        number = value
    # bool is an int in Python, but not a number in JSON.
    elif isinstance(value, bool) or not isinstance(value, (int, float)):
        raise IxicareParseError(f"{path}.{key}", "must be a number")
    else:
        number = float(value)
    if not math.isfinite(number):
        raise IxicareParseError(f"{path}.{key}", "must be a finite number")
    if (low is not None and number < low) or (high is not None and number > high):
        raise IxicareParseError(
            f"{path}.{key}", f"must be between {low:g} and {high:g}"
        )
    return number


def _epoch(
    obj: Mapping[str, Any], key: str, path: str, *, required: bool = True
) -> float | None:
    return _num(obj, key, path, required=required, low=MIN_EPOCH, high=MAX_EPOCH)


def _version(payload: Mapping[str, Any]) -> str:
    version = _req_str(payload, "version", "")
    if version.split(".", 1)[0] != "1":
        raise IxicareParseError(
            "version", f"unsupported protocol version {version[:20]!r}"
        )
    return version


def _message_type(payload: Mapping[str, Any], allowed: frozenset[str]) -> str:
    value = _req_str(payload, "type", "")
    if value not in allowed:
        raise IxicareParseError("type", f"must be one of {', '.join(sorted(allowed))}")
    return value


def _mac(obj: Mapping[str, Any], key: str, path: str) -> str:
    value = _req_str(obj, key, path)
    try:
        return normalize_mac(value)
    except ValueError:
        raise IxicareParseError(
            f"{path}.{key}" if path else key, "is not a MAC address"
        ) from None


def _device(payload: Mapping[str, Any]) -> DeviceData:
    if "device" not in payload:
        raise IxicareParseError("device", "is missing")
    device = _obj(payload["device"], "device")
    battery = _num(device, "battery_level", "device", low=0, high=100)
    last_update = _epoch(device, "last_update", "device")
    assert battery is not None and last_update is not None
    return DeviceData(
        mac=_mac(device, "id", "device"),
        battery_level=battery,
        last_update=last_update,
        phone_number=_str(device, "phone_number", "device", required=False),
    )


def _location(value: Any) -> Location:
    location = _obj(value, "location")
    indoor = outdoor = None
    if not 1 <= len(location) <= 2:
        raise IxicareParseError("location", "must have one or two of indoor, outdoor")
    if "indoor" in location:
        raw = _obj(location["indoor"], "location.indoor")
        path = "location.indoor"
        indoor = IndoorLocation(
            floor=_req_str(raw, "floor", path),
            zone=_req_str(raw, "zone", path),
            zone_id=_req_str(raw, "zone_id", path),
            last_update=_epoch(raw, "last_update", path, required=False),
        )
    if "outdoor" in location:
        raw = _obj(location["outdoor"], "location.outdoor")
        path = "location.outdoor"
        lat = _num(raw, "latitude", path, low=-90, high=90)
        lon = _num(raw, "longitude", path, low=-180, high=180)
        assert lat is not None and lon is not None
        outdoor = OutdoorLocation(
            latitude=lat,
            longitude=lon,
            last_update=_epoch(raw, "last_update", path, required=False),
        )
    return Location(indoor=indoor, outdoor=outdoor)


def _alert(payload: Mapping[str, Any]) -> Alert:
    if "alert" not in payload:
        raise IxicareParseError("alert", "is missing")
    raw = _obj(payload["alert"], "alert")
    alert_id = _req_str(raw, "id", "alert")
    if not alert_id:
        raise IxicareParseError("alert.id", "must not be empty")
    raw_type = _req_str(raw, "type", "alert")
    status = _req_str(raw, "status", "alert")
    try:
        alert_status = AlertStatus(status)
    except ValueError:
        raise IxicareParseError(
            "alert.status", "must be one of OPEN, ACCEPTED, RESOLVED, CANCELLED"
        ) from None
    timestamp = _epoch(raw, "timestamp", "alert")
    assert timestamp is not None
    return Alert(
        id=alert_id,
        type=_ALERT_TYPES.get(raw_type, AlertType.UNKNOWN),
        status=alert_status,
        timestamp=timestamp,
        raw_type=raw_type,
    )


def _user(value: Any) -> User:
    raw = _obj(value, "user")
    return User(id=_req_str(raw, "id", "user"), name=_req_str(raw, "name", "user"))


def _response(payload: Mapping[str, Any], version: str) -> AlertUpdateResponse:
    if "alert" not in payload:
        raise IxicareParseError("alert", "is missing")
    raw = _obj(payload["alert"], "alert")
    alert_id = _req_str(raw, "id", "alert")
    try:
        action = AlertAction(_req_str(raw, "action", "alert"))
    except ValueError:
        raise IxicareParseError("alert.action", "must be ACCEPT or RESOLVE") from None
    try:
        result = UpdateResult(_req_str(payload, "result", ""))
    except ValueError:
        raise IxicareParseError("result", "must be SUCCESS or FAILURE") from None
    return AlertUpdateResponse(
        version=version,
        device_id=_mac(payload, "device_id", ""),
        alert_id=alert_id,
        action=action,
        result=result,
        error=_str(payload, "error", "", required=False),
    )


def parse_alerts_message(payload: Any) -> AlertEvent | AlertUpdateResponse:
    """Parse a message of topic `alerts`: an alert event or an update response."""
    message = _obj(payload, "message")
    version = _version(message)
    _message_type(message, frozenset({"ALERT"}))
    if "result" in message:
        return _response(message, version)
    return AlertEvent(
        version=version,
        device=_device(message),
        alert=_alert(message),
        user=_user(message["user"]) if "user" in message else None,
        location=_location(message["location"]) if "location" in message else None,
    )


def parse_heartbeat(payload: Any) -> HeartbeatEvent:
    """Parse a message of topic `heartbeats`."""
    message = _obj(payload, "message")
    version = _version(message)
    message_type = _message_type(message, HEARTBEAT_TYPES)
    device = _device(message)
    if "location" not in message:
        raise IxicareParseError("location", "is missing")
    return HeartbeatEvent(
        version=version,
        type=message_type,
        device=device,
        location=_location(message["location"]),
    )
