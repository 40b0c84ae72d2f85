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

from .models import AlertEvent, AlertStatus, AlertType, HeartbeatEvent
from .tracked import (
    STATUS_TRANSITIONS,
    AlertTransition,
    TrackedAlert,
    TrackedDevice,
    Transition,
)

# Parts of a device a message may change (the bits of `Update.changed`), so
# that what shows only one part is not asked about the others.
CHANGED_DATA = 1  # battery level, last update, phone number
CHANGED_LOCATION = 2  # indoor or outdoor position
CHANGED_ALERTS = 4  # the device's alerts
CHANGED_RESIDENT = 8  # the resident's name
CHANGED_ALL = CHANGED_DATA | CHANGED_LOCATION | CHANGED_ALERTS | CHANGED_RESIDENT

# How many MACs of devices past the limit are remembered (for the repair
# issue); their count goes on in `refused_devices`.
MAX_REFUSED_MACS = 1000
# Memory bounds against a server that sends alerts without end. Past them,
# the oldest ended alerts are forgotten first; then the least critical, oldest
# active alert of the device (or the oldest of the site) is forgotten, and
# `Update.capped` says so. Forgotten alerts are never announced again.
MAX_ACTIVE_ALERTS_PER_DEVICE = 50
MAX_ACTIVE_ALERTS = 5000
MAX_ENDED_ALERTS = 20000


@dataclass(slots=True)
class Update:
    """What one message changed."""

    device: TrackedDevice | None = None
    # False for a device past the device limit: it has no entities, but its
    # alerts are still tracked and announced.
    listed: bool = True
    new_device: bool = False
    device_changed: bool = False
    resident_changed: bool = False
    transitions: list[AlertTransition] = field(default_factory=list)
    changed: int = 0
    # An alert was forgotten to keep within the memory bounds.
    capped: bool = False


