"""Long-lived socket.io session with one ixicare site.

The client keeps one session per site: it connects, hands every downlink
message to the caller's callbacks synchronously and in order, reconnects
forever with exponential backoff and full jitter, and stops for good when the
server refuses the token. It never logs or repeats the token.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
import functools
import importlib.metadata
import inspect
import json
import logging
import random
import ssl
import time
from typing import Any, Final
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
import engineio
from engineio import packet as eio_packet
import orjson
import socketio
from socketio import packet as sio_packet

from .exceptions import (
    IxicareAuthError,
    IxicareCommandTimeoutError,
    IxicareConnectionError,
    IxicareNamespaceError,
    IxicareNotConnectedError,
    IxicareParseError,
    IxicareTLSError,
)
from .models import (
    AlertAction,
    AlertEvent,
    AlertUpdate,
    AlertUpdateResponse,
    ConnectionState,
    HeartbeatEvent,
)
from .parser import normalize_mac, parse_alerts_message, parse_heartbeat

_LOGGER = logging.getLogger(__name__)

EVENT_ALERTS = "alerts"
EVENT_HEARTBEATS = "heartbeats"
DEFAULT_SOCKETIO_PATH = "ws"
DEFAULT_NAMESPACE = "/"
AUTH_FAILURE_STATUSES = frozenset({401, 403})
HEALTH_CHECK_INTERVAL = 5.0
# How long after a command timed out the next answer for the same alert and
# action is taken for that command's late answer (and discarded).
LATE_ANSWER_WINDOW = 60.0
# The longest the receive path keeps the event loop before giving it a turn.
MESSAGE_SLICE = 0.005


class _Signal:
    """An event name no server can send: JSON text never decodes to it."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<ixicare signal {self.name}>"


# The private event of frames the client cannot read (see _OrjsonCodec).
INVALID_FRAME_EVENT: Final = _Signal("invalid-frame")
# Event names python-socketio uses for its own signals: a server that sends
# an event by one of these names would reach the client's connection
# handlers (a forged disconnection or refusal). Such events are invalid.
RESERVED_EVENTS: Final = frozenset(
    {"connect", "connect_error", "disconnect", "__disconnect_final"}
) | frozenset(getattr(socketio.AsyncClient, "reserved_events", ()))


class _OrjsonCodec:
    """The `json` module interface socket.io packets use, backed by orjson.

    A frame orjson cannot read (NaN, deeper nesting than it allows) is tried
    again with the standard library; a frame neither can read, or an event
    that bears the name of one of python-socketio's own signals, becomes a
    private event (named by an object, not a string, so no server can send
    it), counted like any invalid message instead of raising inside
    python-socketio's receive task.
    """

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(data: str | bytes, **kwargs: Any) -> Any:
        try:
            result = orjson.loads(data)
        except orjson.JSONDecodeError:
            try:
                result = json.loads(data)
            except (ValueError, RecursionError) as err:
                return [INVALID_FRAME_EVENT, f"unreadable JSON ({type(err).__name__})"]
        if (
            type(result) is list
            and result
            and type(result[0]) is str
            and result[0] in RESERVED_EVENTS
        ):
            return [INVALID_FRAME_EVENT, "an event named after a reserved signal"]
        return result


class _OrjsonPacket(sio_packet.Packet):  # type: ignore[misc]
    """socket.io packet encoded with orjson, for this client only."""

    json = _OrjsonCodec


