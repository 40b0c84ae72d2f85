"""The Home Assistant side of the benchmark: phases and their measurements.

Home Assistant runs in this process (the test harness's
``async_test_home_assistant`` with a temporary configuration directory and real
storage); the simulator runs in another process (benchmarks/simproc.py), so
the CPU time of this process is Home Assistant's alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
import contextlib
from dataclasses import dataclass, field
import gc
import importlib
import json
import logging
import os
from pathlib import Path
import tempfile
import time
import tracemalloc
from typing import Any

import socketio

from .simctl import ROOT, SimulatorProcess

_LOGGER = logging.getLogger(__name__)

ENTRY_ID = "01JBENCHMARK00000000000000"
INTEGRATION_DIR = ROOT / "custom_components" / "ixicare"


@dataclass(frozen=True)
class Config:
    """What to run, and how much of it."""

    device_counts: tuple[int, ...] = (100, 1000, 5000)
    baseline_messages: int = 100000
    blast_messages: int = 40000
    blast_cap: float = 30.0
    storm_rate: float = 1000.0
    storm_seconds: float = 10.0
    # 200 alerts: the p99 is then the second worst, not the worst.
    alert_every: float = 0.05
    replay_alerts: int = 10000
    replay_cap: float = 60.0
    save_wait: float = 6.0
    memory_devices: int = 1000
    setup_cap: float = 300.0
    # Let the registries write what set-up left before the message path is
    # measured (their save, 10 s after a change, would otherwise fall in it).
    registry_settle: bool = True


FULL = Config()
QUICK = Config(
    device_counts=(100, 1000),
    baseline_messages=40000,
    blast_messages=15000,
    storm_seconds=3.0,
    replay_alerts=10000,
    memory_devices=200,
    save_wait=0.0,
)
SMOKE = Config(
    device_counts=(4,),
    baseline_messages=200,
    blast_messages=200,
    blast_cap=20.0,
    storm_rate=200.0,
    storm_seconds=0.5,
    replay_alerts=40,
    replay_cap=20.0,
    save_wait=0.0,
    memory_devices=4,
    setup_cap=60.0,
    registry_settle=False,
)


# -- measuring helpers ---------------------------------------------------------


class LoopMonitor:
    """Measure how long the event loop goes without running a timer.

    A task sleeps 5 ms again and again; the overshoot of each sleep is the
    time the loop was busy with something else. The garbage collector's
    pauses (which stop the whole process) are timed apart, so a block can be
    told apart from a collection that happened to fall in it.
    """

    interval = 0.005

    def __init__(self) -> None:
        self.max_block = 0.0
        self.max_block_without_gc = 0.0
        self.max_gc = 0.0
        self.full_collections = 0
        self._gc_total = 0.0
        self._gc_start = 0.0
        self._task: asyncio.Task[None] | None = None

    def _gc_callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            pause = time.perf_counter() - self._gc_start
            self._gc_total += pause
            self.max_gc = max(self.max_gc, pause)
            self.full_collections += info["generation"] == 2

    def start(self) -> None:
        gc.callbacks.append(self._gc_callback)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before, gc_before = loop.time(), self._gc_total
            await asyncio.sleep(self.interval)
            block = loop.time() - before - self.interval
            self.max_block = max(self.max_block, block)
            self.max_block_without_gc = max(
                self.max_block_without_gc, block - (self._gc_total - gc_before)
            )

    async def reset(self) -> dict[str, float]:
        """Return the longest block (and GC pause) since the last reset.

        Yields first, so that the monitor sees a block that ended just now:
        a long step followed by a reset in the same step would otherwise go
        unnoticed.
        """
        await asyncio.sleep(2 * self.interval)
        result = {
            "block": self.max_block,
            "block_without_gc": self.max_block_without_gc,
            "gc": self.max_gc,
            "full_collections": self.full_collections,
        }
        self.max_block = self.max_block_without_gc = self.max_gc = 0.0
        self.full_collections = 0
        return result

    async def stop(self) -> None:
        if self._gc_callback in gc.callbacks:
            gc.callbacks.remove(self._gc_callback)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def percentile(values: list[float], pct: float) -> float | None:
    """Return the `pct` percentile (nearest rank), or None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def proc_cpu(pid: int) -> float | None:
    """Return the CPU seconds another process used so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuClock:
    """Wall time and the CPU time of this process (and of the simulator)."""

    def __init__(self, sim_pid: int | None = None) -> None:
        self.sim_pid = sim_pid
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        self.sim_cpu = proc_cpu(sim_pid) if sim_pid else None

    def since(self) -> dict[str, float | None]:
        wall = time.perf_counter() - self.wall
        sim = proc_cpu(self.sim_pid) if self.sim_pid else None
        return {
            "wall": wall,
            "cpu": (time.process_time() - self.cpu) / wall if wall else None,
            "sim_cpu": (sim - self.sim_cpu) / wall
            if sim is not None and self.sim_cpu is not None and wall
            else None,
        }


async def wait_until(predicate: Callable[[], bool], cap: float) -> bool:
    """Poll every 10 ms until `predicate` holds; False when `cap` runs out."""
    deadline = time.perf_counter() + cap
    while not predicate():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


@dataclass
class Counter:
    """Messages seen and when the last one was handled."""

    count: int = 0
    first: float = 0.0
    last: float = 0.0

    def hit(self) -> None:
        now = time.perf_counter()
        if not self.count:
            self.first = now
        self.count += 1
        self.last = now


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
    return _throughput(counter, usage, done)


def _throughput(counter: Counter, usage: dict[str, Any], done: bool) -> dict[str, Any]:
    span = counter.last - counter.first
    return {
        "rate": (counter.count - 1) / span if counter.count > 1 and span > 0 else None,
        "handled": counter.count,
        "capped": not done,
        **usage,
    }


# -- Home Assistant -------------------------------------------------------------


@contextlib.asynccontextmanager
async def home_assistant(config_dir: Path) -> AsyncIterator[Any]:
    """Run a test Home Assistant whose storage is real files in `config_dir`."""
    from unittest.mock import patch

    from aiohttp.resolver import AsyncResolver
    from homeassistant import loader
    from homeassistant.helpers import frame

    # The harness pinned for the newest Home Assistant needs these shims before it
    # is imported (pytest's runs get them from tests/newest_ha_plugin.py).
    importlib.import_module("tests.harness_shims")
    from pytest_homeassistant_custom_component.common import async_test_home_assistant  # type: ignore[import-untyped]

    # What the test harness's `mock_zeroconf_resolver` fixture does. Home Assistant
    # 2026.x closes the resolver through `real_close` (the harness's own resolver
    # has it from 2026); 2025.4 never looks for it.
    resolver = AsyncResolver()
    resolver.real_close = resolver.close  # type: ignore[attr-defined]
    with patch(
        "homeassistant.helpers.aiohttp_client._async_make_resolver",
        return_value=resolver,
    ):
        async with _hass(async_test_home_assistant, loader, frame, config_dir) as hass:
            yield hass


@contextlib.asynccontextmanager
async def _hass(
    factory: Any, loader: Any, frame: Any, config_dir: Path
) -> AsyncIterator[Any]:
    async with factory(config_dir=str(config_dir)) as hass:
        # What the harness's `hass` fixture does: without it, any frame report
        # (e.g. a deprecated use on a newer Home Assistant) raises instead of being
        # logged.
        frame.async_setup(hass)
        # What the `enable_custom_integrations` fixture does.
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
        try:
            yield hass
        finally:
            await hass.async_stop(force=True)


def store_data(
    heartbeats: list[dict[str, Any]], names: dict[str, str]
) -> dict[str, Any]:
    """Return what the coordinator stores for these devices (its Store format)."""
    from custom_components.ixicare.pyixicare.parser import parse_heartbeat
    from custom_components.ixicare.pyixicare.state import SiteState

    state = SiteState()
    for message in heartbeats:
        update = state.apply_heartbeat(parse_heartbeat(message))
        assert update.device is not None
        update.device.resident = names.get(message["device"]["id"])
    return state.as_dict()


def write_store(config_dir: Path, data: dict[str, Any]) -> None:
    """Pre-fill Home Assistant's storage for the benchmark's config entry."""
    from custom_components.ixicare.const import DOMAIN, STORAGE_VERSION

    key = f"{DOMAIN}.{ENTRY_ID}"
    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    (storage / key).write_text(
        json.dumps(
            {"version": STORAGE_VERSION, "minor_version": 1, "key": key, "data": data}
        )
    )


def add_entry(hass: Any, sim: SimulatorProcess) -> Any:
    """Add the config entry of the simulator's site."""
    from homeassistant.const import CONF_TOKEN, CONF_URL, CONF_VERIFY_SSL
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from custom_components.ixicare.const import (
        CONF_MAX_DEVICES,
        CONF_NAMESPACE,
        CONF_SITE_UUID,
        CONF_SOCKETIO_PATH,
        DOMAIN,
    )

    entry = MockConfigEntry(
        domain=DOMAIN,
        title="benchmark site",
        unique_id=sim.site,
        data={
            CONF_SITE_UUID: sim.site,
            CONF_TOKEN: sim.token,
            CONF_URL: sim.url,
            CONF_SOCKETIO_PATH: "ws",
            CONF_NAMESPACE: "/",
            CONF_VERIFY_SSL: True,
        },
        options={CONF_MAX_DEVICES: 100000},
        entry_id=ENTRY_ID,
    )
    entry.add_to_hass(hass)
    return entry


