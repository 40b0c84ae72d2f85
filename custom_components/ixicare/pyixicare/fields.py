"""Field readers and text cleaning of the parser (see `parser.py` for the rules)."""

from __future__ import annotations

from collections.abc import Mapping
import math
import re
from typing import Any

from .exceptions import IxicareParseError
from .models import normalize_type

type Bounds = tuple[float, float]

# Required ids (an alert id) longer than this are rejected.
MAX_ID_LENGTH = 128
# Side text (names, zones, floors, phone numbers, zone and user ids) is cut to this.
MAX_TEXT_LENGTH = 128
# The error text of an update response is cut to this.
MAX_ERROR_LENGTH = 256
# Required enumerations (status, action, result, message types) longer than
# this are not normalised: they cannot name a known value.
MAX_ENUM_LENGTH = 32
# 2000-01-01: anything earlier is a corrupt clock or unit.
MIN_EPOCH = 946_684_800.0
# How far in the future a time may lie (clock skew between server and us).
FUTURE_TOLERANCE = 300.0

_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}([:-]?)(?:[0-9a-fA-F]{2}\1){4}[0-9a-fA-F]{2}$")
# Control characters (C0, DEL, C1), Unicode line breaks, the bidirectional
# embeddings, overrides and isolates (they can make a log line read otherwise)
# and lone surrogates (not storable as JSON).
_CONTROL_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
# ... of which these become a space rather than nothing.
_BREAK_RE = re.compile("[\t\n\x0b\x0c\r\x85\u2028\u2029]+")


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


def is_obj(value: Any) -> bool:
    """Return True for a JSON object."""
    # JSON objects are dicts: skip the (slow) abstract class check for them.
    return type(value) is dict or isinstance(value, Mapping)


def as_obj(value: Any, field: str) -> Mapping[str, Any]:
    """Return `value` if it is a JSON object, else raise naming `field`."""
    if not is_obj(value):
        raise IxicareParseError(field, "must be an object")
    return value  # type: ignore[no-any-return]


def req_str(obj: Mapping[str, Any], key: str, path: str) -> str:
    """Return a required string field."""
    # The field's path is only formatted for an error: this runs per field.
    if key not in obj:
        raise IxicareParseError(f"{path}.{key}" if path else key, "is missing")
    value = obj[key]
    if type(value) is not str:
        raise IxicareParseError(f"{path}.{key}" if path else key, "must be a string")
    return value


def enum_field[T](
    obj: Mapping[str, Any], key: str, path: str, values: dict[str, T], names: str
) -> T:
    """Return a required enumeration, however it is spelt ("accepted" too)."""
    text = req_str(obj, key, path)
    found = values.get(text)
    if found is None and len(text) <= MAX_ENUM_LENGTH:
        found = values.get(normalize_type(text))
    if found is None:
        raise IxicareParseError(f"{path}.{key}" if path else key, f"must be {names}")
    return found


def finite_number(value: Any) -> float | None:
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


def epoch_value(value: Any, now: float) -> float | None:
    """Return a plausible epoch time in seconds, else None."""
    number = finite_number(value)
    if number is None:
        return None
    latest = now + FUTURE_TOLERANCE
    if MIN_EPOCH <= number <= latest:
        return number
    if MIN_EPOCH * 1000 <= number <= latest * 1000:
        return number / 1000  # epoch milliseconds
    return None


def side_text(
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


# The ranges of side numbers (low, high).
PERCENT = (0.0, 100.0)
LATITUDE = (-90.0, 90.0)
LONGITUDE = (-180.0, 180.0)


def side_number(
    obj: Mapping[str, Any], key: str, path: str, dropped: list[str], bounds: Bounds
) -> float | None:
    """Return a side number within `bounds`; list it as dropped otherwise."""
    low, high = bounds
    if key in obj:
        number = finite_number(obj[key])
        if number is not None and low <= number <= high:
            return number
    dropped.append(f"{path}.{key}")
    return None


def side_epoch(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    dropped: list[str],
    now: float,
    *,
    expected: bool = True,
) -> float | None:
    """Return a side time (see the parser's docstring); list it when unusable."""
    if key in obj:
        value = epoch_value(obj[key], now)
        if value is None:
            dropped.append(f"{path}.{key}")
        return value
    if expected:
        dropped.append(f"{path}.{key}")
    return None


def mac_field(obj: Mapping[str, Any], key: str, path: str) -> str:
    """Return a required MAC address, normalised."""
    value = req_str(obj, key, path)
    try:
        return normalize_mac(value)
    except ValueError:
        raise IxicareParseError(
            f"{path}.{key}" if path else key, "is not a MAC address"
        ) from None


def id_field(obj: Mapping[str, Any], key: str, path: str) -> str:
    """Return a required id: not empty, bounded, without control characters."""
    value = req_str(obj, key, path)
    if len(value) > MAX_ID_LENGTH:
        raise IxicareParseError(
            f"{path}.{key}", f"is longer than {MAX_ID_LENGTH} characters"
        )
    if _CONTROL_RE.search(value) is not None:
        value = _CONTROL_RE.sub("", value)
    if not value:
        raise IxicareParseError(f"{path}.{key}", "must not be empty")
    return value
