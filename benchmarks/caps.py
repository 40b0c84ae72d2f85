"""Memory and time per message at the alert bounds (a table, not a test).

    .venv/bin/python -m benchmarks.caps

A server that sends alerts without end: distinct OPEN alerts on one device,
then across many devices, then alerts that end at once, each far past the
bounds of `pyixicare.state`. Measured on the site state alone (the parser and
`SiteState`, no Home Assistant): what the integration keeps, the size of its
stored snapshot, and the time per message at the end of the flood, for the
flooded device and for a quiet device's heartbeat.
"""

from __future__ import annotations

import copy
import gc
import json
import time
import tracemalloc
from typing import Any
import uuid

from custom_components.ixicare.pyixicare import (
    AlertEvent,
    parse_alerts_message,
    parse_heartbeat,
)
from custom_components.ixicare.pyixicare.state import (
    MAX_ACTIVE_ALERTS,
    MAX_ACTIVE_ALERTS_PER_DEVICE,
    MAX_ENDED_ALERTS,
    SiteState,
)

ALERT: dict[str, Any] = {
    "version": "1.0.0",
    "type": "ALERT",
    "device": {"id": "00:02:04:06:08:0A", "battery_level": 90.0, "last_update": 1.7e9},
    "alert": {
        "id": "",
        "type": "CRITICAL_BATTERY",
        "status": "OPEN",
        "timestamp": 1.7e9,
    },
    "user": {"id": "u1", "name": "John Smith"},
}
HEARTBEAT: dict[str, Any] = {
    "version": "1.0.0",
    "type": "HEARTBEAT",
    "device": {"id": "00:02:04:06:08:FF", "battery_level": 50.0, "last_update": 1.7e9},
    "location": {
        "indoor": {"floor": "1", "zone": "Hall", "zone_id": str(uuid.UUID(int=1))}
    },
}
FLOOD = 20_000
TAIL = 1_000


def alert_event(message: dict[str, Any]) -> AlertEvent:
    event = parse_alerts_message(message)
    assert isinstance(event, AlertEvent)
    return event


def alert_message(index: int, mac: str, status: str = "OPEN") -> dict[str, Any]:
    message = copy.deepcopy(ALERT)
    message["device"]["id"] = mac
    message["alert"].update(id=str(uuid.UUID(int=index + 1)), status=status)
    return message


def flood(messages: list[dict[str, Any]]) -> tuple[SiteState, dict[str, Any]]:
    """Apply `messages`; return the state and a quiet device's heartbeat."""
    state = SiteState()
    heartbeat = copy.deepcopy(HEARTBEAT)
    state.apply_heartbeat(parse_heartbeat(heartbeat))
    for message in messages:
        state.apply_alert(alert_event(message), time.time())
    return state, heartbeat


def run(name: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Time the last TAIL messages, then measure the memory in a second run."""
    state, heartbeat = flood(messages[:-TAIL])
    start = time.perf_counter()
    for message in messages[-TAIL:]:
        state.apply_alert(alert_event(message), time.time())
    per_alert = (time.perf_counter() - start) / TAIL * 1e6
    start = time.perf_counter()
    for i in range(TAIL):
        heartbeat["device"]["last_update"] = 1.7e9 + i
        state.apply_heartbeat(parse_heartbeat(heartbeat))
    per_heartbeat = (time.perf_counter() - start) / TAIL * 1e6
    del state
    gc.collect()
    tracemalloc.start()
    kept, _ = flood(messages)
    gc.collect()
    memory = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {
        "scenario": name,
        "active": len(kept.alerts),
        "ended": len(kept.ended),
        "forgotten": kept.forgotten_alerts,
        "memory_mb": memory / 1e6,
        "store_mb": len(json.dumps(kept.as_dict())) / 1e6,
        "alert_us": per_alert,
        "heartbeat_us": per_heartbeat,
    }


def main() -> None:
    """Print the table."""
    one = "00:02:04:06:08:0A"
    rows = [
        run(
            f"{FLOOD:,} OPEN alerts on one device",
            [alert_message(i, one) for i in range(FLOOD)],
        ),
        run(
            f"{FLOOD:,} OPEN alerts on 1,000 devices",
            [
                alert_message(i, f"00:00:00:00:{i % 1000 // 256:02x}:{i % 256:02x}")
                for i in range(FLOOD)
            ],
        ),
        run(
            f"{FLOOD * 2:,} alerts RESOLVED at once",
            [alert_message(i, one, "RESOLVED") for i in range(FLOOD * 2)],
        ),
    ]
    print(
        f"bounds: {MAX_ACTIVE_ALERTS_PER_DEVICE} active alerts per device, "
        f"{MAX_ACTIVE_ALERTS:,} per site, {MAX_ENDED_ALERTS:,} ended remembered"
    )
    print(
        "| scenario | active kept | ended kept | forgotten | memory | stored "
        "| per alert (last 1,000) | per heartbeat of a quiet device |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['scenario']} | {row['active']:,} | {row['ended']:,} "
            f"| {row['forgotten']:,} | {row['memory_mb']:.1f} MB "
            f"| {row['store_mb']:.1f} MB | {row['alert_us']:.1f} µs "
            f"| {row['heartbeat_us']:.1f} µs |"
        )


if __name__ == "__main__":
    main()
