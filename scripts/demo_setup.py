"""Prepare, set up and check the ixicare demo of ``scripts/develop``.

    demo_setup.py prepare --config DIR --ha-port 8123
        Write the Home Assistant configuration directory (before Home Assistant
        starts): configuration.yaml, the custom component and dashboard links,
        the blueprints, the demo automations, and the onboarding steps that are
        not the user's.
    demo_setup.py setup --config DIR --ha-url URL --sim-url URL [--pid PID]
        Once Home Assistant runs: create the demo user (or log in), add the
        ixicare site through the config flow, make every device of the demo
        known and wait until the dashboard's entities exist.
    demo_setup.py check --config DIR --ha-url URL --sim-url URL
        Wait until an alert shows, then raise a MAN_DOWN and check that the
        blueprint automations react, that the resolve_alert action works and
        that the dashboard's entities exist. Exit 1 on failure.

Every step can run again: a second run changes nothing that is already right.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
import json
import os
from pathlib import Path
import shutil
import sys
import time
from typing import Any, Final, Self
from urllib.parse import urlsplit

import aiohttp
import demo_dashboard as demo
import yaml  # type: ignore[import-untyped, unused-ignore]

ROOT: Final = demo.ROOT
DEMO_USER: Final = "demo"
DEMO_PASSWORD: Final = "demo-ixicare"  # noqa: S105 - the documented demo password
DEMO_NAME: Final = "Demo"
DASHBOARD_URL_PATH: Final = "care-home"
DEMO_LIGHT: Final = "light.corridor"
BLUEPRINT_DIR: Final = ROOT / "blueprints" / "automation" / "ixicare"
LIGHTS_AUTOMATION_ID: Final = "ixicare_demo_corridor_light"
NOTIFY_AUTOMATION_ID: Final = "ixicare_demo_notify_caregivers"
# The demo site is at the outdoor position of the protocol document.
HOME_LATITUDE: Final = 56.823279
HOME_LONGITUDE: Final = 22.162609
# The only network whose browsers log in without a password.
TRUSTED_NETWORK: Final = "127.0.0.1/32"

# A light the "lights on" blueprint can switch: a template light over two
# helpers, so no hardware and no network. The tests use the same one. It is
# configured under the `template:` key, the form both Home Assistant 2025.4 and
# 2026.11 accept (2026.11 refuses `light: - platform: template`); its name
# gives it the entity id light.corridor.
DEMO_LIGHT_CONFIG: Final[dict[str, Any]] = {
    "input_boolean": {"corridor_light_power": {"name": "Corridor light power"}},
    "input_number": {
        "corridor_light_level": {
            "name": "Corridor light level",
            "min": 0,
            "max": 255,
            "step": 1,
            "initial": 0,
        }
    },
    "template": [
        {
            "light": [
                {
                    "name": "Corridor",
                    "unique_id": "ixicare_demo_corridor_light",
                    "state": "{{ is_state('input_boolean.corridor_light_power', 'on') }}",
                    "level": "{{ states('input_number.corridor_light_level') | int(0) }}",
                    "turn_on": [
                        {
                            "action": "input_boolean.turn_on",
                            "target": {
                                "entity_id": "input_boolean.corridor_light_power"
                            },
                        }
                    ],
                    "turn_off": [
                        {
                            "action": "input_boolean.turn_off",
                            "target": {
                                "entity_id": "input_boolean.corridor_light_power"
                            },
                        }
                    ],
                    "set_level": [
                        {
                            "action": "input_number.set_value",
                            "target": {
                                "entity_id": "input_number.corridor_light_level"
                            },
                            "data": {"value": "{{ brightness }}"},
                        },
                        {
                            "action": "input_boolean.turn_on",
                            "target": {
                                "entity_id": "input_boolean.corridor_light_power"
                            },
                        },
                    ],
                }
            ]
        }
    ],
}

DEMO_AUTOMATIONS: Final[list[dict[str, Any]]] = [
    {
        "id": LIGHTS_AUTOMATION_ID,
        "alias": "Corridor light on when someone is down",
        "description": "ixicare demo: the lights_on_when_down blueprint.",
        "use_blueprint": {
            "path": "ixicare/lights_on_when_down.yaml",
            "input": {
                "alert_type": "MAN_DOWN",
                "lights": {"entity_id": DEMO_LIGHT},
                "brightness": 100,
                # Off again once nobody is down: the README's "raise a fall
                # yourself" then visibly turns it on.
                "when_clear": "off",
            },
        },
    },
    {
        "id": NOTIFY_AUTOMATION_ID,
        "alias": "Notify caregivers (demo: persistent notifications)",
        "description": (
            "ixicare demo: the notify_caregivers blueprint, sending to Home "
            "Assistant's own notifications as there is no phone here. Try its "
            "buttons by firing a mobile_app_notification_action event with "
            "action ACCEPT_<alert id> in Developer tools > Events."
        ),
        "use_blueprint": {
            "path": "ixicare/notify_caregivers.yaml",
            "input": {
                "notify_action": "notify.persistent_notification",
                "alert_types": ["MAN_DOWN", "GEOFENCING", "PANIC_BUTTON"],
            },
        },
    },
]

CONFIGURATION_YAML: Final = """\
# Written by scripts/develop on each run: changes here are lost. Put your own
# configuration in packages/*.yaml (each file is a package), which is kept.
homeassistant:
  name: ixicare demo
  latitude: {latitude}
  longitude: {longitude}
  elevation: 10
  radius: 100
  unit_system: metric
  currency: EUR
  country: LV
  time_zone: Europe/Riga
  language: en
  packages: !include_dir_named packages
  # A browser on this machine opens the demo without logging in (as the only
  # user, demo); any other address gets the login page. The demo only: never
  # put this in a real configuration reachable from a network.
  auth_providers:
    - type: trusted_networks
      trusted_networks:
        - {trusted_network}
      allow_bypass_login: true
    - type: homeassistant

