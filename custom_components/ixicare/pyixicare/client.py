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
import contextlib
from dataclasses import dataclass
import json
import logging
import random
import ssl
import time
from typing import Any
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
# The longest the receive path keeps the event loop before giving it a turn.
MESSAGE_SLICE = 0.005


INVALID_FRAME_EVENT = "ixicare:invalid-frame"


class _OrjsonCodec:
    """The `json` module interface socket.io packets use, backed by orjson.

    A frame orjson cannot read (NaN, deeper nesting than it allows) is tried
    again with the standard library; a frame neither can read becomes a
    private event, so it is counted like any invalid message instead of
    raising inside python-socketio's receive task.
    """

    @staticmethod
    def dumps(obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(data: str | bytes, **kwargs: Any) -> Any:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as err:
            return [INVALID_FRAME_EVENT, f"unreadable JSON ({type(err).__name__})"]


class _OrjsonPacket(sio_packet.Packet):  # type: ignore[misc]
    """socket.io packet encoded with orjson, for this client only."""

    json = _OrjsonCodec


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
        # per-call coroutine check; errors are logged as it would, never raised.
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
    last_message: float | None = None
    last_error: str | None = None


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
    ) -> None:
        """Set the client up; nothing connects until `connect` or `start`."""
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
        self._namespace_refused = False

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

    def _connect_url(self) -> str:
        parts = urlsplit(self._url)
        query = urlencode({"site_uuid": self.site_uuid})
        return urlunsplit((parts.scheme, parts.netloc, "", query, ""))

    def _new_sio(self) -> _AsyncClient:
        sio = _AsyncClient(
            reconnection=False,
            handle_sigint=False,
            http_session=self._session,
            serializer=_OrjsonPacket,
            logger=False,
            engineio_logger=False,
        )
        namespace = self._namespace
        sio.sync_namespace = namespace
        sio.sync_handlers = {
            EVENT_ALERTS: self._handle_alerts,
            EVENT_HEARTBEATS: self._handle_heartbeats,
            INVALID_FRAME_EVENT: self._handle_invalid_frame,
        }

        def handle_disconnect(reason: Any = None) -> None:
            # A late disconnection of an earlier session must not end this one.
            if sio is self._sio or sio is self._connecting:
                self._on_lost("disconnected")

        sio.on("disconnect", handle_disconnect, namespace=namespace)
        sio.on("connect_error", self._handle_connect_error, namespace=namespace)
        return sio

    async def connect(self, timeout: float = 10.0) -> None:
        """Open one session, or raise IxicareAuthError / IxicareConnectionError."""
        if self._closing:
            raise IxicareConnectionError("client is closed")
        self._set_state(ConnectionState.CONNECTING)
        if (old := self._sio) is not None:
            self._sio = None
            await self._shutdown_sio(old)
        sio = self._connecting = self._new_sio()
        self._namespace_refused = False
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
            auth = self._namespace_refused or await self._is_auth_failure(err, timeout)
            self._set_state(
                ConnectionState.AUTH_FAILED if auth else ConnectionState.DISCONNECTED
            )
            if auth:
                raise IxicareAuthError("the server refused the token") from None
            if (tls := _tls_error_in_chain(err)) is not None:
                raise IxicareTLSError(
                    f"the server's TLS certificate is not trusted: {tls}"
                ) from None
            reason = "timed out" if isinstance(err, TimeoutError) else str(err)
            raise IxicareConnectionError(f"cannot connect: {reason}") from None
        self._connecting = None
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
        url = urlunsplit((scheme, parts.netloc, f"/{self._socketio_path}/", query, ""))
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
        if self._supervisor is None or self._supervisor.done():
            self._supervisor = asyncio.get_running_loop().create_task(
                self._supervise(), name=f"ixicare supervisor {self.site_uuid}"
            )

    async def _supervise(self) -> None:
        while not self._closing:
            if not self.connected:
                try:
                    await self.connect()
                except IxicareAuthError:
                    _LOGGER.warning(
                        "ixicare site %s refused the token; not retrying",
                        self.site_uuid,
                    )
                    return
                except IxicareConnectionError as err:
                    self.stats.last_error = str(err)
                    delay = self._backoff.next_delay()
                    _LOGGER.debug(
                        "ixicare site %s: %s; next attempt in %.1f s",
                        self.site_uuid,
                        err,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    continue
            connected_at = time.monotonic()
            await self._wait_disconnected()
            if time.monotonic() - connected_at >= self._stable_after:
                self._backoff.reset()
            if not self._closing:
                await asyncio.sleep(self._backoff.next_delay())

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
        # refusing the credentials (`data` is {"message": ...}).
        self._namespace_refused = isinstance(data, dict)

    def _on_lost(self, reason: str) -> None:
        if self._disconnected.is_set() and self.state is not ConnectionState.CONNECTED:
            return
        self._disconnected.set()
        self.stats.disconnections += 1
        self._fail_pending(IxicareConnectionError(f"{reason} before the answer came"))
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
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
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
            self._on_invalid(topic, payload, err)

    def _handle_alerts(self, payload: Any = None, *_: Any) -> None:
        self.stats.last_message = time.monotonic()
        try:
            message = parse_alerts_message(payload)
        except IxicareParseError as err:
            self._invalid(EVENT_ALERTS, payload, err)
            return
        if isinstance(message, AlertUpdateResponse):
            self.stats.responses += 1
            self._resolve_pending(message)
            # Every answer, also one to a command that timed out: a SUCCESS
            # is the server's word that the alert changed.
            if self._on_response is not None:
                self._dispatch(self._on_response, message)
            return
        self.stats.alerts += 1
        if self._on_alert is not None:
            self._dispatch(self._on_alert, message)

    def _handle_invalid_frame(self, reason: Any = None, *_: Any) -> None:
        self.stats.last_message = time.monotonic()
        self._invalid("frame", None, IxicareParseError("message", str(reason)))

    def _handle_heartbeats(self, payload: Any = None, *_: Any) -> None:
        self.stats.last_message = time.monotonic()
        try:
            message = parse_heartbeat(payload)
        except IxicareParseError as err:
            self._invalid(EVENT_HEARTBEATS, payload, err)
            return
        self.stats.heartbeats += 1
        if self._on_heartbeat is not None:
            self._dispatch(self._on_heartbeat, message)

    def _dispatch(self, callback: Callable[[Any], None], message: Any) -> None:
        try:
            callback(message)
        except Exception as err:
            _LOGGER.exception("Error handling an ixicare message")
            self.stats.last_error = f"handler: {type(err).__name__}"

    def _resolve_pending(self, response: AlertUpdateResponse) -> None:
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
