"""Tests of the simulator's HTTP control API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any
import uuid

import aiohttp
import pytest

from ixicare_simulator import IxicareSimulator

from .common import SITE, TOKEN, running, uplink
from .conftest import ClientFactory


@pytest.fixture
async def http(sim: IxicareSimulator) -> AsyncGenerator[aiohttp.ClientSession]:
    """Return an HTTP session whose base URL is the simulator."""
    async with aiohttp.ClientSession(base_url=sim.url) as session:
        yield session


async def call(
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    body: Any = None,
    status: int = 200,
    **kwargs: Any,
) -> Any:
    async with http.request(method, path, json=body, **kwargs) as response:
        assert response.status == status, await response.text()
        return await response.json()


async def test_state_and_alerts(
    sim: IxicareSimulator, http: aiohttp.ClientSession, connect: ClientFactory
) -> None:
    client = await connect()
    base = f"/control/sites/{SITE}"
    sites = await call(http, "GET", "/control/sites")
    assert {"site": SITE, "connected_clients": 1} in sites["sites"]
    assert TOKEN not in str(sites)

    state = await call(http, "GET", f"{base}/state")
    assert state["site"] == SITE
    assert state["connected_clients"] == 1
    assert len(state["devices"]) == 8
    assert state["alerts"] == state["active_alerts"] == {}
    assert state["uplinks"] == state["retained"] == 0
    mac = state["devices"][0]["mac"]

    alert_id = str(uuid.uuid4())
    created = await call(
        http,
        "POST",
        f"{base}/alerts",
        {
            "mac": mac,
            "type": "PANIC_BUTTON",
            "alert_id": alert_id,
            "include_user": False,
            "timestamp": 1698505526,
        },
    )
    assert created == {"alert_id": alert_id}
    event = await client.next_data()
    assert "user" not in event
    assert event["alert"]["timestamp"] == 1698505526

    escalated = await call(
        http, "POST", f"{base}/alerts/{alert_id}/escalate", {"type": "MAN_DOWN"}
    )
    assert escalated["type"] == "MAN_DOWN"
    assert (await client.next_data())["alert"]["type"] == "MAN_DOWN"
    accepted = await call(
        http, "POST", f"{base}/alerts/{alert_id}/status", {"status": "ACCEPTED"}
    )
    assert accepted["status"] == "ACCEPTED"
    assert (await client.next_data())["alert"]["status"] == "ACCEPTED"

    default = await call(http, "POST", f"{base}/alerts", {"mac": mac})
    assert (await client.next_data())["alert"]["type"] == "MAN_DOWN"

    state = await call(http, "GET", f"{base}/state")
    assert set(state["active_alerts"]) == {alert_id, default["alert_id"]}
    assert state["devices"][0]["outdoor"] is None


async def test_heartbeat_raw_and_devices(
    sim: IxicareSimulator, http: aiohttp.ClientSession, connect: ClientFactory
) -> None:
    client = await connect(validate=False)
    base = f"/control/sites/{SITE}"
    mac = sim.devices(SITE)[3].mac
    message = await call(
        http,
        "POST",
        f"{base}/heartbeats",
        {"mac": mac, "battery_level": 33, "outdoor": [56.8, 22.1]},
    )
    assert message["device"]["battery_level"] == 33.0
    assert await client.next_data("heartbeats") == message
    assert message["location"]["outdoor"]["latitude"] == 56.8

    assert await call(
        http, "POST", f"{base}/raw", {"event": "alerts", "data": "garbage"}
    ) == {"sent": True}
    assert await client.next() == ("alerts", "garbage")

    made = await call(http, "POST", f"{base}/devices", {"count": 2, "seed": 5})
    assert len(made["devices"]) == 2
    assert len(sim.devices(SITE)) == 10
    assert (await call(http, "POST", f"{base}/devices"))["devices"][0]["mac"]


async def test_commands_uplinks_disconnect(
    sim: IxicareSimulator, http: aiohttp.ClientSession, connect: ClientFactory
) -> None:
    client = await connect()
    base = f"/control/sites/{SITE}"
    mac = sim.devices(SITE)[0].mac
    alert_id = await sim.raise_alert(SITE, mac)
    await client.next_data()

    assert await call(
        http, "POST", f"{base}/commands/next", {"mode": "fail", "error": "Busy"}
    ) == {"mode": "fail", "pending": 1}
    await call(http, "POST", f"{base}/commands/next", {"mode": "ignore"})
    await call(http, "POST", f"{base}/commands/next", {"mode": "delay", "seconds": 0})
    await call(http, "POST", f"{base}/commands/next", {"mode": "fail"})
    await client.send(uplink(mac, alert_id))
    assert (await client.next_data())["error"] == "Busy"
    await client.send(uplink(mac, alert_id))
    await client.send(uplink(mac, alert_id))
    assert (await client.next_data())["result"] == "SUCCESS"
    await client.next_data()
    await client.send(uplink(mac, alert_id, "RESOLVE"))
    assert (await client.next_data())["error"] == "Action not allowed"

    uplinks = await call(http, "GET", f"{base}/uplinks")
    assert uplinks["uplinks"][0] == uplink(mac, alert_id)
    assert len(uplinks["uplinks"]) == 4

    assert await call(http, "POST", f"{base}/disconnect") == {"disconnected": 1}
    assert sim.connected_clients(SITE) == 0


async def test_token_endpoint(
    sim: IxicareSimulator, http: aiohttp.ClientSession, connect: ClientFactory
) -> None:
    client = await connect()
    base = f"/control/sites/{SITE}"
    assert await call(http, "POST", f"{base}/token", {"token": "other"}) == {
        "site": SITE,
        "revoked": False,
    }
    assert sim.connected_clients(SITE) == 1
    assert await call(
        http, "POST", f"{base}/token", {"token": "third", "revoke": True}
    ) == {"site": SITE, "revoked": True}
    assert sim.connected_clients(SITE) == 0
    await asyncio.wait_for(client.disconnected.wait(), 5)
    await call(http, "POST", f"{base}/token", {"token": None})
    await call(http, "POST", f"{base}/token", {"token": 3}, status=400)


async def test_restart_endpoint(
    sim: IxicareSimulator, http: aiohttp.ClientSession, connect: ClientFactory
) -> None:
    client = await connect()
    port = sim.port
    assert await call(http, "POST", "/control/restart") == {
        "restarting": True,
        "downtime": 0.0,
    }
    await asyncio.wait_for(client.disconnected.wait(), 5)
    async with asyncio.timeout(5):
        while sim.restart_count < 1:
            await asyncio.sleep(0.01)
    assert sim.port == port
    assert running(sim)
    # The control API answers again after the restart.
    async with aiohttp.ClientSession(base_url=sim.url) as fresh:
        state = await call(fresh, "GET", f"/control/sites/{SITE}/state")
        assert state["connected_clients"] == 0
        # A restart with downtime, stopped half-way by sim.stop().
        await call(fresh, "POST", "/control/restart", {"downtime": 5})
    async with asyncio.timeout(5):
        while running(sim):
            await asyncio.sleep(0.01)
    await sim.stop()
    assert not running(sim)


async def test_errors(sim: IxicareSimulator, http: aiohttp.ClientSession) -> None:
    base = f"/control/sites/{SITE}"
    unknown = await call(
        http, "GET", f"/control/sites/{uuid.uuid4()}/state", status=404
    )
    assert unknown["error"].startswith("Unknown site")
    assert (
        "Unknown device"
        in (
            await call(
                http, "POST", f"{base}/alerts", {"mac": "00:00:00:00:00:01"}, 404
            )
        )["error"]
    )
    assert (
        "Unknown alert"
        in (
            await call(
                http,
                "POST",
                f"{base}/alerts/{uuid.uuid4()}/status",
                {"status": "RESOLVED"},
                404,
            )
        )["error"]
    )
    await call(http, "POST", f"{base}/alerts", {}, 404)  # missing mac
    mac = sim.devices(SITE)[0].mac
    await call(http, "POST", f"{base}/alerts", {"mac": mac, "type": "FIRE"}, 400)
    await call(http, "POST", f"{base}/commands/next", {"mode": "later"}, 400)
    await call(http, "POST", f"{base}/heartbeats", {"mac": mac, "colour": 1}, 400)
    await call(http, "POST", f"{base}/raw", [1, 2], 400)
    async with http.post(
        f"{base}/raw", data=b"{not json", headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "Body is not JSON"


@pytest.mark.parametrize(("host", "control"), [("127.0.0.1", False), ("0.0.0.0", None)])
async def test_control_api_disabled(
    socket_enabled: None, host: str, control: bool | None
) -> None:
    sim = IxicareSimulator(sites={SITE: TOKEN}, host=host, control=control)
    assert not sim.control_enabled
    await sim.start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{sim.port}/control/sites/{SITE}/state"
            ) as response,
        ):
            assert response.status == 404
    finally:
        await sim.stop()


async def test_break_handshakes_endpoint(
    sim: IxicareSimulator, http: aiohttp.ClientSession
) -> None:
    assert await call(http, "POST", "/control/handshakes/break", {"count": 2}) == {
        "pending": 2
    }
    assert await call(
        http, "POST", "/control/handshakes/break", {"open_packet": "0{}"}
    ) == {"pending": 3}
    await call(
        http, "POST", "/control/handshakes/break", {"open_packet": 1}, status=400
    )
    url = f"/ws/?site_uuid={SITE}&EIO=4&transport=websocket"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    received = []
    for _ in range(3):
        async with http.ws_connect(url, headers=headers) as ws:
            received.append(await ws.receive())
    assert [m.type for m in received[:2]] == [aiohttp.WSMsgType.CLOSE] * 2
    assert received[0].data == aiohttp.WSCloseCode.GOING_AWAY
    assert received[2].data == "0{}"
    assert sim.pending_handshake_faults == 0
    assert [h["reason"] for h in sim.handshakes(SITE)] == ["broken off"] * 3
