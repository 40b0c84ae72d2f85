"""A python-socketio server that plays the ixicare cloud.

The simulator speaks the ixicare WebSocket protocol v2.0 (socket.io over
WebSocket, Engine.IO path ``/ws/``, ``site_uuid`` query parameter and
``Authorization: Bearer <token>`` header). It keeps the state of the devices and
alerts of each site, answers alert updates asynchronously, retains alert events
while no client of a site is connected and offers an HTTP control API.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Mapping
import contextlib
from dataclasses import asdict, dataclass, field, fields
from functools import cache, partial
import hashlib
import hmac
import ipaddress
import json
import logging
from pathlib import Path
import random
import ssl
import time
from typing import Any, Final, Literal, Protocol, cast
import uuid

from aiohttp import WSCloseCode, web
import jsonschema  # type: ignore[import-untyped, unused-ignore]
import socketio  # type: ignore[import-untyped, unused-ignore]

_LOGGER = logging.getLogger(__name__)

PROTOCOL_VERSION: Final = "1.0.0"
EVENT_ALERTS: Final = "alerts"
EVENT_HEARTBEATS: Final = "heartbeats"

# Most critical first.
ALERT_TYPES: Final = ("MAN_DOWN", "GEOFENCING", "PANIC_BUTTON", "CRITICAL_BATTERY")
ALERT_STATUSES: Final = ("OPEN", "ACCEPTED", "RESOLVED", "CANCELLED")
ACTIVE_STATUSES: Final = frozenset({"OPEN", "ACCEPTED"})
FINAL_STATUSES: Final = frozenset({"RESOLVED", "CANCELLED"})
ACTIONS: Final = ("ACCEPT", "RESOLVE")

ERROR_UNKNOWN_ALERT: Final = "Unknown alert"
ERROR_ALREADY_FINAL: Final = "Alert already final"
ERROR_NOT_ALLOWED: Final = "Action not allowed"
ERROR_INVALID_MESSAGE: Final = "Invalid message"

MODEL_IXI: Final = "IXI"
MODEL_IXI_PRO: Final = "IXI PRO"

DEFAULT_SITE: Final = "8c1f2a3e-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
DEFAULT_TOKEN: Final = "demo-ixicare-token"  # noqa: S105 - the demo's public token

NIL_UUID: Final = "00000000-0000-0000-0000-000000000000"
# The position of the outdoor example in the protocol document.
OUTDOOR_CENTER: Final = (56.823279418945, 22.162609863281)

SCHEMA_DIR: Final = (
    Path(__file__).resolve().parent.parent
    / "custom_components"
    / "ixicare"
    / "pyixicare"
    / "schemas"
)

_MAX_HANDSHAKES: Final = 1000
_CLOSE_TIMEOUT: Final = 1.0
CLOSE_DRAIN_TIMEOUT: Final = 0.5
GATE_SETTLE: Final = 0.01

FIRST_NAMES: Final = (
    "John",
    "Marie",
    "Jan",
    "Anna",
    "Louis",
    "Lucienne",
    "Georges",
    "Simone",
    "Henri",
    "Maria",
    "Paul",
    "Jeanne",
    "Albert",
    "Germaine",
    "Joseph",
    "Madeleine",
    "Roger",
    "Yvonne",
    "Marcel",
    "Paula",
    "Willy",
    "Odette",
    "Frans",
    "Irène",
)
LAST_NAMES: Final = (
    "Smith",
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Dubois",
    "Lambert",
    "Dupont",
    "Martin",
    "Leclercq",
    "Hermans",
    "Michiels",
    "Desmet",
    "Renard",
    "Lemaire",
    "Simon",
    "Laurent",
    "Fontaine",
)
# Zones shared by every resident, per floor. Bedrooms are added per resident.
COMMON_ZONES: Final[dict[str, tuple[str, ...]]] = {
    "Floor 0": (
        "0.01 Reception",
        "0.02 Restaurant",
        "0.03 Living room",
        "0.04 Garden room",
        "0.05 Physiotherapy",
    ),
    "Floor 1": ("1.01 Corridor", "1.02 Lounge", "1.03 Bathroom"),
    "Floor 2": ("2.01 Corridor", "2.02 Lounge", "2.03 Bathroom"),
}


def site_key(site: str) -> str:
    """Return the canonical (lower-case) form of a site UUID."""
    return site.strip().lower()


def normalize_mac(mac: str) -> str:
    """Return a MAC address upper-case with colons: ``00:02:04:06:08:0A``."""
    cleaned = mac.strip().upper().replace("-", ":").replace(".", "")
    if ":" not in cleaned and len(cleaned) == 12:
        cleaned = ":".join(cleaned[i : i + 2] for i in range(0, 12, 2))
    return cleaned


def stable_uuid4(text: str) -> str:
    """Return a UUID4-shaped id derived deterministically from ``text``."""
    digest = hashlib.sha256(text.encode()).digest()[:16]
    return str(uuid.UUID(bytes=digest, version=4))


def zone_id_for(site: str, floor: str, zone: str) -> str:
    """Return the stable zone id of a zone of a site."""
    return stable_uuid4(f"{site_key(site)}|{floor}|{zone}")


def mac_for(seed: int, index: int) -> str:
    """Return the deterministic MAC of the ``index``-th generated device.

    Seed 0, index 0 gives the protocol document's ``00:02:04:06:08:0A``.
    """
    value = (0x06080A + index * 2 + seed * 0x1000) & 0xFFFFFF
    return f"00:02:04:{value >> 16:02X}:{(value >> 8) & 0xFF:02X}:{value & 0xFF:02X}"


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """Return True for a loopback host name or address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _js_numbers(value: Any) -> Any:
    """Turn integral floats into ints, as a JavaScript server would send them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _js_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_js_numbers(item) for item in value]
    return value


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Load one of the project's JSON schemas, e.g. ``alert-update``."""
    text = (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


# Loaded at import time, not in the event loop.
_UPLINK_VALIDATOR: Final[Any] = jsonschema.Draft7Validator(
    load_schema("alert-update"), format_checker=jsonschema.FormatChecker()
)


@dataclass
class SimDevice:
    """A simulated ixi device worn by a resident."""

    mac: str
    name: str
    user_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    phone_number: str | None = None
    battery_level: float = 100.0
    device_last_update: float = field(default_factory=time.time)
    model: str = MODEL_IXI
    floor: str | None = "Floor 0"
    zone: str | None = "0.01 Reception"
    zone_id: str | None = field(default_factory=lambda: str(uuid.uuid4()))
    location_last_update: float | None = field(default_factory=time.time)
    outdoor: tuple[float, float] | None = None
    outdoor_last_update: float | None = None

    def __post_init__(self) -> None:
        """Normalise the MAC address."""
        self.mac = normalize_mac(self.mac)

    @property
    def indoor_known(self) -> bool:
        """Return True when the device has an indoor location."""
        return (
            self.floor is not None
            and self.zone is not None
            and self.zone_id is not None
        )

    def device_payload(self) -> dict[str, Any]:
        """Return the ``device`` object of a downlink message."""
        payload: dict[str, Any] = {"id": self.mac}
        if self.phone_number is not None:
            payload["phone_number"] = self.phone_number
        payload["battery_level"] = self.battery_level
        payload["last_update"] = self.device_last_update
        return payload

    def location_payload(self) -> dict[str, Any] | None:
        """Return the ``location`` object, or None when nothing is known."""
        location: dict[str, Any] = {}
        if self.indoor_known:
            indoor: dict[str, Any] = {
                "floor": self.floor,
                "zone": self.zone,
                "zone_id": self.zone_id,
            }
            if self.location_last_update is not None:
                indoor["last_update"] = self.location_last_update
            location["indoor"] = indoor
        if self.outdoor is not None:
            outdoor: dict[str, Any] = {
                "latitude": self.outdoor[0],
                "longitude": self.outdoor[1],
            }
            if self.outdoor_last_update is not None:
                outdoor["last_update"] = self.outdoor_last_update
            location["outdoor"] = outdoor
        return location or None


_DEVICE_FIELDS: Final = frozenset({"phone_number", "battery_level"})
_INDOOR_FIELDS: Final = frozenset({"floor", "zone", "zone_id"})
_CHANGEABLE_FIELDS: Final = frozenset(f.name for f in fields(SimDevice)) - {"mac"}


@dataclass
class _SimAlert:
    alert_id: str
    mac: str
    type: str
    status: str
    timestamp: float
    include_user: bool = True
    include_location: bool = True
    changed: float = field(default_factory=time.time)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def summary(self) -> dict[str, Any]:
        return {
            "device_id": self.mac,
            "type": self.type,
            "status": self.status,
            "timestamp": self.timestamp,
        }


@dataclass
class _Directive:
    mode: Literal["fail", "ignore", "delay"]
    error: str = ERROR_NOT_ALLOWED
    seconds: float = 0.0


@dataclass
class _Site:
    key: str
    token: str | None
    devices: dict[str, SimDevice] = field(default_factory=dict)
    alerts: dict[str, _SimAlert] = field(default_factory=dict)
    # alert id -> (time stored, event); insertion order is the order of change.
    retained: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)
    uplinks: list[Any] = field(default_factory=list)
    sids: set[str] = field(default_factory=set)
    directives: deque[_Directive] = field(default_factory=deque)


