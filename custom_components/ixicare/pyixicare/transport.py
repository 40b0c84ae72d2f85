"""python-socketio and python-engineio, adapted for the ixicare client.

Everything here leans on the two libraries: the orjson codec and packet
class, the logger their lines go to, the inline Engine.IO client and the
socket.io client of the fast receive path, the check that their private hooks
are as expected, and the aiohttp session wrapper that keeps the WebSockets of
a handshake. No state of a site lives here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import functools
import importlib.metadata
import inspect
import json
import logging
import time
from typing import Any, Final

import aiohttp
import engineio
from engineio import packet as eio_packet
import orjson
import socketio
from socketio import packet as sio_packet

_LOGGER = logging.getLogger(__name__)

EVENT_ALERTS = "alerts"
EVENT_HEARTBEATS = "heartbeats"
DEFAULT_SOCKETIO_PATH = "ws"
DEFAULT_NAMESPACE = "/"
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
