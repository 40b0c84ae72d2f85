"""Measuring helpers of the benchmark: loop blocks, CPU time, counts, GC, logs.

Nothing here knows Home Assistant or the integration: these measure this
process (and the simulator's CPU time through /proc).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
import contextlib
from dataclasses import dataclass
import gc
import logging
import os
from pathlib import Path
import time
from typing import Any


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


def throughput_result(
    counter: Counter, usage: dict[str, Any], done: bool
) -> dict[str, Any]:
    span = counter.last - counter.first
    return {
        "rate": (counter.count - 1) / span if counter.count > 1 and span > 0 else None,
        "handled": counter.count,
        "capped": not done,
        **usage,
    }


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
