"""Talking to the running demo: Home Assistant and the simulator.

One ``Demo`` (session, URLs, token) calls Home Assistant's REST API and the
simulator's control API; ``HassWebSocket`` calls Home Assistant's WebSocket
API; ``wait_until`` polls either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
import json
import os
from pathlib import Path
import time
from typing import Any, Self

import aiohttp
from demo_config import DemoError
import demo_site as demo


@dataclass
class Demo:
    """The running demo: Home Assistant, the simulator and a session."""

    session: aiohttp.ClientSession
    ha_url: str
    sim_url: str
    config: Path
    pid: int | None = None
    token: str = ""

    @property
    def client_id(self) -> str:
        """Return the OAuth client id of these scripts (the frontend's)."""
        return f"{self.ha_url}/"

    @property
    def site_url(self) -> str:
        """Return the control API URL of the demo site."""
        return f"{self.sim_url}/control/sites/{demo.DEMO_SITE}"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def alive(self) -> None:
        """Raise DemoError when the Home Assistant process is gone."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            raise DemoError(
                "Home Assistant stopped; see home-assistant.log in the config directory"
            ) from None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> Any:
        """Call Home Assistant's REST API and return the JSON answer."""
        async with self.session.request(
            method,
            f"{self.ha_url}{path}",
            json=json_body,
            data=form,
            headers=self._headers(),
        ) as response:
            text = await response.text()
            if response.status not in expect:
                raise DemoError(f"{method} {path}: HTTP {response.status} {text}")
            if response.content_type != "application/json" or not text:
                return None
            return json.loads(text)

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call the simulator's control API for the demo site."""
        async with self.session.request(
            method, f"{self.site_url}{path}", json=body
        ) as response:
            text = await response.text()
            if response.status != 200:
                raise DemoError(f"simulator {method} {path}: {response.status} {text}")
            return json.loads(text)

    async def states(self) -> dict[str, dict[str, Any]]:
        """Return every state by entity id."""
        states: list[dict[str, Any]] = await self.request("GET", "/api/states")
        return {state["entity_id"]: state for state in states}

    async def state(self, entity_id: str) -> str | None:
        """Return the state of one entity, None when it does not exist."""
        async with self.session.get(
            f"{self.ha_url}/api/states/{entity_id}", headers=self._headers()
        ) as response:
            if response.status == 404:
                return None
            if response.status != 200:
                raise DemoError(f"state of {entity_id}: HTTP {response.status}")
            body: dict[str, Any] = await response.json()
            return str(body["state"])


async def wait_until[T](
    what: str,
    probe: Callable[[], Awaitable[T | None]],
    timeout: float,
    demo_: Demo | None = None,
    interval: float = 0.5,
) -> T:
    """Call ``probe`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        if demo_ is not None:
            demo_.alive()
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(interval)


class HassWebSocket:
    """A minimal client of Home Assistant's WebSocket API."""

    def __init__(self, demo_: Demo) -> None:
        """Prepare a connection with the demo's access token."""
        self._demo = demo_
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._id = 0

    async def __aenter__(self) -> Self:
        """Connect and authenticate."""
        url = self._demo.ha_url.replace("http", "ws", 1) + "/api/websocket"
        ws = await self._demo.session.ws_connect(url)
        self._ws = ws
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": self._demo.token})
        answer = await ws.receive_json()
        if answer.get("type") != "auth_ok":
            raise DemoError(f"WebSocket authentication failed: {answer}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the connection."""
        if self._ws is not None:
            await self._ws.close()

    async def call(self, message_type: str, **data: Any) -> Any:
        """Send a command and return its result."""
        assert self._ws is not None
        self._id += 1
        await self._ws.send_json({"id": self._id, "type": message_type, **data})
        while True:
            answer = await self._ws.receive_json(timeout=30)
            if answer.get("id") == self._id and answer.get("type") == "result":
                if not answer.get("success"):
                    raise DemoError(f"{message_type} failed: {answer.get('error')}")
                return answer.get("result")
