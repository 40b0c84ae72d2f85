"""The session with one site: connection, supervisor, watchdog and backoff.

The supervisor keeps one session per site: it connects, reconnects forever
with exponential backoff and full jitter, closes a session that stays silent
longer than `idle_timeout`, and stops for good when the server refuses the
token (see auth.py for how a refusal is told from network trouble).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
import inspect
import logging
import random
import time
from typing import Any

import aiohttp
import socketio

from .auth import _Auth
from .exceptions import IxicareAuthError, IxicareConnectionError, IxicareNamespaceError
from .models import ConnectionState
from .transport import (
    _ENGINEIO_LOGGER,
    _SOCKETIO_LOGGER,
    EVENT_ALERTS,
    EVENT_HEARTBEATS,
    INVALID_FRAME_EVENT,
    _AsyncClient,
    _OrjsonPacket,
    _TrackedSession,
)

_LOGGER = logging.getLogger(__name__)

HEALTH_CHECK_INTERVAL = 5.0


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


class _Session(_Auth):
    """Open, watch and close the socket.io session; supervise reconnection."""

    idle_timeout: float | None
    fast_path: bool
    _on_state: Callable[[ConnectionState], None] | None
    _backoff: Backoff
    _stable_after: float
    _connecting: socketio.AsyncClient | None
    _disconnected: asyncio.Event
    _supervisor: asyncio.Task[None] | None
    _closing: bool
    _http: _TrackedSession
    _failures: int

    def _set_state(self, state: ConnectionState) -> None:
        if state is self.state:
            return
        self.state = state
        if self._on_state is not None:
            self._on_state(state)

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
            refusal = await self._refusal(err, timeout)
            self._set_state(
                ConnectionState.AUTH_FAILED
                if isinstance(refusal, IxicareAuthError)
                else ConnectionState.DISCONNECTED
            )
            raise refusal from None
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