# The parts of default_config the demo needs. Left out, as they need the
# network, Bluetooth, USB, a camera stack or packages the demo does not
# install: cloud, assist/conversation, bluetooth, dhcp, ssdp, usb, zeroconf,
# go2rtc, stream, mobile_app, homeassistant_alerts, energy, media_source.
frontend:
config:
api:
history:
logbook:
sun:
my:
webhook:
notify:

http:
  server_host: 127.0.0.1
  server_port: {ha_port}

logger:
  default: warning
  logs:
    custom_components.ixicare: debug
    homeassistant.components.automation: info
    # Nothing here uses a camera; its helper only regrets a missing system
    # library (libturbojpeg) when the template integration imports it.
    homeassistant.components.camera.img_util: critical

recorder:
  purge_keep_days: 3

lovelace:
  dashboards:
    {dashboard}:
      mode: yaml
      title: Care home
      icon: mdi:hospital-building
      show_in_sidebar: true
      filename: dashboards/ixicare.yaml

automation: !include automations.yaml
script: !include scripts.yaml
scene: !include scenes.yaml

# The demo light the "lights on when someone is down" automation switches.
{light}"""


def log(message: str) -> None:
    """Print a progress line."""
    print(f"    {message}", flush=True)


class DemoError(Exception):
    """The demo could not be set up or did not behave."""


# ---------------------------------------------------------------------------
# prepare: the configuration directory


def _link(link: Path, target: Path) -> None:
    """Make ``link`` a relative symlink to ``target`` (replacing what is there)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    relative = os.path.relpath(target, link.parent)
    if link.is_symlink() and os.readlink(link) == relative:
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        shutil.rmtree(link)
    link.symlink_to(relative)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _ensure_automations(path: Path) -> None:
    """Add the demo automations to automations.yaml, keeping the others."""
    automations: list[Any] = []
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            log(f"{path} is not plain YAML ({err}); demo automations not added")
            return
        if isinstance(loaded, list):
            automations = loaded
        elif loaded is not None:
            log(f"{path} is not a list; demo automations not added")
            return
    # The demo's own automations are brought up to date; others are kept.
    demo_ids = {item["id"]: item for item in DEMO_AUTOMATIONS}
    current = [
        demo_ids.get(item.get("id"), item) if isinstance(item, dict) else item
        for item in automations
    ]
    ids = {item.get("id") for item in current if isinstance(item, dict)}
    current.extend(item for item in DEMO_AUTOMATIONS if item["id"] not in ids)
    if current == automations and path.exists():
        return
    automations = current
    path.write_text(
        yaml.safe_dump(automations, sort_keys=False, allow_unicode=True),
        encoding="utf-8",
    )


def _mark_onboarding_steps(storage: Path) -> None:
    """Mark every onboarding step but the user's as done, on a new config.

    Home Assistant's core_config step starts the flows of met, radio_browser,
    google_translate and shopping_list, which need the network and packages
    the demo does not install; the location and units come from
    configuration.yaml instead. The user step is done through the onboarding
    API by ``setup``.
    """
    onboarding = storage / "onboarding"
    if onboarding.exists() or (storage / "auth").exists():
        return
    storage.mkdir(parents=True, exist_ok=True)
    onboarding.write_text(
        json.dumps(
            {
                "version": 4,
                "minor_version": 1,
                "key": "onboarding",
                "data": {"done": ["core_config", "analytics", "integration"]},
            },
            indent=2,
        ),
        encoding="utf-8",
    )


