"""What a site knows: its devices and alerts, kept from messages.

The rules live here, free of Home Assistant:
- data older than what is held (by its `last_update`) never overwrites newer
  data; device data, the indoor and the outdoor position are judged apart;
- a part a message left out (the parser drops unusable side fields) keeps what
  is held: an alert without a battery level keeps the last known level;
- data without a `last_update` (none sent, or one the parser left out) cannot
  be judged: it is taken as the latest, and the time held stays, so later
  data is still judged against the last real time. A position part without a
  time replaces the held part, time included (older firmware sends none);
- an alert without a usable timestamp is raised at the time it arrived;
- times held are bounded to the present plus `FUTURE_TOLERANCE`: one from
  the future would make every later real update look older, so `load`
  forgets stored device and position times beyond it and brings alert times
  back to the present;
- alerts are monotonic: a status never goes back (OPEN -> ACCEPTED -> final),
  a type only escalates to a more critical one, and an alert that reached
  RESOLVED or CANCELLED is never reopened by a late or replayed message;
- a replayed message whose status is already known yields no transition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import time
from typing import Any

from .models import (
    AlertEvent,
    AlertStatus,
    AlertType,
    DeviceData,
    HeartbeatEvent,
    IndoorLocation,
    Location,
    OutdoorLocation,
)
from .parser import FUTURE_TOLERANCE

RAISED = "raised"
ESCALATED = "escalated"
STATUS_TRANSITIONS = {
    AlertStatus.ACCEPTED: "accepted",
    AlertStatus.RESOLVED: "resolved",
    AlertStatus.CANCELLED: "cancelled",
}


@dataclass(slots=True)
class TrackedAlert:
    """An alert as the site knows it."""

    alert_id: str
    mac: str
    type: AlertType
    raw_type: str
    status: AlertStatus
    raised_at: float
    resident: str | None = None

    @property
    def key(self) -> str:
        """Return the normalised alert id."""
        return self.alert_id.lower()

    @property
    def type_name(self) -> str:
        """Return the type as the server sent it (known or not)."""
        return self.type.value if self.type is not AlertType.UNKNOWN else self.raw_type

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable form."""
        return {
            "alert_id": self.alert_id,
            "mac": self.mac,
            "type": self.raw_type,
            "status": self.status.value,
            "raised_at": self.raised_at,
            "resident": self.resident,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], now: float | None = None) -> TrackedAlert:
        """Rebuild from `as_dict`; a time after `now` (plus the tolerance) is now."""
        raw_type = str(data["type"])
        alert_type = AlertType.from_text(raw_type)
        if alert_type is not AlertType.UNKNOWN:
            raw_type = alert_type.value
        raised_at = float(data["raised_at"])
        if now is not None and raised_at > now + FUTURE_TOLERANCE:
            raised_at = now
        return cls(
            alert_id=str(data["alert_id"]),
            mac=str(data["mac"]),
            type=alert_type,
            raw_type=raw_type,
            status=AlertStatus(data["status"]),
            raised_at=raised_at,
            resident=data.get("resident"),
        )


@dataclass(frozen=True, slots=True)
class AlertTransition:
    """One change in an alert's life, to be announced once."""

    transition: str
    alert: TrackedAlert
    previous_type: str | None
    previous_status: AlertStatus | None
    type_name: str
    status: AlertStatus


