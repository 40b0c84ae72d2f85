"""The socket.io side: auth, handshake modes, sessions, engine.io tasks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
import contextlib
from functools import partial
import hmac
import logging
import time
from typing import Any, Final

from aiohttp import WSCloseCode, web
import socketio  # type: ignore[import-untyped, unused-ignore]

from .downlink import DownlinkMixin
from .model import EVENT_ALERTS, site_key

_LOGGER = logging.getLogger(__name__)

_MAX_HANDSHAKES: Final = 1000
_CLOSE_TIMEOUT: Final = 1.0
CLOSE_DRAIN_TIMEOUT: Final = 0.5
GATE_SETTLE: Final = 0.01


class TransportMixin(DownlinkMixin):
    """Serve socket.io: the bearer token check, sessions and their gates."""

    # ------------------------------------------------------------------
    # Tokens, the handshake and its broken-off modes

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

    # ------------------------------------------------------------------
    # Sessions

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
    # python-engineio's background tasks

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
