"""Helpers for the simulator tests: a recording socket.io client and validators."""

from __future__ import annotations

import asyncio
from functools import cache
import json
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import socketio

SCHEMAS = Path(__file__).parents[2] / "custom_components/ixicare/pyixicare/schemas"

SITE = "8c1f2a3e-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
TOKEN = "sim-test-token-7d1e0c"
OTHER_SITE = "0b5e2c1d-9a8f-4e3d-8c2b-1a0f9e8d7c6b"
OTHER_TOKEN = "sim-other-token-91ab"


@cache
def validator(name: str) -> jsonschema.Draft7Validator:
    """Return a validator (with format checks) for one of the project's schemas."""
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def schema_for(event: str, data: Any) -> str:
    """Return the schema a downlink message must follow."""
    if event == "heartbeats":
        return "heartbeat-event"
    if isinstance(data, dict) and "result" in data:
        return "alert-update-response"
    return "alert-event"


def schema_errors(event: str, data: Any) -> list[str]:
    """Return the schema violations of a downlink message."""
    if event not in ("alerts", "heartbeats"):
        return [f"unexpected event {event}"]
    return [
        f"{event}: {error.message}"
        for error in validator(schema_for(event, data)).iter_errors(data)
    ]


def running(thing: Any) -> bool:
    """Return ``thing.running`` (a call, so that mypy does not narrow it)."""
    return bool(thing.running)


def uplink(mac: str, alert_id: str, action: str = "ACCEPT") -> dict[str, Any]:
    """Return an alert update (uplink)."""
    return {
        "version": "1.0.0",
        "type": "ALERT",
        "device_id": mac,
        "alert": {"id": alert_id, "action": action},
    }


class SimClient:
    """A plain python-socketio client that records what it receives."""

    def __init__(
        self,
        url: str,
        site: str,
        token: str | None,
        *,
        http_session: aiohttp.ClientSession | None = None,
        validate: bool = True,
    ) -> None:
        self.url = url
        self.site = site
        self.token = token
        self.validate = validate
        # Our own session: python-engineio leaves its own open after a refusal.
        self._own_session = http_session is None
        self.session = http_session or aiohttp.ClientSession()
        self.sio = socketio.AsyncClient(
            reconnection=False, handle_sigint=False, http_session=self.session
        )
        self.messages: list[tuple[str, Any]] = []
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.sio.on("*", self._on_any)
        self.sio.on("disconnect", self._on_disconnect)

    async def _on_any(self, event: str, data: Any = None) -> None:
        self.messages.append((event, data))
        self.queue.put_nowait((event, data))

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.disconnected.set()

    async def connect(self, transports: list[str] | None = None) -> None:
        headers = (
            {} if self.token is None else {"Authorization": f"Bearer {self.token}"}
        )
        await self.sio.connect(
            f"{self.url}?site_uuid={self.site}",
            headers=headers,
            transports=transports or ["websocket"],
            socketio_path="ws",
            wait_timeout=5,
        )
        self.disconnected.clear()

    async def next(self, timeout: float = 5.0) -> tuple[str, Any]:
        """Return the next message (event, data)."""
        async with asyncio.timeout(timeout):
            return await self.queue.get()

    async def next_data(self, event: str = "alerts", timeout: float = 5.0) -> Any:
        """Return the data of the next message, which must be on ``event``."""
        got, data = await self.next(timeout)
        assert got == event, (got, data)
        return data

    async def take(self, count: int, timeout: float = 5.0) -> list[tuple[str, Any]]:
        """Return the next ``count`` messages."""
        return [await self.next(timeout) for _ in range(count)]

    async def quiet(self, duration: float = 0.2) -> None:
        """Assert that nothing arrives for ``duration`` seconds."""
        try:
            async with asyncio.timeout(duration):
                message = await self.queue.get()
        except TimeoutError:
            return
        raise AssertionError(f"unexpected message {message!r}")

    async def send(self, data: Any) -> None:
        await self.sio.emit("alerts", data)

    def invalid_messages(self) -> list[str]:
        return [
            error
            for event, data in self.messages
            for error in schema_errors(event, data)
        ]

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        await self.sio.shutdown()
        if self._own_session:
            await self.session.close()