class SiteState:
    """Devices and alerts of one site."""

    def __init__(self, max_devices: int | None = None) -> None:
        """Start empty."""
        self.devices: dict[str, TrackedDevice] = {}
        self.alerts: dict[str, TrackedAlert] = {}
        self.ended: dict[str, float] = {}
        self.max_devices = max_devices
        self.refused_devices = 0
        # Devices past the limit: those with active alerts are kept here
        # (no entities, but their alerts count and are announced), and the
        # MACs of all of them, up to MAX_REFUSED_MACS, for the repair issue.
        self.unlisted: dict[str, TrackedDevice] = {}
        self.refused: set[str] = set()
        self.forgotten_alerts = 0

    @property
    def full(self) -> bool:
        """Return True when no new device may be added."""
        return self.max_devices is not None and len(self.devices) >= self.max_devices

    def _device(
        self, mac: str, update: Update, *, alerting: bool = False
    ) -> TrackedDevice | None:
        device = self.devices.get(mac)
        if device is None:
            if self.full:
                return self._unlisted(mac, update, alerting)
            device = self.unlisted.pop(mac, None) or TrackedDevice(mac=mac)
            self.devices[mac] = device
            self.refused.discard(mac)
            update.new_device = True
        update.device = device
        return device

    def _unlisted(
        self, mac: str, update: Update, alerting: bool
    ) -> TrackedDevice | None:
        """Return a device past the limit, kept only while it has alerts."""
        self.refused_devices += 1
        if len(self.refused) < MAX_REFUSED_MACS:
            self.refused.add(mac)
        device = self.unlisted.get(mac)
        if device is None:
            if not alerting:
                return None
            device = self.unlisted[mac] = TrackedDevice(mac=mac)
        update.device = device
        update.listed = False
        return device

    def owner(self, mac: str) -> TrackedDevice | None:
        """Return the device of an alert, listed or past the limit."""
        return self.devices.get(mac) or self.unlisted.get(mac)

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
        device = self._device(event.device.mac, update, alerting=True)
        assert device is not None
        changed = CHANGED_DATA if device.apply_device(event.device) else 0
        if device.apply_location(event.location):
            changed |= CHANGED_LOCATION
        name = event.user.name if event.user is not None else None
        if name is not None and name != device.resident:
            device.resident = name
            update.resident_changed = True
            changed |= CHANGED_RESIDENT
        update.transitions = self._alert_transitions(event, device, now, update)
        if update.transitions:
            changed |= CHANGED_ALERTS
        if update.new_device:
            changed = CHANGED_ALL
        update.changed = changed
        update.device_changed = bool(changed)
        return update

    def _alert_transitions(
        self, event: AlertEvent, device: TrackedDevice, now: float, update: Update
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
                self._make_room(device, now, update)
                self.alerts[key] = alert
                device.alerts[key] = alert
                transitions.append(
                    AlertTransition(
                        Transition.RAISED,
                        alert,
                        None,
                        None,
                        alert.type_name,
                        AlertStatus.OPEN,
                    )
                )
                if incoming.status is AlertStatus.ACCEPTED:
                    transitions.append(
                        AlertTransition.status_change(
                            alert, AlertStatus.OPEN, AlertStatus.ACCEPTED
                        )
                    )
            else:
                # Raised and ended while we were away: announce the end once.
                self._remember_ended(key, now)
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
                    Transition.ESCALATED,
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
                AlertTransition.status_change(alert, previous_status, incoming.status)
            )
            if not incoming.status.is_active:
                self._end(alert, now)
        return transitions

    def apply_status(self, alert_id: str, status: AlertStatus, now: float) -> Update:
        """Apply a status the server confirmed with a command's SUCCESS.

        The protocol promises only the answer, not an alert event with the
        new status: the change is applied from the answer. Statuses only move
        forward, so an echo that may follow changes nothing.
        """
        update = Update()
        alert = self.alerts.get(alert_id.lower())
        if alert is None or status.rank <= alert.status.rank:
            return update
        previous = alert.status
        alert.status = status
        update.transitions.append(
            AlertTransition.status_change(alert, previous, status)
        )
        self._set_owner(update, alert)
        if not status.is_active:
            self._end(alert, now)
        update.changed = CHANGED_ALERTS
        update.device_changed = True
        return update

    def dismiss(self, alert_id: str, now: float) -> Update:
        """End an active alert locally, whatever the server says of it.

        For an alert the server has forgotten: it would stay active for ever.
        Its status stays the last one the server sent; later messages about
        it change nothing.
        """
        update = Update()
        alert = self.alerts.get(alert_id.lower())
        if alert is None:
            return update
        update.transitions.append(
            AlertTransition(
                Transition.DISMISSED,
                alert,
                alert.type_name,
                alert.status,
                alert.type_name,
                alert.status,
            )
        )
        self._set_owner(update, alert)
        self._end(alert, now)
        update.changed = CHANGED_ALERTS
        update.device_changed = True
        return update

    def _set_owner(self, update: Update, alert: TrackedAlert) -> None:
        update.device = self.devices.get(alert.mac)
        if update.device is None:
            update.device = self.unlisted.get(alert.mac)
            update.listed = False

    def _end(self, alert: TrackedAlert, now: float) -> None:
        self.alerts.pop(alert.key, None)
        device = self.owner(alert.mac)
        if device is not None:
            device.alerts.pop(alert.key, None)
            if not device.alerts and alert.mac in self.unlisted:
                del self.unlisted[alert.mac]
        self._remember_ended(alert.key, now)

    def _remember_ended(self, key: str, now: float) -> None:
        self.ended[key] = now
        if len(self.ended) > MAX_ENDED_ALERTS:
            # Insertion order is the order they ended: forget the oldest.
            del self.ended[next(iter(self.ended))]

    def _make_room(self, device: TrackedDevice, now: float, update: Update) -> None:
        """Forget an active alert if a new one would pass a bound."""
        if len(device.alerts) >= MAX_ACTIVE_ALERTS_PER_DEVICE:
            # At most MAX_ACTIVE_ALERTS_PER_DEVICE to look at.
            victim = max(
                device.alerts.values(), key=lambda a: (a.type.priority, -a.raised_at)
            )
        elif len(self.alerts) >= MAX_ACTIVE_ALERTS:
            victim = next(iter(self.alerts.values()))  # the oldest of the site
        else:
            return
        self._end(victim, now)
        self.forgotten_alerts += 1
        update.capped = True

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
            owner = self.owner(alert.mac)
            if len(self.alerts) >= MAX_ACTIVE_ALERTS or (
                owner is not None and len(owner.alerts) >= MAX_ACTIVE_ALERTS_PER_DEVICE
            ):
                self.forgotten_alerts += 1
                continue
            if owner is None:
                owner = TrackedDevice(mac=alert.mac)
                if self.full:
                    self.unlisted[alert.mac] = owner
                else:
                    self.devices[alert.mac] = owner
            self.alerts[alert.key] = alert
            owner.alerts[alert.key] = alert
        ended = sorted(
            (min(float(v), now), str(k)) for k, v in data.get("ended", {}).items()
        )[-MAX_ENDED_ALERTS:]
        self.ended = {key: at for at, key in ended}
