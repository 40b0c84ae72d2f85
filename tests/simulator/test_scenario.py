"""Tests of the moving demo scenario."""

from __future__ import annotations

import asyncio
from collections import Counter
import logging
from typing import Any

import pytest

from ixicare_simulator import IxicareSimulator, Scenario, SimDevice
from ixicare_simulator.model import OUTDOOR_CENTER

from .common import SITE, TOKEN, running
from .conftest import ClientFactory

BUSY: dict[str, Any] = {
    "rate": 600.0,
    "tick": 0.01,
    "report_probability": 1.0,
    "outdoor_probability": 0.4,
    "move_probability": 0.4,
    "battery_drain": 4.0,
    "heartbeat_every": 5,
    "alert_ticks": (1, 3),
}


def history(sim: IxicareSimulator) -> list[tuple[str, str, str]]:
    return [(a["device_id"], a["type"], a["status"]) for a in sim.alerts(SITE).values()]


async def run_steps(seed: int, steps: int) -> IxicareSimulator:
    sim = IxicareSimulator(sites={SITE: TOKEN})
    sim.make_devices(SITE, 8, seed=1)
    scenario = Scenario(sim, SITE, seed=seed, **BUSY)
    for _ in range(steps):
        await scenario.step()
    assert scenario.ticks == steps
    return sim


async def test_scenario_is_deterministic() -> None:
    first = await run_steps(4, 60)
    second = await run_steps(4, 60)
    other = await run_steps(5, 60)
    assert history(first) == history(second)
    assert [
        (d.floor, d.zone, d.battery_level, d.outdoor) for d in first.devices(SITE)
    ] == [(d.floor, d.zone, d.battery_level, d.outdoor) for d in second.devices(SITE)]
    assert history(first) != history(other)

    alerts = history(first)
    types = Counter(alert_type for _, alert_type, _ in alerts)
    statuses = Counter(status for _, _, status in alerts)
    assert types["CRITICAL_BATTERY"] >= 1
    assert types["MAN_DOWN"] >= 1
    assert types["GEOFENCING"] + types["PANIC_BUTTON"] >= 1
    assert statuses["RESOLVED"] >= 1
    assert statuses["CANCELLED"] >= 1
    # Some IXI PRO went outdoors, around the fixed point.
    positions = [d.outdoor for d in first.devices(SITE) + other.devices(SITE)]
    for position in filter(None, positions):
        assert abs(position[0] - OUTDOOR_CENTER[0]) <= 0.003 + 1e-9
    # Batteries are recharged after their alert ends.
    assert all(0 <= d.battery_level <= 100 for d in first.devices(SITE))


async def test_scenario_runs_and_stops_with_the_simulator(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    client = await connect()
    scenario = Scenario(sim, SITE, seed=2, **BUSY)
    scenario.start()
    scenario.start()  # A second start is a no-op.
    assert running(scenario)
    events: Counter[str] = Counter()
    statuses: set[str] = set()
    async with asyncio.timeout(10):
        while len(statuses) < 3 or events["heartbeats"] < 20:
            event, data = await client.next()
            events[event] += 1
            if event == "alerts":
                statuses.add(data["alert"]["status"])
    await sim.stop()
    assert not running(scenario)
    assert scenario.ticks > 0
    # Valid messages only: the connect fixture checks every one at teardown.


async def test_scenario_survives_a_restart(sim: IxicareSimulator) -> None:
    scenario = Scenario(sim, SITE, seed=3, **BUSY)
    scenario.start()
    await asyncio.sleep(0.05)
    await sim.restart()
    ticks = scenario.ticks
    await asyncio.sleep(0.05)
    assert running(scenario)
    assert scenario.ticks > ticks
    await scenario.stop()
    await scenario.stop()
    assert not running(scenario)


async def test_a_failing_step_is_logged(
    sim: IxicareSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    sim.add_device(
        SITE,
        SimDevice(mac="00:02:04:FF:FF:FF", name="Nowhere", floor=None, zone=None),
    )
    scenario = Scenario(
        sim,
        SITE,
        **{**BUSY, "rate": 0.0, "move_probability": 0.0, "outdoor_probability": 0.0},
    )
    with caplog.at_level(logging.ERROR):
        scenario.start()
        async with asyncio.timeout(5):
            while "Scenario step failed" not in caplog.text:
                await asyncio.sleep(0.01)
    assert running(scenario)
    await scenario.stop()


async def test_scenario_leaves_alerts_ended_by_others() -> None:
    sim = IxicareSimulator(sites={SITE: TOKEN})
    sim.make_devices(SITE, 8, seed=1)
    scenario = Scenario(sim, SITE, seed=6, **{**BUSY, "alert_ticks": (20, 30)})
    escalated = False
    for _ in range(40):
        await scenario.step()
        for alert_id, alert in sim.active_alerts(SITE).items():
            if alert["type"] == "PANIC_BUTTON":
                # Another party resolves it before the scenario's next step.
                await sim.set_alert_status(SITE, alert_id, "RESOLVED")
            escalated = escalated or alert["type"] == "MAN_DOWN"
    assert escalated
    for _ in range(60):
        await scenario.step()
    assert scenario.ticks == 100


async def test_no_alert_when_every_device_is_busy() -> None:
    sim = IxicareSimulator(sites={SITE: TOKEN})
    devices = sim.make_devices(SITE, 2)
    for device in devices:
        await sim.raise_alert(SITE, device.mac)
    scenario = Scenario(
        sim, SITE, rate=120, tick=1.0, report_probability=0.0, alert_ticks=(50, 60)
    )
    await scenario.step()
    assert len(sim.alerts(SITE)) == 2
