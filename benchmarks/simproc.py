"""The simulator side of the benchmark, run in a process of its own.

``python -m benchmarks.simproc`` starts an ixicare simulator on loopback and
obeys commands, one JSON object a line on stdin, answering each with one JSON
object a line on stdout (the first line announces the URL). Every emitted
message carries its emit time (``time.time()``): heartbeats as the device's
``last_update``, alerts as the alert's ``timestamp``.

Commands (``cmd``):
- ``devices`` {n, seed}: create ``n`` devices; answer their heartbeat messages.
- ``wait_clients`` {count, timeout}: wait for connected clients of the site.
- ``blast`` {count, batch}: send ``count`` heartbeats as fast as possible,
  yielding to the loop every ``batch`` messages.
- ``storm`` {rate, seconds, alert_every, resolve_after}: send heartbeats at
  ``rate`` a second for ``seconds``; every ``alert_every`` seconds raise a
  MAN_DOWN alert (on the next device) and resolve it ``resolve_after`` later.
- ``retain`` {count}: disconnect the site's clients, then raise ``count``
  alerts while nobody is connected (the simulator retains them and replays
  them on the next connection).
- ``stop``: stop the simulator and exit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any

import orjson
from socketio import packet as sio_packet

from ixicare_simulator import IxicareSimulator

SITE = "8c1f2a3e-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
TOKEN = "bench-token"


class _OrjsonCodec:
    """Encode the simulator's packets with orjson, so the sender keeps ahead."""

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(data: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(data)


def _frame(payload: bytes) -> bytes:
    """Return an unmasked WebSocket text frame (server to client)."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return bytes((0x81, 126)) + size.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + size.to_bytes(8, "big") + payload


class SimProcess:
    """A simulator obeying the commands of the benchmark."""

    def __init__(self) -> None:
        self.sim = IxicareSimulator(
            sites={SITE: TOKEN},
            host="127.0.0.1",
            port=0,
            # Long pings: a ping stuck behind a backlog must not end a session.
            ping_interval=300.0,
            ping_timeout=300.0,
        )
        self.macs: list[str] = []
        self.templates: dict[str, dict[str, Any]] = {}
        self._sent: dict[str, int] = {}
        self._next = 0

    def _next_mac(self) -> str:
        mac = self.macs[self._next % len(self.macs)]
        self._next += 1
        return mac

    def _battery(self, mac: str) -> float:
        """Return a battery level that differs from the device's last one."""
        count = self._sent[mac] = self._sent.get(mac, 0) + 1
        return 40.0 + count % 4

    async def _heartbeat(self, mac: str) -> None:
        await self.sim.send_heartbeat(
            SITE,
            mac,
            battery_level=self._battery(mac),
            device_last_update=time.time(),
        )

    async def devices(self, n: int, seed: int = 0) -> dict[str, Any]:
        created = self.sim.make_devices(SITE, n, seed=seed)
        self.macs.extend(device.mac for device in created)
        # Nobody is connected yet: this only returns each device's message.
        for device in created:
            self.templates[device.mac] = await self.sim.send_heartbeat(SITE, device.mac)
        return {
            "heartbeats": [self.templates[device.mac] for device in created],
            "names": {device.mac: device.name for device in created},
        }

    async def wait_clients(
        self, count: int = 1, timeout: float = 10.0
    ) -> dict[str, Any]:
        await self.sim.wait_for_clients(SITE, count, timeout)
        return {"clients": self.sim.connected_clients(SITE)}

    async def blast(self, count: int, batch: int = 100) -> dict[str, Any]:
        """Send heartbeats as fast as the receiver takes them.

        The messages are the simulator's own heartbeat messages, each with a
        new battery level and its emit time, framed here as WebSocket text
        frames (Engine.IO MESSAGE, socket.io EVENT) and written in batches
        straight to each client's connection. python-socketio's own emit path
        costs about 45 us a message, which would make the sender, not the
        receiver, the bottleneck near 20,000 messages a second. The write
        buffer is kept under 1 MiB, so the receiver sets the pace.
        """
        sio = self.sim._sio
        state = self.sim._site(SITE)
        transports = [
            sio.get_environ(sid)["aiohttp.request"].transport for sid in state.sids
        ]
        if not transports:
            raise RuntimeError("no client connected")
        templates = self.templates
        dumps = orjson.dumps
        high_water = 1 << 20
        start = time.perf_counter()
        sent = 0
        while sent < count:
            frames = []
            for _ in range(min(batch, count - sent)):
                message = templates[self._next_mac()]
                device = message["device"]
                device["battery_level"] = self._battery(device["id"])
                device["last_update"] = time.time()
                frames.append(_frame(b'42["heartbeats",' + dumps(message) + b"]"))
            sent += len(frames)
            data = b"".join(frames)
            for transport in transports:
                transport.write(data)
            # Polling: the transports' flow control belongs to aiohttp.
            while any(t.get_write_buffer_size() > high_water for t in transports):  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            await asyncio.sleep(0)
        return {"sent": sent, "seconds": time.perf_counter() - start}

    async def storm(
        self,
        rate: float,
        seconds: float,
        alert_every: float = 0.1,
        resolve_after: float = 0.05,
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        tick = 0.005
        start = loop.time()
        sent = 0
        alerts: list[dict[str, Any]] = []
        pending_resolve: list[tuple[float, str]] = []
        next_alert = start + alert_every / 2
        alert_device = 0
        while (now := loop.time()) - start < seconds:
            due = int((now - start) * rate) - sent
            for _ in range(due):
                await self._heartbeat(self._next_mac())
            sent += max(due, 0)
            while pending_resolve and pending_resolve[0][0] <= now:
                _, alert_id = pending_resolve.pop(0)
                await self.sim.set_alert_status(SITE, alert_id, "RESOLVED")
            if alert_every > 0 and now >= next_alert:
                next_alert += alert_every
                mac = self.macs[alert_device % len(self.macs)]
                alert_device += 1
                emitted = time.time()
                alert_id = await self.sim.raise_alert(
                    SITE, mac, "MAN_DOWN", timestamp=emitted
                )
                alerts.append({"alert_id": alert_id, "mac": mac, "emitted": emitted})
                pending_resolve.append((now + resolve_after, alert_id))
            await asyncio.sleep(tick)
        for _, alert_id in pending_resolve:
            await self.sim.set_alert_status(SITE, alert_id, "RESOLVED")
        return {"sent": sent, "seconds": loop.time() - start, "alerts": alerts}

    async def retain(self, count: int) -> dict[str, Any]:
        """Disconnect the site's clients and retain ``count`` alert events.

        The alerts cycle through the four types; one in two stays OPEN, one
        in four is ACCEPTED and one in four RESOLVED while nobody listens.
        """
        await self.sim.disconnect_clients(SITE)
        start = time.perf_counter()
        types = ("MAN_DOWN", "GEOFENCING", "PANIC_BUTTON", "CRITICAL_BATTERY")
        # Nothing below suspends while nobody is connected: the whole backlog
        # is retained before a client can reconnect.
        for number in range(count):
            mac = self.macs[number % len(self.macs)]
            alert_id = await self.sim.raise_alert(
                SITE, mac, types[number % 4], timestamp=time.time()
            )
            if number % 4 == 1:
                await self.sim.set_alert_status(SITE, alert_id, "ACCEPTED")
            elif number % 4 == 3:
                await self.sim.set_alert_status(SITE, alert_id, "RESOLVED")
        return {
            "retained": len(self.sim.retained_events(SITE)),
            "seconds": time.perf_counter() - start,
        }

    async def cpu(self) -> dict[str, Any]:
        """Return the CPU time this process used so far."""
        return {"cpu": time.process_time()}

    async def run(self) -> None:
        sio_packet.Packet.json = _OrjsonCodec
        await self.sim.start()
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
        )
        self._answer({"url": self.sim.url, "site": SITE, "token": TOKEN})
        try:
            while line := await reader.readline():
                request = json.loads(line)
                command = request.pop("cmd")
                if command == "stop":
                    break
                try:
                    result = await getattr(self, command)(**request)
                except Exception as err:
                    result = {"error": f"{type(err).__name__}: {err}"}
                self._answer(result)
        finally:
            await self.sim.stop()
        self._answer({"stopped": True})

    @staticmethod
    def _answer(result: dict[str, Any]) -> None:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
        sys.stdout.flush()


def main() -> None:
    """Run the simulator process."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(SimProcess().run())


if __name__ == "__main__":
    main()