class Stoppable(Protocol):
    """Something the simulator stops with itself (a scenario)."""

    async def stop(self) -> None:
        """Stop."""


class _TlsAcceptor(asyncio.Protocol):
    """Do the TLS handshake of a connection, then hand it to aiohttp.

    With ``create_server(ssl=...)`` a failed handshake (a client that does not
    trust the certificate) is reported to the event loop's exception handler
    in debug mode, which Home Assistant's test harness turns into an error.
    Here it is only logged at debug level.
    """

    def __init__(
        self,
        sim: IxicareSimulator,
        factory: Callable[[], asyncio.Protocol],
        context: ssl.SSLContext,
    ) -> None:
        self._sim = sim
        self._factory = factory
        self._context = context
        self._received: list[bytes] = []
        self._eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the handshake (nothing is read before it)."""
        assert isinstance(transport, asyncio.Transport)
        transport.pause_reading()
        self._sim._spawn(self._handshake(transport))

    def data_received(self, data: bytes) -> None:
        """Keep application data that came with the end of the handshake."""
        self._received.append(data)

    def eof_received(self) -> bool | None:
        """Remember an end of stream before the hand-over."""
        self._eof = True
        return True

    async def _handshake(self, transport: asyncio.Transport) -> None:
        if transport.is_closing():
            return
        try:
            tls = await asyncio.get_running_loop().start_tls(
                transport,
                self,
                self._context,
                server_side=True,
                ssl_handshake_timeout=10.0,
            )
        except OSError as err:
            _LOGGER.debug("TLS handshake failed: %r", err)
            return
        if tls is None or tls.is_closing():
            return
        protocol = self._factory()
        tls.set_protocol(protocol)
        protocol.connection_made(tls)
        for data in self._received:
            protocol.data_received(data)
        if self._eof:
            protocol.eof_received()


class IxicareSimulator:
    """A socket.io server that plays the ixicare cloud, for tests and demos."""

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
    # Life cycle

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

    async def start(self) -> None:
        """Bind and start serving; port 0 picks a free port."""
        if self._runner is not None:
            raise RuntimeError("Simulator already started")
        sio = socketio.AsyncServer(
            async_mode="aiohttp",
            transports=["websocket", "polling"],
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            cors_allowed_origins=[],
            # No service task: it would outlive the connections (pings and
            # socket writes still detect dead clients).
            monitor_clients=False,
            # Every namespace reaches the handlers, so that one the server
            # does not serve is refused as socket.io 4 (JavaScript) does.
            namespaces="*",
        )
        self._track_sio_tasks(sio)
        sio.on("connect", self._on_connect)
        sio.on("connect", self._on_other_namespace, namespace="*")
        sio.on("disconnect", self._on_disconnect)
        sio.on(EVENT_ALERTS, self._on_alerts)
        app = web.Application(middlewares=[self._auth_middleware])
        sio.attach(app, socketio_path=self.socketio_path)
        if self.control_enabled:
            self._add_control_routes(app)
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        handler = runner.server
        assert handler is not None
        ssl_context = self.ssl_context
        factory: Callable[[], asyncio.BaseProtocol] = handler
        if ssl_context is not None:

            def factory() -> asyncio.BaseProtocol:
                return _TlsAcceptor(self, handler, ssl_context)

        try:
            listener = await asyncio.get_running_loop().create_server(
                factory, self.host, self.port, reuse_address=True
            )
        except BaseException:
            await runner.cleanup()
            raise
        self._sio = sio
        self._runner = runner
        self._listener = listener
        self.port = int(listener.sockets[0].getsockname()[1])
        _LOGGER.info("ixicare simulator listening on %s", self.url)

    async def stop(self) -> None:
        """Stop scenarios, close every connection and the listening socket."""
        for scenario in list(self._scenarios):
            await scenario.stop()
        restart = self._restart_task
        self._restart_task = None
        if restart is not None and restart is not asyncio.current_task():
            restart.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await restart
        await self._stop_server()

    async def restart(self, downtime: float = 0.0) -> None:
        """Stop then start on the same port, keeping the state.

        Scenarios keep running; while the server is down their alert events
        are retained. ``downtime`` seconds pass between stop and start.
        """
        await self._stop_server()
        if downtime > 0:
            await asyncio.sleep(downtime)
        await self.start()
        self.restart_count += 1

    async def _stop_server(self) -> None:
        await self._cancel(self._tasks)
        sio, runner, listener = self._sio, self._runner, self._listener
        self._sio = None
        self._runner = None
        self._listener = None
        if sio is not None:
            for sid in list(self._sid_site):
                await self._close_session(sio, sid)
            for socket in list(sio.eio.sockets.values()):
                await self._close_eio_socket(socket)
            if requests := [task for task in self._requests if not task.done()]:
                await asyncio.wait(requests, timeout=_CLOSE_TIMEOUT)
            await sio.shutdown()
        await self._cancel(self._sio_tasks)
        if listener is not None:
            listener.close()
        if runner is not None:
            await runner.cleanup()
        if listener is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener.wait_closed(), 1.0)
        await self._cancel(self._tasks)
        await self._cancel(self._sio_tasks)
        self._sid_site.clear()
        self._gates.clear()
        for site in self._sites.values():
            site.sids.clear()
        if runner is not None:
            _LOGGER.info("ixicare simulator stopped")

    async def _cancel(self, tasks: set[asyncio.Task[Any]]) -> None:
        current = asyncio.current_task()
        pending = [task for task in tasks if task is not current]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        tasks.difference_update(pending)

    def _track_sio_tasks(self, sio: Any) -> None:
        """Keep every background task of python-engineio to cancel it.

        python-engineio sleeps ``ping_interval`` in a task per connection, and
        that task would outlive the connection: cancel it when the connection
        ends, and every remaining task on stop.
        """
        eio = sio.eio
        start_task = eio.start_background_task
        on_disconnect = eio.handlers["disconnect"]
        pings: dict[str, asyncio.Task[Any]] = {}

        def start_background_task(
            target: Callable[..., Coroutine[Any, Any, Any]], *args: Any, **kwargs: Any
        ) -> asyncio.Task[Any]:
            task: asyncio.Task[Any] = start_task(target, *args, **kwargs)
            self._sio_tasks.add(task)
            task.add_done_callback(self._sio_tasks.discard)
            if getattr(target, "__name__", "") == "_send_ping":
                eio_sid = getattr(getattr(target, "__self__", None), "sid", None)
                if isinstance(eio_sid, str):
                    pings[eio_sid] = task
                    task.add_done_callback(partial(forget_ping, eio_sid))
            return task

        def forget_ping(eio_sid: str, task: asyncio.Task[Any]) -> None:
            if pings.get(eio_sid) is task:
                del pings[eio_sid]

        async def handle_eio_disconnect(eio_sid: str, *args: Any) -> None:
            try:
                await on_disconnect(eio_sid, *args)
            finally:
                if (ping := pings.pop(eio_sid, None)) is not None:
                    ping.cancel()
                socket = eio.sockets.get(eio_sid)
                if socket is not None and not socket.upgraded:
                    # Release a pending long-poll request (after the CLOSE
                    # packet python-engineio queues next, if any).
                    asyncio.get_running_loop().call_soon(socket.queue.put_nowait, None)

        eio.start_background_task = start_background_task
        eio.on("disconnect", handle_eio_disconnect)

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
    # Sites, tokens, devices

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

    def set_token(
        self, site: str, token: str | None, *, revoke: bool = False
    ) -> asyncio.Task[Any] | None:
        """Change the token of a site; None refuses every handshake.

        New handshakes use the new token. With ``revoke`` the existing sessions
        of the site are disconnected too: the returned task does that (await it
        to know they are gone).
        """
        state = self._site(site)
        state.token = token
        _LOGGER.info("Token of site %s changed", state.key)
        if revoke:
            return self._spawn(self.disconnect_clients(state.key))
        return None

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
    # Introspection

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

    def alert_event(self, site: str, alert_id: str) -> dict[str, Any]:
        """Return the current alert event of an alert (as it would be sent)."""
        state = self._site(site)
        return self._alert_event(state, self._alert(state, alert_id))

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

    def retained_events(self, site: str) -> list[dict[str, Any]]:
        """Return the alert events stored for the next connection of a site."""
        state = self._site(site)
        self._prune_retained(state)
        return [event for _, event in state.retained.values()]

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

    # ------------------------------------------------------------------
    # Downlink messages

    def _alert(self, state: _Site, alert_id: str) -> _SimAlert:
        try:
            return state.alerts[alert_id.lower()]
        except KeyError:
            raise KeyError(f"Unknown alert {alert_id}") from None

    def _alert_event(self, state: _Site, alert: _SimAlert) -> dict[str, Any]:
        device = state.devices[alert.mac]
        event: dict[str, Any] = {
            "version": PROTOCOL_VERSION,
            "type": "ALERT",
            "device": device.device_payload(),
            "alert": {
                "id": alert.alert_id,
                "type": alert.type,
                "status": alert.status,
                "timestamp": alert.timestamp,
            },
        }
        if alert.include_user:
            event["user"] = {"id": device.user_id, "name": device.name}
        if alert.include_location and (location := device.location_payload()):
            event["location"] = location
        return event

    def _heartbeat_event(self, device: SimDevice) -> dict[str, Any]:
        location = device.location_payload()
        if location is None:
            raise ValueError(f"Device {device.mac} has no location for a heartbeat")
        return {
            "version": PROTOCOL_VERSION,
            "type": self.heartbeat_type,
            "device": device.device_payload(),
            "location": location,
        }

    def _prepare(self, data: dict[str, Any]) -> dict[str, Any]:
        return cast(dict[str, Any], _js_numbers(data)) if self.js_numbers else data

    async def _deliver(
        self, state: _Site, event: str, data: Any, to: str | None = None
    ) -> None:
        """Emit to one session or to the site's room, respecting replay gates."""
        async with self._delivery:
            sio = self._sio
            if sio is None:
                return
            if to is not None:
                if to not in state.sids:
                    _LOGGER.debug("Session %s gone, %s message dropped", to, event)
                elif (gate := self._gates.get(to)) is not None:
                    gate.append((event, data))
                else:
                    await sio.emit(event, data, to=to)
                return
            skip: list[str] = []
            for sid in state.sids:
                if (gate := self._gates.get(sid)) is not None:
                    gate.append((event, data))
                    skip.append(sid)
            await sio.emit(event, data, room=state.key, skip_sid=skip or None)

    async def _publish_alert(self, state: _Site, alert: _SimAlert) -> None:
        alert.changed = time.time()
        event = self._prepare(self._alert_event(state, alert))
        if state.sids and self._sio is not None:
            await self._deliver(state, EVENT_ALERTS, event)
        else:
            self._prune_retained(state)
            state.retained.pop(alert.alert_id, None)
            state.retained[alert.alert_id] = (time.time(), event)

    def _prune_retained(self, state: _Site) -> None:
        limit = time.time() - self.retention_seconds
        for alert_id, (stored, _) in list(state.retained.items()):
            if stored < limit:
                del state.retained[alert_id]

    async def raise_alert(
        self,
        site: str,
        mac: str,
        alert_type: str = "MAN_DOWN",
        *,
        alert_id: str | None = None,
        include_user: bool = True,
        include_location: bool = True,
        timestamp: float | None = None,
    ) -> str:
        """Raise a new OPEN alert on a device and broadcast it; return its id."""
        state = self._site(site)
        device = self.device(site, mac)
        if alert_type not in ALERT_TYPES:
            raise ValueError(f"Unknown alert type {alert_type}")
        if alert_id is None:
            alert_id = str(uuid.uuid4())
        elif not _is_uuid(alert_id):
            raise ValueError(f"Alert id {alert_id} is not a UUID")
        alert_id = alert_id.lower()
        if alert_id in state.alerts:
            raise ValueError(f"Alert {alert_id} already exists")
        alert = _SimAlert(
            alert_id=alert_id,
            mac=device.mac,
            type=alert_type,
            status="OPEN",
            timestamp=time.time() if timestamp is None else timestamp,
            include_user=include_user,
            include_location=include_location,
        )
        state.alerts[alert_id] = alert
        _LOGGER.info("Alert %s %s raised on %s", alert_id, alert_type, device.mac)
        await self._publish_alert(state, alert)
        return alert_id

    async def escalate_alert(
        self, site: str, alert_id: str, new_type: str, *, force: bool = False
    ) -> None:
        """Escalate an active alert to a more critical type and broadcast it.

        ``force`` allows any type change, even on a final alert.
        """
        state = self._site(site)
        alert = self._alert(state, alert_id)
        if new_type not in ALERT_TYPES:
            raise ValueError(f"Unknown alert type {new_type}")
        if not force:
            if not alert.active:
                raise ValueError(f"Alert {alert_id} is {alert.status}")
            if ALERT_TYPES.index(new_type) >= ALERT_TYPES.index(alert.type):
                raise ValueError(f"{new_type} is not more critical than {alert.type}")
        alert.type = new_type
        _LOGGER.info("Alert %s escalated to %s", alert.alert_id, new_type)
        await self._publish_alert(state, alert)

    async def set_alert_status(
        self, site: str, alert_id: str, status: str, *, force: bool = False
    ) -> None:
        """Change the status of an alert and broadcast it.

        A final (RESOLVED/CANCELLED) alert cannot change unless ``force``.
        """
        state = self._site(site)
        alert = self._alert(state, alert_id)
        if status not in ALERT_STATUSES:
            raise ValueError(f"Unknown alert status {status}")
        if alert.status in FINAL_STATUSES and not force:
            raise ValueError(f"Alert {alert_id} is already {alert.status}")
        alert.status = status
        _LOGGER.info("Alert %s is now %s", alert.alert_id, status)
        await self._publish_alert(state, alert)

    async def send_heartbeat(
        self, site: str, mac: str, **changes: Any
    ) -> dict[str, Any]:
        """Update a device with ``changes`` and broadcast its heartbeat.

        ``changes`` are :class:`SimDevice` fields (``battery_level=50``,
        ``zone="1.16 Bedroom"``, ``outdoor=(lat, lon)`` or None, ...). The
        matching ``*_last_update`` is stamped with now unless given. A zone
        given without ``zone_id`` gets its stable zone id. Returns the message.
        """
        state = self._site(site)
        device = self.device(site, mac)
        unknown = set(changes) - _CHANGEABLE_FIELDS
        if unknown:
            raise TypeError(f"Unknown device fields: {', '.join(sorted(unknown))}")
        now = time.time()
        if "battery_level" in changes:
            changes["battery_level"] = float(changes["battery_level"])
        if "outdoor" in changes and changes["outdoor"] is not None:
            latitude, longitude = changes["outdoor"]
            changes["outdoor"] = (float(latitude), float(longitude))
        for name, value in changes.items():
            setattr(device, name, value)
        if _DEVICE_FIELDS & changes.keys() and "device_last_update" not in changes:
            device.device_last_update = now
        if _INDOOR_FIELDS & changes.keys():
            if "zone_id" not in changes and device.floor and device.zone:
                device.zone_id = zone_id_for(state.key, device.floor, device.zone)
            if "location_last_update" not in changes:
                device.location_last_update = now
        if "outdoor" in changes and "outdoor_last_update" not in changes:
            device.outdoor_last_update = now if device.outdoor is not None else None
        message = self._prepare(self._heartbeat_event(device))
        await self._deliver(state, EVENT_HEARTBEATS, message)
        return message

    async def send_raw(self, site: str, event: str, data: Any) -> None:
        """Emit anything on ``event`` to a site's clients (invalid data too)."""
        await self._deliver(self._site(site), event, data)

    async def send_frame(self, site: str, text: str) -> int:
        """Send a raw socket.io packet (``text``) to a site's clients.

        Nothing checks ``text``: this sends frames no socket.io server would,
        e.g. ``"2"`` (an event without data). Return how many were sent.
        """
        sio = self._sio
        if sio is None:
            return 0
        key = self._site(site).key
        sent = 0
        for sid, sid_key in list(self._sid_site.items()):
            if sid_key == key and (eio_sid := sio.manager.eio_sid_from_sid(sid, "/")):
                await sio.eio.send(eio_sid, text)
                sent += 1
        return sent

    def break_handshakes(self, count: int = 1, open_packet: str | None = None) -> None:
        """Break the next ``count`` WebSocket handshakes off.

        The WebSocket upgrade is accepted, then closed (1001, going away) before
        the Engine.IO OPEN packet, as a server that is going down does; with
        ``open_packet`` (e.g. ``""``, ``"0"``, ``"0{}"``) that text is sent as
        the OPEN packet first. Handshakes with a refused token are refused
        as usual.
        """
        self._handshake_faults.extend([open_packet] * count)

    @property
    def pending_handshake_faults(self) -> int:
        """Return how many handshakes are still to be broken off."""
        return len(self._handshake_faults)

    async def _break_handshake(
        self, request: web.Request, open_packet: str | None
    ) -> web.StreamResponse:
        ws = web.WebSocketResponse(timeout=_CLOSE_TIMEOUT, autoping=False)
        await ws.prepare(request)
        if open_packet is not None:
            await ws.send_str(open_packet)
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"going away")
        return ws

    async def disconnect_clients(self, site: str | None = None) -> int:
        """Disconnect every session (of one site); return how many."""
        sio = self._sio
        if sio is None:
            return 0
        wanted = None if site is None else self._site(site).key
        sids = [sid for sid, key in self._sid_site.items() if wanted in (None, key)]
        for sid in sids:
            await self._close_session(sio, sid)
        return len(sids)

    async def _close_session(self, sio: Any, sid: str) -> None:
        """Disconnect a socket.io session and close its Engine.IO connection."""
        eio_sid = sio.manager.eio_sid_from_sid(sid, "/")
        # Forget the session first: what is published from now on is retained
        # for the next connection instead of following the DISCONNECT packet.
        # What was emitted before is on the socket already (the lock).
        async with self._delivery:
            await self._on_disconnect(sid, "server disconnect")
        with contextlib.suppress(Exception):
            await sio.disconnect(sid)
        if (socket := sio.eio.sockets.get(eio_sid)) is not None:
            await self._close_eio_socket(socket)

    @staticmethod
    async def _close_eio_socket(socket: Any) -> None:
        # Let what was already emitted reach the client before the close, as
        # bytes already written to TCP would; but not for long: a polling
        # client may never poll again.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(socket.close(wait=True), CLOSE_DRAIN_TIMEOUT)

    # ------------------------------------------------------------------
    # Uplink commands

    def fail_next_command(self, site: str, error: str = ERROR_NOT_ALLOWED) -> None:
        """Answer the next uplink of a site with FAILURE and ``error``."""
        self._site(site).directives.append(_Directive("fail", error=error))

    def ignore_next_command(self, site: str) -> None:
        """Never answer the next uplink of a site (nor apply it)."""
        self._site(site).directives.append(_Directive("ignore"))

    def delay_next_command(self, site: str, seconds: float) -> None:
        """Answer the next uplink of a site ``seconds`` late."""
        self._site(site).directives.append(_Directive("delay", seconds=seconds))

    async def _on_alerts(self, sid: str, *args: Any) -> Any:
        key = self._sid_site.get(sid)
        if key is None or (state := self._sites.get(key)) is None:
            return self._not_handled()
        data = args[0] if args else None
        state.uplinks.append(data)
        self._notify()
        directive = state.directives.popleft() if state.directives else None
        if directive is not None and directive.mode == "ignore":
            _LOGGER.info("Ignoring an alert update from %s as told", sid)
            return self._not_handled()
        delay = self.command_delay
        if directive is not None and directive.mode == "delay":
            delay = directive.seconds
        self._spawn(self._answer(state, sid, data, delay, directive))
        # The ixicare cloud never acknowledges: tell python-socketio not to.
        return self._not_handled()

    def _not_handled(self) -> Any:
        return self._sio.not_handled if self._sio is not None else None

    async def _answer(
        self,
        state: _Site,
        sid: str,
        data: Any,
        delay: float,
        directive: _Directive | None,
    ) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        response, alert = self._evaluate(state, data, directive)
        _LOGGER.info(
            "Alert update %s %s: %s %s",
            response["alert"]["id"],
            response["alert"]["action"],
            response["result"],
            response.get("error", ""),
        )
        await self._deliver(state, EVENT_ALERTS, self._prepare(response), to=sid)
        if alert is not None:
            if self.echo_updates:
                await self._publish_alert(state, alert)
            else:
                alert.changed = time.time()

    def _evaluate(
        self, state: _Site, data: Any, directive: _Directive | None
    ) -> tuple[dict[str, Any], _SimAlert | None]:
        """Decide the response to an uplink; apply it on success."""
        if not _UPLINK_VALIDATOR.is_valid(data):
            return self._response(data, "FAILURE", ERROR_INVALID_MESSAGE), None
        if directive is not None and directive.mode == "fail":
            return self._response(data, "FAILURE", directive.error), None
        alert = state.alerts.get(data["alert"]["id"].lower())
        action = data["alert"]["action"]
        if alert is None:
            return self._response(data, "FAILURE", ERROR_UNKNOWN_ALERT), None
        if alert.status in FINAL_STATUSES:
            return self._response(data, "FAILURE", ERROR_ALREADY_FINAL), None
        if normalize_mac(data["device_id"]) != alert.mac or (
            action == "ACCEPT" and alert.status == "ACCEPTED"
        ):
            return self._response(data, "FAILURE", ERROR_NOT_ALLOWED), None
        alert.status = "ACCEPTED" if action == "ACCEPT" else "RESOLVED"
        return self._response(data, "SUCCESS"), alert

    @staticmethod
    def _response(data: Any, result: str, error: str | None = None) -> dict[str, Any]:
        """Build an alert update response echoing the uplink.

        Fields of a malformed uplink that cannot be echoed validly are replaced
        (device_id "", alert id the nil UUID, action ACCEPT).
        """
        payload = data if isinstance(data, dict) else {}
        alert = payload.get("alert")
        alert = alert if isinstance(alert, dict) else {}
        device_id = payload.get("device_id")
        alert_id = alert.get("id")
        action = alert.get("action")
        response: dict[str, Any] = {
            "version": PROTOCOL_VERSION,
            "type": "ALERT",
            "device_id": device_id if isinstance(device_id, str) else "",
            "alert": {
                "id": alert_id if _is_uuid(alert_id) else NIL_UUID,
                "action": action if action in ACTIONS else "ACCEPT",
            },
            "result": result,
        }
        if error is not None:
            response["error"] = error
        return response

    # ------------------------------------------------------------------
    # Socket.IO and HTTP handlers

    @web.middleware
    async def _auth_middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Refuse Engine.IO handshakes without the site's bearer token (401)."""
        if request.path.rstrip("/") != f"/{self.socketio_path}":
            return await handler(request)
        if "sid" in request.query:
            # A later request of an Engine.IO session that passed the check.
            return await self._engineio_request(request, handler)
        key = site_key(request.query.get("site_uuid", ""))
        state = self._sites.get(key)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        token_present = scheme.lower() == "bearer" and bool(token)
        token_ok = (
            state is not None
            and state.token is not None
            and token_present
            and hmac.compare_digest(token.encode(), state.token.encode())
        )
        if state is None:
            reason = "unknown site"
        elif not token_present:
            reason = "missing token"
        elif not token_ok:
            reason = "wrong token"
        else:
            reason = "ok"
        attempts = self._handshakes.setdefault(key, [])
        attempts.append(
            {
                "authorized": token_ok,
                "token_ok": token_ok,
                "token_present": token_present,
                "reason": reason,
                "transport": request.query.get("transport", ""),
                "time": time.time(),
            }
        )
        del attempts[:-_MAX_HANDSHAKES]
        if not token_ok:
            _LOGGER.info("Handshake for site %r refused: %s", key, reason)
            return web.Response(
                status=401,
                text="Unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="ixicare"'},
            )
        if self._handshake_faults and request.headers.get("Upgrade", "").lower() == (
            "websocket"
        ):
            open_packet = self._handshake_faults.popleft()
            attempts[-1]["reason"] = "broken off"
            _LOGGER.info("Breaking the handshake for site %r off as told", key)
            return await self._break_handshake(request, open_packet)
        return await self._engineio_request(request, handler)

    async def _engineio_request(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Run an Engine.IO request, remembering it until it ends.

        A WebSocket connection is one long request; :meth:`stop` lets them end
        before aiohttp's shutdown, which stops reading from connections (and so
        would miss the clients' closing handshakes).
        """
        task = asyncio.current_task()
        if task is not None:
            self._requests.add(task)
        try:
            return await handler(request)
        finally:
            self._requests.discard(task)

    async def _on_connect(
        self, sid: str, environ: dict[str, Any], auth: Any = None
    ) -> bool:
        request = environ.get("aiohttp.request")
        sio = self._sio
        if sio is None or not isinstance(request, web.Request):
            return False
        state = self._sites.get(site_key(request.query.get("site_uuid", "")))
        if state is None:
            return False
        # From here on, what is published for the site waits in this
        # session's gate and is sent after the CONNECT packet and the backlog.
        published: list[tuple[str, Any]] = []
        self._gates[sid] = published
        self._sid_site[sid] = state.key
        state.sids.add(sid)
        self._notify()
        await sio.enter_room(sid, state.key)
        if sid not in state.sids or self._gates.get(sid) is not published:
            # Closed while it was being set up: keep the backlog for the next
            # session. (Refusing here would read as a refused token.)
            return True
        self._prune_retained(state)
        backlog: list[tuple[str, Any]] = [
            (EVENT_ALERTS, event) for _, event in state.retained.values()
        ]
        replayed = set(state.retained)
        state.retained.clear()
        if self.replay_active_on_connect or self.replay_recent_seconds > 0:
            recent = time.time() - self.replay_recent_seconds
            active = sorted(
                (
                    alert
                    for alert in state.alerts.values()
                    if alert.alert_id not in replayed
                    and (
                        (self.replay_active_on_connect and alert.active)
                        or (self.replay_recent_seconds > 0 and alert.changed >= recent)
                    )
                ),
                key=lambda alert: alert.changed,
            )
            backlog.extend(
                (EVENT_ALERTS, self._prepare(self._alert_event(state, alert)))
                for alert in active
            )
        _LOGGER.info(
            "Client %s of site %s connected, %d alert event(s) to replay",
            sid,
            state.key,
            len(backlog),
        )
        # Sent after the CONNECT packet; newer messages queue behind them.
        published[:0] = backlog
        self._spawn(self._drain_gate(sid))
        return True

    async def _on_other_namespace(self, namespace: str, *args: Any) -> None:
        # What socket.io 4 (JavaScript) answers for a namespace it does not
        # serve: CONNECT_ERROR {"message": "Invalid namespace"}.
        raise socketio.exceptions.ConnectionRefusedError("Invalid namespace")

    async def _drain_gate(self, sid: str) -> None:
        # Let python-socketio finish the connection (the CONNECT packet and the
        # namespace bookkeeping) before anything is sent to the session.
        await asyncio.sleep(GATE_SETTLE)
        while True:
            async with self._delivery:
                if (sio := self._sio) is None:
                    return  # stopping: closing the session retains the rest
                if not (gate := self._gates.get(sid)):
                    # Drained (or ended): newer messages go straight out.
                    self._gates.pop(sid, None)
                    return
                event, data = gate.pop(0)
                await sio.emit(event, data, to=sid)

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        gate = self._gates.pop(sid, None)
        key = self._sid_site.pop(sid, None)
        if key is not None and (state := self._sites.get(key)) is not None:
            state.sids.discard(sid)
            if gate:
                self._retain_undelivered(state, gate)
            self._notify()
            _LOGGER.info("Client %s of site %s disconnected (%s)", sid, key, reason)

    def _retain_undelivered(self, state: _Site, gate: list[tuple[str, Any]]) -> None:
        """Keep the alert events a session left unsent, as if never sent.

        The session's replay was still queued when it ended; with no other
        session of the site these events would otherwise be lost.
        """
        undelivered, gate[:] = list(gate), []  # also stops the drain task
        if state.sids:
            return
        # Only the latest status of each alert is kept (protocol, "Message
        # retention"): a later event in the gate replaces an earlier one,
        # and what was retained since the session ended is newer still.
        newer = set(state.retained)
        latest: dict[str, dict[str, Any]] = {}
        for event, data in undelivered:
            if event != EVENT_ALERTS or not isinstance(data, dict):
                continue
            alert_id = str(data.get("alert", {}).get("id", "")).lower()
            if alert_id and alert_id not in newer:
                latest.pop(alert_id, None)
                latest[alert_id] = data
        now = time.time()
        for alert_id, data in latest.items():
            state.retained[alert_id] = (now, data)

    # ------------------------------------------------------------------
    # HTTP control API

    def _add_control_routes(self, app: web.Application) -> None:
        app.middlewares.append(self._control_errors)
        prefix = "/control/sites/{site}"
        app.router.add_get("/control/sites", self._http_sites)
        app.router.add_get(f"{prefix}/state", self._http_state)
        app.router.add_post(f"{prefix}/devices", self._http_devices)
        app.router.add_post(f"{prefix}/alerts", self._http_raise)
        app.router.add_post(
            f"{prefix}/alerts/{{alert_id}}/escalate", self._http_escalate
        )
        app.router.add_post(f"{prefix}/alerts/{{alert_id}}/status", self._http_status)
        app.router.add_post(f"{prefix}/heartbeats", self._http_heartbeat)
        app.router.add_post(f"{prefix}/raw", self._http_raw)
        app.router.add_post(f"{prefix}/disconnect", self._http_disconnect)
        app.router.add_post(f"{prefix}/commands/next", self._http_next_command)
        app.router.add_get(f"{prefix}/uplinks", self._http_uplinks)
        app.router.add_post(f"{prefix}/token", self._http_token)
        app.router.add_post("/control/restart", self._http_restart)
        app.router.add_post("/control/handshakes/break", self._http_break)

    @web.middleware
    async def _control_errors(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Turn errors of the control API into JSON 404/400 responses."""
        if not request.path.startswith("/control/"):
            return await handler(request)
        try:
            return await handler(request)
        except KeyError as err:
            return web.json_response({"error": str(err.args[0])}, status=404)
        except (ValueError, TypeError) as err:
            return web.json_response({"error": str(err)}, status=400)

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except ValueError:
            raise ValueError("Body is not JSON") from None
        if not isinstance(body, dict):
            raise TypeError("Body must be a JSON object")
        return body

    def _state_of(self, request: web.Request) -> _Site:
        return self._site(request.match_info["site"])

    async def _http_sites(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "sites": [
                    {"site": key, "connected_clients": len(state.sids)}
                    for key, state in self._sites.items()
                ]
            }
        )

    async def _http_state(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        return web.json_response(
            {
                "site": state.key,
                "devices": [asdict(device) for device in state.devices.values()],
                "alerts": self.alerts(state.key),
                "active_alerts": self.active_alerts(state.key),
                "retained": len(self.retained_events(state.key)),
                "uplinks": len(state.uplinks),
                "connected_clients": len(state.sids),
            }
        )

    async def _http_devices(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        body = await self._body(request)
        created = self.make_devices(
            state.key, int(body.get("count", 1)), seed=int(body.get("seed", 0))
        )
        return web.json_response({"devices": [asdict(device) for device in created]})

    async def _http_raise(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        body = await self._body(request)
        alert_id = await self.raise_alert(
            state.key,
            str(body["mac"]),
            str(body.get("type", "MAN_DOWN")),
            alert_id=body.get("alert_id"),
            include_user=bool(body.get("include_user", True)),
            include_location=bool(body.get("include_location", True)),
            timestamp=None
            if body.get("timestamp") is None
            else float(body["timestamp"]),
        )
        return web.json_response({"alert_id": alert_id})

    async def _http_escalate(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        body = await self._body(request)
        alert_id = request.match_info["alert_id"]
        await self.escalate_alert(
            state.key, alert_id, str(body["type"]), force=bool(body.get("force"))
        )
        return web.json_response(self.alerts(state.key)[alert_id.lower()])

    async def _http_status(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        body = await self._body(request)
        alert_id = request.match_info["alert_id"]
        await self.set_alert_status(
            state.key, alert_id, str(body["status"]), force=bool(body.get("force"))
        )
        return web.json_response(self.alerts(state.key)[alert_id.lower()])

    async def _http_heartbeat(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        changes = await self._body(request)
        mac = str(changes.pop("mac"))
        message = await self.send_heartbeat(state.key, mac, **changes)
        return web.json_response(message)

    async def _http_raw(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        body = await self._body(request)
        await self.send_raw(state.key, str(body["event"]), body.get("data"))
        return web.json_response({"sent": True})

    async def _http_disconnect(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        return web.json_response(
            {"disconnected": await self.disconnect_clients(state.key)}
        )

    async def _http_next_command(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        body = await self._body(request)
        mode = body.get("mode")
        if mode == "fail":
            self.fail_next_command(state.key, str(body.get("error", ERROR_NOT_ALLOWED)))
        elif mode == "ignore":
            self.ignore_next_command(state.key)
        elif mode == "delay":
            self.delay_next_command(state.key, float(body["seconds"]))
        else:
            raise ValueError("mode must be fail, ignore or delay")
        return web.json_response({"mode": mode, "pending": len(state.directives)})

    async def _http_uplinks(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        return web.json_response({"uplinks": self.uplinks(state.key)})

    async def _http_token(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        body = await self._body(request)
        token = body.get("token")
        if token is not None and not isinstance(token, str):
            raise TypeError("token must be a string or null")
        task = self.set_token(state.key, token, revoke=bool(body.get("revoke")))
        if task is not None:
            await task
        return web.json_response({"site": state.key, "revoked": task is not None})

    async def _http_break(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        count = int(body.get("count", 1))
        open_packet = body.get("open_packet")
        if open_packet is not None and not isinstance(open_packet, str):
            raise TypeError("open_packet must be a string or null")
        self.break_handshakes(count, open_packet)
        return web.json_response({"pending": self.pending_handshake_faults})

    async def _http_restart(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        downtime = float(body.get("downtime", 0.0))
        response = web.json_response({"restarting": True, "downtime": downtime})
        await response.prepare(request)
        await response.write_eof()
        if self._restart_task is None or self._restart_task.done():
            self._restart_task = asyncio.create_task(self.restart(downtime))
        return response