class _LibraryLogger:
    """What python-socketio and python-engineio log, at debug level in ours.

    Given `logger=False`, both libraries log to a logger of their own with a
    handler to stderr added, so lines such as "packet queue is empty,
    aborting" reach the console at ERROR level for events the client handles
    (a closed connection). Passed this instead, they log nothing elsewhere.
    """

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def _log(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        if self._logger.isEnabledFor(logging.DEBUG):
            kwargs.pop("stacklevel", None)
            # The libraries log what the server sent (whole packets): cut,
            # without control characters, so it cannot flood or forge lines.
            self._logger.debug(_short(msg), *map(_short, args), stacklevel=3, **kwargs)

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._log(msg, *args, **kwargs)

    info = warning = error = critical = debug

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        self._log(msg, *args, **kwargs)

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        self._log(msg, *args, **kwargs)

    def isEnabledFor(self, level: int) -> bool:
        return self._logger.isEnabledFor(logging.DEBUG)


LIBRARY_LOG_TEXT = 300
_CONTROL_CHARACTERS = dict.fromkeys([*range(32), 127], "?")


def _short(value: Any) -> Any:
    """Return a text of a log line's argument cut and without control characters."""
    if isinstance(value, (bytes, bytearray)):
        value = f"<{len(value)} bytes>"
    if not isinstance(value, str):
        return value
    if len(value) > LIBRARY_LOG_TEXT:
        value = f"{value[:LIBRARY_LOG_TEXT]}... ({len(value)} characters)"
    return value.translate(_CONTROL_CHARACTERS)


_SOCKETIO_LOGGER = _LibraryLogger(f"{__name__}.socketio")
_ENGINEIO_LOGGER = _LibraryLogger(f"{__name__}.engineio")


_SIO_EVENT = str(sio_packet.EVENT)


class _InlineEngineIOClient(engineio.AsyncClient):  # type: ignore[misc]
    """An Engine.IO client that handles each message where it is read.

    python-engineio makes a task of every message, so all the messages of one
    socket read (hundreds in a burst or a replay) run in a single loop
    iteration that nothing else can interrupt. Here the read loop hands each
    message to socket.io in turn, in the order read, and yields to the event
    loop once it has been busy for `MESSAGE_SLICE`: other work waits about
    that long at most, no task is made per message, and the socket is not read
    further while a backlog is handled.
    """

    _slice_start = 0.0

    async def _receive_packet(self, pkt: eio_packet.Packet) -> None:
        # Only socket.io EVENT packets: the others stay in tasks of their own
        # (a DISCONNECT handled here would wait for this very read loop).
        if pkt.packet_type != eio_packet.MESSAGE or not (
            isinstance(pkt.data, str) and pkt.data[:1] == _SIO_EVENT
        ):
            await super()._receive_packet(pkt)
            return
        # socket.io's own (async) handler, called without `_trigger_event`'s
        # per-call coroutine check. IxicareClient wraps it to count any error
        # as an invalid message; this only keeps the read loop alive.
        try:
            await self.handlers["message"](pkt.data)
        except Exception:
            self.logger.exception("message async handler error")
        now = time.monotonic()
        if now - self._slice_start >= MESSAGE_SLICE:
            await asyncio.sleep(0)
            self._slice_start = time.monotonic()


class _AsyncClient(socketio.AsyncClient):  # type: ignore[misc]
    """socket.io client over `_InlineEngineIOClient`.

    Events of `sync_namespace` with a handler in `sync_handlers` go straight to
    it: python-socketio would look the handler up and check whether it is a
    coroutine function on every message.
    """

    sync_namespace = DEFAULT_NAMESPACE
    sync_handlers: dict[str, Callable[..., None]] = {}

    async def _trigger_event(self, event: str, namespace: str, *args: Any) -> Any:
        if namespace == self.sync_namespace and (
            handler := self.sync_handlers.get(event)
        ):
            return handler(*args)
        return await super()._trigger_event(event, namespace, *args)

    def _engineio_client_class(self) -> type[engineio.AsyncClient]:
        return _InlineEngineIOClient


def _parameters(function: Any) -> list[tuple[str, Any]]:
    return [
        (name, parameter.kind)
        for name, parameter in inspect.signature(function).parameters.items()
    ]


def _check_fast_path() -> bool:
    """Return True when the private hooks of the fast receive path behave.

    `_InlineEngineIOClient` and `_AsyncClient` override private methods of
    python-engineio and python-socketio, which any release may change. The
    fast path is used only where those methods exist with the signatures
    known here and a client built with them is wired as expected; otherwise
    python-socketio's stock path is used (slower, the same behaviour).
    """
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    try:
        receive = getattr(engineio.AsyncClient, "_receive_packet", None)
        trigger = getattr(socketio.AsyncClient, "_trigger_event", None)
        eio_class = getattr(socketio.AsyncClient, "_engineio_client_class", None)
        hooks_ok = (
            inspect.iscoroutinefunction(receive)
            and _parameters(receive) == [("self", positional), ("pkt", positional)]
            and inspect.iscoroutinefunction(trigger)
            and _parameters(trigger)
            == [
                ("self", positional),
                ("event", positional),
                ("namespace", positional),
                ("args", inspect.Parameter.VAR_POSITIONAL),
            ]
            and callable(eio_class)
            and _parameters(eio_class) == [("self", positional)]
            and isinstance(eio_packet.MESSAGE, int)
            and isinstance(sio_packet.EVENT, int)
        )
        if hooks_ok:
            probe = _AsyncClient(
                reconnection=False,
                handle_sigint=False,
                logger=_SOCKETIO_LOGGER,
                engineio_logger=_ENGINEIO_LOGGER,
            )
            pkt = eio_packet.Packet(eio_packet.MESSAGE, data=f"{_SIO_EVENT}[]")
            hooks_ok = (
                type(probe.eio) is _InlineEngineIOClient
                and inspect.iscoroutinefunction(probe.eio.handlers.get("message"))
                and pkt.packet_type == eio_packet.MESSAGE
                and pkt.data == f"{_SIO_EVENT}[]"
            )
    except Exception:
        _LOGGER.debug("Checking the fast receive path failed", exc_info=True)
        hooks_ok = False
    if not hooks_ok:
        _LOGGER.info(
            "python-socketio %s / python-engineio %s: the fast receive path's "
            "hooks are not as expected; using python-socketio's stock path",
            _version("python-socketio"),
            _version("python-engineio"),
        )
    return bool(hooks_ok)


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "(unknown version)"


@functools.cache
def fast_path_available() -> bool:
    """Check once per process whether the fast receive path can be used."""
    return _check_fast_path()


class _TrackedSession:
    """The caller's aiohttp session, keeping the WebSockets opened through it.

    python-engineio leaves the WebSocket of a handshake open when it raises
    on a malformed OPEN packet; the client closes it then.
    """

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    async def ws_connect(
        self, *args: Any, **kwargs: Any
    ) -> aiohttp.ClientWebSocketResponse:
        ws = await self._session.ws_connect(*args, **kwargs)
        self.sockets.append(ws)
        return ws

    async def close_sockets(self) -> None:
        sockets, self.sockets = self.sockets, []
        for ws in sockets:
            if not ws.closed:
                try:
                    await ws.close()
                except Exception:
                    _LOGGER.debug("Error closing a WebSocket", exc_info=True)


@dataclass(slots=True)
class Backoff:
    """Exponential backoff with full jitter."""

    base: float = 1.0
    cap: float = 300.0
    attempt: int = 0

    def next_delay(self) -> float:
        """Return the next delay and count the attempt."""
        ceiling = min(self.cap, self.base * 2 ** min(self.attempt, 32))
        self.attempt += 1
        return random.uniform(0, ceiling)

    def reset(self) -> None:
        """Start again from the base delay."""
        self.attempt = 0


@dataclass(slots=True)
class ClientStats:
    """Counters of what the client received."""

    alerts: int = 0
    heartbeats: int = 0
    responses: int = 0
    invalid: int = 0
    connections: int = 0
    disconnections: int = 0
    watchdog_restarts: int = 0
    late_answers: int = 0
    last_message: float | None = None
    last_error: str | None = None


def _names_unknown_namespace(data: Any) -> bool:
    """Return True for socket.io's answer to a namespace it does not serve.

    socket.io 4 (JavaScript) sends {"message": "Invalid namespace"};
    python-socketio sends "Unable to connect".
    """
    if isinstance(data, dict):
        data = data.get("message")
    return data in ("Invalid namespace", "Unable to connect")


def _status_from_chain(err: BaseException | None) -> int | None:
    """Return the HTTP status of a refused handshake found in an exception chain."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        status = getattr(err, "status", None)
        if isinstance(err, aiohttp.ClientResponseError) and isinstance(status, int):
            return status
        err = err.__cause__ or err.__context__
    return None


def _tls_error_in_chain(err: BaseException | None) -> str | None:
    """Return why certificate verification failed, if it did."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, aiohttp.ClientConnectorCertificateError):
            err = err.certificate_error
        if isinstance(err, ssl.SSLCertVerificationError):
            return str(getattr(err, "verify_message", None) or err)
        err = err.__cause__ or err.__context__
    return None


class IxicareClient:
    """Client of one ixicare site."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        url: str,
        site_uuid: str,
        token: str,
        socketio_path: str = DEFAULT_SOCKETIO_PATH,
        namespace: str = DEFAULT_NAMESPACE,
        on_alert: Callable[[AlertEvent], None] | None = None,
        on_heartbeat: Callable[[HeartbeatEvent], None] | None = None,
        on_state: Callable[[ConnectionState], None] | None = None,
        on_invalid: Callable[[str, Any, Exception], None] | None = None,
        on_response: Callable[[AlertUpdateResponse], None] | None = None,
        backoff: Backoff | None = None,
        stable_after: float = 30.0,
        idle_timeout: float | None = None,
        late_answer_window: float = LATE_ANSWER_WINDOW,
        fast_path: bool | None = None,
    ) -> None:
        """Set the client up; nothing connects until `connect` or `start`.

        `fast_path` None uses the fast receive path where the installed
        python-socketio and python-engineio allow it; False forces the stock
        path.
        """
        self._session = session
        self._url = url.rstrip("/")
        self.site_uuid = site_uuid
        self._token = token
        self._socketio_path = socketio_path.strip("/") or DEFAULT_SOCKETIO_PATH
        self._namespace = namespace or DEFAULT_NAMESPACE
        self._on_alert = on_alert
        self._on_heartbeat = on_heartbeat
        self._on_state = on_state
        self._on_invalid = on_invalid
        self._on_response = on_response
        self._backoff = backoff or Backoff()
        self._stable_after = stable_after
        self.idle_timeout = idle_timeout
        self.state = ConnectionState.DISCONNECTED
        self.stats = ClientStats()
        self._sio: socketio.AsyncClient | None = None
        self._connecting: socketio.AsyncClient | None = None
        self._disconnected = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._closing = False
        self._emit_lock = asyncio.Lock()
        self._pending: dict[
            tuple[str, AlertAction], deque[asyncio.Future[AlertUpdateResponse]]
        ] = {}
        self._connect_error: Any = None
        self._http = _TrackedSession(session)
        # Keys of commands that timed out: (late answers still expected,
        # until when the next answers for the key are taken for them).
        self._late: dict[tuple[str, AlertAction], tuple[int, float]] = {}
        self.late_answer_window = late_answer_window
        self.fast_path = fast_path_available() if fast_path is None else fast_path
        # Set at each failed attempt: the server does not serve the namespace.
        self.invalid_namespace = False
        self._failures = 0

    def __repr__(self) -> str:
        """Describe the client without its token."""
        return (
            f"IxicareClient(url={self._url!r}, site_uuid={self.site_uuid!r}, "
            f"state={self.state.value!r})"
        )

    @property
    def connected(self) -> bool:
        """Return True while a session is established."""
        return self.state is ConnectionState.CONNECTED

    def set_token(self, token: str) -> None:
        """Use a new token from the next connection attempt on."""
        self._token = token

    # -- connection ---------------------------------------------------------

    def _set_state(self, state: ConnectionState) -> None:
        if state is self.state:
            return
        self.state = state
        if self._on_state is not None:
            self._on_state(state)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def _netloc(self) -> str:
        """Return host and port of the URL, never the credentials it may carry."""
        parts = urlsplit(self._url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        try:
            port = parts.port
        except ValueError:
            port = None
        return host if port is None else f"{host}:{port}"

    def _connect_url(self) -> str:
        parts = urlsplit(self._url)
        query = urlencode({"site_uuid": self.site_uuid})
        return urlunsplit((parts.scheme, self._netloc(), "", query, ""))

    def _new_sio(self) -> socketio.AsyncClient:
        self._http = _TrackedSession(self._session)
        options: dict[str, Any] = {
            "reconnection": False,
            "handle_sigint": False,
            "http_session": self._http,
            "serializer": _OrjsonPacket,
            "logger": _SOCKETIO_LOGGER,
            "engineio_logger": _ENGINEIO_LOGGER,
        }
        namespace = self._namespace
        handlers: dict[Any, Callable[..., None]] = {
            EVENT_ALERTS: self._handle_alerts,
            EVENT_HEARTBEATS: self._handle_heartbeats,
            INVALID_FRAME_EVENT: self._handle_invalid_frame,
        }
        sio: socketio.AsyncClient
        if self.fast_path:
            fast = _AsyncClient(**options)
            fast.sync_namespace = namespace
            fast.sync_handlers = handlers
            sio = fast
        else:
            sio = socketio.AsyncClient(**options)
            for event, handler in handlers.items():
                sio.on(event, handler, namespace=namespace)
        self._guard_messages(sio)

        def handle_disconnect(reason: Any = None) -> None:
            # A late disconnection of an earlier session must not end this one.
            if sio is self._sio or sio is self._connecting:
                self._on_lost("disconnected")

        sio.on("disconnect", handle_disconnect, namespace=namespace)
        sio.on("connect_error", self._handle_connect_error, namespace=namespace)
        return sio

    def _guard_messages(self, sio: socketio.AsyncClient) -> None:
        """Count any error in the handling of a message as an invalid message.

        python-engineio would log it with a traceback at ERROR level, for
        every such message, and count nothing.
        """
        handle = getattr(sio.eio, "handlers", {}).get("message")
        if not inspect.iscoroutinefunction(handle):
            return

        async def handle_message(data: Any) -> None:
            try:
                await handle(data)
            except Exception as err:  # noqa: BLE001 - any failure is an invalid message
                self._invalid_frame(err)

        sio.eio.on("message", handle_message)

    async def connect(self, timeout: float = 10.0) -> None:
        """Open one session, or raise IxicareAuthError / IxicareConnectionError."""
        if self._closing:
            raise IxicareConnectionError("client is closed")
        self._set_state(ConnectionState.CONNECTING)
        if (old := self._sio) is not None:
            self._sio = None
            await self._shutdown_sio(old)
        sio = self._connecting = self._new_sio()
        self._connect_error = None
        self._disconnected.clear()
        try:
            async with asyncio.timeout(timeout):
                await sio.connect(
                    self._connect_url(),
                    headers=self._headers(),
                    transports=["websocket"],
                    namespaces=[self._namespace],
                    socketio_path=self._socketio_path,
                    wait_timeout=timeout,
                )
        except (
            socketio.exceptions.ConnectionError,
            TimeoutError,
            aiohttp.ClientError,
        ) as err:
            self._connecting = None
            await self._shutdown_sio(sio)
            self.invalid_namespace = _names_unknown_namespace(self._connect_error)
            auth = not self.invalid_namespace and (
                isinstance(self._connect_error, dict)
                or await self._is_auth_failure(err, timeout)
            )
            self._set_state(
                ConnectionState.AUTH_FAILED if auth else ConnectionState.DISCONNECTED
            )
            if auth:
                raise IxicareAuthError("the server refused the token") from None
            if self.invalid_namespace:
                raise IxicareNamespaceError(
                    f"the server does not serve the namespace {self._namespace!r}"
                ) from None
            if (tls := _tls_error_in_chain(err)) is not None:
                raise IxicareTLSError(
                    f"the server's TLS certificate is not trusted: {tls}"
                ) from None
            reason = "timed out" if isinstance(err, TimeoutError) else str(err)
            raise IxicareConnectionError(f"cannot connect: {reason}") from None
        except Exception as err:  # noqa: BLE001 - see below
            # python-engineio raises TypeError when the server closes the
            # WebSocket before its OPEN packet (a server going down), and
            # ValueError or KeyError on a malformed OPEN packet.
            self._connecting = None
            await self._shutdown_sio(sio)
            await self._http.close_sockets()
            self.invalid_namespace = False
            self._set_state(ConnectionState.DISCONNECTED)
            raise IxicareConnectionError(
                "cannot connect: the server broke the handshake off "
                f"({type(err).__name__})"
            ) from None
        self._connecting = None
        self.invalid_namespace = False
        self._http.sockets.clear()
        if not self._session_alive(sio):
            # The server dropped the session while it was being set up.
            await self._shutdown_sio(sio)
            self._set_state(ConnectionState.DISCONNECTED)
            raise IxicareConnectionError("cannot connect: closed during the handshake")
        self._sio = sio
        self.stats.connections += 1
        self.stats.last_message = time.monotonic()
        self._set_state(ConnectionState.CONNECTED)

    async def _is_auth_failure(self, err: BaseException, timeout: float) -> bool:
        """Tell a refused token apart from network trouble."""
        status = _status_from_chain(err)
        if status is None and not isinstance(err, TimeoutError):
            status = await self._probe_status(timeout)
        return status in AUTH_FAILURE_STATUSES

    async def _probe_status(self, timeout: float) -> int | None:
        """Repeat the WebSocket handshake alone and return its HTTP status."""
        parts = urlsplit(self._url)
        scheme = "wss" if parts.scheme in ("https", "wss") else "ws"
        query = urlencode(
            {"site_uuid": self.site_uuid, "EIO": "4", "transport": "websocket"}
        )
        url = urlunsplit(
            (scheme, self._netloc(), f"/{self._socketio_path}/", query, "")
        )
        try:
            async with asyncio.timeout(timeout):
                ws = await self._session.ws_connect(url, headers=self._headers())
                await ws.close()
        except aiohttp.WSServerHandshakeError as err:
            return err.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            return None
        return None

    async def _shutdown_sio(self, sio: socketio.AsyncClient) -> None:
        try:
            await sio.shutdown()
        except Exception:
            _LOGGER.debug("Error while closing the socket.io session", exc_info=True)

    def start(self) -> None:
        """Run the supervisor: keep a session open until `close`."""
        if not self._closing and (self._supervisor is None or self._supervisor.done()):
            self._start_supervisor(0.0)

    def _start_supervisor(self, delay: float) -> None:
        task = asyncio.get_running_loop().create_task(
            self._supervise(delay), name=f"ixicare supervisor {self.site_uuid}"
        )
        task.add_done_callback(self._supervisor_done)
        self._supervisor = task

    def _supervisor_done(self, task: asyncio.Task[None]) -> None:
        """Start the supervisor again should it ever end by an error."""
        if task.cancelled() or self._closing or self._supervisor is not task:
            return
        if (err := task.exception()) is None:
            return  # it stopped on purpose (a refused token)
        _LOGGER.error(
            "ixicare site %s: the connection supervisor failed (%s); restarting it",
            self.site_uuid,
            type(err).__name__,
            exc_info=err,
        )
        self._start_supervisor(self._backoff.next_delay())

    async def _supervise(self, delay: float = 0.0) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        while not self._closing:
            try:
                if not self.connected:
                    await self.connect()
                    self._failures = 0
                connected_at = time.monotonic()
                await self._wait_disconnected()
                if time.monotonic() - connected_at >= self._stable_after:
                    self._backoff.reset()
            except IxicareAuthError:
                _LOGGER.warning(
                    "ixicare site %s refused the token; not retrying",
                    self.site_uuid,
                )
                return
            except Exception as err:  # noqa: BLE001 - nothing may end the loop
                self._attempt_failed(err)
            if not self._closing:
                await asyncio.sleep(self._backoff.next_delay())

    def _attempt_failed(self, err: Exception) -> None:
        """Log the first failure of a series once; the rest at debug level."""
        self._failures += 1
        self.stats.last_error = str(err)
        expected = isinstance(err, IxicareConnectionError)
        if not expected and self.state is not ConnectionState.CONNECTED:
            self._set_state(ConnectionState.DISCONNECTED)
        if self._failures > 1:
            _LOGGER.debug(
                "ixicare site %s: %s; retrying", self.site_uuid, err, exc_info=err
            )
            return
        level = (
            logging.INFO
            if expected and not isinstance(err, IxicareNamespaceError)
            else logging.WARNING
        )
        _LOGGER.log(
            level,
            "ixicare site %s: %s; retrying with backoff",
            self.site_uuid,
            err if expected else f"unexpected error {err!r:.200}",
            exc_info=None if expected else err,
        )

    @staticmethod
    def _session_alive(sio: socketio.AsyncClient) -> bool:
        return bool(sio.connected) and sio.eio.state == "connected"

    async def _wait_disconnected(self) -> None:
        """Wait for the session to end; close it when it stays silent too long.

        The session is also checked every few seconds: python-socketio does not
        report a disconnection that happens while the handshake completes.
        """
        while not self._disconnected.is_set():
            sio = self._sio
            if sio is None or not self._session_alive(sio):
                await self._drop_session()
                return
            wait = HEALTH_CHECK_INTERVAL
            if self.idle_timeout is not None:
                last = self.stats.last_message or time.monotonic()
                remaining = last + self.idle_timeout - time.monotonic()
                if remaining <= 0:
                    self.stats.watchdog_restarts += 1
                    _LOGGER.warning(
                        "ixicare site %s delivered nothing for %.0f s; reconnecting",
                        self.site_uuid,
                        self.idle_timeout,
                    )
                    await self._drop_session()
                    return
                wait = min(wait, remaining)
            try:
                async with asyncio.timeout(wait):
                    await self._disconnected.wait()
            except TimeoutError:
                continue

    async def _drop_session(self) -> None:
        sio, self._sio = self._sio, None
        self._on_lost("connection closed")
        if sio is not None:
            await self._shutdown_sio(sio)

    def _handle_connect_error(self, data: Any = None) -> None:
        # A CONNECT_ERROR packet on the namespace is socket.io's way of
        # refusing the credentials (`data` is {"message": ...}), or of saying
        # that it does not serve the namespace (see _names_unknown_namespace).
        self._connect_error = data

    def _on_lost(self, reason: str) -> None:
        if self._disconnected.is_set() and self.state is not ConnectionState.CONNECTED:
            return
        self._disconnected.set()
        self.stats.disconnections += 1
        self._fail_pending(IxicareConnectionError(f"{reason} before the answer came"))
        # Answers come on the session the command was sent on: none of the
        # late ones can arrive on the next.
        self._late.clear()
        if not self._closing:
            self._set_state(ConnectionState.DISCONNECTED)

    def _fail_pending(self, err: Exception) -> None:
        pending, self._pending = self._pending, {}
        for futures in pending.values():
            for future in futures:
                if not future.done():
                    future.set_exception(err)

    async def close(self) -> None:
        """Stop the supervisor and the session; fail pending commands."""
        self._closing = True
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            try:
                await supervisor
            except asyncio.CancelledError:
                # Ours, unless close() itself is being cancelled.
                if (task := asyncio.current_task()) is not None and task.cancelling():
                    raise
            except Exception:
                _LOGGER.debug("The supervisor had failed", exc_info=True)
        connecting, self._connecting = self._connecting, None
        if connecting is not None:
            await self._shutdown_sio(connecting)
        sio, self._sio = self._sio, None
        self._disconnected.set()
        self._fail_pending(IxicareConnectionError("the client was closed"))
        if sio is not None:
            await self._shutdown_sio(sio)
        self._set_state(ConnectionState.CLOSED)

    # -- receive path (synchronous: keeps the order messages arrived in) ----

    def _invalid(self, topic: str, payload: Any, err: Exception) -> None:
        self.stats.invalid += 1
        self.stats.last_error = f"{topic}: {err}"
        if self._on_invalid is not None:
            try:
                self._on_invalid(topic, payload, err)
            except Exception:
                _LOGGER.debug("Error reporting an invalid message", exc_info=True)

    def _handle_alerts(self, payload: Any = None, *_: Any) -> None:
        self.stats.last_message = time.monotonic()
        try:
            message = parse_alerts_message(payload)
            if isinstance(message, AlertUpdateResponse):
                self.stats.responses += 1
                self._resolve_pending(message)
                # Every answer, also a late one to a command that timed out:
                # a SUCCESS is the server's word that the alert changed.
                if self._on_response is not None:
                    self._on_response(message)
                return
            self.stats.alerts += 1
            if self._on_alert is not None:
                self._on_alert(message)
        except Exception as err:  # noqa: BLE001 - every failure is an invalid message
            self._failed(EVENT_ALERTS, payload, err)

    def _handle_invalid_frame(self, reason: Any = None, *_: Any) -> None:
        self.stats.last_message = time.monotonic()
        self._invalid("frame", None, IxicareParseError("message", str(reason)))

    def _invalid_frame(self, err: Exception) -> None:
        """A frame whose handling failed before it reached a handler."""
        self.stats.last_message = time.monotonic()
        _LOGGER.debug("Cannot handle an ixicare frame", exc_info=err)
        self._invalid(
            "frame",
            None,
            IxicareParseError("message", f"cannot be handled ({type(err).__name__})"),
        )

    def _handle_heartbeats(self, payload: Any = None, *_: Any) -> None:
        self.stats.last_message = time.monotonic()
        try:
            message = parse_heartbeat(payload)
            self.stats.heartbeats += 1
            if self._on_heartbeat is not None:
                self._on_heartbeat(message)
        except Exception as err:  # noqa: BLE001 - every failure is an invalid message
            self._failed(EVENT_HEARTBEATS, payload, err)

    def _failed(self, topic: str, payload: Any, err: Exception) -> None:
        if not isinstance(err, IxicareParseError):
            # A value the parser let through that the handling then choked
            # on, or a bug: counted like any invalid message, the traceback
            # at debug level only.
            _LOGGER.debug("Error handling an ixicare %s message", topic, exc_info=err)
            err = IxicareParseError("message", f"cannot be handled ({err!r:.200})")
        self._invalid(topic, payload, err)

    def _resolve_pending(self, response: AlertUpdateResponse) -> None:
        if (late := self._late.pop(response.key, None)) is not None:
            count, until = late
            if count > 1:
                self._late[response.key] = (count - 1, until)
            if time.monotonic() < until:
                # The protocol has no correlation id: the first answer after
                # a command timed out is taken for that command's late one.
                self.stats.late_answers += 1
                return
        futures = self._pending.get(response.key)
        while futures:
            future = futures.popleft()
            if not future.done():
                future.set_result(response)
                break
        if futures is not None and not futures:
            self._pending.pop(response.key, None)

    # -- commands -----------------------------------------------------------

    async def update_alert(
        self,
        device_id: str,
        alert_id: str,
        action: AlertAction,
        timeout: float = 15.0,
    ) -> AlertUpdateResponse:
        """Send ACCEPT or RESOLVE and return the server's answer."""
        sio = self._sio
        if sio is None or not self.connected:
            raise IxicareNotConnectedError("not connected to the ixicare server")
        update = AlertUpdate(
            device_id=normalize_mac(device_id),
            alert_id=alert_id,
            action=AlertAction(action),
        )
        key = (alert_id.lower(), update.action)
        future: asyncio.Future[AlertUpdateResponse] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending.setdefault(key, deque()).append(future)
        try:
            async with self._emit_lock:
                await sio.emit(
                    EVENT_ALERTS, update.as_dict(), namespace=self._namespace
                )
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            count, _until = self._late.get(key, (0, 0.0))
            self._late[key] = (
                count + 1,
                time.monotonic() + self.late_answer_window,
            )
            raise IxicareCommandTimeoutError(
                f"no answer to {update.action.value} within {timeout:g} s"
            ) from None
        except socketio.exceptions.SocketIOError as err:
            raise IxicareConnectionError(f"cannot send the command: {err}") from None
        finally:
            futures = self._pending.get(key)
            if futures is not None and future in futures:
                futures.remove(future)
                if not futures:
                    del self._pending[key]
