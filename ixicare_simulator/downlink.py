"""Downlink messages and their retention while no client is connected."""

from __future__ import annotations

import logging
import time
from typing import Any, cast
import uuid

from .core import SimulatorCore
from .model import (
    _CHANGEABLE_FIELDS,
    _DEVICE_FIELDS,
    _INDOOR_FIELDS,
    ALERT_STATUSES,
    ALERT_TYPES,
    EVENT_ALERTS,
    EVENT_HEARTBEATS,
    FINAL_STATUSES,
    PROTOCOL_VERSION,
    SimDevice,
    _is_uuid,
    _js_numbers,
    _SimAlert,
    _Site,
    zone_id_for,
)

_LOGGER = logging.getLogger(__name__)


class DownlinkMixin(SimulatorCore):
    """Build, send and retain alert events and heartbeats."""

    # ------------------------------------------------------------------
    # Messages, as they are sent

    def _alert(self, state: _Site, alert_id: str) -> _SimAlert:
        try:
            return state.alerts[alert_id.lower()]
        except KeyError:
            raise KeyError(f"Unknown alert {alert_id}") from None

    def _alert_event(self, state: _Site, alert: _SimAlert) -> dict[str, Any]:
        device = state.devices[alert.mac]
        event: dict[str, Any] = {
            "version": PROTOCOL_VERSION,
            "type": "ALERT",
            "device": device.device_payload(),
            "alert": {
                "id": alert.alert_id,
                "type": alert.type,
                "status": alert.status,
                "timestamp": alert.timestamp,
            },
        }
        if alert.include_user:
            event["user"] = {"id": device.user_id, "name": device.name}
        if alert.include_location and (location := device.location_payload()):
            event["location"] = location
        return event

    def alert_event(self, site: str, alert_id: str) -> dict[str, Any]:
        """Return the current alert event of an alert (as it would be sent)."""
        state = self._site(site)
        return self._alert_event(state, self._alert(state, alert_id))

    def _heartbeat_event(self, device: SimDevice) -> dict[str, Any]:
        location = device.location_payload()
        if location is None:
            raise ValueError(f"Device {device.mac} has no location for a heartbeat")
        return {
            "version": PROTOCOL_VERSION,
            "type": self.heartbeat_type,
            "device": device.device_payload(),
            "location": location,
        }

    def _prepare(self, data: dict[str, Any]) -> dict[str, Any]:
        return cast(dict[str, Any], _js_numbers(data)) if self.js_numbers else data

    # ------------------------------------------------------------------
    # Delivery

    async def _deliver(
        self, state: _Site, event: str, data: Any, to: str | None = None
    ) -> None:
        """Emit to one session or to the site's room, respecting replay gates."""
        async with self._delivery:
            sio = self._sio
            if sio is None:
                return
            if to is not None:
                if to not in state.sids:
                    _LOGGER.debug("Session %s gone, %s message dropped", to, event)
                elif (gate := self._gates.get(to)) is not None:
                    gate.append((event, data))
                else:
                    await sio.emit(event, data, to=to)
                return
            skip: list[str] = []
            for sid in state.sids:
                if (gate := self._gates.get(sid)) is not None:
                    gate.append((event, data))
                    skip.append(sid)
            await sio.emit(event, data, room=state.key, skip_sid=skip or None)

    async def _publish_alert(self, state: _Site, alert: _SimAlert) -> None:
        alert.changed = time.time()
        event = self._prepare(self._alert_event(state, alert))
        if state.sids and self._sio is not None:
            await self._deliver(state, EVENT_ALERTS, event)
        else:
            self._prune_retained(state)
            state.retained.pop(alert.alert_id, None)
            state.retained[alert.alert_id] = (time.time(), event)

    # ------------------------------------------------------------------
    # Alerts and heartbeats

    async def raise_alert(
        self,
        site: str,
        mac: str,
        alert_type: str = "MAN_DOWN",
        *,
        alert_id: str | None = None,
        include_user: bool = True,
        include_location: bool = True,
        timestamp: float | None = None,
    ) -> str:
        """Raise a new OPEN alert on a device and broadcast it; return its id."""
        state = self._site(site)
        device = self.device(site, mac)
        if alert_type not in ALERT_TYPES:
            raise ValueError(f"Unknown alert type {alert_type}")
        if alert_id is None:
            alert_id = str(uuid.uuid4())
        elif not _is_uuid(alert_id):
            raise ValueError(f"Alert id {alert_id} is not a UUID")
        alert_id = alert_id.lower()
        if alert_id in state.alerts:
            raise ValueError(f"Alert {alert_id} already exists")
        alert = _SimAlert(
            alert_id=alert_id,
            mac=device.mac,
            type=alert_type,
            status="OPEN",
            timestamp=time.time() if timestamp is None else timestamp,
            include_user=include_user,
            include_location=include_location,
        )
        state.alerts[alert_id] = alert
        _LOGGER.info("Alert %s %s raised on %s", alert_id, alert_type, device.mac)
        await self._publish_alert(state, alert)
        return alert_id

    async def escalate_alert(
        self, site: str, alert_id: str, new_type: str, *, force: bool = False
    ) -> None:
        """Escalate an active alert to a more critical type and broadcast it.

        ``force`` allows any type change, even on a final alert.
        """
        state = self._site(site)
        alert = self._alert(state, alert_id)
        if new_type not in ALERT_TYPES:
            raise ValueError(f"Unknown alert type {new_type}")
        if not force:
            if not alert.active:
                raise ValueError(f"Alert {alert_id} is {alert.status}")
            if ALERT_TYPES.index(new_type) >= ALERT_TYPES.index(alert.type):
                raise ValueError(f"{new_type} is not more critical than {alert.type}")
        alert.type = new_type
        _LOGGER.info("Alert %s escalated to %s", alert.alert_id, new_type)
        await self._publish_alert(state, alert)

    async def set_alert_status(
        self, site: str, alert_id: str, status: str, *, force: bool = False
    ) -> None:
        """Change the status of an alert and broadcast it.

        A final (RESOLVED/CANCELLED) alert cannot change unless ``force``.
        """
        state = self._site(site)
        alert = self._alert(state, alert_id)
        if status not in ALERT_STATUSES:
            raise ValueError(f"Unknown alert status {status}")
        if alert.status in FINAL_STATUSES and not force:
            raise ValueError(f"Alert {alert_id} is already {alert.status}")
        alert.status = status
        _LOGGER.info("Alert %s is now %s", alert.alert_id, status)
        await self._publish_alert(state, alert)

    async def send_heartbeat(
        self, site: str, mac: str, **changes: Any
    ) -> dict[str, Any]:
        """Update a device with ``changes`` and broadcast its heartbeat.

        ``changes`` are :class:`SimDevice` fields (``battery_level=50``,
        ``zone="1.16 Bedroom"``, ``outdoor=(lat, lon)`` or None, ...). The
        matching ``*_last_update`` is stamped with now unless given. A zone
        given without ``zone_id`` gets its stable zone id. Returns the message.
        """
        state = self._site(site)
        device = self.device(site, mac)
        unknown = set(changes) - _CHANGEABLE_FIELDS
        if unknown:
            raise TypeError(f"Unknown device fields: {', '.join(sorted(unknown))}")
        now = time.time()
        if "battery_level" in changes:
            changes["battery_level"] = float(changes["battery_level"])
        if "outdoor" in changes and changes["outdoor"] is not None:
            latitude, longitude = changes["outdoor"]
            changes["outdoor"] = (float(latitude), float(longitude))
        for name, value in changes.items():
            setattr(device, name, value)
        if _DEVICE_FIELDS & changes.keys() and "device_last_update" not in changes:
            device.device_last_update = now
        if _INDOOR_FIELDS & changes.keys():
            if "zone_id" not in changes and device.floor and device.zone:
                device.zone_id = zone_id_for(state.key, device.floor, device.zone)
            if "location_last_update" not in changes:
                device.location_last_update = now
        if "outdoor" in changes and "outdoor_last_update" not in changes:
            device.outdoor_last_update = now if device.outdoor is not None else None
        message = self._prepare(self._heartbeat_event(device))
        await self._deliver(state, EVENT_HEARTBEATS, message)
        return message

    async def send_raw(self, site: str, event: str, data: Any) -> None:
        """Emit anything on ``event`` to a site's clients (invalid data too)."""
        await self._deliver(self._site(site), event, data)

    # ------------------------------------------------------------------
    # Retention while no client of a site is connected

    def _prune_retained(self, state: _Site) -> None:
        limit = time.time() - self.retention_seconds
        for alert_id, (stored, _) in list(state.retained.items()):
            if stored < limit:
                del state.retained[alert_id]

    def retained_events(self, site: str) -> list[dict[str, Any]]:
        """Return the alert events stored for the next connection of a site."""
        state = self._site(site)
        self._prune_retained(state)
        return [event for _, event in state.retained.values()]

    def _retain_undelivered(self, state: _Site, gate: list[tuple[str, Any]]) -> None:
        """Keep the alert events a session left unsent, as if never sent.

        The session's replay was still queued when it ended; with no other
        session of the site these events would otherwise be lost.
        """
        undelivered, gate[:] = list(gate), []  # also stops the drain task
        if state.sids:
            return
        # Only the latest status of each alert is kept (protocol, "Message
        # retention"): a later event in the gate replaces an earlier one,
        # and what was retained since the session ended is newer still.
        newer = set(state.retained)
        latest: dict[str, dict[str, Any]] = {}
        for event, data in undelivered:
            if event != EVENT_ALERTS or not isinstance(data, dict):
                continue
            alert_id = str(data.get("alert", {}).get("id", "")).lower()
            if alert_id and alert_id not in newer:
                latest.pop(alert_id, None)
                latest[alert_id] = data
        now = time.time()
        for alert_id, data in latest.items():
            state.retained[alert_id] = (now, data)
