"""Tests of the ixicare simulator: a real socket.io server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from typing import Any
import uuid

import aiohttp
import pytest
import socketio
import trustme

from ixicare_simulator import IxicareSimulator, SimDevice, transport as server
from ixicare_simulator.model import (
    NIL_UUID,
    _js_numbers,
    is_loopback,
    mac_for,
    normalize_mac,
    zone_id_for,
)

from .common import (
    OTHER_SITE,
    OTHER_TOKEN,
    SITE,
    TOKEN,
    SimClient,
    running,
    schema_errors,
    uplink,
    validator,
)
from .conftest import ClientFactory

# ---------------------------------------------------------------------------
# Handshake and authentication


@pytest.mark.parametrize(
    ("site", "headers", "reason"),
    [
        (SITE, {"Authorization": "Bearer wrong"}, "wrong token"),
        (SITE, {}, "missing token"),
        (SITE, {"Authorization": f"Basic {TOKEN}"}, "missing token"),
        (SITE, {"Authorization": "Bearer "}, "missing token"),
        (
            "11111111-2222-4333-8444-555555555555",
            {"Authorization": f"Bearer {TOKEN}"},
            "unknown site",
        ),
        ("", {"Authorization": f"Bearer {TOKEN}"}, "unknown site"),
    ],
    ids=["wrong", "missing", "basic", "empty", "unknown-site", "no-site"],
)
async def test_polling_handshake_refused_with_401(
    sim: IxicareSimulator, site: str, headers: dict[str, str], reason: str
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{sim.url}/ws/",
            params={"EIO": "4", "transport": "polling", "site_uuid": site},
            headers=headers,
        ) as response,
    ):
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    attempts = sim.handshakes(site)
    assert attempts[-1]["authorized"] is False
    assert attempts[-1]["token_ok"] is False
    assert attempts[-1]["reason"] == reason
    assert TOKEN not in repr(attempts)


async def test_polling_handshake_accepted(sim: IxicareSimulator) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{sim.url}/ws/",
            # Site UUIDs compare case-insensitively.
            params={"EIO": "4", "transport": "polling", "site_uuid": SITE.upper()},
            headers={"Authorization": f"Bearer {TOKEN}"},
        ) as response,
    ):
        assert response.status == 200
        assert (await response.text()).startswith('0{"sid"')
    assert sim.handshakes(SITE)[-1] == {
        "authorized": True,
        "token_ok": True,
        "token_present": True,
        "reason": "ok",
        "transport": "polling",
        "time": pytest.approx(time.time(), abs=5),
    }


async def test_websocket_handshake_refused_with_401(sim: IxicareSimulator) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await session.ws_connect(
                f"{sim.url}/ws/?EIO=4&transport=websocket&site_uuid={SITE}",
                headers={"Authorization": "Bearer nope"},
            )
    assert err.value.status == 401


async def test_other_paths_are_not_checked(sim: IxicareSimulator) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{sim.url}/elsewhere") as response,
    ):
        assert response.status == 404


async def test_socketio_client_refused(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    client = await connect(token="wrong", connect=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect()
    assert sim.connected_clients(SITE) == 0
    assert sim.handshakes(SITE)[-1]["transport"] == "websocket"


async def test_polling_transport_session(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    """Later polling requests carry no Authorization header, only the sid."""
    client = await connect(connect=False)
    await client.connect(transports=["polling"])
    await sim.wait_for_clients(SITE)
    mac = sim.devices(SITE)[0].mac
    await sim.send_heartbeat(SITE, mac, battery_level=55.5)
    heartbeat = await client.next_data("heartbeats")
    assert heartbeat["device"]["battery_level"] == 55.5
    assert [a["authorized"] for a in sim.handshakes(SITE)] == [True]


# ---------------------------------------------------------------------------
# Downlink messages


async def test_alert_and_heartbeat_delivery(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    client = await connect()
    other = await connect(OTHER_SITE, OTHER_TOKEN)
    assert sim.connected_clients(SITE) == 1
    assert sim.connected_clients(OTHER_SITE) == 1
    device = sim.devices(SITE)[0]

    alert_id = await sim.raise_alert(SITE, device.mac, "PANIC_BUTTON")
    event = await client.next_data("alerts")
    assert event["version"] == "1.0.0"
    assert event["type"] == "ALERT"
    assert event["device"] == {
        "id": device.mac,
        "phone_number": device.phone_number,
        "battery_level": device.battery_level,
        "last_update": device.device_last_update,
    }
    assert event["alert"]["id"] == alert_id
    assert event["alert"]["type"] == "PANIC_BUTTON"
    assert event["alert"]["status"] == "OPEN"
    assert event["user"] == {"id": device.user_id, "name": device.name}
    assert event["location"] == {
        "indoor": {
            "floor": device.floor,
            "zone": device.zone,
            "zone_id": device.zone_id,
            "last_update": device.location_last_update,
        }
    }
    assert event == sim.alert_event(SITE, alert_id)

    heartbeat = await sim.send_heartbeat(SITE, device.mac, battery_level=42.5)
    received = await client.next_data("heartbeats")
    assert received == heartbeat
    assert received["type"] == "HEARTBEAT"
    assert received["device"]["battery_level"] == 42.5
    assert received["device"]["last_update"] >= event["device"]["last_update"]
    assert received["location"]["indoor"]["zone"] == device.zone

    # The other site's client got nothing.
    await other.quiet(0.1)
    assert sim.active_alerts(SITE) == {
        alert_id: {
            "device_id": device.mac,
            "type": "PANIC_BUTTON",
            "status": "OPEN",
            "timestamp": event["alert"]["timestamp"],
        }
    }
    assert sim.active_alerts(OTHER_SITE) == {}


async def test_several_clients_of_one_site(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    first = await connect()
    second = await connect()
    assert sim.connected_clients(SITE) == 2
    await sim.raise_alert(SITE, sim.devices(SITE)[1].mac)
    assert (await first.next_data())["alert"]["type"] == "MAN_DOWN"
    assert (await second.next_data())["alert"]["type"] == "MAN_DOWN"


async def test_alert_event_variants_validate(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    client = await connect()
    bare = sim.add_device(
        SITE,
        SimDevice(
            mac="00-02-04-aa-bb-cc",
            name="Old Firmware",
            battery_level=12,
            location_last_update=None,
        ),
    )
    assert bare.mac == "00:02:04:AA:BB:CC"
    pro = sim.add_device(
        SITE,
        SimDevice(
            mac="000204aabbcd",
            name="Outdoor Walker",
            model="IXI PRO",
            floor=None,
            zone=None,
            zone_id=None,
            outdoor=(56.8, 22.1),
            outdoor_last_update=None,
        ),
    )
    assert pro.mac == "00:02:04:AA:BB:CD"
    given = str(uuid.uuid4()).upper()

    alert_id = await sim.raise_alert(
        SITE,
        bare.mac.lower(),
        "CRITICAL_BATTERY",
        alert_id=given,
        include_user=False,
        include_location=False,
        timestamp=1698505526,
    )
    assert alert_id == given.lower()
    event = await client.next_data()
    assert "user" not in event
    assert "location" not in event
    assert "phone_number" not in event["device"]
    assert event["alert"]["timestamp"] == 1698505526

    await sim.raise_alert(SITE, bare.mac, "GEOFENCING")
    event = await client.next_data()
    assert event["location"]["indoor"].keys() == {"floor", "zone", "zone_id"}

    await sim.raise_alert(SITE, pro.mac, "GEOFENCING")
    event = await client.next_data()
    assert event["location"] == {"outdoor": {"latitude": 56.8, "longitude": 22.1}}

    # A device without any location raises alerts without one.
    pro.outdoor = None
    await sim.raise_alert(SITE, pro.mac, "PANIC_BUTTON")
    assert "location" not in await client.next_data()
    with pytest.raises(ValueError, match="no location"):
        await sim.send_heartbeat(SITE, pro.mac)


async def test_raise_alert_errors(sim: IxicareSimulator) -> None:
    mac = sim.devices(SITE)[0].mac
    with pytest.raises(KeyError, match="Unknown site"):
        await sim.raise_alert(str(uuid.uuid4()), mac)
    with pytest.raises(KeyError, match="Unknown device"):
        await sim.raise_alert(SITE, "00:00:00:00:00:00")
    with pytest.raises(ValueError, match="Unknown alert type"):
        await sim.raise_alert(SITE, mac, "FIRE")
    with pytest.raises(ValueError, match="not a UUID"):
        await sim.raise_alert(SITE, mac, alert_id="alert-1")
    alert_id = await sim.raise_alert(SITE, mac)
    with pytest.raises(ValueError, match="already exists"):
        await sim.raise_alert(SITE, mac, alert_id=alert_id)
    with pytest.raises(KeyError, match="Unknown alert"):
        sim.alert_event(SITE, str(uuid.uuid4()))


async def test_escalation(sim: IxicareSimulator, connect: ClientFactory) -> None:
    client = await connect()
    mac = sim.devices(SITE)[2].mac
    alert_id = await sim.raise_alert(SITE, mac, "PANIC_BUTTON")
    await client.next_data()
    await sim.escalate_alert(SITE, alert_id, "MAN_DOWN")
    event = await client.next_data()
    assert event["alert"]["id"] == alert_id
    assert event["alert"]["type"] == "MAN_DOWN"
    assert event["alert"]["status"] == "OPEN"
    with pytest.raises(ValueError, match="not more critical"):
        await sim.escalate_alert(SITE, alert_id, "GEOFENCING")
    with pytest.raises(ValueError, match="Unknown alert type"):
        await sim.escalate_alert(SITE, alert_id, "FIRE")
    await sim.escalate_alert(SITE, alert_id, "GEOFENCING", force=True)
    assert (await client.next_data())["alert"]["type"] == "GEOFENCING"
    await sim.set_alert_status(SITE, alert_id, "CANCELLED")
    assert (await client.next_data())["alert"]["status"] == "CANCELLED"
    with pytest.raises(ValueError, match="CANCELLED"):
        await sim.escalate_alert(SITE, alert_id, "MAN_DOWN")


async def test_set_alert_status(sim: IxicareSimulator, connect: ClientFactory) -> None:
    client = await connect()
    mac = sim.devices(SITE)[3].mac
    alert_id = await sim.raise_alert(SITE, mac, "GEOFENCING")
    await client.next_data()
    for status in ("ACCEPTED", "RESOLVED"):
        await sim.set_alert_status(SITE, alert_id, status)
        assert (await client.next_data())["alert"]["status"] == status
    assert sim.active_alerts(SITE) == {}
    assert sim.alerts(SITE)[alert_id]["status"] == "RESOLVED"
    with pytest.raises(ValueError, match="already RESOLVED"):
        await sim.set_alert_status(SITE, alert_id, "OPEN")
    with pytest.raises(ValueError, match="Unknown alert status"):
        await sim.set_alert_status(SITE, alert_id, "DONE")
    await sim.set_alert_status(SITE, alert_id, "OPEN", force=True)
    assert (await client.next_data())["alert"]["status"] == "OPEN"


async def test_heartbeat_changes(sim: IxicareSimulator, connect: ClientFactory) -> None:
    client = await connect()
    device = sim.devices(SITE)[3]
    assert device.model == "IXI PRO"
    before = device.location_last_update
    assert before is not None

    await sim.send_heartbeat(SITE, device.mac, zone="0.02 Restaurant", floor="Floor 0")
    heartbeat = await client.next_data("heartbeats")
    indoor = heartbeat["location"]["indoor"]
    assert indoor["zone"] == "0.02 Restaurant"
    assert indoor["zone_id"] == zone_id_for(SITE, "Floor 0", "0.02 Restaurant")
    assert indoor["last_update"] >= before
    # Device data did not change: its last_update did not move.
    assert heartbeat["device"]["last_update"] == device.device_last_update

    await sim.send_heartbeat(SITE, device.mac, outdoor=[56.82, 22.16])
    heartbeat = await client.next_data("heartbeats")
    outdoor = heartbeat["location"]["outdoor"]
    assert (outdoor["latitude"], outdoor["longitude"]) == (56.82, 22.16)
    assert outdoor["last_update"] >= indoor["last_update"]
    assert heartbeat["location"]["indoor"] == indoor

    await sim.send_heartbeat(
        SITE, device.mac, outdoor=(56.83, 22.17), outdoor_last_update=1000.0
    )
    heartbeat = await client.next_data("heartbeats")
    assert heartbeat["location"]["outdoor"]["last_update"] == 1000.0

    await sim.send_heartbeat(SITE, device.mac, outdoor=None, battery_level=3)
    heartbeat = await client.next_data("heartbeats")
    assert "outdoor" not in heartbeat["location"]
    assert heartbeat["device"]["battery_level"] == 3.0
    assert isinstance(heartbeat["device"]["battery_level"], float)
    assert device.outdoor_last_update is None

    with pytest.raises(TypeError, match="Unknown device fields: colour"):
        await sim.send_heartbeat(SITE, device.mac, colour="red")


async def test_heartbeat_type_and_js_numbers(socket_enabled: None) -> None:
    sim = IxicareSimulator(
        sites={SITE: TOKEN}, heartbeat_type="LOCATION", js_numbers=True
    )
    device = sim.make_devices(SITE, 1)[0]
    await sim.start()
    client = SimClient(sim.url, SITE, TOKEN)
    try:
        await client.connect()
        await sim.send_heartbeat(
            SITE, device.mac, battery_level=90.0, device_last_update=1698505520.0
        )
        heartbeat = await client.next_data("heartbeats")
        assert heartbeat["type"] == "LOCATION"
        assert heartbeat["device"]["battery_level"] == 90
        assert type(heartbeat["device"]["battery_level"]) is int
        assert type(heartbeat["device"]["last_update"]) is int
        assert schema_errors("heartbeats", heartbeat) == []
    finally:
        await client.close()
        await sim.stop()


async def test_send_raw_delivers_anything(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    client = await connect(validate=False)
    payloads: list[Any] = [{"version": "1.0.0"}, "text", 12, [1, 2], b"\x00\xff"]
    for payload in payloads:
        await sim.send_raw(SITE, "heartbeats", payload)
    await sim.send_raw(SITE, "custom", {"a": 1})
    received = await client.take(len(payloads) + 1)
    assert received == [("heartbeats", payload) for payload in payloads] + [
        ("custom", {"a": 1})
    ]


# ---------------------------------------------------------------------------
# Uplink commands


async def test_accept_then_resolve(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    client = await connect()
    mac = sim.devices(SITE)[0].mac
    alert_id = await sim.raise_alert(SITE, mac, "MAN_DOWN")
    await client.next_data()

    # The device id is compared normalised.
    await client.send(uplink(mac.lower(), alert_id, "ACCEPT"))
    response = await client.next_data()
    assert response == {
        "version": "1.0.0",
        "type": "ALERT",
        "device_id": mac.lower(),
        "alert": {"id": alert_id, "action": "ACCEPT"},
        "result": "SUCCESS",
    }
    event = await client.next_data()
    assert event["alert"]["status"] == "ACCEPTED"
    assert sim.active_alerts(SITE)[alert_id]["status"] == "ACCEPTED"

    await client.send(uplink(mac, alert_id, "RESOLVE"))
    response = await client.next_data()
    assert response["result"] == "SUCCESS"
    assert response["alert"]["action"] == "RESOLVE"
    assert (await client.next_data())["alert"]["status"] == "RESOLVED"
    assert sim.active_alerts(SITE) == {}
    assert sim.alerts(SITE)[alert_id]["status"] == "RESOLVED"
    assert sim.uplinks(SITE) == [
        uplink(mac.lower(), alert_id, "ACCEPT"),
        uplink(mac, alert_id, "RESOLVE"),
    ]


async def test_resolve_an_open_alert(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    client = await connect()
    mac = sim.devices(SITE)[0].mac
    alert_id = await sim.raise_alert(SITE, mac)
    await client.next_data()
    await client.send(uplink(mac, alert_id, "RESOLVE"))
    assert (await client.next_data())["result"] == "SUCCESS"
    assert (await client.next_data())["alert"]["status"] == "RESOLVED"


async def test_command_failures(sim: IxicareSimulator, connect: ClientFactory) -> None:
    client = await connect()
    mac, other_mac = sim.devices(SITE)[0].mac, sim.devices(SITE)[1].mac
    alert_id = await sim.raise_alert(SITE, mac)
    await client.next_data()
    await client.send(uplink(mac, alert_id, "ACCEPT"))
    assert (await client.next_data())["result"] == "SUCCESS"
    await client.next_data()

    async def failure(data: Any) -> str:
        await client.send(data)
        response = await client.next_data()
        assert response["result"] == "FAILURE"
        return str(response["error"])

    assert await failure(uplink(mac, str(uuid.uuid4()))) == "Unknown alert"
    assert await failure(uplink(mac, alert_id, "ACCEPT")) == "Action not allowed"
    assert await failure(uplink(other_mac, alert_id, "RESOLVE")) == "Action not allowed"
    # An alert of another site is unknown here.
    other_alert = await sim.raise_alert(OTHER_SITE, sim.devices(OTHER_SITE)[0].mac)
    assert await failure(uplink(mac, other_alert)) == "Unknown alert"
    await sim.set_alert_status(SITE, alert_id, "CANCELLED")
    await client.next_data()
    for action in ("ACCEPT", "RESOLVE"):
        assert await failure(uplink(mac, alert_id, action)) == "Alert already final"
    assert sim.alerts(SITE)[alert_id]["status"] == "CANCELLED"
    await client.quiet(0.1)


@pytest.mark.parametrize(
    ("data", "echo"),
    [
        ({**uplink("00:02:04:06:08:0A", NIL_UUID), "alert": {"id": NIL_UUID}}, True),
        (uplink("00:02:04:06:08:0A", NIL_UUID, "DELETE"), False),
        (uplink("00:02:04:06:08:0A", "not-a-uuid"), False),
        ({"version": "1.0.0", "type": "HEARTBEAT"}, False),
        ({"alert": "x", "device_id": 3}, False),
        ("text", False),
        ([1, 2], False),
        (None, False),
    ],
)
async def test_invalid_uplink(
    sim: IxicareSimulator, connect: ClientFactory, data: Any, echo: bool
) -> None:
    client = await connect()
    await client.send(data)
    response = await client.next_data()
    assert response["result"] == "FAILURE"
    assert response["error"] == "Invalid message"
    if echo:
        assert response["device_id"] == "00:02:04:06:08:0A"
        assert response["alert"]["id"] == NIL_UUID
    assert sim.uplinks(SITE) == [data]


async def test_uplink_without_data(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    client = await connect()
    await client.sio.emit("alerts")
    response = await client.next_data()
    assert response["error"] == "Invalid message"
    assert response["device_id"] == ""
    assert sim.uplinks(SITE) == [None]


async def test_server_never_acknowledges(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    client = await connect()
    mac = sim.devices(SITE)[0].mac
    alert_id = await sim.raise_alert(SITE, mac)
    await client.next_data()
    with pytest.raises(socketio.exceptions.TimeoutError):
        await client.sio.call("alerts", uplink(mac, alert_id), timeout=0.3)
    # The answer still comes, as an event.
    assert (await client.next_data())["result"] == "SUCCESS"
    await client.next_data()


async def test_fail_ignore_delay_next_command(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    client = await connect()
    mac = sim.devices(SITE)[0].mac
    alert_id = await sim.raise_alert(SITE, mac)
    await client.next_data()

    sim.fail_next_command(SITE)
    sim.fail_next_command(SITE, "Device offline")
    await client.send(uplink(mac, alert_id))
    assert (await client.next_data())["error"] == "Action not allowed"
    await client.send(uplink(mac, alert_id))
    assert (await client.next_data())["error"] == "Device offline"
    assert sim.active_alerts(SITE)[alert_id]["status"] == "OPEN"

    sim.ignore_next_command(SITE)
    await client.send(uplink(mac, alert_id))
    await sim.wait_for_uplinks(SITE, 3)
    await client.quiet(0.2)
    assert sim.active_alerts(SITE)[alert_id]["status"] == "OPEN"

    sim.delay_next_command(SITE, 0.3)
    loop = asyncio.get_running_loop()
    sent = loop.time()
    await client.send(uplink(mac, alert_id))
    # A command sent after the delayed one is answered first.
    await client.send(uplink(mac, alert_id, "RESOLVE"))
    first = await client.next_data()
    assert first["alert"]["action"] == "RESOLVE"
    assert first["result"] == "SUCCESS"
    assert (await client.next_data())["alert"]["status"] == "RESOLVED"
    late = await client.next_data()
    assert loop.time() - sent >= 0.25
    assert late["alert"]["action"] == "ACCEPT"
    assert late["error"] == "Alert already final"
    assert len(sim.uplinks(SITE)) == 5


async def test_delayed_answer_cancelled_on_stop(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    client = await connect()
    mac = sim.devices(SITE)[0].mac
    alert_id = await sim.raise_alert(SITE, mac)
    await client.next_data()
    sim.delay_next_command(SITE, 30)
    await client.send(uplink(mac, alert_id))
    await sim.wait_for_uplinks(SITE)
    await sim.stop()  # The harness fails the test if the delayed task lingers.
    assert sim.alerts(SITE)[alert_id]["status"] == "OPEN"


async def test_answer_to_a_gone_client_is_dropped(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    client = await connect()
    watcher = await connect()
    mac = sim.devices(SITE)[0].mac
    alert_id = await sim.raise_alert(SITE, mac)
    await client.next_data()
    await watcher.next_data()
    sim.delay_next_command(SITE, 0.2)
    await client.send(uplink(mac, alert_id))
    await sim.wait_for_uplinks(SITE)
    await client.sio.disconnect()
    # The state still changes; the other client sees the event, not the answer.
    event = await watcher.next_data()
    assert event["alert"]["status"] == "ACCEPTED"


async def test_command_delay_option(socket_enabled: None) -> None:
    sim = IxicareSimulator(sites={SITE: TOKEN}, command_delay=0.2)
    mac = sim.make_devices(SITE, 1)[0].mac
    await sim.start()
    client = SimClient(sim.url, SITE, TOKEN)
    try:
        await client.connect()
        alert_id = await sim.raise_alert(SITE, mac)
        await client.next_data()
        await client.send(uplink(mac, alert_id))
        await client.quiet(0.1)
        assert (await client.next_data())["result"] == "SUCCESS"
        assert (await client.next_data())["alert"]["status"] == "ACCEPTED"
        assert client.invalid_messages() == []
    finally:
        await client.close()
        await sim.stop()


# ---------------------------------------------------------------------------
# Retention


async def test_retention_replays_latest_status_then_clears(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    devices = sim.devices(SITE)
    resolved = await sim.raise_alert(SITE, devices[0].mac, "PANIC_BUTTON")
    escalated = await sim.raise_alert(SITE, devices[1].mac, "PANIC_BUTTON")
    await sim.set_alert_status(SITE, resolved, "ACCEPTED")
    await sim.escalate_alert(SITE, escalated, "MAN_DOWN")
    await sim.set_alert_status(SITE, resolved, "RESOLVED")
    # Heartbeats are not retained.
    await sim.send_heartbeat(SITE, devices[2].mac, battery_level=20)
    assert len(sim.retained_events(SITE)) == 2

    client = await connect()
    first, second = await client.take(2)
    assert first[1]["alert"]["id"] == escalated
    assert first[1]["alert"]["type"] == "MAN_DOWN"
    assert second[1]["alert"]["id"] == resolved
    assert second[1]["alert"]["status"] == "RESOLVED"
    await client.quiet(0.1)
    assert sim.retained_events(SITE) == []

    # The store was cleared: a later client gets nothing.
    late = await connect()
    await late.quiet(0.1)
    # Nothing is retained while a client is connected.
    await sim.set_alert_status(SITE, escalated, "CANCELLED")
    assert sim.retained_events(SITE) == []
    await client.next_data()
    await late.next_data()


async def test_retention_expires(socket_enabled: None) -> None:
    sim = IxicareSimulator(sites={SITE: TOKEN}, retention_seconds=0.05)
    mac = sim.make_devices(SITE, 1)[0].mac
    old = await sim.raise_alert(SITE, mac)
    await asyncio.sleep(0.1)
    recent = await sim.raise_alert(SITE, mac, "PANIC_BUTTON")
    assert [e["alert"]["id"] for e in sim.retained_events(SITE)] == [recent]
    assert old in sim.active_alerts(SITE)


async def test_replay_reaches_only_the_connecting_client_in_order(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    mac = sim.devices(SITE)[0].mac
    ids = [await sim.raise_alert(SITE, mac, "PANIC_BUTTON") for _ in range(20)]
    client = await connect(connect=False)
    connecting = asyncio.ensure_future(client.connect())
    await sim.wait_for_clients(SITE)
    # Raised while the backlog may still be on its way: it comes after it.
    newest = await sim.raise_alert(SITE, mac, "MAN_DOWN")
    await connecting
    received = [data["alert"]["id"] for _, data in await client.take(21)]
    assert received == [*ids, newest]


async def test_a_session_dropped_before_its_replay_keeps_the_latest_status(
    sim: IxicareSimulator, connect: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a session left in its replay gate is retained as its latest status.

    The session's gate holds the retained OPEN event, then the CANCELLED
    published before the gate drained; a drop then must keep the CANCELLED
    (the protocol reports only the latest status), not the first event seen.
    """
    monkeypatch.setattr(server, "GATE_SETTLE", 30.0)  # the gate never drains here
    mac = sim.devices(SITE)[0].mac
    alert_id = await sim.raise_alert(SITE, mac, "PANIC_BUTTON")
    await connect()
    await sim.set_alert_status(SITE, alert_id, "CANCELLED")
    assert sim.retained_events(SITE) == []
    await sim.disconnect_clients(SITE)
    retained = sim.retained_events(SITE)
    assert [(e["alert"]["id"], e["alert"]["status"]) for e in retained] == [
        (alert_id, "CANCELLED")
    ]
    # A second session dropped before its replay: each alert keeps its latest.
    other = await sim.raise_alert(SITE, mac, "MAN_DOWN")
    await connect()
    await sim.set_alert_status(SITE, other, "ACCEPTED")
    await sim.disconnect_clients(SITE)
    statuses = {
        e["alert"]["id"]: e["alert"]["status"] for e in sim.retained_events(SITE)
    }
    assert statuses == {alert_id: "CANCELLED", other: "ACCEPTED"}
    monkeypatch.setattr(server, "GATE_SETTLE", 0.0)
    client = await connect()
    received = {
        data["alert"]["id"]: data["alert"]["status"] for _, data in await client.take(2)
    }
    assert received == statuses


