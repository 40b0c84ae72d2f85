"""A moving demo scenario for the ixicare simulator.

Every tick, residents move between zones and floors, IXI PRO devices go
outdoors and come back, batteries drain (CRITICAL_BATTERY below 10 %), and
alerts are raised, accepted, escalated, resolved and cancelled at a set rate.
Given a seed, the scenario is deterministic (as long as no client changes the
alerts it drives).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
import logging
import random
from typing import Any, Final, Literal

from .model import (
    ALERT_TYPES,
    COMMON_ZONES,
    FINAL_STATUSES,
    MODEL_IXI_PRO,
    OUTDOOR_CENTER,
    SimDevice,
)
from .server import IxicareSimulator

_LOGGER = logging.getLogger(__name__)

BATTERY_CRITICAL: Final = 10.0
_OUTDOOR_RADIUS: Final = 0.003  # degrees around OUTDOOR_CENTER
_GARDEN: Final = ("Floor 0", "0.04 Garden room")


@dataclass
class _Step:
    tick: int
    action: Literal["accept", "escalate", "resolve", "cancel"]


class Scenario:
    """Drive the devices and alerts of one site of a simulator."""

    def __init__(
        self,
        sim: IxicareSimulator,
        site: str,
        *,
        rate: float = 2.0,
        tick: float = 1.0,
        seed: int = 0,
        report_probability: float = 0.3,
        move_probability: float = 0.15,
        outdoor_probability: float = 0.1,
        battery_drain: float = 0.2,
        heartbeat_every: int = 30,
        alert_ticks: tuple[int, int] = (3, 20),
    ) -> None:
        """Prepare a scenario; ``rate`` is in alerts per minute.

        Each tick, a device reports with ``report_probability``: its battery
        drops by about ``battery_drain`` percent and it may move. Every
        ``heartbeat_every`` ticks all devices send a heartbeat. Each step of an
        alert's life takes between ``alert_ticks`` ticks.
        """
        self.sim = sim
        self.site = site
        self.rate = rate
        self.tick = tick
        self.seed = seed
        self.report_probability = report_probability
        self.move_probability = move_probability
        self.outdoor_probability = outdoor_probability
        self.battery_drain = battery_drain
        self.heartbeat_every = max(1, heartbeat_every)
        self.alert_ticks = alert_ticks
        self.ticks = 0
        self._rng = random.Random(seed)
        self._credit = 0.0
        self._homes: dict[str, tuple[str, str]] = {}
        self._plans: dict[str, list[_Step]] = {}
        self._battery_alerts: dict[str, str] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Return True while the background task runs."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start ticking in a background task (stopped by ``sim.stop()`` too)."""
        if self._task is not None:
            return
        self._task = asyncio.create_task(self._run())
        self.sim.register_scenario(self)

    async def stop(self) -> None:
        """Stop ticking."""
        task, self._task = self._task, None
        self.sim.unregister_scenario(self)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            try:
                await self.step()
            except Exception:
                _LOGGER.exception("Scenario step failed")

    async def step(self) -> None:
        """Run one tick."""
        self.ticks += 1
        devices = sorted(self.sim.devices(self.site), key=lambda device: device.mac)
        everyone = self.ticks % self.heartbeat_every == 0
        for device in devices:
            if device.floor is not None and device.zone is not None:
                self._homes.setdefault(device.mac, (device.floor, device.zone))
            changes = self._report(device)
            if changes or everyone:
                await self.sim.send_heartbeat(self.site, device.mac, **changes)
        await self._battery_alerts_step(devices)
        await self._raise_alerts(devices)
        await self._run_plans()

    # Devices

    def _report(self, device: SimDevice) -> dict[str, Any]:
        """Return the changes a device reports this tick (maybe none)."""
        rng = self._rng
        if rng.random() >= self.report_probability:
            return {}
        drop = rng.uniform(0.5, 1.5) * self.battery_drain
        changes: dict[str, Any] = {
            "battery_level": max(0.0, round(device.battery_level - drop, 2))
        }
        draw = rng.random()
        if device.outdoor is not None:
            if draw < 0.3:
                changes["outdoor"] = None
                changes["floor"], changes["zone"] = _GARDEN
            else:
                changes["outdoor"] = self._wander(device.outdoor)
        elif device.model == MODEL_IXI_PRO and draw < self.outdoor_probability:
            changes["outdoor"] = self._wander(OUTDOOR_CENTER)
        elif draw < self.outdoor_probability + self.move_probability:
            floor, zone = self._destination(device)
            if (floor, zone) != (device.floor, device.zone):
                changes["floor"], changes["zone"] = floor, zone
        return changes

    def _wander(self, position: tuple[float, float]) -> tuple[float, float]:
        rng = self._rng
        latitude, longitude = position
        center_lat, center_lon = OUTDOOR_CENTER
        latitude = min(
            max(latitude + rng.uniform(-0.0005, 0.0005), center_lat - _OUTDOOR_RADIUS),
            center_lat + _OUTDOOR_RADIUS,
        )
        longitude = min(
            max(longitude + rng.uniform(-0.0005, 0.0005), center_lon - _OUTDOOR_RADIUS),
            center_lon + _OUTDOOR_RADIUS,
        )
        return round(latitude, 7), round(longitude, 7)

    def _destination(self, device: SimDevice) -> tuple[str, str]:
        rng = self._rng
        home = self._homes.get(device.mac, _GARDEN)
        draw = rng.random()
        if draw < 0.5:
            return home
        if draw < 0.7 and home[0] in COMMON_ZONES:
            return home[0], rng.choice(COMMON_ZONES[home[0]])
        return "Floor 0", rng.choice(COMMON_ZONES["Floor 0"])

    # Alerts

    def _plan(self, alert_type: str) -> list[_Step]:
        rng = self._rng
        low, high = self.alert_ticks
        at = self.ticks

        def later() -> int:
            nonlocal at
            at += rng.randint(low, high)
            return at

        draw = rng.random()
        if draw < 0.15:
            return [_Step(later(), "cancel")]
        if alert_type == "PANIC_BUTTON" and draw < 0.35:
            return [
                _Step(later(), "escalate"),
                _Step(later(), "accept"),
                _Step(later(), "resolve"),
            ]
        if draw < 0.75:
            return [_Step(later(), "accept"), _Step(later(), "resolve")]
        return [_Step(later(), "resolve")]

    async def _battery_alerts_step(self, devices: list[SimDevice]) -> None:
        alerts = self.sim.alerts(self.site)
        for mac, alert_id in list(self._battery_alerts.items()):
            if alerts[alert_id]["status"] in FINAL_STATUSES:
                # Put back on its charger.
                del self._battery_alerts[mac]
                await self.sim.send_heartbeat(self.site, mac, battery_level=100.0)
        for device in devices:
            if (
                device.battery_level < BATTERY_CRITICAL
                and device.mac not in self._battery_alerts
            ):
                alert_id = await self.sim.raise_alert(
                    self.site, device.mac, "CRITICAL_BATTERY"
                )
                self._battery_alerts[device.mac] = alert_id
                low, high = self.alert_ticks
                self._plans[alert_id] = [
                    _Step(self.ticks + self._rng.randint(low, high), "resolve")
                ]

    async def _raise_alerts(self, devices: list[SimDevice]) -> None:
        rng = self._rng
        self._credit += self.rate * self.tick / 60.0
        while self._credit >= 1.0:
            self._credit -= 1.0
            busy = {
                alert["device_id"]
                for alert in self.sim.active_alerts(self.site).values()
            }
            candidates = [device for device in devices if device.mac not in busy]
            if not candidates:
                continue
            device = rng.choice(candidates)
            if device.outdoor is not None:
                alert_type = rng.choice(("GEOFENCING", "PANIC_BUTTON", "MAN_DOWN"))
            else:
                alert_type = rng.choice(("PANIC_BUTTON", "PANIC_BUTTON", "MAN_DOWN"))
            alert_id = await self.sim.raise_alert(
                self.site,
                device.mac,
                alert_type,
                include_location=rng.random() < 0.9,
            )
            self._plans[alert_id] = self._plan(alert_type)

    async def _run_plans(self) -> None:
        alerts = self.sim.alerts(self.site)
        for alert_id, steps in list(self._plans.items()):
            alert = alerts.get(alert_id)
            if alert is None or alert["status"] in FINAL_STATUSES:
                del self._plans[alert_id]
                continue
            while steps and steps[0].tick <= self.ticks:
                action = steps.pop(0).action
                if action == "accept" and alert["status"] == "OPEN":
                    await self.sim.set_alert_status(self.site, alert_id, "ACCEPTED")
                elif action == "escalate" and ALERT_TYPES.index(alert["type"]) > 0:
                    await self.sim.escalate_alert(self.site, alert_id, "MAN_DOWN")
                elif action == "resolve":
                    await self.sim.set_alert_status(self.site, alert_id, "RESOLVED")
                    steps.clear()
                elif action == "cancel":
                    await self.sim.set_alert_status(self.site, alert_id, "CANCELLED")
                    steps.clear()
                alert = self.sim.alerts(self.site)[alert_id]
            if not steps:
                del self._plans[alert_id]
