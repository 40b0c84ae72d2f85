"""The Home Assistant side of the benchmark: one column, and the memory.

Home Assistant runs in this process (the test harness's
``async_test_home_assistant`` with a temporary configuration directory and real
storage); the simulator runs in another process (benchmarks/simproc.py), so
the CPU time of this process is Home Assistant's alone.

Where the rest lives: config.py (the sizes), hass.py (Home Assistant's set-up
and the probes), phases.py (what one column measures), measure.py (the
measuring helpers), simctl.py and simproc.py (the simulator's process).
"""

from __future__ import annotations

from collections.abc import Callable
import gc
from pathlib import Path
import tempfile
import tracemalloc
from typing import Any

from .config import Config
from .hass import add_entry, home_assistant, store_data, write_store
from .measure import full_collection, wait_until
from .phases import Column, baseline
from .simctl import ROOT, SimulatorProcess

INTEGRATION_DIR = ROOT / "custom_components" / "ixicare"

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
