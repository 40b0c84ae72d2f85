"""Faults survived: restarts, drops, lost commands, start-up outages, TLS.

Each stream scenario ends with the same check: the alerts active in Home
Assistant equal the alerts active in the simulator, no alert transition fired
twice, and nothing is left running after unload (the harness checks that).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
import random
import ssl
from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
import trustme

from custom_components.ixicare.const import (
    CONF_COMMAND_TIMEOUT,
    CONF_IDLE_TIMEOUT,
    DOMAIN,
    EVENT_ALERT,
)
from custom_components.ixicare.pyixicare import Backoff, ConnectionState
from ixicare_simulator import IxicareSimulator

from .conftest import SITE_UUID, TOKEN, entry_data
from .helpers import wait_for

TYPES = ("CRITICAL_BATTERY", "PANIC_BUTTON", "GEOFENCING", "MAN_DOWN")


class Ledger:
    """Counts every alert transition Home Assistant announced."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.fired: Counter[tuple[str, str, str]] = Counter()
        self.unsub = hass.bus.async_listen(EVENT_ALERT, self._record)

    @callback
    def _record(self, event: Event) -> None:
        # An alert may escalate more than once, each time to another type.
        data = event.data
        self.fired[(data["alert_id"], data["transition"], data["alert_type"])] += 1

    def ends(self, alert_id: str) -> int:
        return sum(
            count
            for (fired_id, transition, _), count in self.fired.items()
            if fired_id == alert_id and transition in ("resolved", "cancelled")
        )


async def stream(
    sim: IxicareSimulator, steps: int, seed: int, pause: float = 0.002
) -> None:
    """Heartbeats and alerts of every kind, as a busy site sends them."""
    rng = random.Random(seed)
    devices = sim.devices(SITE_UUID)
    for _ in range(steps):
        device = rng.choice(devices)
        active = [
            (alert_id, alert)
            for alert_id, alert in sim.active_alerts(SITE_UUID).items()
            if alert["device_id"].lower() == device.mac.lower()
        ]
        roll = rng.random()
        if roll < 0.5 or (not active and roll < 0.7):
            await sim.send_heartbeat(
                SITE_UUID, device.mac, battery_level=round(rng.uniform(5, 100), 1)
            )
        elif not active:
            await sim.raise_alert(SITE_UUID, device.mac, rng.choice(TYPES))
        else:
            alert_id, alert = rng.choice(active)
            index = TYPES.index(alert["type"])
            choice = rng.random()
            if choice < 0.25 and index < len(TYPES) - 1:
                await sim.escalate_alert(SITE_UUID, alert_id, TYPES[index + 1])
            elif choice < 0.5 and alert["status"] == "OPEN":
                await sim.set_alert_status(SITE_UUID, alert_id, "ACCEPTED")
            elif choice < 0.8:
                await sim.set_alert_status(SITE_UUID, alert_id, "RESOLVED")
            else:
                await sim.set_alert_status(SITE_UUID, alert_id, "CANCELLED")
        await asyncio.sleep(pause)


