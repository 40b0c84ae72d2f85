"""Benchmark of the ixicare message path: ``python -m benchmarks [--quick]``.

Runs the simulator in a separate process and Home Assistant (the test
harness's instance, real storage in a temporary directory) in this one, over
loopback, and prints a table. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace
import json
import os
import platform
import sys
import time
from typing import Any

from .config import FULL, QUICK, SMOKE, Config
from .harness import run_devices, run_memory
from .measure import quiet_logs, trace_slow_callbacks


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def _num(value: float | None, fmt: str = ",.0f") -> str:
    return "-" if value is None else format(value, fmt)


def machine() -> dict[str, Any]:
    """Describe the machine and the versions."""
    from homeassistant.const import __version__ as ha_version

    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = "?"
    try:
        with open("/proc/meminfo", encoding="utf-8") as file:
            kib = int(file.readline().split()[1])
            memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "python": platform.python_version(),
        "home_assistant": ha_version,
    }


def table(results: list[dict[str, Any]], memory: dict[str, Any] | None) -> str:
    """Return the results as a Markdown table: one column per device count."""
    header = ["measurement"] + [f"{r['devices']:,} devices" for r in results]
    rows: list[list[str]] = []

    def row(name: str, fn: Any) -> None:
        cells = []
        for r in results:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError):
                cells.append("-")
        rows.append([name, *cells])

    def capped(r: dict[str, Any], key: str) -> str:
        return " (capped)" if r[key].get("capped") else ""

    row("entities", lambda r: _num(r["entities"]))
    row(
        "baseline: bare AsyncClient, msg/s (CPU)",
        lambda r: (
            f"{_num(r['baseline']['rate'])} ({r['baseline']['cpu']:.2f})"
            + capped(r, "baseline")
        ),
    )
    row(
        "baseline with orjson packets, msg/s (CPU)",
        lambda r: (
            f"{_num(r['baseline_orjson']['rate'])} "
            f"({r['baseline_orjson']['cpu']:.2f})" + capped(r, "baseline_orjson")
        ),
    )
    row(
        "integration: heartbeats handled/s (HA CPU)",
        lambda r: (
            f"{_num(r['throughput']['rate'])} ({r['throughput']['cpu']:.2f})"
            + capped(r, "throughput")
        ),
    )
    row(
        "the same, python-socketio's stock receive path",
        lambda r: (
            f"{_num(r['throughput_stock']['rate'])} "
            f"({r['throughput_stock']['cpu']:.2f})" + capped(r, "throughput_stock")
        ),
    )
    row(
        "ratio to bare baseline / to orjson baseline",
        lambda r: (
            f"{r['throughput']['rate'] / r['baseline']['rate']:.2f} / "
            f"{r['throughput']['rate'] / r['baseline_orjson']['rate']:.2f}"
        ),
    )
    row(
        "simulator CPU during the integration's run",
        lambda r: f"{r['throughput']['sim_cpu']:.2f}",
    )
    row(
        "storm: heartbeats/s sent (HA CPU)",
        lambda r: f"{_num(r['storm']['rate'])} ({r['storm']['cpu']:.2f})",
    )
    row(
        "emit -> battery state written, p50 / p99 ms",
        lambda r: (
            f"{_ms(r['storm']['heartbeat_p50'])} / {_ms(r['storm']['heartbeat_p99'])}"
        ),
    )
    row(
        "MAN_DOWN emit -> binary sensor on, p50 / p99 / max ms (n)",
        lambda r: (
            f"{_ms(r['storm']['alert_p50'])} / {_ms(r['storm']['alert_p99'])}"
            f" / {_ms(r['storm']['alert_max'])} ({r['storm']['alerts_seen']}"
            f"/{r['storm']['alerts_raised']})"
        ),
    )
    row(
        "replay of retained alert events: s (events)",
        lambda r: (
            f"{r['replay']['seconds']:.2f} ({r['replay']['handled']:,}"
            f"/{r['replay']['events']:,})" + capped(r, "replay")
        ),
    )

    def block(phase: str) -> Any:
        def cell(r: dict[str, Any]) -> str:
            b = r["blocks"][phase]
            return f"{_ms(b['block'])} ({_ms(b['block_without_gc'])})"

        return cell

    for phase, name in (
        ("setup_first", "set-up (first)"),
        ("setup_again", "set-up (again)"),
        ("throughput", "throughput"),
        ("storm", "storm"),
        ("replay", "replay"),
        ("after_replay", "delayed save after the replay"),
    ):
        row(f"longest loop block, ms (without GC pauses): {name}", block(phase))
    row(
        "longest GC pause, ms: set-up / throughput / replay",
        lambda r: (
            f"{_ms(r['blocks']['setup_first']['gc'])} / "
            f"{_ms(r['blocks']['throughput']['gc'])} / "
            f"{_ms(r['blocks']['replay']['gc'])}"
        ),
    )
    row(
        "full GC collections: set-up first / again / throughput / storm / replay",
        lambda r: " / ".join(
            str(r["blocks"][phase].get("full_collections", "-"))
            for phase in ("setup_first", "setup_again", "throughput", "storm", "replay")
        ),
    )
    row(
        "a full GC of Home Assistant before set-up, ms (tracked objects)",
        lambda r: (
            f"{_ms(r['bare_gc']['seconds'])} ({r['bare_gc']['objects']:,.0f})"
            if "bare_gc" in r
            else "-"
        ),
    )
    row(
        "set-up with N stored devices, s: first / again",
        lambda r: f"{r['setup_first']:.2f} / {r['setup_again']:.2f}",
    )
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * len(results)) + "|",
        *("| " + " | ".join(cells) + " |" for cells in rows),
    ]
    if memory is not None:
        lines += [
            "",
            f"Memory, {memory['devices']:,} devices added by heartbeats "
            f"({memory['entities']:,} entities): "
            f"{memory['integration_per_device'] / 1024:.1f} KiB per device "
            "allocated by the integration's code, "
            f"{memory['total_per_device'] / 1024:.1f} KiB per device in all "
            "(Home Assistant's entity, state and registry objects included).",
        ]
    return "\n".join(lines)


def targets(results: list[dict[str, Any]], memory: dict[str, Any] | None) -> str:
    """Return the issue's targets, each with the worst value measured."""
    lines = ["Targets (worst value over the device counts measured):"]

    def line(name: str, value: float | None, met: bool, shown: str) -> None:
        verdict = "-" if value is None else "met" if met else "MISSED"
        lines.append(f"- {name}: {shown} -> {verdict}")

    ratios = [
        r["throughput"]["rate"] / r["baseline"]["rate"]
        for r in results
        if r["throughput"]["rate"] and r["baseline"]["rate"]
    ]
    ratio = min(ratios, default=None)
    line("throughput ratio >= 0.5", ratio, (ratio or 0) >= 0.5, f"{ratio or 0:.2f}")
    p99s = [r["storm"]["alert_p99"] for r in results if r["storm"]["alert_p99"]]
    p99 = max(p99s, default=None)
    line("MAN_DOWN p99 <= 10 ms", p99, (p99 or 0) <= 0.010, f"{_ms(p99)} ms")
    blocks = [b for r in results for b in r["blocks"].values()]
    block = max((b["block"] for b in blocks), default=None)
    no_gc = max((b["block_without_gc"] for b in blocks), default=None)
    line(
        "event loop never blocked > 50 ms by the integration (GC pauses aside)",
        no_gc,
        (no_gc or 0) <= 0.050,
        f"{_ms(no_gc)} ms",
    )
    bare = max((r["bare_gc"]["seconds"] for r in results if "bare_gc" in r), default=0)
    line(
        "event loop never blocked > 50 ms, GC pauses included",
        block,
        (block or 0) <= 0.050,
        f"{_ms(block)} ms (a full GC of Home Assistant before set-up: {_ms(bare)} ms)",
    )
    replays = [r["replay"]["seconds"] for r in results if r["replay"]["seconds"]]
    replay = max(replays, default=None)
    line(
        f"replay of {max((r['replay']['events'] for r in results), default=0):,} events < 2 s",
        replay,
        (replay or 0) < 2.0,
        f"{replay or 0:.2f} s",
    )
    kib = memory["integration_per_device"] / 1024 if memory else None
    line("<= 20 KiB per device", kib, (kib or 0) <= 20.0, f"{kib or 0:.1f} KiB")
    setups = [r["setup_first"] for r in results if r["devices"] == 1000]
    setup = setups[0] if setups else None
    line(
        "set-up with 1,000 stored devices < 5 s",
        setup,
        (setup or 0) < 5.0,
        f"{setup or 0:.2f} s",
    )
    return "\n".join(lines)