def prepare(config: Path, ha_port: int) -> None:
    """Write the configuration directory; changes nothing that is right."""
    config.mkdir(parents=True, exist_ok=True)
    (config / "packages").mkdir(exist_ok=True)
    light = yaml.safe_dump(DEMO_LIGHT_CONFIG, sort_keys=False, allow_unicode=True)
    _write_if_changed(
        config / "configuration.yaml",
        CONFIGURATION_YAML.format(
            latitude=HOME_LATITUDE,
            longitude=HOME_LONGITUDE,
            ha_port=ha_port,
            dashboard=DASHBOARD_URL_PATH,
            light=light,
            trusted_network=TRUSTED_NETWORK,
        ),
    )
    for name in ("scripts.yaml", "scenes.yaml"):
        if not (config / name).exists():
            (config / name).write_text("[]\n", encoding="utf-8")
    _ensure_automations(config / "automations.yaml")
    _link(
        config / "custom_components" / "ixicare",
        ROOT / "custom_components" / "ixicare",
    )
    _link(config / "dashboards" / "ixicare.yaml", demo.DASHBOARD_FILE)
    blueprints = config / "blueprints" / "automation" / "ixicare"
    blueprints.mkdir(parents=True, exist_ok=True)
    for source in sorted(BLUEPRINT_DIR.glob("*.yaml")):
        _write_if_changed(blueprints / source.name, source.read_text("utf-8"))
    _mark_onboarding_steps(config / ".storage")


# ---------------------------------------------------------------------------
# Talking to Home Assistant and the simulator


@dataclass
class Demo:
    """The running demo: Home Assistant, the simulator and a session."""

    session: aiohttp.ClientSession
    ha_url: str
    sim_url: str
    config: Path
    pid: int | None = None
    token: str = ""

    @property
    def client_id(self) -> str:
        """Return the OAuth client id of these scripts (the frontend's)."""
        return f"{self.ha_url}/"

    @property
    def site_url(self) -> str:
        """Return the control API URL of the demo site."""
        return f"{self.sim_url}/control/sites/{demo.DEMO_SITE}"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def alive(self) -> None:
        """Raise DemoError when the Home Assistant process is gone."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            raise DemoError(
                "Home Assistant stopped; see home-assistant.log in the config directory"
            ) from None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> Any:
        """Call Home Assistant's REST API and return the JSON answer."""
        async with self.session.request(
            method,
            f"{self.ha_url}{path}",
            json=json_body,
            data=form,
            headers=self._headers(),
        ) as response:
            text = await response.text()
            if response.status not in expect:
                raise DemoError(f"{method} {path}: HTTP {response.status} {text}")
            if response.content_type != "application/json" or not text:
                return None
            return json.loads(text)

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call the simulator's control API for the demo site."""
        async with self.session.request(
            method, f"{self.site_url}{path}", json=body
        ) as response:
            text = await response.text()
            if response.status != 200:
                raise DemoError(f"simulator {method} {path}: {response.status} {text}")
            return json.loads(text)

    async def states(self) -> dict[str, dict[str, Any]]:
        """Return every state by entity id."""
        states: list[dict[str, Any]] = await self.request("GET", "/api/states")
        return {state["entity_id"]: state for state in states}

    async def state(self, entity_id: str) -> str | None:
        """Return the state of one entity, None when it does not exist."""
        async with self.session.get(
            f"{self.ha_url}/api/states/{entity_id}", headers=self._headers()
        ) as response:
            if response.status == 404:
                return None
            if response.status != 200:
                raise DemoError(f"state of {entity_id}: HTTP {response.status}")
            body: dict[str, Any] = await response.json()
            return str(body["state"])