async def assert_consistent(
    hass: HomeAssistant, sim: IxicareSimulator, entry: MockConfigEntry, ledger: Ledger
) -> None:
    """HA's active alerts equal the simulator's, and nothing fired twice."""
    coordinator = entry.runtime_data.coordinator

    def same() -> bool:
        expected = {
            alert_id: (alert["type"], alert["status"])
            for alert_id, alert in sim.active_alerts(SITE_UUID).items()
        }
        held = {
            alert.key: (alert.type_name, alert.status.value)
            for alert in coordinator.state.alerts.values()
        }
        return held == expected

    def ended_alerts_announced() -> bool:
        return all(
            ledger.ends(alert_id) >= 1
            for alert_id, alert in sim.alerts(SITE_UUID).items()
            if alert["status"] in ("RESOLVED", "CANCELLED")
        )

    # Replays arrive after the reconnection: wait for both conditions.
    try:
        await wait_for(hass, lambda: same() and ended_alerts_announced(), timeout=30)
    except TimeoutError:
        missing = [
            alert_id
            for alert_id, alert in sim.alerts(SITE_UUID).items()
            if alert["status"] in ("RESOLVED", "CANCELLED")
            and not ledger.ends(alert_id)
        ]
        pytest.fail(
            f"not consistent: same={same()} unannounced ends={missing} "
            f"client={coordinator.client.state} retained={len(sim.retained_events(SITE_UUID))} "
            f"clients={sim.connected_clients(SITE_UUID)}"
        )
    await asyncio.sleep(0.2)
    await hass.async_block_till_done()
    assert same()
    twice = {key: count for key, count in ledger.fired.items() if count != 1}
    assert twice == {}
    for alert_id, alert in sim.alerts(SITE_UUID).items():
        if alert["status"] in ("RESOLVED", "CANCELLED"):
            ends = ledger.ends(alert_id)
            assert ends == 1, f"alert {alert_id} ended {ends} times"
    # Each binary sensor shows what the simulator holds.
    on = {
        state.attributes["alert_id"]
        for state in hass.states.async_all("binary_sensor")
        if state.state == "on" and "alert_id" in state.attributes
    }
    assert on == set(sim.active_alerts(SITE_UUID))


