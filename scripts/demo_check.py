"""``check``: the scenario's alerts show, the blueprints react, the actions work.

Also checks that every entity of the installed dashboard exists (at the end of
``setup`` too).
"""

from __future__ import annotations

from typing import Any

from demo_client import Demo, HassWebSocket, wait_until
from demo_config import DASHBOARD_URL_PATH, DEMO_LIGHT, DemoError, log
import demo_site as demo


def dashboard_entity_ids(node: Any) -> set[str]:
    """Return every entity id a dashboard configuration mentions."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "entity" and isinstance(value, str):
                found.add(value)
            elif key == "entities" and isinstance(value, list):
                for item in value:
                    if isinstance(item, str):
                        found.add(item)
            found |= dashboard_entity_ids(value)
    elif isinstance(node, list):
        for item in node:
            found |= dashboard_entity_ids(item)
    return found


async def check_dashboard(demo_: Demo) -> None:
    """Check that every entity of the installed dashboard exists."""
    async with HassWebSocket(demo_) as ws:
        config = await ws.call("lovelace/config", url_path=DASHBOARD_URL_PATH)
    wanted = dashboard_entity_ids(config)

    async def all_there() -> bool:
        present = set(await demo_.states())
        return wanted <= present

    try:
        await wait_until("the dashboard's entities", all_there, 60, demo_)
    except DemoError:
        missing = sorted(wanted - set(await demo_.states()))
        raise DemoError(f"entities of the dashboard missing: {missing}") from None
    log(f"Dashboard {DASHBOARD_URL_PATH!r}: all {len(wanted)} entities exist")


# ---------------------------------------------------------------------------
# check: alerts show, the blueprints react, the actions work


async def active_alert_entities(demo_: Demo) -> dict[str, str]:
    """Return the demo's active_alert sensors that show an alert."""
    states = await demo_.states()
    showing: dict[str, str] = {}
    for resident in demo.residents():
        entity_id = resident.entity_id("active_alert")
        state = states.get(entity_id, {}).get("state")
        if state in demo.ALERT_STATES:
            showing[entity_id] = str(state)
    return showing


async def raise_man_down(demo_: Demo) -> tuple[demo.DemoResident, str]:
    """Raise a MAN_DOWN on a resident without an active alert."""
    state = await demo_.control("GET", "/state")
    busy = {alert["device_id"] for alert in state["active_alerts"].values()}
    for resident in demo.residents():
        if resident.mac not in busy:
            answer = await demo_.control(
                "POST", "/alerts", {"mac": resident.mac, "type": "MAN_DOWN"}
            )
            return resident, str(answer["alert_id"])
    raise DemoError("every resident has an active alert")


async def check(demo_: Demo) -> None:
    """Check the running demo end to end; raise DemoError on failure."""
    log("Waiting for the scenario's first alert to show")
    shown = await wait_until(
        "an alert on a resident's active_alert sensor",
        lambda: active_alert_entities(demo_),
        150,
        demo_,
        interval=1.0,
    )
    log(f"Alert showing: {shown}")
    active = await demo_.state(f"sensor.{demo.SITE_SLUG}_active_alerts")
    log(f"sensor.{demo.SITE_SLUG}_active_alerts = {active}")

    await demo_.request(
        "POST", "/api/services/light/turn_off", json_body={"entity_id": DEMO_LIGHT}
    )

    async def light_is(wanted: str) -> bool:
        return await demo_.state(DEMO_LIGHT) == wanted

    await wait_until(f"{DEMO_LIGHT} off", lambda: light_is("off"), 10, demo_)
    resident, alert_id = await raise_man_down(demo_)
    log(f"Raised MAN_DOWN {alert_id} on {resident.name} ({resident.mac})")
    await wait_until(f"{DEMO_LIGHT} on", lambda: light_is("on"), 15, demo_)
    log(f"{DEMO_LIGHT} turned on by the lights_on_when_down blueprint")

    man_down = resident.entity_id("man_down")
    await wait_until(f"{man_down} on", lambda: _is(demo_, man_down, "on"), 10, demo_)

    notification_id = f"ixicare-{alert_id}"

    async def notified(present: bool) -> bool:
        async with HassWebSocket(demo_) as ws:
            notes = await ws.call("persistent_notification/get")
        ids = {note["notification_id"] for note in notes}
        return (notification_id in ids) == present

    await wait_until(
        "the notify_caregivers notification", lambda: notified(True), 15, demo_
    )
    log("Notification sent by the notify_caregivers blueprint")

    response = await demo_.request(
        "POST",
        "/api/services/ixicare/resolve_alert?return_response",
        json_body={"alert_id": alert_id},
    )
    outcome = response["service_response"]
    if outcome.get("result") != "SUCCESS":
        raise DemoError(f"ixicare.resolve_alert answered {outcome}")
    log(f"ixicare.resolve_alert answered {outcome}")
    await wait_until(f"{man_down} off", lambda: _is(demo_, man_down, "off"), 15, demo_)
    await wait_until(
        "the notification to be dismissed", lambda: notified(False), 15, demo_
    )
    log("Alert resolved; its notification dismissed")

    async def nobody_down_and_light_off() -> bool:
        states = await demo_.states()
        down = [
            r.name
            for r in demo.residents()
            if states.get(r.entity_id("man_down"), {}).get("state") == "on"
        ]
        # The scenario may have someone else down meanwhile: then it stays on.
        return bool(down) or states.get(DEMO_LIGHT, {}).get("state") == "off"

    await wait_until(
        f"{DEMO_LIGHT} off once nobody is down", nobody_down_and_light_off, 15, demo_
    )
    log(f"{DEMO_LIGHT} off again once nobody is down (or someone else still is)")
    await check_dashboard(demo_)


async def _is(demo_: Demo, entity_id: str, wanted: str) -> bool:
    return await demo_.state(entity_id) == wanted
