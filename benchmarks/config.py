"""What the benchmark runs, and how much of it: the full, quick and smoke sizes."""

from __future__ import annotations

from dataclasses import dataclass


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