@pytest.mark.usefixtures("receive_path")
async def test_twenty_server_restarts_during_a_stream(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> None:
    simulator.make_devices(SITE_UUID, 8, seed=41)
    ledger = Ledger(hass)
    coordinator = init_integration.runtime_data.coordinator
    feeder = asyncio.ensure_future(stream(simulator, 600, seed=1))
    try:
        for _ in range(20):
            await asyncio.sleep(0.03)
            await simulator.restart()
    finally:
        await feeder
    await assert_consistent(hass, simulator, init_integration, ledger)
    assert simulator.restart_count == 20
    assert coordinator.client.stats.connections >= 2
    ledger.unsub()


@pytest.mark.usefixtures("receive_path")
async def test_dropped_connections_during_a_stream(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> None:
    simulator.make_devices(SITE_UUID, 6, seed=43)
    ledger = Ledger(hass)
    feeder = asyncio.ensure_future(stream(simulator, 400, seed=2))
    try:
        for _ in range(10):
            await asyncio.sleep(0.04)
            await simulator.disconnect_clients(SITE_UUID)
    finally:
        await feeder
    await assert_consistent(hass, simulator, init_integration, ledger)
    ledger.unsub()


async def test_changes_while_stopped_and_while_disconnected(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> None:
    simulator.make_devices(SITE_UUID, 5, seed=47)
    ledger = Ledger(hass)
    await stream(simulator, 150, seed=3, pause=0)
    await assert_consistent(hass, simulator, init_integration, ledger)
    # Home Assistant stops; the site goes on; Home Assistant starts with its store.
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    # Changes start once the server has seen Home Assistant go.
    await wait_for(hass, lambda: simulator.connected_clients(SITE_UUID) == 0)
    await stream(simulator, 150, seed=4, pause=0)
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    await assert_consistent(hass, simulator, init_integration, ledger)
    # The server goes away for a while; the site goes on.
    await simulator.stop()
    await stream(simulator, 150, seed=5, pause=0)
    await simulator.start()
    await assert_consistent(hass, simulator, init_integration, ledger)
    ledger.unsub()


@pytest.mark.usefixtures("receive_path")
async def test_late_lost_and_orphaned_answers(
    hass: HomeAssistant, simulator: IxicareSimulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={CONF_COMMAND_TIMEOUT: 1}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    coordinator = mock_config_entry.runtime_data.coordinator
    device = simulator.make_devices(SITE_UUID, 1, seed=49)[0]
    alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
    await wait_for(hass, lambda: coordinator.state.find_alert(alert_id) is not None)
    call = {"alert_id": alert_id}
    # Answered late: the caller hears of the timeout; the late answer is ignored.
    simulator.delay_next_command(SITE_UUID, 1.5)
    with pytest.raises(HomeAssistantError, match="did not answer"):
        await hass.services.async_call(DOMAIN, "accept_alert", call, blocking=True)
    await wait_for(hass, lambda: coordinator.client.stats.responses == 1)
    assert not coordinator.client._pending
    # Never answered.
    simulator.ignore_next_command(SITE_UUID)
    with pytest.raises(HomeAssistantError, match="did not answer"):
        await hass.services.async_call(DOMAIN, "resolve_alert", call, blocking=True)
    # Answered after a reconnection: the caller was told at the disconnection.
    simulator.delay_next_command(SITE_UUID, 0.5)
    task = hass.async_create_task(
        hass.services.async_call(DOMAIN, "resolve_alert", call, blocking=True)
    )
    await simulator.wait_for_uplinks(SITE_UUID, 3)
    await simulator.disconnect_clients(SITE_UUID)
    with pytest.raises(HomeAssistantError, match="connection .* was lost"):
        await task
    await wait_for(hass, lambda: coordinator.client.connected, timeout=10)
    # A command after all that still works and the state is right.
    await wait_for(
        hass, lambda: coordinator.state.find_alert(alert_id) is None, timeout=5
    )
    assert simulator.active_alerts(SITE_UUID) == {}


@pytest.mark.usefixtures("receive_path")
async def test_silent_connection_is_reopened(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={CONF_IDLE_TIMEOUT: 0.3}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    coordinator = mock_config_entry.runtime_data.coordinator
    await wait_for(
        hass, lambda: coordinator.client.stats.watchdog_restarts >= 1, timeout=10
    )
    await wait_for(hass, lambda: coordinator.client.connected, timeout=10)
    assert "delivered nothing for" in caplog.text
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_server_unreachable_at_start_then_back(
    hass: HomeAssistant, simulator: IxicareSimulator, mock_config_entry: MockConfigEntry
) -> None:
    await simulator.stop()
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "Cannot connect to the ixicare server" in (mock_config_entry.reason or "")
    await simulator.start()
    device = simulator.make_devices(SITE_UUID, 1, seed=51)[0]
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=120))
    await wait_for(
        hass, lambda: mock_config_entry.state is ConfigEntryState.LOADED, timeout=10
    )
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=42)
    coordinator = mock_config_entry.runtime_data.coordinator
    await wait_for(hass, lambda: device.mac.lower() in coordinator.state.devices)
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_untrusted_certificate(hass: HomeAssistant, socket_enabled: None) -> None:
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    sim = IxicareSimulator(sites={SITE_UUID: TOKEN}, port=0, ssl_context=server_ctx)
    await sim.start()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, _context: None)
    try:
        data = entry_data(sim)
        user_input: dict[str, Any] = {
            "site_uuid": SITE_UUID,
            "token": TOKEN,
            "advanced": {
                "url": data["url"],
                "socketio_path": "ws",
                "namespace": "/",
                "verify_ssl": True,
            },
        }
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_USER}, data=user_input
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "invalid_certificate"}
        user_input["advanced"]["verify_ssl"] = False
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], user_input
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"]["verify_ssl"] is False
        await hass.async_block_till_done()
        entry = hass.config_entries.async_entries(DOMAIN)[0]
        assert entry.state is ConfigEntryState.LOADED
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await sim.stop()
        await asyncio.sleep(0.05)
        loop.set_exception_handler(None)


