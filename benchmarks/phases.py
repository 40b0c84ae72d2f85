"""The phases of one column of the benchmark's table (one number of devices).

The baseline (a bare socket.io client, no Home Assistant), then, in one Home
Assistant: set-up, throughput (fast and stock receive paths), the storm of
heartbeats with MAN_DOWN alerts, and the replay of retained alert events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import gc
import time
from typing import Any

import socketio

from .config import Config
from .hass import Probe, add_entry, watch_states
from .measure import (
    Counter,
    CpuClock,
    LoopMonitor,
    percentile,
    throughput_result,
    wait_until,
)
from .simctl import SimulatorProcess

# -- the baseline: a bare socket.io client --------------------------------------


async def baseline(
    sim: SimulatorProcess, cfg: Config, *, orjson_packets: bool
) -> dict[str, Any]:
    """Throughput of a python-socketio AsyncClient that only decodes the stream."""
    counter = Counter()
    kwargs: dict[str, Any] = {}
    if orjson_packets:
        from custom_components.ixicare.pyixicare.transport import _OrjsonPacket

        kwargs["serializer"] = _OrjsonPacket
    sio = socketio.AsyncClient(reconnection=False, **kwargs)
    sio.on("heartbeats", lambda *_: counter.hit())
    await sio.connect(
        f"{sim.url}?site_uuid={sim.site}",
        headers={"Authorization": f"Bearer {sim.token}"},
        transports=["websocket"],
        socketio_path="ws",
        wait_timeout=10,
    )
    try:
        await sim.call("wait_clients", count=1)
        clock = CpuClock(sim.pid)
        count = cfg.baseline_messages
        await sim.call("blast", count=count, timeout=cfg.blast_cap + 30)
        done = await wait_until(lambda: counter.count >= count, cfg.blast_cap)
        usage = clock.since()
    finally:
        await sio.disconnect()
        await sim.call("wait_clients", count=0)
    return throughput_result(counter, usage, done)


class Column:
    """The measurements of one device count, in one Home Assistant."""

    def __init__(
        self,
        cfg: Config,
        hass: Any,
        sim: SimulatorProcess,
        result: dict[str, Any],
        log: Callable[[str], None],
    ) -> None:
        self.cfg = cfg
        self.hass = hass
        self.sim = sim
        self.result = result
        self.blocks: dict[str, dict[str, float]] = result["blocks"]
        self.n_devices: int = result["devices"]
        self.log = log
        self.monitor = LoopMonitor()
        self.entry = add_entry(hass, sim)

    async def run(self) -> None:
        await self.setup()
        coordinator = self.entry.runtime_data.coordinator
        probe = Probe(coordinator)
        await self.throughput(probe)
        await self.stock_throughput(probe, coordinator.client)
        await self.storm(coordinator)
        await self.replay(probe, coordinator)
        async with asyncio.timeout(self.cfg.setup_cap):
            assert await self.hass.config_entries.async_unload(self.entry.entry_id)
            await self.hass.async_block_till_done()

    async def _fresh_phase(self) -> None:
        """Start a phase after a full collection, with the monitor reset.

        Python starts a full collection once enough objects have outlived
        two young ones since the last: whichever phase crosses that line
        pays for what earlier phases left. Each phase starts from a
        collection, so each pays for its own; the pause of this collection
        is not counted.
        """
        gc.collect()
        await self.monitor.reset()

    async def _timed_setup(self) -> float:
        await self._fresh_phase()
        start = time.perf_counter()
        async with asyncio.timeout(self.cfg.setup_cap):
            assert await self.hass.config_entries.async_setup(self.entry.entry_id)
            await self.hass.async_block_till_done()
        return time.perf_counter() - start

    async def setup(self) -> None:
        """Set up with the stored devices, then again (registries now filled)."""
        n = self.n_devices
        self.log(f"{n} devices: set-up with {n} stored devices")
        self.result["setup_first"] = await self._timed_setup()
        self.blocks["setup_first"] = await self.monitor.reset()
        async with asyncio.timeout(self.cfg.setup_cap):
            assert await self.hass.config_entries.async_unload(self.entry.entry_id)
            await self.hass.async_block_till_done()
        await self.sim.call("wait_clients", count=0)
        self.result["setup_again"] = await self._timed_setup()
        self.blocks["setup_again"] = await self.monitor.reset()
        self.result["entities"] = len(self.hass.states.async_all())
        await self.sim.call("wait_clients", count=1)
        if self.cfg.registry_settle:
            # Home Assistant's entity and device registries save SAVE_DELAY
            # after their last change; with thousands of entries that save
            # takes most of a second of CPU, none of it the message path's.
            from homeassistant.helpers.registry import SAVE_DELAY

            self.log(f"{n} devices: letting the registries save ({SAVE_DELAY + 1} s)")
            await asyncio.sleep(SAVE_DELAY + 1)
            await self.hass.async_block_till_done()

    async def stock_throughput(self, probe: Probe, client: Any) -> None:
        """The throughput again with python-socketio's stock receive path.

        The path the client falls back to where the installed python-socketio
        or python-engineio lack the fast path's hooks (pyixicare/transport.py).
        """
        self.result["fast_path"] = client.fast_path
        await self._reconnect(client, fast_path=False)
        await self.throughput(probe, key="throughput_stock", label="stock path")
        await self._reconnect(client, fast_path=True)

    async def _reconnect(self, client: Any, *, fast_path: bool) -> None:
        client.fast_path = fast_path
        # The supervisor opens the next session with the path chosen.
        await client._drop_session()
        await self.sim.call("wait_clients", count=0)
        if not await wait_until(lambda: client.connected, 30.0):
            raise TimeoutError("the client did not reconnect")
        await self.sim.call("wait_clients", count=1)
        await self.hass.async_block_till_done()

    async def throughput(
        self, probe: Probe, key: str = "throughput", label: str = "throughput"
    ) -> None:
        """Heartbeats as fast as Home Assistant takes them."""
        cfg = self.cfg
        self.log(f"{self.n_devices} devices: {label}")
        probe.heartbeats = Counter()
        await self._fresh_phase()
        clock = CpuClock(self.sim.pid)
        await self.sim.call(
            "blast", count=cfg.blast_messages, timeout=cfg.blast_cap + 30
        )
        done = await wait_until(
            lambda: probe.heartbeats.count >= cfg.blast_messages, cfg.blast_cap
        )
        self.result[key] = throughput_result(probe.heartbeats, clock.since(), done)
        await self.hass.async_block_till_done()
        blocks = await self.monitor.reset()
        if key == "throughput":
            self.blocks[key] = blocks

    async def storm(self, coordinator: Any) -> None:
        """Heartbeats at a steady rate, and MAN_DOWN alerts among them."""
        cfg = self.cfg
        self.log(
            f"{self.n_devices} devices: {cfg.storm_rate:g} heartbeats/s "
            "with MAN_DOWN alerts"
        )
        watch, unsub = watch_states(self.hass, coordinator)
        await self._fresh_phase()
        clock = CpuClock(self.sim.pid)
        try:
            storm = await self.sim.call(
                "storm",
                rate=cfg.storm_rate,
                seconds=cfg.storm_seconds,
                alert_every=cfg.alert_every,
                timeout=cfg.storm_seconds + 60,
            )
            await asyncio.sleep(0.2)
            await self.hass.async_block_till_done()
        finally:
            unsub()
        usage = clock.since()
        self.blocks["storm"] = await self.monitor.reset()
        alerts = [
            watch.man_down_on[a["alert_id"]] - a["emitted"]
            for a in storm["alerts"]
            if a["alert_id"] in watch.man_down_on
        ]
        self.result["storm"] = {
            "sent": storm["sent"],
            "rate": storm["sent"] / storm["seconds"],
            "cpu": usage["cpu"],
            "heartbeat_p50": percentile(watch.battery_latency, 50),
            "heartbeat_p99": percentile(watch.battery_latency, 99),
            "heartbeat_samples": len(watch.battery_latency),
            "alert_p50": percentile(alerts, 50),
            "alert_p99": percentile(alerts, 99),
            "alert_max": max(alerts, default=None),
            "alerts_raised": len(storm["alerts"]),
            "alerts_seen": len(alerts),
        }

    async def replay(self, probe: Probe, coordinator: Any) -> None:
        """Alert events retained while disconnected, replayed on reconnection."""
        cfg = self.cfg
        self.log(
            f"{self.n_devices} devices: replay of {cfg.replay_alerts:,} "
            "retained alert events"
        )
        probe.reset_alerts()
        await self._fresh_phase()
        retained = await self.sim.call("retain", count=cfg.replay_alerts, timeout=120)
        events = retained["retained"]
        done = await wait_until(lambda: probe.alerts.count >= events, cfg.replay_cap)
        seconds = None
        if probe.alerts.count:
            # The first replayed message may be handled before the client
            # reports the connection: the replay starts with whichever came
            # first, and ends when the last event was handled.
            first = probe.alerts.first
            if probe.connected_at is not None:
                first = min(first, probe.connected_at)
            seconds = probe.alerts.last - first
        await self.hass.async_block_till_done()
        self.blocks["replay"] = await self.monitor.reset()
        if cfg.save_wait:
            # The coordinator's delayed save (SAVE_DELAY) comes a few
            # seconds later, with the replay's thousands of alerts.
            await asyncio.sleep(cfg.save_wait)
            await self.hass.async_block_till_done()
        self.blocks["after_replay"] = await self.monitor.reset()
        self.result["replay"] = {
            "events": events,
            "handled": probe.alerts.count,
            "seconds": seconds,
            "capped": not done,
            "active_alerts": len(coordinator.state.alerts),
        }
