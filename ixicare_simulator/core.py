"""The simulator's state: sites, devices, tasks and waiters.

:class:`SimulatorCore` holds everything the other parts of the simulator share
(set up in ``__init__``); each mixin in ``downlink``, ``commands``,
``transport`` and ``control`` adds one section on top of it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
import logging
import random
import ssl
import time
from typing import Any
import uuid

from aiohttp import web

from .model import (
    FIRST_NAMES,
    LAST_NAMES,
    MODEL_IXI,
    MODEL_IXI_PRO,
    SimDevice,
    Stoppable,
    _Site,
    is_loopback,
    mac_for,
    normalize_mac,
    site_key,
    zone_id_for,
)

_LOGGER = logging.getLogger(__name__)


class SimulatorCore:
    """The shared state of the simulator, its sites and devices."""

    def __init__(
        self,
        sites: Mapping[str, str | None] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        retention_seconds: float = 86400.0,
        *,
        command_delay: float = 0.0,
        replay_active_on_connect: bool = False,
        replay_recent_seconds: float = 0.0,
        control: bool | None = None,
        heartbeat_type: str = "HEARTBEAT",
        js_numbers: bool = False,
        socketio_path: str = "ws",
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        echo_updates: bool = True,
    ) -> None:
        """Create a simulator; nothing is bound before :meth:`start`.

        ``sites`` maps site UUIDs to their tokens (None: no token accepted).
        ``control`` enables the HTTP control API; None enables it only when
        ``host`` is a loopback address. ``echo_updates`` also sends the
        alert's new status after a successful ACCEPT or RESOLVE, as the
        protocol does not promise (off: only the SUCCESS answer).
        """
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.retention_seconds = retention_seconds
        self.command_delay = command_delay
        self.replay_active_on_connect = replay_active_on_connect
        # Also resend every alert that changed this recently (at-least-once
        # delivery across reconnections, as a cautious server might).
        self.replay_recent_seconds = replay_recent_seconds
        self.control_enabled = is_loopback(host) if control is None else control
        self.heartbeat_type = heartbeat_type
        self.js_numbers = js_numbers
        self.socketio_path = socketio_path.strip("/")
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.echo_updates = echo_updates
        self.restart_count = 0
        self._sites: dict[str, _Site] = {}
        for site, token in (sites or {}).items():
            self.add_site(site, token)
        self._handshakes: dict[str, list[dict[str, Any]]] = {}
        self._sio: Any = None
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._requests: set[asyncio.Task[Any]] = set()
        self._sid_site: dict[str, str] = {}
        self._gates: dict[str, list[tuple[str, Any]]] = {}
        # Held while a message is handed to the sessions' sockets and while a
        # session is closed: a message is either on the socket before its
        # DISCONNECT (and drained with it) or published after the session is
        # forgotten (and retained). python-socketio sends from tasks of its
        # own, so without it a close can overtake a message already emitted.
        self._delivery = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sio_tasks: set[asyncio.Task[Any]] = set()
        self._restart_task: asyncio.Task[None] | None = None
        self._scenarios: list[Stoppable] = []
        self._changed = asyncio.Event()
        # What to do with the next WebSocket handshakes instead of serving
        # them: None closes before the OPEN packet, a string is sent as a
        # (malformed) OPEN packet and then the WebSocket is closed.
        self._handshake_faults: deque[str | None] = deque()

    # ------------------------------------------------------------------
    # State, tasks and scenarios (start, stop, restart: server.py)

    @property
    def running(self) -> bool:
        """Return True while the server is listening."""
        return self._runner is not None

    @property
    def url(self) -> str:
        """Return the base URL, e.g. ``http://127.0.0.1:8765``."""
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    async def _cancel(self, tasks: set[asyncio.Task[Any]]) -> None:
        current = asyncio.current_task()
        pending = [task for task in tasks if task is not current]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        tasks.difference_update(pending)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def register_scenario(self, scenario: Stoppable) -> None:
        """Stop ``scenario`` together with the simulator."""
        if scenario not in self._scenarios:
            self._scenarios.append(scenario)

    def unregister_scenario(self, scenario: Stoppable) -> None:
        """Forget a scenario (it stopped on its own)."""
        if scenario in self._scenarios:
            self._scenarios.remove(scenario)

    # ------------------------------------------------------------------
    # Sites and devices (tokens: transport.py)

    def add_site(self, site: str, token: str | None) -> None:
        """Add a site (or replace its token, keeping its state)."""
        key = site_key(site)
        if key in self._sites:
            self._sites[key].token = token
        else:
            self._sites[key] = _Site(key=key, token=token)

    @property
    def sites(self) -> list[str]:
        """Return the (lower-case) UUIDs of the sites."""
        return list(self._sites)

    def _site(self, site: str) -> _Site:
        try:
            return self._sites[site_key(site)]
        except KeyError:
            raise KeyError(f"Unknown site {site}") from None

    def add_device(self, site: str, device: SimDevice) -> SimDevice:
        """Add (or replace) a device of a site."""
        self._site(site).devices[device.mac] = device
        return device

    def devices(self, site: str) -> list[SimDevice]:
        """Return the devices of a site (the live objects)."""
        return list(self._site(site).devices.values())

    def device(self, site: str, mac: str) -> SimDevice:
        """Return one device of a site."""
        try:
            return self._site(site).devices[normalize_mac(mac)]
        except KeyError:
            raise KeyError(f"Unknown device {mac}") from None

    def make_devices(self, site: str, count: int, seed: int = 0) -> list[SimDevice]:
        """Create ``count`` realistic devices on a site, deterministically.

        Residents live in bedrooms on floors 1 and 2; every 4th device is an
        IXI PRO; every other device has a phone number.
        """
        state = self._site(site)
        rng = random.Random(seed)
        names = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
        rng.shuffle(names)
        used = {device.name for device in state.devices.values()}
        names = [name for name in names if name not in used]
        start = len(state.devices)
        created: list[SimDevice] = []
        now = time.time()
        index = start
        for number in range(count):
            mac = mac_for(seed, index)
            while mac in state.devices:
                index += 1
                mac = mac_for(seed, index)
            position = start + number
            floor = f"Floor {1 + position % 2}"
            zone = f"{1 + position % 2}.{12 + 2 * (position // 2)} Bedroom"
            device = SimDevice(
                mac=mac,
                name=names[number % len(names)],
                user_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                phone_number=(
                    f"+32810{rng.randint(10000, 99999)}" if position % 2 == 0 else None
                ),
                battery_level=round(rng.uniform(35.0, 100.0), 1),
                device_last_update=now,
                model=MODEL_IXI_PRO if position % 4 == 3 else MODEL_IXI,
                floor=floor,
                zone=zone,
                zone_id=zone_id_for(state.key, floor, zone),
                location_last_update=now,
            )
            state.devices[device.mac] = device
            created.append(device)
            index += 1
        return created

    # ------------------------------------------------------------------
    # Introspection (alert_event, retained_events: downlink.py)

    def alerts(self, site: str) -> dict[str, dict[str, Any]]:
        """Return every alert of a site (final ones included)."""
        return {
            alert_id: alert.summary()
            for alert_id, alert in self._site(site).alerts.items()
        }

    def active_alerts(self, site: str) -> dict[str, dict[str, Any]]:
        """Return the OPEN and ACCEPTED alerts of a site."""
        return {
            alert_id: alert.summary()
            for alert_id, alert in self._site(site).alerts.items()
            if alert.active
        }

    def uplinks(self, site: str) -> list[Any]:
        """Return every uplink payload received for a site, raw."""
        return list(self._site(site).uplinks)

    def connected_clients(self, site: str) -> int:
        """Return the number of connected socket.io sessions of a site."""
        return len(self._site(site).sids)

    def handshakes(self, site: str) -> list[dict[str, Any]]:
        """Return the handshake attempts for a site (never the tokens).

        Each entry: ``authorized``, ``token_ok``, ``token_present``,
        ``reason`` ("ok", "unknown site", "missing token", "wrong token"),
        ``transport`` and ``time``.
        """
        return [dict(entry) for entry in self._handshakes.get(site_key(site), [])]

    async def wait_for_clients(
        self, site: str, count: int = 1, timeout: float = 5.0
    ) -> None:
        """Wait until ``count`` clients of a site are connected."""
        state = self._site(site)
        await self._wait_until(lambda: len(state.sids) >= count, timeout)

    async def wait_for_uplinks(
        self, site: str, count: int = 1, timeout: float = 5.0
    ) -> list[Any]:
        """Wait until ``count`` uplinks were received for a site; return them."""
        state = self._site(site)
        await self._wait_until(lambda: len(state.uplinks) >= count, timeout)
        return list(state.uplinks)

    async def _wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._changed.wait()

    def _notify(self) -> None:
        """Wake up the waiters of :meth:`_wait_until`."""
        self._changed.set()
        self._changed = asyncio.Event()
