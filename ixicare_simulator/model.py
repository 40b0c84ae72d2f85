"""The simulator's model: constants, data classes, payloads and helpers.

Nothing here touches a socket: the devices and alerts of a site, the JSON
payloads they turn into, the uplink schema, MAC, UUID and zone id helpers.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, fields
from functools import cache
import hashlib
import ipaddress
import json
from pathlib import Path
import time
from typing import Any, Final, Literal, Protocol
import uuid

import jsonschema  # type: ignore[import-untyped, unused-ignore]

PROTOCOL_VERSION: Final = "1.0.0"
EVENT_ALERTS: Final = "alerts"
EVENT_HEARTBEATS: Final = "heartbeats"

# Most critical first.
ALERT_TYPES: Final = ("MAN_DOWN", "GEOFENCING", "PANIC_BUTTON", "CRITICAL_BATTERY")
ALERT_STATUSES: Final = ("OPEN", "ACCEPTED", "RESOLVED", "CANCELLED")
ACTIVE_STATUSES: Final = frozenset({"OPEN", "ACCEPTED"})
FINAL_STATUSES: Final = frozenset({"RESOLVED", "CANCELLED"})
ACTIONS: Final = ("ACCEPT", "RESOLVE")

ERROR_UNKNOWN_ALERT: Final = "Unknown alert"
ERROR_ALREADY_FINAL: Final = "Alert already final"
ERROR_NOT_ALLOWED: Final = "Action not allowed"
ERROR_INVALID_MESSAGE: Final = "Invalid message"

MODEL_IXI: Final = "IXI"
MODEL_IXI_PRO: Final = "IXI PRO"

DEFAULT_SITE: Final = "8c1f2a3e-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
DEFAULT_TOKEN: Final = "demo-ixicare-token"  # noqa: S105 - the demo's public token

NIL_UUID: Final = "00000000-0000-0000-0000-000000000000"
# The position of the outdoor example in the protocol document.
OUTDOOR_CENTER: Final = (56.823279418945, 22.162609863281)

SCHEMA_DIR: Final = (
    Path(__file__).resolve().parent.parent
    / "custom_components"
    / "ixicare"
    / "pyixicare"
    / "schemas"
)

FIRST_NAMES: Final = (
    "John",
    "Marie",
    "Jan",
    "Anna",
    "Louis",
    "Lucienne",
    "Georges",
    "Simone",
    "Henri",
    "Maria",
    "Paul",
    "Jeanne",
    "Albert",
    "Germaine",
    "Joseph",
    "Madeleine",
    "Roger",
    "Yvonne",
    "Marcel",
    "Paula",
    "Willy",
    "Odette",
    "Frans",
    "Irène",
)
LAST_NAMES: Final = (
    "Smith",
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Dubois",
    "Lambert",
    "Dupont",
    "Martin",
    "Leclercq",
    "Hermans",
    "Michiels",
    "Desmet",
    "Renard",
    "Lemaire",
    "Simon",
    "Laurent",
    "Fontaine",
)
# Zones shared by every resident, per floor. Bedrooms are added per resident.
COMMON_ZONES: Final[dict[str, tuple[str, ...]]] = {
    "Floor 0": (
        "0.01 Reception",
        "0.02 Restaurant",
        "0.03 Living room",
        "0.04 Garden room",
        "0.05 Physiotherapy",
    ),
    "Floor 1": ("1.01 Corridor", "1.02 Lounge", "1.03 Bathroom"),
    "Floor 2": ("2.01 Corridor", "2.02 Lounge", "2.03 Bathroom"),
}


def site_key(site: str) -> str:
    """Return the canonical (lower-case) form of a site UUID."""
    return site.strip().lower()


def normalize_mac(mac: str) -> str:
    """Return a MAC address upper-case with colons: ``00:02:04:06:08:0A``."""
    cleaned = mac.strip().upper().replace("-", ":").replace(".", "")
    if ":" not in cleaned and len(cleaned) == 12:
        cleaned = ":".join(cleaned[i : i + 2] for i in range(0, 12, 2))
    return cleaned


def stable_uuid4(text: str) -> str:
    """Return a UUID4-shaped id derived deterministically from ``text``."""
    digest = hashlib.sha256(text.encode()).digest()[:16]
    return str(uuid.UUID(bytes=digest, version=4))


def zone_id_for(site: str, floor: str, zone: str) -> str:
    """Return the stable zone id of a zone of a site."""
    return stable_uuid4(f"{site_key(site)}|{floor}|{zone}")


def mac_for(seed: int, index: int) -> str:
    """Return the deterministic MAC of the ``index``-th generated device.

    Seed 0, index 0 gives the protocol document's ``00:02:04:06:08:0A``.
    """
    value = (0x06080A + index * 2 + seed * 0x1000) & 0xFFFFFF
    return f"00:02:04:{value >> 16:02X}:{(value >> 8) & 0xFF:02X}:{value & 0xFF:02X}"


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """Return True for a loopback host name or address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _js_numbers(value: Any) -> Any:
    """Turn integral floats into ints, as a JavaScript server would send them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _js_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_js_numbers(item) for item in value]
    return value


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Load one of the project's JSON schemas, e.g. ``alert-update``."""
    text = (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# Loaded at import time, not in the event loop.
_UPLINK_VALIDATOR: Final[Any] = jsonschema.Draft7Validator(
    load_schema("alert-update"), format_checker=jsonschema.FormatChecker()
)


@dataclass
class SimDevice:
    """A simulated ixi device worn by a resident."""

    mac: str
    name: str
    user_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    phone_number: str | None = None
    battery_level: float = 100.0
    device_last_update: float = field(default_factory=time.time)
    model: str = MODEL_IXI
    floor: str | None = "Floor 0"
    zone: str | None = "0.01 Reception"
    zone_id: str | None = field(default_factory=lambda: str(uuid.uuid4()))
    location_last_update: float | None = field(default_factory=time.time)
    outdoor: tuple[float, float] | None = None
    outdoor_last_update: float | None = None

    def __post_init__(self) -> None:
        """Normalise the MAC address."""
        self.mac = normalize_mac(self.mac)

    @property
    def indoor_known(self) -> bool:
        """Return True when the device has an indoor location."""
        return (
            self.floor is not None
            and self.zone is not None
            and self.zone_id is not None
        )

    def device_payload(self) -> dict[str, Any]:
        """Return the ``device`` object of a downlink message."""
        payload: dict[str, Any] = {"id": self.mac}
        if self.phone_number is not None:
            payload["phone_number"] = self.phone_number
        payload["battery_level"] = self.battery_level
        payload["last_update"] = self.device_last_update
        return payload

    def location_payload(self) -> dict[str, Any] | None:
        """Return the ``location`` object, or None when nothing is known."""
        location: dict[str, Any] = {}
        if self.indoor_known:
            indoor: dict[str, Any] = {
                "floor": self.floor,
                "zone": self.zone,
                "zone_id": self.zone_id,
            }
            if self.location_last_update is not None:
                indoor["last_update"] = self.location_last_update
            location["indoor"] = indoor
        if self.outdoor is not None:
            outdoor: dict[str, Any] = {
                "latitude": self.outdoor[0],
                "longitude": self.outdoor[1],
            }
            if self.outdoor_last_update is not None:
                outdoor["last_update"] = self.outdoor_last_update
            location["outdoor"] = outdoor
        return location or None


_DEVICE_FIELDS: Final = frozenset({"phone_number", "battery_level"})
_INDOOR_FIELDS: Final = frozenset({"floor", "zone", "zone_id"})
_CHANGEABLE_FIELDS: Final = frozenset(f.name for f in fields(SimDevice)) - {"mac"}


@dataclass
class _SimAlert:
    alert_id: str
    mac: str
    type: str
    status: str
    timestamp: float
    include_user: bool = True
    include_location: bool = True
    changed: float = field(default_factory=time.time)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def summary(self) -> dict[str, Any]:
        return {
            "device_id": self.mac,
            "type": self.type,
            "status": self.status,
            "timestamp": self.timestamp,
        }


@dataclass
class _Directive:
    mode: Literal["fail", "ignore", "delay"]
    error: str = ERROR_NOT_ALLOWED
    seconds: float = 0.0


@dataclass
class _Site:
    key: str
    token: str | None
    devices: dict[str, SimDevice] = field(default_factory=dict)
    alerts: dict[str, _SimAlert] = field(default_factory=dict)
    # alert id -> (time stored, event); insertion order is the order of change.
    retained: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    uplinks: list[Any] = field(default_factory=list)
    sids: set[str] = field(default_factory=set)
    directives: deque[_Directive] = field(default_factory=deque)


class Stoppable(Protocol):
    """Something the simulator stops with itself (a scenario)."""

    async def stop(self) -> None:
        """Stop."""
