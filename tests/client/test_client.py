"""The client against the simulator over loopback: no mocked transport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
import contextlib
import itertools
import logging
import ssl
from typing import Any

import aiohttp
import engineio
import pytest
import socketio
import trustme

from custom_components.ixicare.pyixicare import (
    AlertAction,
    AlertEvent,
    AlertStatus,
    AlertType,
    Backoff,
    ConnectionState,
    HeartbeatEvent,
    IxicareAuthError,
    IxicareClient,
    IxicareCommandTimeoutError,
    IxicareConnectionError,
    IxicareNamespaceError,
    IxicareNotConnectedError,
    IxicareTLSError,
    UpdateResult,
    transport as client_module,
)
from custom_components.ixicare.pyixicare.transport import (
    INVALID_FRAME_EVENT,
    _OrjsonCodec,
)
from ixicare_simulator import IxicareSimulator

from ..conftest import OTHER_SITE, SITE_UUID, TOKEN
from ..helpers import LoopTurns

FAST = Backoff(base=0.02, cap=0.1)

# Every test runs with the fast receive path and with python-socketio's stock one.
pytestmark = pytest.mark.usefixtures("receive_path")


class Recorder:
    """Collects what the client reports."""

    def __init__(self) -> None:
        self.alerts: list[AlertEvent] = []
        self.heartbeats: list[HeartbeatEvent] = []
        self.states: list[ConnectionState] = []
        self.invalid: list[tuple[str, Any, Exception]] = []
        self.changed = asyncio.Event()

    def kwargs(self) -> dict[str, Any]:
        return {
            "on_alert": self._alert,
            "on_heartbeat": self._heartbeat,
            "on_state": self._state,
            "on_invalid": self._invalid,
        }

    def _alert(self, event: AlertEvent) -> None:
        self.alerts.append(event)
        self.changed.set()

    def _heartbeat(self, event: HeartbeatEvent) -> None:
        self.heartbeats.append(event)
        self.changed.set()

    def _state(self, state: ConnectionState) -> None:
        self.states.append(state)
        self.changed.set()

    def _invalid(self, topic: str, payload: Any, err: Exception) -> None:
        self.invalid.append((topic, payload, err))
        self.changed.set()

    async def until(self, predicate: Any, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


@pytest.fixture
async def session(socket_enabled: None) -> AsyncGenerator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


def make_client(
    sim: IxicareSimulator,
    http: aiohttp.ClientSession,
    recorder: Recorder | None = None,
    **kwargs: Any,
) -> IxicareClient:
    options: dict[str, Any] = {
        "url": sim.url,
        "site_uuid": SITE_UUID,
        "token": TOKEN,
        "backoff": Backoff(base=0.02, cap=0.1),
        **(recorder.kwargs() if recorder else {}),
        **kwargs,
    }
    return IxicareClient(http, **options)


async def test_receives_alerts_and_heartbeats_in_order(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    recorder = Recorder()
    client = make_client(simulator, session, recorder)
    await client.connect()
    try:
        assert client.connected
        await simulator.wait_for_clients(SITE_UUID, 1)
        device = simulator.make_devices(SITE_UUID, 1, seed=1)[0]
        for level in range(50, 100):
            await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=level)
        alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
        await recorder.until(lambda: len(recorder.alerts) == 1)
        assert [h.device.battery_level for h in recorder.heartbeats] == list(
            range(50, 100)
        )
        assert recorder.alerts[0].alert.id == alert_id
        assert recorder.alerts[0].alert.type is AlertType.MAN_DOWN
        assert client.stats.heartbeats == 50
        assert client.stats.alerts == 1
    finally:
        await client.close()
    assert recorder.states[0] is ConnectionState.CONNECTING
    assert ConnectionState.CONNECTED in recorder.states
    assert recorder.states[-1] is ConnectionState.CLOSED


@pytest.mark.parametrize("receive_path", ["fast"], indirect=True)
async def test_messages_are_handled_in_the_read_loop_in_slices(
    simulator: IxicareSimulator,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No task per message, and a burst gives the event loop a turn between slices."""
    monkeypatch.setattr(client_module, "MESSAGE_SLICE", 0.0)  # a turn after each
    turns = LoopTurns()
    seen: list[tuple[asyncio.Task[Any] | None, int, float | None]] = []

    def on_heartbeat(event: HeartbeatEvent) -> None:
        seen.append((asyncio.current_task(), turns.count, event.device.battery_level))

    client = make_client(simulator, session, on_heartbeat=on_heartbeat)
    await client.connect()
    try:
        mac = simulator.make_devices(SITE_UUID, 1, seed=2)[0].mac
        levels = list(range(1, 101))
        async with turns.counting():
            await asyncio.gather(
                *(
                    simulator.send_heartbeat(SITE_UUID, mac, battery_level=level)
                    for level in levels
                )
            )
            async with asyncio.timeout(5):
                while len(seen) < len(levels):
                    await asyncio.sleep(0.01)
        assert client._sio is not None
        assert {task for task, _, _ in seen} == {client._sio.eio.read_loop_task}
        assert [level for _, _, level in seen] == levels
        # Each message saw the event loop turn since the one before.
        at = [tick for _, tick, _ in seen]
        assert all(later > earlier for earlier, later in itertools.pairwise(at))
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("site", "token"),
    [
        (SITE_UUID, "wrong-token"),
        (SITE_UUID, ""),
        ("11111111-2222-4333-8444-555555555555", TOKEN),
    ],
)
async def test_refused_token_is_an_auth_failure(
    simulator: IxicareSimulator, session: aiohttp.ClientSession, site: str, token: str
) -> None:
    recorder = Recorder()
    client = make_client(simulator, session, recorder, site_uuid=site, token=token)
    with pytest.raises(IxicareAuthError) as err:
        await client.connect()
    assert token not in str(err.value) or not token
    assert client.state is ConnectionState.AUTH_FAILED
    await client.close()