class Probe:
    """Count what the integration's client hands to the coordinator."""

    def __init__(self, coordinator: Any) -> None:
        client = coordinator.client
        self.heartbeats = Counter()
        self.alerts = Counter()
        self.connected_at: float | None = None
        on_heartbeat, on_alert, on_state = (
            client._on_heartbeat,
            client._on_alert,
            client._on_state,
        )

        def heartbeat(event: Any) -> None:
            on_heartbeat(event)
            self.heartbeats.hit()

        def alert(event: Any) -> None:
            on_alert(event)
            self.alerts.hit()

        def state(value: Any) -> None:
            on_state(value)
            if value == "connected":
                self.connected_at = time.perf_counter()

        client._on_heartbeat, client._on_alert, client._on_state = (
            heartbeat,
            alert,
            state,
        )

    def reset_alerts(self) -> None:
        """Count alerts and the next connection from now on."""
        self.alerts = Counter()
        self.connected_at = None


@dataclass
class Watch:
    """Time at which battery and MAN_DOWN states were written."""

    battery_latency: list[float] = field(default_factory=list)
    man_down_on: dict[str, float] = field(default_factory=dict)


def watch_states(hass: Any, coordinator: Any) -> tuple[Watch, Callable[[], None]]:
    """Record the latency of battery writes and when MAN_DOWN sensors turn on."""
    from homeassistant.const import EVENT_STATE_CHANGED
    from homeassistant.core import callback
    from homeassistant.helpers import entity_registry as er

    from custom_components.ixicare.const import DOMAIN

    battery: dict[str, str] = {}
    man_down: set[str] = set()
    prefix = f"{coordinator.site_uuid}_"
    for entry in er.async_entries_for_config_entry(er.async_get(hass), ENTRY_ID):
        rest = entry.unique_id.removeprefix(prefix)
        if entry.domain == "sensor" and rest.endswith("_battery"):
            battery[entry.entity_id] = rest.removesuffix("_battery")
        elif entry.domain == "binary_sensor" and rest.endswith("_man_down"):
            man_down.add(entry.entity_id)
    assert battery, f"no battery sensor of {DOMAIN} found"
    watched = battery.keys() | man_down
    watch = Watch()
    devices = coordinator.state.devices

    @callback
    def _changed(event: Any) -> None:
        new = event.data["new_state"]
        if new is None:
            return
        entity_id = event.data["entity_id"]
        written = new.last_reported_timestamp
        if (mac := battery.get(entity_id)) is not None:
            emitted = devices[mac].last_update
            if emitted is not None:
                watch.battery_latency.append(written - emitted)
        elif new.state == "on":
            watch.man_down_on[new.attributes["alert_id"]] = written

    unsub = hass.bus.async_listen(
        EVENT_STATE_CHANGED,
        _changed,
        event_filter=callback(lambda data: data["entity_id"] in watched),
    )
    return watch, unsub