@pytest.mark.usefixtures("receive_path")
@pytest.mark.parametrize(
    "open_packet",
    [pytest.param(None, id="closed-before-open"), pytest.param("0", id="bad-open")],
)
async def test_handshakes_broken_off_then_back(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    mock_config_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    open_packet: str | None,
) -> None:
    """A server going down that accepts and closes handshakes: never silenced."""
    # At set-up: "cannot connect" and a retry, not a crash.
    simulator.break_handshakes(1, open_packet)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "broke the handshake off" in (mock_config_entry.reason or "")
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=120))
    await wait_for(
        hass, lambda: mock_config_entry.state is ConfigEntryState.LOADED, timeout=10
    )
    coordinator = mock_config_entry.runtime_data.coordinator
    client = coordinator.client
    client._backoff = Backoff(base=0.05, cap=0.2)
    device = simulator.make_devices(SITE_UUID, 1, seed=71)[0]
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=42)
    await wait_for(hass, lambda: device.mac.lower() in coordinator.state.devices)
    # At run time: the server drops the session, then breaks 5 handshakes off.
    simulator.break_handshakes(5, open_packet)
    await simulator.disconnect_clients(SITE_UUID)
    await wait_for(hass, lambda: simulator.pending_handshake_faults == 0, timeout=10)
    await wait_for(hass, lambda: client.connected, timeout=10)
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=43)
    await wait_for(
        hass, lambda: coordinator.state.devices[device.mac.lower()].battery_level == 43
    )
    # Unloading closes without raising and writes the store.
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    stored = hass_storage[f"{DOMAIN}.{mock_config_entry.entry_id}"]["data"]
    assert device.mac.lower() in str(stored).lower()


@pytest.mark.usefixtures("receive_path")
async def test_unknown_namespace_at_run_time_is_a_repair_issue(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> None:
    """The server stops serving the namespace: a repair issue, retries, no reauth."""
    coordinator = init_integration.runtime_data.coordinator
    client = coordinator.client
    client._backoff = Backoff(base=0.05, cap=0.2)
    issue_id = f"invalid_namespace_{init_integration.entry_id}"
    issues = ir.async_get(hass)
    # What a server that no longer serves the namespace answers (the
    # simulator serves "/" only).
    client._namespace = "/ws"
    before = len(simulator.handshakes(SITE_UUID))
    await simulator.disconnect_clients(SITE_UUID)
    await wait_for(hass, lambda: issues.async_get_issue(DOMAIN, issue_id) is not None)
    await wait_for(
        hass, lambda: len(simulator.handshakes(SITE_UUID)) >= before + 3, timeout=10
    )
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "invalid_namespace"
    assert issue.translation_placeholders == {
        "title": init_integration.title,
        "namespace": "/",
    }
    assert not [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == "reauth"
    ]
    assert client.state is not ConnectionState.AUTH_FAILED
    # Served again: connected, and the issue is gone.
    client._namespace = "/"
    await wait_for(hass, lambda: client.connected, timeout=10)
    assert issues.async_get_issue(DOMAIN, issue_id) is None


async def test_unknown_namespace_at_set_up(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, "namespace": "/ws"}
    )
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, f"invalid_namespace_{mock_config_entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders == {
        "title": mock_config_entry.title,
        "namespace": "/ws",
    }
    assert not hass.config_entries.flow.async_progress()
    # Removing the entry removes its issue.
    assert await hass.config_entries.async_remove(mock_config_entry.entry_id)
    assert (
        ir.async_get(hass).async_get_issue(
            DOMAIN, f"invalid_namespace_{mock_config_entry.entry_id}"
        )
        is None
    )


async def test_home_assistant_stop_closes_the_session_and_saves(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    coordinator = init_integration.runtime_data.coordinator
    client = coordinator.client
    client._backoff = Backoff(base=0.05, cap=0.2)
    device = simulator.make_devices(SITE_UUID, 1, seed=73)[0]
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=61)
    await wait_for(hass, lambda: device.mac.lower() in coordinator.state.devices)
    key = f"{DOMAIN}.{init_integration.entry_id}"
    hass_storage.pop(key, None)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await hass.async_block_till_done()
    assert client.state is ConnectionState.CLOSED
    assert client._supervisor is None
    assert device.mac.lower() in str(hass_storage[key]["data"]).lower()
    await wait_for(hass, lambda: simulator.connected_clients(SITE_UUID) == 0)
    # It does not connect again, even with the server there.
    handshakes = len(simulator.handshakes(SITE_UUID))
    await asyncio.sleep(0.5)
    assert len(simulator.handshakes(SITE_UUID)) == handshakes
    assert "Unclosed" not in caplog.text
    assert "Task was destroyed" not in caplog.text
    # Unloading afterwards (Home Assistant does not) is quiet.
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert "Unable to remove" not in caplog.text