async def wait_until[T](
    what: str,
    probe: Callable[[], Awaitable[T | None]],
    timeout: float,
    demo_: Demo | None = None,
    interval: float = 0.5,
) -> T:
    """Call ``probe`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        if demo_ is not None:
            demo_.alive()
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(interval)


class HassWebSocket:
    """A minimal client of Home Assistant's WebSocket API."""

    def __init__(self, demo_: Demo) -> None:
        """Prepare a connection with the demo's access token."""
        self._demo = demo_
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._id = 0

    async def __aenter__(self) -> Self:
        """Connect and authenticate."""
        url = self._demo.ha_url.replace("http", "ws", 1) + "/api/websocket"
        ws = await self._demo.session.ws_connect(url)
        self._ws = ws
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": self._demo.token})
        answer = await ws.receive_json()
        if answer.get("type") != "auth_ok":
            raise DemoError(f"WebSocket authentication failed: {answer}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the connection."""
        if self._ws is not None:
            await self._ws.close()

    async def call(self, message_type: str, **data: Any) -> Any:
        """Send a command and return its result."""
        assert self._ws is not None
        self._id += 1
        await self._ws.send_json({"id": self._id, "type": message_type, **data})
        while True:
            answer = await self._ws.receive_json(timeout=30)
            if answer.get("id") == self._id and answer.get("type") == "result":
                if not answer.get("success"):
                    raise DemoError(f"{message_type} failed: {answer.get('error')}")
                return answer.get("result")


# ---------------------------------------------------------------------------
# setup: user, config entry, devices


async def _probe_ha(demo_: Demo) -> bool:
    try:
        async with demo_.session.get(f"{demo_.ha_url}/api/onboarding") as response:
            return response.status in (200, 404)
    except aiohttp.ClientError:
        return False


async def _login(demo_: Demo) -> str:
    """Log the demo user in through the login flow; return an auth code."""
    flow = await demo_.request(
        "POST",
        "/auth/login_flow",
        json_body={
            "client_id": demo_.client_id,
            "handler": ["homeassistant", None],
            "redirect_uri": f"{demo_.ha_url}/?auth_callback=1",
        },
    )
    result = await demo_.request(
        "POST",
        f"/auth/login_flow/{flow['flow_id']}",
        json_body={
            "username": DEMO_USER,
            "password": DEMO_PASSWORD,
            "client_id": demo_.client_id,
        },
    )
    if result.get("type") != "create_entry":
        raise DemoError(
            f"the demo user {DEMO_USER!r} cannot log in with the demo password "
            f"({result.get('errors')}); remove the config directory to start over"
        )
    return str(result["result"])


async def authenticate(demo_: Demo) -> None:
    """Create the demo user on a new instance, or log in; keep a token."""
    steps = await demo_.request("GET", "/api/onboarding", expect=(200, 404))
    user_done = not steps or any(
        step["step"] == "user" and step["done"] for step in steps
    )
    if user_done:
        code = await _login(demo_)
    else:
        log(f"Creating the demo user {DEMO_USER!r} (onboarding)")
        answer = await demo_.request(
            "POST",
            "/api/onboarding/users",
            json_body={
                "client_id": demo_.client_id,
                "name": DEMO_NAME,
                "username": DEMO_USER,
                "password": DEMO_PASSWORD,
                "language": "en",
            },
        )
        code = answer["auth_code"]
    tokens = await demo_.request(
        "POST",
        "/auth/token",
        form={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": demo_.client_id,
        },
    )
    demo_.token = tokens["access_token"]
    if not user_done:
        # Steps a newer Home Assistant may add are finished too.
        for step in await demo_.request("GET", "/api/onboarding", expect=(200, 404)):
            if not step["done"]:
                log(f"Onboarding step {step['step']} left undone")


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


async def setup(demo_: Demo) -> None:
    """Set the running Home Assistant up for the demo."""
    log(f"Waiting for Home Assistant at {demo_.ha_url}")
    await wait_until("Home Assistant to answer", lambda: _probe_ha(demo_), 600, demo_)
    await authenticate(demo_)
    await ensure_entry(demo_)
    await ensure_devices(demo_)
    await end_stale_alerts(demo_)
    await corridor_light_off(demo_)
    await check_dashboard(demo_)


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


# ---------------------------------------------------------------------------
# Command line


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {value}")
    return value.rstrip("/")


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(description="Set the ixicare demo up.")
    commands = parser.add_subparsers(dest="command", required=True)
    prepare_cmd = commands.add_parser("prepare", help="write the config directory")
    prepare_cmd.add_argument("--config", type=Path, required=True)
    prepare_cmd.add_argument("--ha-port", type=int, default=8123)
    for name in ("setup", "check"):
        cmd = commands.add_parser(name)
        cmd.add_argument("--config", type=Path, required=True)
        cmd.add_argument("--ha-url", type=_url, default="http://127.0.0.1:8123")
        cmd.add_argument("--sim-url", type=_url, default="http://127.0.0.1:8765")
        cmd.add_argument("--pid", type=int, help="the Home Assistant process")
    return parser


async def run_online(args: argparse.Namespace) -> None:
    """Run ``setup`` or ``check`` against the running demo."""
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        demo_ = Demo(
            session=session,
            ha_url=args.ha_url,
            sim_url=args.sim_url,
            config=args.config.resolve(),
            pid=args.pid,
        )
        if args.command == "setup":
            await setup(demo_)
        else:
            await _probe_or_fail(demo_)
            await authenticate(demo_)
            await check(demo_)


async def _probe_or_fail(demo_: Demo) -> None:
    if not await _probe_ha(demo_):
        raise DemoError(f"Home Assistant does not answer at {demo_.ha_url}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "prepare":
            prepare(args.config.resolve(), args.ha_port)
        else:
            asyncio.run(run_online(args))
    except DemoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