# -- one column of the table: a number of devices --------------------------------


async def run_devices(
    cfg: Config, n_devices: int, log: Callable[[str], None]
) -> dict[str, Any]:
    """Measure everything for `n_devices` devices; return the results."""
    result: dict[str, Any] = {"devices": n_devices, "blocks": {}}
    async with SimulatorProcess() as sim:
        made = await sim.call("devices", n=n_devices)
        log(f"{n_devices} devices: baselines")
        result["baseline"] = await baseline(sim, cfg, orjson_packets=False)
        result["baseline_orjson"] = await baseline(sim, cfg, orjson_packets=True)
        with tempfile.TemporaryDirectory(prefix="ixicare-bench-") as tmp:
            config_dir = Path(tmp)
            write_store(config_dir, store_data(made["heartbeats"], made["names"]))
            async with home_assistant(config_dir) as hass:
                result["bare_gc"] = full_collection()
                column = Column(cfg, hass, sim, result, log)
                column.monitor.start()
                try:
                    await column.run()
                finally:
                    await column.monitor.stop()
    return result


def full_collection() -> dict[str, float]:
    """Time a full garbage collection of this process (best of three).

    Taken in Home Assistant before the integration is set up: what any full
    collection costs there, whatever the integrations do.
    """
    times = []
    for _ in range(3):
        start = time.perf_counter()
        gc.collect()
        times.append(time.perf_counter() - start)
    return {"seconds": min(times), "objects": float(len(gc.get_objects()))}


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
        or python-engineio lack the fast path's hooks (pyixicare/client.py).
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
        self.result[key] = _throughput(probe.heartbeats, clock.since(), done)
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