@dataclass(slots=True)
class TrackedDevice:
    """A device as the site knows it."""

    mac: str
    resident: str | None = None
    phone_number: str | None = None
    battery_level: float | None = None
    last_update: float | None = None
    indoor: IndoorLocation | None = None
    outdoor: OutdoorLocation | None = None
    alerts: dict[str, TrackedAlert] = field(default_factory=dict)

    def apply_device(self, data: DeviceData) -> bool:
        """Take device data unless it is older than what is held.

        A field the data lacks (None) keeps the value held.
        """
        last_update = data.last_update
        held = self.last_update
        if last_update is not None and held is not None and last_update < held:
            return False
        changed = False
        if data.battery_level is not None and data.battery_level != self.battery_level:
            self.battery_level = data.battery_level
            changed = True
        if last_update is not None and last_update != held:
            self.last_update = last_update
            changed = True
        if data.phone_number is not None and data.phone_number != self.phone_number:
            self.phone_number = data.phone_number
            changed = True
        return changed

    def apply_location(self, location: Location | None) -> bool:
        """Take each part of a location unless it is older than what is held."""
        if location is None:
            return False
        changed = False
        if location.indoor is not None and _newer(location.indoor, self.indoor):
            changed |= location.indoor != self.indoor
            self.indoor = location.indoor
        if location.outdoor is not None and _newer(location.outdoor, self.outdoor):
            changed |= location.outdoor != self.outdoor
            self.outdoor = location.outdoor
        return changed

    @property
    def top_alert(self) -> TrackedAlert | None:
        """Return the most critical active alert (the earliest among equals)."""
        if not self.alerts:
            return None
        return min(self.alerts.values(), key=lambda a: (a.type.priority, a.raised_at))

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable form (alerts are stored by the site)."""
        return {
            "mac": self.mac,
            "resident": self.resident,
            "phone_number": self.phone_number,
            "battery_level": self.battery_level,
            "last_update": self.last_update,
            "indoor": None
            if self.indoor is None
            else {
                "floor": self.indoor.floor,
                "zone": self.indoor.zone,
                "zone_id": self.indoor.zone_id,
                "last_update": self.indoor.last_update,
            },
            "outdoor": None
            if self.outdoor is None
            else {
                "latitude": self.outdoor.latitude,
                "longitude": self.outdoor.longitude,
                "last_update": self.outdoor.last_update,
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], now: float | None = None) -> TrackedDevice:
        """Rebuild from `as_dict`, forgetting times after `now` (plus tolerance)."""
        latest = None if now is None else now + FUTURE_TOLERANCE

        def bounded(value: float | None) -> float | None:
            if latest is not None and value is not None and value > latest:
                return None
            return value

        indoor = data.get("indoor")
        outdoor = data.get("outdoor")
        return cls(
            mac=str(data["mac"]),
            resident=data.get("resident"),
            phone_number=data.get("phone_number"),
            battery_level=data.get("battery_level"),
            last_update=bounded(data.get("last_update")),
            indoor=IndoorLocation(
                **{**indoor, "last_update": bounded(indoor.get("last_update"))}
            )
            if indoor
            else None,
            outdoor=OutdoorLocation(
                **{**outdoor, "last_update": bounded(outdoor.get("last_update"))}
            )
            if outdoor
            else None,
        )


def _newer(
    new: IndoorLocation | OutdoorLocation,
    old: IndoorLocation | OutdoorLocation | None,
) -> bool:
    if old is None or new.last_update is None or old.last_update is None:
        return True
    return new.last_update >= old.last_update


# Parts of a device a message may change (the bits of `Update.changed`), so
# that what shows only one part is not asked about the others.
CHANGED_DATA = 1  # battery level, last update, phone number
CHANGED_LOCATION = 2  # indoor or outdoor position
CHANGED_ALERTS = 4  # the device's alerts
CHANGED_RESIDENT = 8  # the resident's name
CHANGED_ALL = CHANGED_DATA | CHANGED_LOCATION | CHANGED_ALERTS | CHANGED_RESIDENT


@dataclass(slots=True)
class Update:
    """What one message changed."""

    device: TrackedDevice | None = None
    new_device: bool = False
    device_changed: bool = False
    resident_changed: bool = False
    transitions: list[AlertTransition] = field(default_factory=list)
    changed: int = 0


class SiteState:
    """Devices and alerts of one site."""

    def __init__(self, max_devices: int | None = None) -> None:
        """Start empty."""
        self.devices: dict[str, TrackedDevice] = {}
        self.alerts: dict[str, TrackedAlert] = {}
        self.ended: dict[str, float] = {}
        self.max_devices = max_devices
        self.refused_devices = 0

    @property
    def full(self) -> bool:
        """Return True when no new device may be added."""
        return self.max_devices is not None and len(self.devices) >= self.max_devices

    def _device(self, mac: str, update: Update) -> TrackedDevice | None:
        device = self.devices.get(mac)
        if device is None:
            if self.full:
                self.refused_devices += 1
                return None
            device = self.devices[mac] = TrackedDevice(mac=mac)
            update.new_device = True
        update.device = device
        return device

    def apply_heartbeat(self, event: HeartbeatEvent) -> Update:
        """Apply a heartbeat."""
        update = Update()
        device = self._device(event.device.mac, update)
        if device is not None:
            changed = CHANGED_DATA if device.apply_device(event.device) else 0
            if device.apply_location(event.location):
                changed |= CHANGED_LOCATION
            if update.new_device:
                changed = CHANGED_ALL
            update.changed = changed
            update.device_changed = bool(changed)
        return update

    def apply_alert(self, event: AlertEvent, now: float) -> Update:
        """Apply an alert event; return the device changes and alert transitions."""
        update = Update()
        device = self._device(event.device.mac, update)
        if device is None:
            return update
        changed = CHANGED_DATA if device.apply_device(event.device) else 0
        if device.apply_location(event.location):
            changed |= CHANGED_LOCATION
        name = event.user.name if event.user is not None else None
        if name is not None and name != device.resident:
            device.resident = name
            update.resident_changed = True
            changed |= CHANGED_RESIDENT
        update.transitions = self._alert_transitions(event, device, now)
        if update.transitions:
            changed |= CHANGED_ALERTS
        if update.new_device:
            changed = CHANGED_ALL
        update.changed = changed
        update.device_changed = bool(changed)
        return update

    def _alert_transitions(
        self, event: AlertEvent, device: TrackedDevice, now: float
    ) -> list[AlertTransition]:
        incoming = event.alert
        key = incoming.key
        if key in self.ended:
            return []
        resident = (
            event.user.name
            if event.user is not None and event.user.name is not None
            else device.resident
        )
        alert = self.alerts.get(key)
        transitions: list[AlertTransition] = []
        if alert is None:
            alert = TrackedAlert(
                alert_id=incoming.id,
                mac=device.mac,
                type=incoming.type,
                raw_type=incoming.raw_type,
                status=incoming.status,
                raised_at=now if incoming.timestamp is None else incoming.timestamp,
                resident=resident,
            )
            if incoming.status.is_active:
                self.alerts[key] = alert
                device.alerts[key] = alert
                transitions.append(
                    AlertTransition(
                        RAISED, alert, None, None, alert.type_name, AlertStatus.OPEN
                    )
                )
                if incoming.status is AlertStatus.ACCEPTED:
                    transitions.append(
                        AlertTransition(
                            STATUS_TRANSITIONS[AlertStatus.ACCEPTED],
                            alert,
                            alert.type_name,
                            AlertStatus.OPEN,
                            alert.type_name,
                            AlertStatus.ACCEPTED,
                        )
                    )
            else:
                # Raised and ended while we were away: announce the end once.
                self.ended[key] = now
                transitions.append(
                    AlertTransition(
                        STATUS_TRANSITIONS[incoming.status],
                        alert,
                        None,
                        None,
                        alert.type_name,
                        incoming.status,
                    )
                )
            return transitions

        if resident is not None:
            alert.resident = resident
        if (
            incoming.type is not AlertType.UNKNOWN
            and incoming.type.priority < alert.type.priority
            and incoming.status.is_active
        ):
            previous = alert.type_name
            alert.type = incoming.type
            alert.raw_type = incoming.raw_type
            transitions.append(
                AlertTransition(
                    ESCALATED,
                    alert,
                    previous,
                    alert.status,
                    alert.type_name,
                    alert.status,
                )
            )
        if incoming.status.rank > alert.status.rank:
            previous_status = alert.status
            alert.status = incoming.status
            transitions.append(
                AlertTransition(
                    STATUS_TRANSITIONS[incoming.status],
                    alert,
                    alert.type_name,
                    previous_status,
                    alert.type_name,
                    incoming.status,
                )
            )
            if not incoming.status.is_active:
                self._end(alert, now)
        return transitions

    def _end(self, alert: TrackedAlert, now: float) -> None:
        self.alerts.pop(alert.key, None)
        device = self.devices.get(alert.mac)
        if device is not None:
            device.alerts.pop(alert.key, None)
        self.ended[alert.key] = now

    def prune_ended(self, now: float, keep: float) -> None:
        """Forget ended alerts older than `keep` seconds."""
        self.ended = {k: t for k, t in self.ended.items() if now - t < keep}

    def forget_device(self, mac: str) -> None:
        """Drop a device and its alerts."""
        device = self.devices.pop(mac, None)
        if device is not None:
            for key in device.alerts:
                self.alerts.pop(key, None)

    def find_alert(self, alert_id: str) -> TrackedAlert | None:
        """Return an active alert by id."""
        return self.alerts.get(alert_id.lower())

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable snapshot."""
        return {
            "devices": [d.as_dict() for d in self.devices.values()],
            "alerts": [a.as_dict() for a in self.alerts.values()],
            "ended": dict(self.ended),
        }

    def load(self, data: dict[str, Any], now: float | None = None) -> None:
        """Restore a snapshot made by `as_dict`.

        Times after `now` (default the current time) plus `FUTURE_TOLERANCE`
        are repaired (see the module's docstring).
        """
        if now is None:
            now = time.time()
        for raw in data.get("devices", []):
            device = TrackedDevice.from_dict(raw, now)
            self.devices[device.mac] = device
        for raw in data.get("alerts", []):
            alert = TrackedAlert.from_dict(raw, now)
            owner = self.devices.setdefault(alert.mac, TrackedDevice(mac=alert.mac))
            self.alerts[alert.key] = alert
            owner.alerts[alert.key] = alert
        self.ended = {
            str(k): min(float(v), now) for k, v in data.get("ended", {}).items()
        }