async def test_network_error_is_not_an_auth_failure(
    session: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    client = IxicareClient(
        session,
        url=f"http://127.0.0.1:{unused_tcp_port}",
        site_uuid=SITE_UUID,
        token=TOKEN,
    )
    with pytest.raises(IxicareConnectionError) as err:
        await client.connect(timeout=2)
    assert not isinstance(err.value, IxicareAuthError)
    assert client.state is ConnectionState.DISCONNECTED
    await client.close()


@contextlib.asynccontextmanager
async def bare_server(sio: socketio.AsyncServer, port: int) -> AsyncIterator[str]:
    """Serve `sio` (a plain python-socketio server) on loopback; yield its URL."""
    app = aiohttp.web.Application()
    sio.attach(app, socketio_path="ws")
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    await aiohttp.web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await sio.shutdown()
        await runner.cleanup()


@pytest.mark.parametrize("expected_lingering_tasks", [True])
async def test_refused_namespace_is_an_auth_failure(
    session: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    """A server that refuses with a socket.io CONNECT_ERROR, as socket.io's hooks do."""
    sio = socketio.AsyncServer(async_mode="aiohttp")

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        raise socketio.exceptions.ConnectionRefusedError("not authorized")

    async with bare_server(sio, unused_tcp_port) as url:
        client = IxicareClient(session, url=url, site_uuid=SITE_UUID, token=TOKEN)
        try:
            with pytest.raises(IxicareAuthError):
                await client.connect(timeout=5)
        finally:
            await client.close()


@pytest.mark.parametrize("expected_lingering_tasks", [True])
async def test_a_socketio_disconnect_alone_ends_the_session(
    session: aiohttp.ClientSession,
    unused_tcp_port: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that ends the session with a DISCONNECT packet, and no Engine.IO close."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    sids: list[str] = []

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        sids.append(sid)

    recorder = Recorder()
    async with bare_server(sio, unused_tcp_port) as url:
        client = IxicareClient(
            session,
            url=url,
            site_uuid=SITE_UUID,
            token=TOKEN,
            backoff=FAST,
            **recorder.kwargs(),
        )
        try:
            client.start()
            await recorder.until(lambda: client.connected)
            await sio.emit("heartbeats", {"type": "HEARTBEAT"}, to=sids[0])
            await sio.disconnect(sids[0])
            # Seen at once (not by the periodic health check), then reconnected.
            await recorder.until(
                lambda: ConnectionState.DISCONNECTED in recorder.states
            )
            await recorder.until(lambda: client.connected and len(sids) == 2)
            assert recorder.invalid  # the event before the DISCONNECT was handled
        finally:
            await client.close()
    assert "handler error" not in caplog.text
    assert "cannot await on itself" not in caplog.text


async def test_reconnects_after_server_restart(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    recorder = Recorder()
    client = make_client(simulator, session, recorder)
    client.start()
    try:
        await recorder.until(lambda: client.connected)
        for _ in range(3):
            await simulator.restart()
            await recorder.until(
                lambda: (
                    recorder.states[-1] is ConnectionState.CONNECTED
                    and simulator.connected_clients(SITE_UUID) == 1
                )
            )
        assert client.stats.connections == 4
        assert recorder.states.count(ConnectionState.DISCONNECTED) >= 3
        device = simulator.make_devices(SITE_UUID, 1)[0]
        await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=42)
        await recorder.until(lambda: bool(recorder.heartbeats))
    finally:
        await client.close()


async def test_reconnects_after_server_side_disconnect(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    recorder = Recorder()
    client = make_client(simulator, session, recorder)
    client.start()
    try:
        await recorder.until(lambda: client.connected)
        await simulator.wait_for_clients(SITE_UUID, 1)
        await simulator.disconnect_clients(SITE_UUID)
        await recorder.until(lambda: client.stats.connections == 2 and client.connected)
    finally:
        await client.close()


async def test_retention_replays_latest_status(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    device = simulator.make_devices(SITE_UUID, 1)[0]
    # Raised and resolved while no client is connected: only the resolution comes.
    resolved = await simulator.raise_alert(SITE_UUID, device.mac, "PANIC_BUTTON")
    await simulator.set_alert_status(SITE_UUID, resolved, "RESOLVED")
    still_open = await simulator.raise_alert(SITE_UUID, device.mac, "GEOFENCING")
    recorder = Recorder()
    client = make_client(simulator, session, recorder)
    await client.connect()
    try:
        await recorder.until(lambda: len(recorder.alerts) == 2)
        seen = {(a.alert.id, a.alert.status) for a in recorder.alerts}
        assert seen == {
            (resolved, AlertStatus.RESOLVED),
            (still_open, AlertStatus.OPEN),
        }
    finally:
        await client.close()


async def test_concurrent_commands_are_correlated(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    devices = simulator.make_devices(SITE_UUID, 6)
    client = make_client(simulator, session)
    await client.connect()
    try:
        alerts = [
            (d.mac, await simulator.raise_alert(SITE_UUID, d.mac, "PANIC_BUTTON"))
            for d in devices
        ]
        # Answers come back in another order than asked.
        simulator.delay_next_command(SITE_UUID, 0.2)
        responses = await asyncio.gather(
            *(
                client.update_alert(mac, alert_id, AlertAction.ACCEPT, timeout=5)
                for mac, alert_id in alerts
            )
        )
        for (_, alert_id), response in zip(alerts, responses, strict=True):
            assert response.alert_id == alert_id
            assert response.action is AlertAction.ACCEPT
            assert response.result is UpdateResult.SUCCESS
        mac, alert_id = alerts[0]
        accept, resolve = await asyncio.gather(
            client.update_alert(mac, alert_id, AlertAction.ACCEPT, timeout=5),
            client.update_alert(mac, alert_id, AlertAction.RESOLVE, timeout=5),
        )
        assert accept.action is AlertAction.ACCEPT
        assert accept.result is UpdateResult.FAILURE
        assert resolve.action is AlertAction.RESOLVE
        assert resolve.result is UpdateResult.SUCCESS
        assert len(simulator.uplinks(SITE_UUID)) == 8
    finally:
        await client.close()


async def test_failure_carries_the_server_error(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(simulator, session)
    await client.connect()
    try:
        response = await client.update_alert(
            "00:02:04:06:08:0a",
            "4da86f15-16be-49f8-9430-3b3ca0585819",
            AlertAction.RESOLVE,
            timeout=5,
        )
        assert response.result is UpdateResult.FAILURE
        assert response.error == "Unknown alert"
    finally:
        await client.close()


async def test_unanswered_command_times_out(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    device = simulator.make_devices(SITE_UUID, 1)[0]
    client = make_client(simulator, session)
    await client.connect()
    try:
        alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
        simulator.ignore_next_command(SITE_UUID)
        with pytest.raises(IxicareCommandTimeoutError, match="within 0.3 s"):
            await client.update_alert(
                device.mac, alert_id, AlertAction.ACCEPT, timeout=0.3
            )
        assert not client._pending
    finally:
        await client.close()


async def test_disconnect_fails_pending_commands_at_once(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    device = simulator.make_devices(SITE_UUID, 1)[0]
    client = make_client(simulator, session)
    await client.connect()
    try:
        alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
        simulator.delay_next_command(SITE_UUID, 30)
        task = asyncio.ensure_future(
            client.update_alert(device.mac, alert_id, AlertAction.ACCEPT, timeout=30)
        )
        await simulator.wait_for_uplinks(SITE_UUID, 1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await simulator.disconnect_clients(SITE_UUID)
        with pytest.raises(IxicareConnectionError, match="before the answer"):
            await task
        assert loop.time() - started < 5
    finally:
        await client.close()


async def test_command_needs_a_connection(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(simulator, session)
    with pytest.raises(IxicareNotConnectedError):
        await client.update_alert(
            "00:02:04:06:08:0a", "x", AlertAction.ACCEPT, timeout=1
        )
    await client.close()


async def test_token_revoked_mid_session_stops_retrying(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    recorder = Recorder()
    client = make_client(simulator, session, recorder)
    client.start()
    try:
        await recorder.until(lambda: client.connected)
        before = len(simulator.handshakes(SITE_UUID))
        simulator.set_token(SITE_UUID, "a-new-token", revoke=True)
        await recorder.until(lambda: client.state is ConnectionState.AUTH_FAILED)
        await asyncio.sleep(0.3)
        attempts = simulator.handshakes(SITE_UUID)[before:]
        assert [a["authorized"] for a in attempts] == [False]
        assert recorder.states.count(ConnectionState.AUTH_FAILED) == 1
    finally:
        await client.close()


async def test_invalid_messages_are_counted_not_raised(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    recorder = Recorder()
    client = make_client(simulator, session, recorder)
    await client.connect()
    try:
        await simulator.wait_for_clients(SITE_UUID, 1)
        device = simulator.make_devices(SITE_UUID, 1)[0]
        for payload in ({"version": "1.0.0"}, "text", 12, None, [1, 2], b"\x00\xff"):
            await simulator.send_raw(SITE_UUID, "heartbeats", payload)
        await simulator.send_raw(SITE_UUID, "alerts", {"type": "ALERT"})
        await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=77)
        await recorder.until(lambda: bool(recorder.heartbeats))
        assert len(recorder.invalid) == 7
        assert client.stats.invalid == 7
        assert recorder.heartbeats[0].device.battery_level == 77
    finally:
        await client.close()


async def test_callback_errors_do_not_break_the_session(
    simulator: IxicareSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="custom_components.ixicare")
    seen: list[float] = []

    def on_heartbeat(event: HeartbeatEvent) -> None:
        seen.append(event.device.battery_level)
        if len(seen) == 1:
            raise RuntimeError("boom")

    client = make_client(simulator, session, on_heartbeat=on_heartbeat)
    await client.connect()
    try:
        await simulator.wait_for_clients(SITE_UUID, 1)
        device = simulator.make_devices(SITE_UUID, 1)[0]
        await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=10)
        await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=20)
        async with asyncio.timeout(5):
            while len(seen) < 2:
                await asyncio.sleep(0.01)
        # Counted as an invalid message; the traceback at debug level only.
        assert client.stats.invalid == 1
        assert "RuntimeError" in (client.stats.last_error or "")
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert "Error handling an ixicare heartbeats message" in caplog.text
        assert client.connected
    finally:
        await client.close()


async def test_watchdog_reopens_a_silent_connection(
    simulator: IxicareSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder()
    client = make_client(simulator, session, recorder, idle_timeout=0.3)
    client.start()
    try:
        await recorder.until(lambda: client.stats.connections >= 2, timeout=10)
        assert client.stats.watchdog_restarts >= 1
        assert "delivered nothing for" in caplog.text
    finally:
        await client.close()


async def test_tls_with_a_trusted_ca(socket_enabled: None) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    sim = IxicareSimulator(sites={SITE_UUID: TOKEN}, port=0, ssl_context=server_ctx)
    await sim.start()
    try:
        assert sim.url.startswith("https://")
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=client_ctx)
        ) as trusted:
            client = make_client(sim, trusted)
            await client.connect()
            assert client.connected
            await client.close()
        loop = asyncio.get_running_loop()
        # The server side of a refused TLS handshake reports a reset; not ours.
        loop.set_exception_handler(lambda _loop, _context: None)
        try:
            async with aiohttp.ClientSession() as untrusted:
                client = make_client(sim, untrusted)
                with pytest.raises(IxicareTLSError, match="certificate") as err:
                    await client.connect()
                assert not isinstance(err.value, IxicareAuthError)
                await client.close()
                await asyncio.sleep(0.1)
        finally:
            loop.set_exception_handler(None)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=False)
        ) as unverified:
            client = make_client(sim, unverified)
            await client.connect()
            assert client.connected
            await client.close()
    finally:
        await sim.stop()


async def test_close_leaves_nothing_running(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    before = asyncio.all_tasks()
    client = make_client(simulator, session)
    client.start()
    async with asyncio.timeout(5):
        while not client.connected:
            await asyncio.sleep(0.01)
    await client.close()
    await asyncio.sleep(0)
    # The server's own tasks (ping, service) are the simulator's business.
    leftover = [
        t
        for t in asyncio.all_tasks() - before
        if not t.done()
        and "engineio/async_server" not in repr(t)
        and "engineio/async_socket" not in repr(t)
        and "aiohttp/web_protocol" not in repr(t)
        and "ixicare_simulator" not in repr(t)
    ]
    assert leftover == []
    assert client.state is ConnectionState.CLOSED
    with pytest.raises(IxicareConnectionError):
        await client.connect()


async def test_token_never_in_repr_or_logs(
    simulator: IxicareSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(simulator, session)
    assert TOKEN not in repr(client)
    client.start()
    await simulator.wait_for_clients(SITE_UUID, 1)
    await simulator.restart()
    await simulator.wait_for_clients(SITE_UUID, 1)
    client.set_token("bad")
    await simulator.disconnect_clients(SITE_UUID)
    async with asyncio.timeout(5):
        while client.state is not ConnectionState.AUTH_FAILED:
            await asyncio.sleep(0.01)
    await client.close()
    assert TOKEN not in caplog.text
    assert "Bearer" not in caplog.text


def test_backoff_full_jitter() -> None:
    backoff = Backoff(base=1, cap=300)
    ceilings = [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    for ceiling in ceilings:
        assert 0 <= backoff.next_delay() <= ceiling
    backoff.reset()
    assert backoff.attempt == 0
    assert backoff.next_delay() <= 1


async def test_other_site_is_separate(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    recorder = Recorder()
    client = make_client(simulator, session, recorder)
    await client.connect()
    try:
        await simulator.wait_for_clients(SITE_UUID, 1)
        other = simulator.make_devices(OTHER_SITE, 1)[0]
        mine = simulator.make_devices(SITE_UUID, 1)[0]
        await simulator.send_heartbeat(OTHER_SITE, other.mac, battery_level=1)
        await simulator.send_heartbeat(SITE_UUID, mine.mac, battery_level=2)
        await recorder.until(lambda: bool(recorder.heartbeats))
        assert [h.device.battery_level for h in recorder.heartbeats] == [2]
    finally:
        await client.close()


def test_codec_reads_what_orjson_cannot() -> None:
    assert _OrjsonCodec.loads('{"a": NaN}')["a"] != 0
    # Deeper than orjson reads: the standard library takes it.
    assert isinstance(_OrjsonCodec.loads("[" * 300 + "]" * 300), list)
    assert _OrjsonCodec.loads('["alerts", {"cut": "in ha') == [
        INVALID_FRAME_EVENT,
        "unreadable JSON (JSONDecodeError)",
    ]
    assert _OrjsonCodec.dumps({"a": 1}) == '{"a":1}'


@pytest.mark.parametrize(
    "open_packet",
    [
        pytest.param(None, id="closed-before-open"),
        pytest.param("", id="empty-open"),
        pytest.param("0", id="open-without-data"),
        pytest.param("0{}", id="open-without-sid"),
        pytest.param('0{"sid": 1', id="open-cut"),
    ],
)
async def test_handshake_broken_off_then_back(
    simulator: IxicareSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    open_packet: str | None,
) -> None:
    """A server going down mid-handshake: the supervisor keeps trying."""
    recorder = Recorder()
    client = make_client(simulator, session, recorder)
    simulator.break_handshakes(4, open_packet)
    client.start()
    try:
        await recorder.until(lambda: client.connected)
        reasons = [a["reason"] for a in simulator.handshakes(SITE_UUID)]
        assert reasons == ["broken off"] * 4 + ["ok"]
        assert client._supervisor is not None and not client._supervisor.done()
        # Logged once for the series, not once per attempt.
        logged = [
            r
            for r in caplog.records
            if "broke the handshake off" in r.getMessage() and r.levelno >= logging.INFO
        ]
        assert len(logged) == 1
        assert not [
            r for r in caplog.records if r.levelno >= logging.INFO and r.exc_info
        ]
        # And again while connected: the server drops, then breaks handshakes.
        simulator.break_handshakes(3, open_packet)
        await simulator.disconnect_clients(SITE_UUID)
        await recorder.until(lambda: not client.connected)
        await recorder.until(lambda: client.connected)
        assert simulator.pending_handshake_faults == 0
    finally:
        await client.close()
    assert client.state is ConnectionState.CLOSED


async def test_connect_turns_a_broken_handshake_into_a_connection_error(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(simulator, session)
    simulator.break_handshakes(1)
    with pytest.raises(IxicareConnectionError, match="broke the handshake off"):
        await client.connect()
    assert client.state is ConnectionState.DISCONNECTED
    await client.connect()
    assert client.connected
    await client.close()


async def test_a_failing_supervisor_is_restarted_and_close_does_not_raise(
    simulator: IxicareSimulator,
    session: aiohttp.ClientSession,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Should the supervisor die anyway, it is restarted; close() never raises."""
    recorder = Recorder()
    client = make_client(simulator, session, recorder)
    calls = 0
    real_wait = client._wait_disconnected

    async def broken_wait() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug")
        await real_wait()

    monkeypatch.setattr(client, "_wait_disconnected", broken_wait)
    monkeypatch.setattr(client, "_attempt_failed", _raise_from_handler)
    client.start()
    try:
        async with asyncio.timeout(5):
            while calls < 2 or not client.connected:
                await asyncio.sleep(0.01)
        assert "the connection supervisor failed (RuntimeError)" in caplog.text
    finally:
        await client.close()
    assert client.state is ConnectionState.CLOSED


def _raise_from_handler(err: Exception) -> None:
    raise err


async def test_frames_that_break_the_handling_are_invalid_messages(
    simulator: IxicareSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Any failure in handling a frame is counted, never a traceback."""
    recorder = Recorder()
    client = make_client(simulator, session, recorder)
    await client.connect()
    try:
        await simulator.wait_for_clients(SITE_UUID, 1)
        device = simulator.make_devices(SITE_UUID, 1)[0]
        # An event without data, an empty event, an unknown packet type.
        for frame in ("2", "2[]", "9", "2{}"):
            assert await simulator.send_frame(SITE_UUID, frame) == 1
        huge = {
            "version": "1.0.0",
            "type": "HEARTBEAT",
            "device": {"id": device.mac, "battery_level": 10**400, "last_update": 1},
        }
        await simulator.send_raw(SITE_UUID, "heartbeats", huge)
        await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=33)
        await recorder.until(
            lambda: any(h.device.battery_level == 33 for h in recorder.heartbeats)
        )
        # The frames are invalid messages; a battery beyond a float is a
        # dropped field of a heartbeat that is still handled.
        assert client.stats.invalid == 4
        assert len(recorder.invalid) == 4
        huge_battery, real = recorder.heartbeats
        assert huge_battery.device.battery_level is None
        assert "device.battery_level" in huge_battery.dropped
        assert real.device.battery_level == 33
        assert not [
            r
            for r in caplog.records
            if r.levelno >= logging.WARNING and r.name != "asyncio"
        ]
        assert client.connected
    finally:
        await client.close()


@pytest.mark.parametrize(
    "event", ["invalid-frame", "ixicare:invalid-frame", "disconnect"]
)
async def test_server_cannot_reach_internal_signals(
    simulator: IxicareSimulator, session: aiohttp.ClientSession, event: str
) -> None:
    recorder = Recorder()
    client = make_client(simulator, session, recorder)
    await client.connect()
    try:
        await simulator.wait_for_clients(SITE_UUID, 1)
        for name in (event, "connect_error", "connect"):
            await simulator.send_raw(SITE_UUID, name, {"message": "x" * 100_000})
        device = simulator.make_devices(SITE_UUID, 1)[0]
        await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=12)
        await recorder.until(lambda: bool(recorder.heartbeats))
        # Not a disconnection, not a refusal, no text of the server's kept.
        assert client.connected
        assert ConnectionState.DISCONNECTED not in recorder.states
        assert client._connect_error is None
        assert all(len(str(err)) < 200 for _, _, err in recorder.invalid)
        assert len(client.stats.last_error or "") < 200
    finally:
        await client.close()


def test_codec_refuses_reserved_event_names() -> None:
    for name in ("connect", "disconnect", "connect_error", "__disconnect_final"):
        decoded = _OrjsonCodec.loads(f'["{name}", {{}}]')
        assert decoded[0] is INVALID_FRAME_EVENT
    assert _OrjsonCodec.loads('["alerts", {}]') == ["alerts", {}]
    assert _OrjsonCodec.loads('{"sid": "x"}') == {"sid": "x"}


async def test_unknown_namespace_is_not_an_auth_failure(
    simulator: IxicareSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """socket.io's answer to a namespace it does not serve: retried, no reauth."""
    recorder = Recorder()
    client = make_client(simulator, session, recorder, namespace="/ws")
    with pytest.raises(IxicareNamespaceError):
        await client.connect()
    assert client.invalid_namespace
    assert client.state is ConnectionState.DISCONNECTED
    client.start()
    try:
        await recorder.until(
            lambda: len(simulator.handshakes(SITE_UUID)) >= 4, timeout=5
        )
        assert ConnectionState.AUTH_FAILED not in recorder.states
        assert client._supervisor is not None and not client._supervisor.done()
        logged = [
            r
            for r in caplog.records
            if "does not serve the namespace '/ws'" in r.getMessage()
            and r.levelno >= logging.WARNING
        ]
        assert len(logged) == 1
    finally:
        await client.close()


@pytest.mark.parametrize("expected_lingering_tasks", [True])
async def test_python_socketio_unknown_namespace_is_not_an_auth_failure(
    session: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    """python-socketio's server answers "Unable to connect" instead."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    async with bare_server(sio, unused_tcp_port) as url:
        client = IxicareClient(
            session, url=url, site_uuid=SITE_UUID, token=TOKEN, namespace="/other"
        )
        try:
            with pytest.raises(IxicareNamespaceError):
                await client.connect(timeout=5)
        finally:
            await client.close()


async def test_a_late_answer_does_not_answer_the_next_command(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    """The first command's late FAILURE is not taken for the second's answer."""
    client = make_client(simulator, session)
    await client.connect()
    try:
        device = simulator.make_devices(SITE_UUID, 1)[0]
        alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
        # First command: answered FAILURE "first", 1 s late (timeout 0.3 s).
        simulator.command_delay = 1.0
        simulator.fail_next_command(SITE_UUID, "first")
        with pytest.raises(IxicareCommandTimeoutError):
            await client.update_alert(device.mac, alert_id, "ACCEPT", timeout=0.3)
        # Second command, same alert and action, sent before the late answer
        # comes; its own answer (SUCCESS) comes 1.2 s later, after that one.
        simulator.delay_next_command(SITE_UUID, 1.2)
        answer = await client.update_alert(device.mac, alert_id, "ACCEPT", timeout=3)
        assert answer.result is UpdateResult.SUCCESS
        assert client.stats.late_answers == 1
        assert not client._pending
        assert not client._late
    finally:
        simulator.command_delay = 0.0
        await client.close()


async def test_a_late_answer_outside_the_window_is_taken(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    """Past the window the first answer is taken (the limit, documented)."""
    client = make_client(simulator, session, late_answer_window=0.0)
    await client.connect()
    try:
        device = simulator.make_devices(SITE_UUID, 1)[0]
        alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
        simulator.ignore_next_command(SITE_UUID)
        with pytest.raises(IxicareCommandTimeoutError):
            await client.update_alert(device.mac, alert_id, "ACCEPT", timeout=0.2)
        answer = await client.update_alert(device.mac, alert_id, "ACCEPT", timeout=3)
        assert answer.result is UpdateResult.SUCCESS
        assert client.stats.late_answers == 0
    finally:
        await client.close()


async def test_an_unanswered_command_does_not_outlive_the_session(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    """No late answer comes on a new session: nothing is discarded there."""
    recorder = Recorder()
    client = make_client(simulator, session, recorder)
    client.start()
    try:
        await recorder.until(lambda: client.connected)
        device = simulator.make_devices(SITE_UUID, 1)[0]
        alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
        simulator.ignore_next_command(SITE_UUID)
        with pytest.raises(IxicareCommandTimeoutError):
            await client.update_alert(device.mac, alert_id, "ACCEPT", timeout=0.2)
        assert client._late
        await simulator.disconnect_clients(SITE_UUID)
        await recorder.until(lambda: not client.connected)
        await recorder.until(lambda: client.connected)
        answer = await client.update_alert(device.mac, alert_id, "ACCEPT", timeout=3)
        assert answer.result is UpdateResult.SUCCESS
    finally:
        await client.close()


async def test_credentials_in_the_url_never_reach_the_libraries(
    simulator: IxicareSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = simulator.url.replace("://", "://admin:hunter2@")
    client = make_client(simulator, session, url=url)
    await client.connect()
    try:
        assert client.connected
    finally:
        await client.close()
    assert "hunter2" not in caplog.text
    assert "Attempting WebSocket connection" in caplog.text


async def test_library_log_lines_go_to_our_logger_at_debug(
    simulator: IxicareSimulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(simulator, session)
    await client.connect()
    await simulator.wait_for_clients(SITE_UUID, 1)
    sio = client._sio
    assert sio is not None
    # What python-engineio logs at ERROR level when its queue runs dry.
    sio.eio.logger.error("packet queue is empty, aborting")
    await client.close()
    records = [r for r in caplog.records if "packet queue is empty" in r.message]
    assert [(r.name, r.levelno) for r in records] == [
        (f"{client_module.__name__}.engineio", logging.DEBUG)
    ]
    # python-engineio and python-socketio added no handler (to stderr) of their own.
    assert not logging.getLogger("engineio.client").handlers
    assert not logging.getLogger("socketio.client").handlers


def test_fast_path_check_falls_back_when_a_hook_changes(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert client_module._check_fast_path()
    assert "stock path" not in caplog.text

    async def receive(self: Any, pkt: Any, extra: Any) -> None:
        """A newer signature."""

    monkeypatch.setattr(engineio.AsyncClient, "_receive_packet", receive)
    assert not client_module._check_fast_path()
    assert "using python-socketio's stock path" in caplog.text
    monkeypatch.undo()

    def trigger(self: Any, event: str, namespace: str, *args: Any) -> None:
        """No longer a coroutine function."""

    monkeypatch.setattr(socketio.AsyncClient, "_trigger_event", trigger)
    assert not client_module._check_fast_path()
    monkeypatch.undo()

    def eio_class(self: Any, options: Any) -> Any:
        """Another signature."""

    monkeypatch.setattr(socketio.AsyncClient, "_engineio_client_class", eio_class)
    assert not client_module._check_fast_path()


async def test_stock_path_receives_in_order(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    recorder = Recorder()
    client = make_client(simulator, session, recorder, fast_path=False)
    await client.connect()
    try:
        assert type(client._sio) is socketio.AsyncClient
        device = simulator.make_devices(SITE_UUID, 1)[0]
        for level in range(10, 20):
            await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=level)
        await recorder.until(lambda: len(recorder.heartbeats) == 10)
        assert [h.device.battery_level for h in recorder.heartbeats] == list(
            range(10, 20)
        )
    finally:
        await client.close()


async def test_two_late_answers_for_one_key(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    client = make_client(simulator, session)
    await client.connect()
    try:
        device = simulator.make_devices(SITE_UUID, 1)[0]
        alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
        for _ in range(2):
            simulator.delay_next_command(SITE_UUID, 0.4)
            with pytest.raises(IxicareCommandTimeoutError):
                await client.update_alert(device.mac, alert_id, "ACCEPT", timeout=0.1)
        async with asyncio.timeout(5):
            while client.stats.late_answers < 2:
                await asyncio.sleep(0.01)
        assert not client._late
    finally:
        await client.close()


def test_library_logger_and_helpers(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logger = client_module._LibraryLogger("custom_components.ixicare.test")
    assert logger.isEnabledFor(logging.ERROR)
    logger.log(logging.ERROR, "one %s", "line")
    try:
        raise ValueError("inside")
    except ValueError:
        logger.exception("an error")
    records = [r for r in caplog.records if r.name == "custom_components.ixicare.test"]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.DEBUG, "one line"),
        (logging.DEBUG, "an error"),
    ]
    assert records[1].exc_info is not None
    assert repr(INVALID_FRAME_EVENT) == "<ixicare signal invalid-frame>"
    assert client_module._short(b"\x00\x01") == "<2 bytes>"
    assert client_module._short("a\nb\x1b") == "a?b?"
    assert client_module._short("x" * 1000) == "x" * 300 + "... (1000 characters)"
    assert client_module._short(12) == 12
    assert client_module._version("no-such-distribution") == "(unknown version)"


@pytest.mark.parametrize(
    ("url", "netloc"),
    [
        ("https://user:secret@example.com:8443/ws", "example.com:8443"),
        ("https://[::1]:8443", "[::1]:8443"),
        ("https://example.com:http", "example.com"),
    ],
)
def test_the_url_sent_has_no_credentials(
    session: aiohttp.ClientSession, url: str, netloc: str
) -> None:
    client = IxicareClient(session, url=url, site_uuid=SITE_UUID, token=TOKEN)
    assert client._netloc() == netloc
    assert "secret" not in client._connect_url()


async def test_a_failing_invalid_message_callback_is_contained(
    simulator: IxicareSimulator, session: aiohttp.ClientSession
) -> None:
    def on_invalid(topic: str, payload: Any, err: Exception) -> None:
        raise RuntimeError("broken callback")

    client = make_client(simulator, session, on_invalid=on_invalid)
    await client.connect()
    try:
        await simulator.wait_for_clients(SITE_UUID, 1)
        await simulator.send_raw(SITE_UUID, "heartbeats", {"version": "1.0.0"})
        async with asyncio.timeout(5):
            while client.stats.invalid < 1:
                await asyncio.sleep(0.01)
        assert client.connected
    finally:
        await client.close()