# -- memory ------------------------------------------------------------------------


def _integration_filter() -> list[tracemalloc.Filter]:
    return [tracemalloc.Filter(True, f"{INTEGRATION_DIR}/*")]


async def run_memory(cfg: Config, log: Callable[[str], None]) -> dict[str, Any]:
    """Memory that adding `cfg.memory_devices` devices costs."""
    n_devices = cfg.memory_devices
    log(f"memory: {n_devices} devices discovered by heartbeats")
    async with SimulatorProcess() as sim:
        await sim.call("devices", n=n_devices)
        with tempfile.TemporaryDirectory(prefix="ixicare-bench-") as tmp:
            async with home_assistant(Path(tmp)) as hass:
                entry = add_entry(hass, sim)
                assert await hass.config_entries.async_setup(entry.entry_id)
                await hass.async_block_till_done()
                await sim.call("wait_clients", count=1)
                coordinator = entry.runtime_data.coordinator
                gc.collect()
                tracemalloc.start(1)
                try:
                    before = tracemalloc.take_snapshot()
                    await sim.call("blast", count=n_devices, timeout=120)
                    ok = await wait_until(
                        lambda: len(coordinator.state.devices) >= n_devices, 300
                    )
                    await hass.async_block_till_done()
                    gc.collect()
                    after = tracemalloc.take_snapshot()
                finally:
                    tracemalloc.stop()
                entities = len(hass.states.async_all())
                assert await hass.config_entries.async_unload(entry.entry_id)
                await hass.async_block_till_done()
    total = sum(s.size_diff for s in after.compare_to(before, "filename"))
    mine = sum(
        s.size_diff
        for s in after.filter_traces(_integration_filter()).compare_to(
            before.filter_traces(_integration_filter()), "filename"
        )
    )
    top = [
        (str(s.traceback), s.size_diff)
        for s in after.filter_traces(_integration_filter()).compare_to(
            before.filter_traces(_integration_filter()), "lineno"
        )[:8]
    ]
    return {
        "devices": n_devices,
        "complete": ok,
        "entities": entities,
        "integration_per_device": mine / n_devices,
        "total_per_device": total / n_devices,
        "top_integration_lines": top,
    }


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """Keep Home Assistant's and the libraries' logging out of the table."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


@contextlib.contextmanager
def trace_slow_callbacks(threshold: float | None) -> Iterator[list[str]]:
    """Report every event-loop callback that runs longer than `threshold` s.

    For finding what blocks the loop (``--trace-slow MS``): wraps
    asyncio's Handle._run, so it costs a little on every callback. GC pauses
    that fell inside a callback are counted apart.
    """
    found: list[str] = []
    if threshold is None:
        yield found
        return
    began = time.perf_counter()
    original = asyncio.events.Handle._run
    pause = [0.0, 0.0]  # total GC time, start of the current collection

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            pause[1] = time.perf_counter()
        else:
            pause[0] += time.perf_counter() - pause[1]

    def run(handle: asyncio.Handle) -> None:
        start, gc_before = time.perf_counter(), pause[0]
        original(handle)
        took = time.perf_counter() - start
        if took > threshold:
            callback = handle._callback  # type: ignore[attr-defined]
            owner = getattr(callback, "__self__", None)
            what = repr(owner) if isinstance(owner, asyncio.Task) else repr(handle)
            found.append(
                f"[{start - began:6.1f} s] {took * 1000:.0f} ms "
                f"(GC {(pause[0] - gc_before) * 1000:.0f} ms): {what[:300]}"
            )

    gc.callbacks.append(on_gc)
    asyncio.events.Handle._run = run  # type: ignore[method-assign, assignment]
    try:
        yield found
    finally:
        asyncio.events.Handle._run = original  # type: ignore[method-assign]
        gc.callbacks.remove(on_gc)