async def run(
    cfg: Config, *, memory: bool = True
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Run every measurement of `cfg`."""
    start = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f} s] {message}", file=sys.stderr)

    results = [await run_devices(cfg, n, log) for n in cfg.device_counts]
    mem = await run_memory(cfg, log) if memory and cfg.memory_devices else None
    log("done")
    return results, mem


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark the ixicare message path against the simulator.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="a smaller, faster run")
    mode.add_argument(
        "--smoke", action="store_true", help="the tiniest run (checks it works)"
    )
    parser.add_argument(
        "--devices",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        help="comma-separated device counts (default 100,1000,5000)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip memory")
    parser.add_argument(
        "--trace-slow",
        type=float,
        metavar="MS",
        help="list the event-loop callbacks slower than MS (costs a little)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the raw results")
    args = parser.parse_args(argv)
    cfg = SMOKE if args.smoke else QUICK if args.quick else FULL
    if args.devices:
        cfg = replace(cfg, device_counts=args.devices)
    load_before = os.getloadavg()[0]
    threshold = args.trace_slow / 1000 if args.trace_slow else None
    with quiet_logs(), trace_slow_callbacks(threshold) as slow:
        results, mem = asyncio.run(run(cfg, memory=not args.no_memory))
    info = machine()
    info["load_average"] = [load_before, os.getloadavg()[0]]
    print(
        f"{info['cpus']} CPUs ({info['cpu']}), {info['memory']}, "
        f"Python {info['python']}, Home Assistant {info['home_assistant']}; "
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    print()
    print(table(results, mem))
    print()
    print(targets(results, mem))
    if threshold is not None:
        print(f"\nCallbacks slower than {args.trace_slow:g} ms ({len(slow)}):")
        for line in slow:
            print(f"- {line}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(
                {"machine": info, "results": results, "memory": mem}, file, indent=1
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
