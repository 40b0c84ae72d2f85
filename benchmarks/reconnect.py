"""Reconnection time after a server breaks handshakes off (docs/RELIABILITY.md).

    python -m benchmarks.reconnect [--runs 10] [--broken 1,3] [--stock]

The client (default backoff: full jitter, 1 s doubling to 300 s) is connected
to the simulator on loopback; the simulator drops the session and breaks the
next N handshakes off (accepts the WebSocket, closes it before the Engine.IO
OPEN packet). Printed: the time from the drop to the next session, and the
cost of one broken attempt (the failed `connect()` call itself).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import aiohttp

from custom_components.ixicare.pyixicare import (
    Backoff,
    IxicareClient,
    IxicareConnectionError,
)
from ixicare_simulator import IxicareSimulator

SITE = "8c1f2a3e-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
TOKEN = "bench-token"


async def _until(predicate: object, cap: float = 600.0) -> None:
    deadline = time.monotonic() + cap
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.005)


async def measure(runs: int, broken: list[int], fast_path: bool | None) -> None:
    """Print the figures."""
    sim = IxicareSimulator(sites={SITE: TOKEN}, port=0)
    await sim.start()
    try:
        async with aiohttp.ClientSession() as http:
            client = IxicareClient(
                http, url=sim.url, site_uuid=SITE, token=TOKEN, fast_path=fast_path
            )
            costs = []
            for _ in range(50):
                sim.break_handshakes(1)
                start = time.perf_counter()
                try:
                    await client.connect()
                except IxicareConnectionError:
                    costs.append(time.perf_counter() - start)
            await client.close()
            print(
                f"receive path: {'fast' if client.fast_path else 'stock'}; one broken "
                f"attempt: median {statistics.median(costs) * 1000:.1f} ms, "
                f"max {max(costs) * 1000:.1f} ms (50 attempts)"
            )
            for count in broken:
                times = []
                for _ in range(runs):
                    client = IxicareClient(
                        http,
                        url=sim.url,
                        site_uuid=SITE,
                        token=TOKEN,
                        backoff=Backoff(),
                        fast_path=fast_path,
                    )
                    client.start()
                    await _until(lambda: client.connected)  # noqa: B023
                    sim.break_handshakes(count)
                    start = time.perf_counter()
                    await sim.disconnect_clients(SITE)
                    await _until(lambda: not client.connected)  # noqa: B023
                    await _until(lambda: client.connected)  # noqa: B023
                    times.append(time.perf_counter() - start)
                    await client.close()
                bound = 2 ** (count + 1) - 1
                print(
                    f"{count} handshake(s) broken off: reconnected after median "
                    f"{statistics.median(times):.2f} s, max {max(times):.2f} s "
                    f"({runs} runs; backoff bound {bound} s, mean {bound / 2:.1f} s)"
                )
    finally:
        await sim.stop()


def main() -> None:
    """Parse the arguments and measure."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reconnect")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--broken",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 3],
    )
    parser.add_argument("--stock", action="store_true", help="the stock path")
    args = parser.parse_args()
    asyncio.run(measure(args.runs, args.broken, False if args.stock else None))


if __name__ == "__main__":
    main()
