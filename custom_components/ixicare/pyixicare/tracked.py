"""What a site keeps of its alerts and devices, and the transitions of alerts.

The questions the platforms ask of a device (the alert a binary sensor of one
type shows, the alert a button acts on, the top alert) are answered here, by
`TrackedDevice`, free of Home Assistant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .fields import FUTURE_TOLERANCE
from .models import (
    AlertStatus,
    AlertType,
    DeviceData,
    IndoorLocation,
    Location,
    OutdoorLocation,
)


class Transition(StrEnum):
    """A change in an alert's life.

    The values are the event entity's event types, the bus event's
    `transition` and the device triggers' suffixes.
    """

    RAISED = "raised"
    ESCALATED = "escalated"
    ACCEPTED = "accepted"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    # Ended in Home Assistant by `ixicare.dismiss_alert`, not by the server.
    DISMISSED = "dismissed"


# The transition to each status an alert moves forward to.
STATUS_TRANSITIONS = {
    AlertStatus.ACCEPTED: Transition.ACCEPTED,
    AlertStatus.RESOLVED: Transition.RESOLVED,
    AlertStatus.CANCELLED: Transition.CANCELLED,
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

    transition: Transition
    alert: TrackedAlert
    previous_type: str | None
    previous_status: AlertStatus | None
    type_name: str
    status: AlertStatus

    @classmethod
    def status_change(
        cls, alert: TrackedAlert, previous: AlertStatus, status: AlertStatus
    ) -> AlertTransition:
        """Return the transition of `alert` from `previous` to `status`."""
        return cls(
            STATUS_TRANSITIONS[status],
            alert,
            alert.type_name,
            previous,
            alert.type_name,
            status,
        )

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable form (for announcements still held)."""
        return {
            "transition": self.transition.value,
            "alert": self.alert.as_dict(),
            "previous_type": self.previous_type,
            "previous_status": None
            if self.previous_status is None
            else self.previous_status.value,
            "type_name": self.type_name,
            "status": self.status.value,
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], alerts: dict[str, TrackedAlert]
    ) -> AlertTransition:
        """Rebuild from `as_dict`, with the live alert where it is known."""
        stored = TrackedAlert.from_dict(data["alert"])
        previous_status = data.get("previous_status")
        return cls(
            transition=Transition(data["transition"]),
            alert=alerts.get(stored.key, stored),
            previous_type=data.get("previous_type"),
            previous_status=None
            if previous_status is None
            else AlertStatus(previous_status),
            type_name=str(data["type_name"]),
            status=AlertStatus(data["status"]),
        )


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

    def alert_of_type(self, alert_type: AlertType) -> TrackedAlert | None:
        """Return the earliest active alert of `alert_type` (its binary sensor's)."""
        alerts = [a for a in self.alerts.values() if a.type is alert_type]
        return min(alerts, key=lambda a: a.raised_at) if alerts else None

    def alert_to_act_on(self, statuses: frozenset[AlertStatus]) -> TrackedAlert | None:
        """Return the most critical active alert with one of `statuses`.

        The earliest among alerts of the same type, as the services choose:
        the alert the Accept and Resolve buttons act on.
        """
        alerts = [a for a in self.alerts.values() if a.status in statuses]
        if not alerts:
            return None
        return min(alerts, key=lambda a: (a.type.priority, a.raised_at))

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
