"""The demo's config entry and devices, on a running Home Assistant.

Adds (or reconfigures) the ixicare site through the config flow, makes every
device of the demo known under the dashboard's entity ids, ends the alerts a
previous run left, and turns the corridor light off for the automations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from demo_client import Demo, HassWebSocket, wait_until
from demo_config import DEMO_LIGHT, HOME_LATITUDE, HOME_LONGITUDE, DemoError, log
import demo_site as demo


def _stored_entry(config: Path) -> tuple[str, str | None] | None:
    """Return the id and URL of the demo site's config entry, as last saved."""
    path = config / ".storage" / "core.config_entries"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for entry in data.get("data", {}).get("entries", []):
        if (
            entry.get("domain") == "ixicare"
            and entry.get("unique_id") == demo.DEMO_SITE
        ):
            url = entry.get("data", {}).get("url")
            return str(entry["entry_id"]), str(url) if url else None
    return None


async def ensure_entry(demo_: Demo) -> str:
    """Add the demo site through the config flow unless it is there; return its id."""
    advanced = {
        "url": demo_.sim_url,
        "socketio_path": "ws",
        "namespace": "/",
        "verify_ssl": True,
    }
    entries = await demo_.request(
        "GET", "/api/config/config_entries/entry?domain=ixicare"
    )
    live = {str(entry["entry_id"]) for entry in entries}
    stored = _stored_entry(demo_.config)
    if stored is not None and stored[0] in live:
        entry_id, url = stored
        if url not in (None, demo_.sim_url):
            log(f"Pointing the ixicare site at {demo_.sim_url} (reconfigure flow)")
            flow = await demo_.request(
                "POST",
                "/api/config/config_entries/flow",
                json_body={"handler": "ixicare", "entry_id": entry_id},
            )
            result = await demo_.request(
                "POST",
                f"/api/config/config_entries/flow/{flow['flow_id']}",
                json_body=advanced,
            )
            if result.get("reason") != "reconfigure_successful":
                raise DemoError(f"reconfiguring the ixicare site failed: {result}")
        log(f"ixicare site already configured (entry {entry_id})")
    else:
        log("Adding the ixicare site through the config flow")
        flow = await demo_.request(
            "POST",
            "/api/config/config_entries/flow",
            json_body={"handler": "ixicare", "show_advanced_options": True},
        )
        result = await demo_.request(
            "POST",
            f"/api/config/config_entries/flow/{flow['flow_id']}",
            json_body={
                "site_uuid": demo.DEMO_SITE,
                "token": demo.DEMO_TOKEN,
                "advanced": advanced,
            },
        )
        if result.get("type") == "create_entry":
            entry_id = str(result["result"]["entry_id"])
        elif result.get("reason") == "already_configured" and len(live) == 1:
            # Created so recently that it is not saved yet.
            entry_id = live.pop()
        else:
            raise DemoError(
                f"the ixicare config flow did not create an entry: {result}"
            )

    async def loaded() -> bool:
        for entry in await demo_.request(
            "GET", "/api/config/config_entries/entry?domain=ixicare"
        ):
            if entry["entry_id"] == entry_id:
                return bool(entry.get("state") == "loaded")
        return False

    await wait_until("the ixicare site to load", loaded, 60, demo_)
    return entry_id


async def ensure_devices(demo_: Demo) -> None:
    """Make every demo device known, with GPS trackers, under the expected ids.

    Heartbeats are not kept by the server while nobody listens, so each device
    sends one now; the IXI PROs step outdoors once so that their trackers
    exist. Should a device have been seen first through an alert (which names
    it after its resident), its entity ids are changed to the ones the example
    dashboard uses.
    """
    expected = demo.expected_entity_ids()
    state = await demo_.control("GET", "/state")
    by_mac = {device["mac"]: device for device in state["devices"]}
    async with HassWebSocket(demo_) as ws:
        registry = await ws.call("config/entity_registry/list")
        known = {e["unique_id"]: e for e in registry if e["platform"] == "ixicare"}
        for number, resident in enumerate(demo.residents()):
            if resident.mac not in by_mac:
                raise DemoError(
                    f"the simulator has no device {resident.mac}: it must run with "
                    f"--seed {demo.DEMO_SEED} --devices {demo.DEMO_DEVICES}"
                )
            body: dict[str, Any] = {"mac": resident.mac}
            tracker = f"{demo.DEMO_SITE}_{resident.mac.lower()}_location"
            if resident.gps and tracker not in known:
                body["outdoor"] = [
                    HOME_LATITUDE + 0.0008 * (number % 3),
                    HOME_LONGITUDE + 0.0012 * (number % 4),
                ]
            await demo_.control("POST", "/heartbeats", body)

        async def all_registered() -> dict[str, Any] | None:
            entries = await ws.call("config/entity_registry/list")
            found = {e["unique_id"]: e for e in entries if e["platform"] == "ixicare"}
            return found if set(expected) <= set(found) else None

        found = await wait_until(
            "the demo devices' entities", all_registered, 60, demo_
        )
        taken = {entry["entity_id"] for entry in found.values()}
        for unique_id, entity_id in expected.items():
            current = found[unique_id]["entity_id"]
            if current == entity_id:
                continue
            if entity_id in taken:
                log(f"Cannot rename {current} to {entity_id}: the id is taken")
                continue
            log(f"Renaming {current} to {entity_id} (the dashboard's id)")
            await ws.call(
                "config/entity_registry/update",
                entity_id=current,
                new_entity_id=entity_id,
            )
            taken.discard(current)
            taken.add(entity_id)


async def end_stale_alerts(demo_: Demo) -> None:
    """End the alerts Home Assistant kept from a previous run of the demo.

    The integration keeps active alerts across restarts, as the real server
    keeps them, but the simulator starts afresh on each run and will never end
    them. They are raised again in the simulator under the same id, then
    resolved, so the integration hears that they ended.
    """
    known = (await demo_.control("GET", "/state"))["alerts"]
    states = await demo_.states()
    for resident in demo.residents():
        for alert_type in demo.ALERT_STATES:
            state = states.get(resident.entity_id(alert_type), {})
            alert_id = state.get("attributes", {}).get("alert_id")
            if state.get("state") != "on" or not alert_id or alert_id in known:
                continue
            log(
                f"Ending alert {alert_id} ({alert_type.upper()}, {resident.name}) "
                "left over from the previous run"
            )
            await demo_.control(
                "POST",
                "/alerts",
                {
                    "mac": resident.mac,
                    "type": alert_type.upper(),
                    "alert_id": alert_id,
                },
            )
            await demo_.control(
                "POST", f"/alerts/{alert_id}/status", {"status": "RESOLVED"}
            )
            known[alert_id] = True


async def corridor_light_off(demo_: Demo) -> None:
    """Turn the corridor light off unless someone is down right now.

    The light keeps its state across runs; left on, the README's "raise a
    fall yourself" would show nothing.
    """
    states = await demo_.states()
    if any(
        states.get(resident.entity_id("man_down"), {}).get("state") == "on"
        for resident in demo.residents()
    ):
        return
    if states.get(DEMO_LIGHT, {}).get("state") != "off":
        log(f"Turning {DEMO_LIGHT} off (nobody is down)")
        await demo_.request(
            "POST", "/api/services/light/turn_off", json_body={"entity_id": DEMO_LIGHT}
        )