async def test_replay_active_on_connect(socket_enabled: None) -> None:
    sim = IxicareSimulator(sites={SITE: TOKEN}, replay_active_on_connect=True)
    devices = sim.make_devices(SITE, 3)
    await sim.start()
    first = SimClient(sim.url, SITE, TOKEN)
    second = SimClient(sim.url, SITE, TOKEN)
    try:
        await first.connect()
        active = await sim.raise_alert(SITE, devices[0].mac)
        done = await sim.raise_alert(SITE, devices[1].mac)
        await sim.set_alert_status(SITE, done, "RESOLVED")
        await first.take(3)
        await first.close()
        await asyncio.sleep(0.05)
        retained = await sim.raise_alert(SITE, devices[2].mac, "GEOFENCING")
        await second.connect()
        got = [data["alert"]["id"] for _, data in await second.take(2)]
        # The retained event first, then the other active alert, once each.
        assert got == [retained, active]
        await second.quiet(0.1)
        assert second.invalid_messages() == []
    finally:
        await first.close()
        await second.close()
        await sim.stop()


# ---------------------------------------------------------------------------
# Connections: restart, disconnect, tokens


async def test_restart_keeps_port_and_state(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    client = await connect()
    mac = sim.devices(SITE)[0].mac
    alert_id = await sim.raise_alert(SITE, mac)
    await client.next_data()
    port, url = sim.port, sim.url
    await sim.restart()
    assert sim.restart_count == 1
    assert (sim.port, sim.url) == (port, url)
    await asyncio.wait_for(client.disconnected.wait(), 5)
    assert sim.connected_clients(SITE) == 0
    # Changed while the client was away: retained.
    await sim.set_alert_status(SITE, alert_id, "ACCEPTED")
    await client.connect()
    event = await client.next_data()
    assert event["alert"]["status"] == "ACCEPTED"
    assert sim.active_alerts(SITE)[alert_id]["status"] == "ACCEPTED"


async def test_restart_with_downtime(sim: IxicareSimulator) -> None:
    restarting = asyncio.ensure_future(sim.restart(downtime=0.2))
    await asyncio.sleep(0.05)
    assert not running(sim)
    mac = sim.devices(SITE)[0].mac
    # While down, alert events are retained and heartbeats dropped.
    await sim.send_heartbeat(SITE, mac, battery_level=1)
    await sim.send_raw(SITE, "alerts", {})
    assert await sim.disconnect_clients() == 0
    alert_id = await sim.raise_alert(SITE, mac)
    await restarting
    assert running(sim)
    assert [e["alert"]["id"] for e in sim.retained_events(SITE)] == [alert_id]


async def test_start_twice_and_port_in_use(sim: IxicareSimulator) -> None:
    with pytest.raises(RuntimeError, match="already started"):
        await sim.start()
    clash = IxicareSimulator(sites={SITE: TOKEN}, port=sim.port)
    with pytest.raises(OSError):
        await clash.start()
    assert not running(clash)
    await clash.stop()


async def test_disconnect_clients(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    first = await connect()
    second = await connect()
    other = await connect(OTHER_SITE, OTHER_TOKEN)
    assert await sim.disconnect_clients(SITE) == 2
    await asyncio.wait_for(first.disconnected.wait(), 5)
    await asyncio.wait_for(second.disconnected.wait(), 5)
    assert sim.connected_clients(SITE) == 0
    assert sim.connected_clients(OTHER_SITE) == 1
    assert not other.disconnected.is_set()
    assert await sim.disconnect_clients() == 1
    await asyncio.wait_for(other.disconnected.wait(), 5)


async def test_token_change_and_revocation(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    client = await connect()
    assert sim.set_token(SITE, "second-token") is None
    # Existing sessions stay without revoke; new handshakes need the new token.
    assert sim.connected_clients(SITE) == 1
    stale = await connect(connect=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await stale.connect()
    fresh = await connect(token="second-token")
    assert sim.connected_clients(SITE) == 2

    revoking = sim.set_token(SITE, "third-token", revoke=True)
    assert revoking is not None
    await revoking
    await asyncio.wait_for(client.disconnected.wait(), 5)
    await asyncio.wait_for(fresh.disconnected.wait(), 5)
    assert sim.connected_clients(SITE) == 0
    attempts = [a["token_ok"] for a in sim.handshakes(SITE)]
    assert attempts == [True, False, True]

    sim.set_token(SITE, None)
    refused = await connect(token="third-token", connect=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect()
    assert sim.handshakes(SITE)[-1]["reason"] == "wrong token"


async def test_add_site_at_runtime(
    sim: IxicareSimulator, connect: ClientFactory
) -> None:
    site = str(uuid.uuid4())
    sim.add_site(site.upper(), "new-site-token")
    assert site in sim.sites
    sim.make_devices(site, 1)
    client = await connect(site, "new-site-token")
    await sim.wait_for_clients(site)
    # Adding it again only replaces its token, the state stays.
    sim.add_site(site, "renewed")
    assert len(sim.devices(site)) == 1
    assert sim.connected_clients(site) == 1
    await sim.send_heartbeat(site, sim.devices(site)[0].mac)
    assert (await client.next())[0] == "heartbeats"


async def test_wait_helpers_time_out(sim: IxicareSimulator) -> None:
    with pytest.raises(TimeoutError):
        await sim.wait_for_clients(SITE, 1, timeout=0.05)
    with pytest.raises(TimeoutError):
        await sim.wait_for_uplinks(SITE, 1, timeout=0.05)


# ---------------------------------------------------------------------------
# Devices and helpers


def test_make_devices_is_deterministic() -> None:
    first = IxicareSimulator(sites={SITE: TOKEN})
    second = IxicareSimulator(sites={SITE: TOKEN})
    made = first.make_devices(SITE, 9, seed=3)
    again = second.make_devices(SITE, 9, seed=3)
    assert [(d.mac, d.name, d.user_id, d.zone) for d in made] == [
        (d.mac, d.name, d.user_id, d.zone) for d in again
    ]
    assert len({d.mac for d in made}) == 9
    assert len({d.name for d in made}) == 9
    assert [d.model for d in made].count("IXI PRO") == 2
    assert [d.model for d in made][3::4] == ["IXI PRO", "IXI PRO"]
    assert {d.floor for d in made} == {"Floor 1", "Floor 2"}
    assert made[4].zone == "1.16 Bedroom"
    for device in made:
        assert normalize_mac(device.mac) == device.mac
        assert 35 <= device.battery_level <= 100
        assert device.zone_id == zone_id_for(
            SITE, device.floor or "", device.zone or ""
        )
        uuid.UUID(device.user_id)
    assert sum(d.phone_number is not None for d in made) == 5
    # A MAC already taken is skipped.
    first.add_device(SITE, SimDevice(mac=mac_for(3, 10), name="Taken"))
    # More devices later: new MACs and names.
    more = first.make_devices(SITE, 3, seed=3)
    assert not {d.mac for d in more} & {d.mac for d in made}
    assert len(first.devices(SITE)) == 13
    assert first.device(SITE, more[0].mac.lower()) is more[0]


def test_helpers() -> None:
    assert mac_for(0, 0) == "00:02:04:06:08:0A"
    assert normalize_mac(" 00-02-04-06-08-0a ") == "00:02:04:06:08:0A"
    assert normalize_mac("0002.0406.080a") == "00:02:04:06:08:0A"
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("[::1]")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("example.org")
    assert uuid.UUID(zone_id_for(SITE, "Floor 1", "1.16 Bedroom")).version == 4
    assert IxicareSimulator(host="::1", port=1).url == "http://[::1]:1"
    assert IxicareSimulator(host="0.0.0.0").control_enabled is False
    assert IxicareSimulator(host="0.0.0.0", control=True).control_enabled is True
    assert IxicareSimulator().sites == []
    assert _js_numbers({"a": [1.0, 1.5, "x"], "b": 2.0}) == {"a": [1, 1.5, "x"], "b": 2}
    assert validator("alert-update").is_valid(uplink("00:02:04:06:08:0A", NIL_UUID))


# ---------------------------------------------------------------------------
# TLS


async def test_tls_with_a_trusted_ca(socket_enabled: None) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    sim = IxicareSimulator(sites={SITE: TOKEN}, ssl_context=server_context)
    mac = sim.make_devices(SITE, 1)[0].mac
    await sim.start()
    try:
        assert sim.url == f"https://127.0.0.1:{sim.port}"
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=client_context)
        ) as session:
            client = SimClient(sim.url, SITE, TOKEN, http_session=session)
            await client.connect()
            await sim.send_heartbeat(SITE, mac, battery_level=64)
            assert (await client.next_data("heartbeats"))["device"][
                "battery_level"
            ] == 64
            await client.sio.disconnect()
            # A refused token over TLS is still a 401.
            async with session.get(
                f"{sim.url}/ws/?EIO=4&transport=polling&site_uuid={SITE}"
            ) as response:
                assert response.status == 401
        # A client that does not trust the certificate fails its handshake;
        # the server only logs it (no error reaches the event loop).
        async with aiohttp.ClientSession() as untrusted:
            refused = SimClient(sim.url, SITE, TOKEN, http_session=untrusted)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await refused.connect()
            await refused.close()
        # A client that closes at once, before any handshake.
        _, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.05)
    finally:
        await sim.stop()


async def test_tls_request_in_the_handshake_flight(socket_enabled: None) -> None:
    """Application data right behind the TLS handshake is not lost."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    sim = IxicareSimulator(sites={SITE: TOKEN}, ssl_context=server_context)
    await sim.start()
    try:
        for _ in range(5):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", sim.port, ssl=client_context
            )
            writer.write(
                b"GET /control/sites HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            data = await asyncio.wait_for(reader.read(), 5)
            assert data.startswith(b"HTTP/1.1 200")
            writer.close()
            await writer.wait_closed()
    finally:
        await sim.stop()


@pytest.mark.parametrize("turns", range(6))
async def test_a_connection_while_stopping_is_no_error(
    socket_enabled: None, turns: int
) -> None:
    """A client that connects as the server stops causes no asyncio error.

    `asyncio.Server.close()` between the accept and the transport's set-up
    fails an assertion inside asyncio (CPython gh-109564), reported as an
    error in debug mode; the simulator stops accepting first.
    """
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    debug = loop.get_debug()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    loop.set_debug(True)
    simulator = IxicareSimulator(sites={SITE: TOKEN})
    await simulator.start()
    try:
        connecting = asyncio.ensure_future(
            asyncio.open_connection("127.0.0.1", simulator.port)
        )
        for _ in range(turns):
            await asyncio.sleep(0)
        await simulator.stop()
        with contextlib.suppress(OSError):
            _reader, writer = await connecting
            writer.close()
        await asyncio.sleep(0.05)
    finally:
        loop.set_exception_handler(previous)
        loop.set_debug(debug)
    assert [c.get("message") for c in errors] == []
