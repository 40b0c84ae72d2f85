"""A python-socketio server that plays the ixicare cloud.

The simulator speaks the ixicare WebSocket protocol v2.0 (socket.io over
WebSocket, Engine.IO path ``/ws/``, ``site_uuid`` query parameter and
``Authorization: Bearer <token>`` header). It keeps the state of the devices and
alerts of each site, answers alert updates asynchronously, retains alert events
while no client of a site is connected and offers an HTTP control API.

:class:`IxicareSimulator` is its life cycle (start, stop, restart) on top of
the sections it combines: ``core`` (state, sites, devices, introspection),
``downlink`` (messages and retention), ``commands`` (uplinks), ``transport``
(socket.io, auth, handshake modes) and ``control`` (HTTP control API). The
data classes, constants and helpers are in ``model``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import logging

from aiohttp import web
import socketio  # type: ignore[import-untyped, unused-ignore]

from .commands import CommandsMixin
from .control import ControlMixin
from .core import SimulatorCore
from .downlink import DownlinkMixin
from .model import (
    ALERT_TYPES,
    COMMON_ZONES,
    DEFAULT_SITE,
    DEFAULT_TOKEN,
    EVENT_ALERTS,
    MODEL_IXI,
    MODEL_IXI_PRO,
    NIL_UUID,
    OUTDOOR_CENTER,
    SimDevice,
    is_loopback,
    mac_for,
    normalize_mac,
    site_key,
    zone_id_for,
)
from .tls import _TlsAcceptor
from .transport import _CLOSE_TIMEOUT, TransportMixin

_LOGGER = logging.getLogger(__name__)

# What ``ixicare_simulator.server`` offered before the split, still importable
# from here (tests, scripts, users' code).
__all__ = [
    "ALERT_TYPES",
    "COMMON_ZONES",
    "DEFAULT_SITE",
    "DEFAULT_TOKEN",
    "MODEL_IXI",
    "MODEL_IXI_PRO",
    "NIL_UUID",
    "OUTDOOR_CENTER",
    "IxicareSimulator",
    "SimDevice",
    "is_loopback",
    "mac_for",
    "normalize_mac",
    "site_key",
    "zone_id_for",
]


class IxicareSimulator(
    ControlMixin, TransportMixin, CommandsMixin, DownlinkMixin, SimulatorCore
):
    """A socket.io server that plays the ixicare cloud, for tests and demos.

    The constructor is :meth:`SimulatorCore.__init__` (``core.py``).
    """

    # ------------------------------------------------------------------
    # Life cycle

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
        if self._listener is not None:
            await _stop_accepting(self._listener)
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


async def _stop_accepting(listener: asyncio.Server) -> None:
    """Stop taking new connections, and let those already taken be set up.

    `asyncio.Server.close()` while an accepted connection still waits for its
    transport fails an assertion inside asyncio (CPython gh-109564, open), which
    the event loop reports as an error in debug mode, as in Home Assistant's
    tests. So the listening sockets stop being read first, and the loop gets a
    few turns to finish what it accepted before `close()` comes.
    """
    loop = asyncio.get_running_loop()
    for sock in listener.sockets:
        loop.remove_reader(sock.fileno())
    for _ in range(3):
        await asyncio.sleep(0)
