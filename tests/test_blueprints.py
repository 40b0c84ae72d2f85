"""The blueprints and the example dashboard, against the simulator.

The blueprints load through Home Assistant's blueprint schema and become valid
automations; they run for real (a MAN_DOWN turns the demo's light on, and a
heartbeat, a replay or a reload does not; the Accept and Resolve buttons reach
the server). The example dashboard's entities exist once the demo's devices
(same seed and count) are known.
"""

from __future__ import annotations

import importlib
from pathlib import Path
import shutil
import sys
from typing import Any
import uuid

from homeassistant.components import automation
from homeassistant.components.automation.config import (
    AUTOMATION_BLUEPRINT_SCHEMA,
    async_validate_config_item,
)
from homeassistant.components.blueprint.models import Blueprint, BlueprintInputs
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import yaml as yaml_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
import yaml

from custom_components.ixicare.const import DOMAIN
from ixicare_simulator import IxicareSimulator

from .conftest import SITE_UUID
from .helpers import entity_id, find_device, state_of, wait_for

ROOT = Path(__file__).resolve().parent.parent
BLUEPRINTS = ROOT / "blueprints" / "automation" / "ixicare"
LIGHTS = "lights_on_when_down"
NOTIFY = "notify_caregivers"
LIGHT = "light.corridor"

sys.path.insert(0, str(ROOT / "scripts"))
demo_dashboard: Any = importlib.import_module("demo_dashboard")
demo_setup: Any = importlib.import_module("demo_setup")


def load_blueprint(name: str) -> Blueprint:
    path = BLUEPRINTS / f"{name}.yaml"
    return Blueprint(
        yaml_util.load_yaml_dict(str(path)),
        path=str(path),
        expected_domain="automation",
        schema=AUTOMATION_BLUEPRINT_SCHEMA,
    )


@pytest.fixture
def blueprints(hass: HomeAssistant, tmp_path: Path) -> None:
    """Install the blueprints where Home Assistant looks for them."""
    hass.config.config_dir = str(tmp_path)
    shutil.copytree(BLUEPRINTS, tmp_path / "blueprints" / "automation" / "ixicare")


@pytest.fixture
async def light(hass: HomeAssistant) -> str:
    """Set up the demo's template light (the same configuration as the demo)."""
    config = demo_setup.DEMO_LIGHT_CONFIG
    for domain in ("input_boolean", "input_number", "template"):
        assert await async_setup_component(hass, domain, {domain: config[domain]})
    await hass.async_block_till_done()
    assert state_of(hass, LIGHT) == "off"
    return LIGHT


async def turn_off(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        "light", "turn_off", {"entity_id": LIGHT}, blocking=True
    )
    await hass.async_block_till_done()
    assert state_of(hass, LIGHT) == "off"


async def use_blueprints(hass: HomeAssistant, *configs: dict[str, Any]) -> None:
    """Set the automation integration up with blueprint automations."""
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "id": f"test_{number}",
                    "alias": f"Test {number}",
                    "use_blueprint": {"path": f"ixicare/{name}.yaml", "input": inputs},
                }
                for number, (name, inputs) in enumerate(
                    (config["name"], config["input"]) for config in configs
                )
            ]
        },
    )
    await hass.async_block_till_done()
    for number in range(len(configs)):
        assert state_of(hass, f"automation.test_{number}") == "on"


async def known_devices(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    entry: MockConfigEntry,
    count: int,
    seed: int,
) -> list[Any]:
    """Create devices in the simulator and wait until Home Assistant knows them."""
    devices = simulator.make_devices(SITE_UUID, count, seed=seed)
    for device in devices:
        await simulator.send_heartbeat(SITE_UUID, device.mac)
    coordinator = entry.runtime_data.coordinator
    await wait_for(hass, lambda: len(coordinator.state.devices) >= count)
    return devices


def device_id(hass: HomeAssistant, mac: str) -> str:
    device = find_device(hass, mac.lower())
    assert device is not None
    return device.id


@pytest.mark.parametrize(
    ("name", "inputs", "expected"),
    [
        (
            LIGHTS,
            {"lights": {"entity_id": LIGHT}},
            {"alert_type", "residents", "lights", "brightness", "when_clear"},
        ),
        (
            NOTIFY,
            {"notify_action": "notify.caregivers"},
            {"phones", "notify_action", "alert_types", "accept_text", "resolve_text"},
        ),
    ],
)
async def test_blueprint_is_valid(
    hass: HomeAssistant, name: str, inputs: dict[str, Any], expected: set[str]
) -> None:
    blueprint = load_blueprint(name)
    assert blueprint.domain == "automation"
    assert set(blueprint.inputs) == expected
    assert blueprint.validate() is None  # e.g. the minimal Home Assistant version
    blueprint_inputs = BlueprintInputs(
        blueprint,
        {"use_blueprint": {"path": f"ixicare/{name}.yaml", "input": inputs}},
    )
    blueprint_inputs.validate()
    config = blueprint_inputs.async_substitute()
    validated = await async_validate_config_item(hass, "test", config)
    assert validated is not None
    assert validated.validation_status == "ok"
    assert validated.validation_error is None


def test_lights_blueprint_triggers_on_the_bus_event_and_the_start_only() -> None:
    """No state trigger: an event entity's restore would otherwise replay alerts."""
    data = yaml_util.load_yaml_dict(str(BLUEPRINTS / f"{LIGHTS}.yaml"))
    triggers = data["triggers"]
    assert {trigger["trigger"] for trigger in triggers} == {"event", "homeassistant"}
    assert [t["event"] for t in triggers if t["trigger"] == "homeassistant"] == [
        "start"
    ]
    assert {
        trigger["event_data"]["transition"]
        for trigger in triggers
        if trigger["trigger"] == "event"
    } == {"raised", "escalated", "resolved", "cancelled", "dismissed"}


async def start_home_assistant(hass: HomeAssistant) -> None:
    """Let Home Assistant start: automations arm, start triggers fire."""
    await hass.async_start()
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.usefixtures("blueprints")
@pytest.mark.parametrize(
    ("alert_type", "chosen", "lit"),
    [
        pytest.param("MAN_DOWN", None, True, id="fall"),
        pytest.param("MAN_DOWN", "second", False, id="fall_of_someone_else"),
        pytest.param("PANIC_BUTTON", None, False, id="other_type"),
    ],
)
async def test_lights_on_after_a_restart_during_a_fall(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    light: str,
    alert_type: str,
    chosen: str | None,
    lit: bool,
) -> None:
    """The fall was raised before the restart: its sensor is on from the start."""
    first, second = await known_devices(hass, simulator, init_integration, 2, seed=6)
    await simulator.raise_alert(SITE_UUID, first.mac, alert_type)
    sensor = entity_id(hass, "binary_sensor", first.mac, alert_type.lower())
    await wait_for(hass, lambda: state_of(hass, sensor) == "on")
    hass.set_state(CoreState.not_running)
    residents = [device_id(hass, second.mac)] if chosen else []
    await use_blueprints(
        hass,
        {
            "name": LIGHTS,
            "input": {"lights": {"entity_id": light}, "residents": residents},
        },
    )
    assert state_of(hass, light) == "off"
    await start_home_assistant(hass)
    assert state_of(hass, light) == ("on" if lit else "off")


@pytest.mark.usefixtures("blueprints")
async def test_notify_caregivers_after_a_restart(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> None:
    """Alerts active when Home Assistant starts are notified, an accepted one
    with Resolve only; a type nobody asked for is not."""
    first, second = await known_devices(hass, simulator, init_integration, 2, seed=8)
    fall = await simulator.raise_alert(SITE_UUID, first.mac, "MAN_DOWN")
    accepted = await simulator.raise_alert(SITE_UUID, second.mac, "PANIC_BUTTON")
    await simulator.set_alert_status(SITE_UUID, accepted, "ACCEPTED")
    await simulator.raise_alert(SITE_UUID, second.mac, "CRITICAL_BATTERY")
    battery = entity_id(hass, "binary_sensor", second.mac, "critical_battery")
    await wait_for(hass, lambda: state_of(hass, battery) == "on")
    hass.set_state(CoreState.not_running)
    calls = async_mock_service(hass, "notify", "caregivers")
    await use_blueprints(
        hass,
        {
            "name": NOTIFY,
            "input": {
                "notify_action": "notify.caregivers",
                "alert_types": ["MAN_DOWN", "PANIC_BUTTON"],
            },
        },
    )
    assert calls == []
    await start_home_assistant(hass)
    by_tag = {call.data["data"]["tag"]: call for call in calls}
    assert set(by_tag) == {f"ixicare-{fall}", f"ixicare-{accepted}"}
    assert by_tag[f"ixicare-{fall}"].data["title"] == f"{first.name} is down"
    assert notification_buttons(by_tag[f"ixicare-{fall}"]) == [
        f"ACCEPT_{fall}",
        f"RESOLVE_{fall}",
    ]
    assert notification_buttons(by_tag[f"ixicare-{accepted}"]) == [
        f"RESOLVE_{accepted}"
    ]


async def set_light(hass: HomeAssistant, brightness: int | None) -> None:
    if brightness is None:
        await turn_off(hass)
        return
    await hass.services.async_call(
        "light",
        "turn_on",
        {"entity_id": LIGHT, "brightness": brightness},
        blocking=True,
    )
    await hass.async_block_till_done()


def brightness(hass: HomeAssistant) -> int | None:
    state = hass.states.get(LIGHT)
    assert state is not None
    if state.state != "on":
        return None
    return int(state.attributes["brightness"])


@pytest.mark.usefixtures("blueprints")
@pytest.mark.parametrize(
    ("when_clear", "before", "after"),
    [
        pytest.param("keep", None, 255, id="keep"),
        pytest.param("off", 77, None, id="off"),
        pytest.param("restore", 77, 77, id="restore_dimmed"),
        pytest.param("restore", None, None, id="restore_off"),
    ],
)
async def test_lights_once_no_fall_is_active(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    light: str,
    when_clear: str,
    before: int | None,
    after: int | None,
) -> None:
    assert await async_setup_component(hass, "scene", {})
    first, second = await known_devices(hass, simulator, init_integration, 2, seed=2)
    await set_light(hass, before)
    await use_blueprints(
        hass,
        {
            "name": LIGHTS,
            "input": {"lights": {"entity_id": light}, "when_clear": when_clear},
        },
    )
    # Two falls: the lights stay on until both have ended.
    one = await simulator.raise_alert(SITE_UUID, first.mac, "MAN_DOWN")
    await wait_for(hass, lambda: brightness(hass) == 255)
    two = await simulator.raise_alert(SITE_UUID, second.mac, "MAN_DOWN")
    sensor = entity_id(hass, "binary_sensor", second.mac, "man_down")
    await wait_for(hass, lambda: state_of(hass, sensor) == "on")
    await simulator.set_alert_status(SITE_UUID, one, "RESOLVED")
    # The end of an alert of another type changes nothing either.
    panic = await simulator.raise_alert(SITE_UUID, first.mac, "PANIC_BUTTON")
    await simulator.set_alert_status(SITE_UUID, panic, "CANCELLED")
    man_down = entity_id(hass, "binary_sensor", first.mac, "man_down")
    panic_sensor = entity_id(hass, "binary_sensor", first.mac, "panic_button")
    await wait_for(hass, lambda: state_of(hass, man_down) == "off")
    await wait_for(hass, lambda: state_of(hass, panic_sensor) == "off")
    assert brightness(hass) == 255
    # The last fall ends: the lights do what was chosen.
    await simulator.set_alert_status(SITE_UUID, two, "CANCELLED")
    await wait_for(hass, lambda: state_of(hass, sensor) == "off")
    await hass.async_block_till_done()
    assert brightness(hass) == after
    # "Put them back" leaves no scene behind; the next fall takes a new one.
    assert hass.states.async_entity_ids("scene") == []


@pytest.mark.usefixtures("blueprints")
async def test_lights_on_when_someone_is_down(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    light: str,
) -> None:
    first, second = await known_devices(hass, simulator, init_integration, 2, seed=12)
    await use_blueprints(
        hass,
        {"name": LIGHTS, "input": {"lights": {"entity_id": light}, "brightness": 60}},
    )
    coordinator = init_integration.runtime_data.coordinator

    # Another alert type does not turn the light on.
    panic = await simulator.raise_alert(SITE_UUID, first.mac, "PANIC_BUTTON")
    panic_sensor = entity_id(hass, "binary_sensor", first.mac, "panic_button")
    await wait_for(hass, lambda: state_of(hass, panic_sensor) == "on")
    assert state_of(hass, light) == "off"

    # A MAN_DOWN does, with the brightness asked for.
    fall = await simulator.raise_alert(SITE_UUID, second.mac, "MAN_DOWN")
    await wait_for(hass, lambda: state_of(hass, light) == "on")
    state = hass.states.get(light)
    assert state is not None
    assert state.attributes["brightness"] == 153  # 60 % of 255
    await turn_off(hass)

    # A heartbeat does not.
    await simulator.send_heartbeat(SITE_UUID, second.mac, battery_level=42)
    battery = entity_id(hass, "sensor", second.mac, "battery")
    await wait_for(hass, lambda: state_of(hass, battery) == "42.0")
    assert state_of(hass, light) == "off"

    # Nor does the server sending the active alerts again after a reconnection.
    simulator.replay_active_on_connect = True
    alerts = coordinator.stats.alerts
    await simulator.disconnect_clients(SITE_UUID)
    await wait_for(hass, lambda: coordinator.stats.alerts >= alerts + 2, timeout=30)
    assert coordinator.client.connected
    assert state_of(hass, light) == "off"

    # Nor a reload of the integration (entities come back, alerts replayed).
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    coordinator = init_integration.runtime_data.coordinator
    await wait_for(hass, lambda: coordinator.stats.alerts >= 2, timeout=30)
    man_down = entity_id(hass, "binary_sensor", second.mac, "man_down")
    assert state_of(hass, man_down) == "on"
    assert state_of(hass, light) == "off"

    # Nor the end of the fall.
    await simulator.set_alert_status(SITE_UUID, fall, "RESOLVED")
    await wait_for(hass, lambda: state_of(hass, man_down) == "off")
    assert state_of(hass, light) == "off"

    # A panic button that turns out to be a fall does.
    await simulator.escalate_alert(SITE_UUID, panic, "MAN_DOWN")
    await wait_for(hass, lambda: state_of(hass, light) == "on")


@pytest.mark.usefixtures("blueprints")
async def test_lights_only_for_chosen_residents(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    light: str,
) -> None:
    first, second = await known_devices(hass, simulator, init_integration, 2, seed=5)
    await use_blueprints(
        hass,
        {
            "name": LIGHTS,
            "input": {
                "alert_type": "GEOFENCING",
                "residents": [device_id(hass, first.mac)],
                "lights": {"entity_id": light},
            },
        },
    )
    await simulator.raise_alert(SITE_UUID, second.mac, "GEOFENCING")
    geofencing = entity_id(hass, "binary_sensor", second.mac, "geofencing")
    await wait_for(hass, lambda: state_of(hass, geofencing) == "on")
    assert state_of(hass, light) == "off"
    await simulator.raise_alert(SITE_UUID, first.mac, "GEOFENCING")
    await wait_for(hass, lambda: state_of(hass, light) == "on")
    state = hass.states.get(light)
    assert state is not None
    assert state.attributes["brightness"] == 255  # the default 100 %


def notification_buttons(call: Any) -> list[str]:
    return [button["action"] for button in call.data["data"].get("actions", [])]


@pytest.mark.usefixtures("blueprints")
async def test_notify_caregivers_accept_and_resolve(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    (resident,) = await known_devices(hass, simulator, init_integration, 1, seed=9)
    # A phone of the companion app, and its notify action.
    phone_entry = MockConfigEntry(domain="mobile_app", title="Pixel 7")
    phone_entry.add_to_hass(hass)
    phone = device_registry.async_get_or_create(
        config_entry_id=phone_entry.entry_id,
        identifiers={("mobile_app", "pixel-7")},
        name="Pixel 7",
    )
    phone_calls = async_mock_service(hass, "notify", "mobile_app_pixel_7")
    group_calls = async_mock_service(hass, "notify", "caregivers")
    await use_blueprints(
        hass,
        {
            "name": NOTIFY,
            "input": {
                "phones": [phone.id],
                "notify_action": "notify.caregivers",
                "alert_types": ["MAN_DOWN", "PANIC_BUTTON"],
                "accept_text": "I'm on it",
            },
        },
    )

    # A type nobody asked for sends nothing.
    battery = await simulator.raise_alert(SITE_UUID, resident.mac, "CRITICAL_BATTERY")
    sensor = entity_id(hass, "binary_sensor", resident.mac, "critical_battery")
    await wait_for(hass, lambda: state_of(hass, sensor) == "on")
    await simulator.set_alert_status(SITE_UUID, battery, "RESOLVED")
    await wait_for(hass, lambda: state_of(hass, sensor) == "off")
    assert phone_calls == group_calls == []

    # A fall: both get the notification with the two buttons.
    fall = await simulator.raise_alert(SITE_UUID, resident.mac, "MAN_DOWN")
    await wait_for(hass, lambda: len(phone_calls) == len(group_calls) == 1)
    call = phone_calls[0]
    assert call.data["title"] == f"{resident.name} is down"
    assert call.data["message"] == f"Man down in {resident.zone}"
    assert call.data["data"]["tag"] == f"ixicare-{fall}"
    assert call.data["data"]["actions"] == [
        {"action": f"ACCEPT_{fall}", "title": "I'm on it"},
        {"action": f"RESOLVE_{fall}", "title": "Resolve"},
    ]
    assert group_calls[0].data == call.data

    # Buttons of something else are none of its business.
    hass.bus.async_fire("mobile_app_notification_action", {"action": "SNOOZE_1"})
    hass.bus.async_fire(
        "mobile_app_notification_action", {"action": f"ACCEPT_{uuid.uuid4()}"}
    )
    await hass.async_block_till_done()
    assert simulator.uplinks(SITE_UUID) == []

    # Accept: the server is told, and the notification keeps only Resolve.
    hass.bus.async_fire("mobile_app_notification_action", {"action": f"ACCEPT_{fall}"})
    await wait_for(hass, lambda: len(phone_calls) == 2, timeout=10)
    assert simulator.alerts(SITE_UUID)[fall]["status"] == "ACCEPTED"
    uplink = simulator.uplinks(SITE_UUID)[-1]
    assert uplink["alert"] == {"id": fall, "action": "ACCEPT"}
    assert notification_buttons(phone_calls[1]) == [f"RESOLVE_{fall}"]
    assert phone_calls[1].data["data"]["tag"] == f"ixicare-{fall}"

    # Resolve: the server is told, and the notification is cleared.
    hass.bus.async_fire("mobile_app_notification_action", {"action": f"RESOLVE_{fall}"})
    await wait_for(hass, lambda: len(phone_calls) == 3, timeout=10)
    assert simulator.alerts(SITE_UUID)[fall]["status"] == "RESOLVED"
    assert phone_calls[2].data == {
        "message": "clear_notification",
        "data": {"tag": f"ixicare-{fall}"},
    }
    assert len(group_calls) == 3

    # A panic button escalated to a fall notifies again.
    panic = await simulator.raise_alert(SITE_UUID, resident.mac, "PANIC_BUTTON")
    await simulator.escalate_alert(SITE_UUID, panic, "MAN_DOWN")
    await wait_for(hass, lambda: len(phone_calls) == 5)
    assert phone_calls[4].data["message"] == (
        f"Man down in {resident.zone} (escalated from Panic button)"
    )


@pytest.mark.usefixtures("blueprints")
async def test_notify_caregivers_in_home_assistant(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The demo's use: Home Assistant's own notifications, dismissed at the end."""
    (resident,) = await known_devices(hass, simulator, init_integration, 1, seed=3)
    assert await async_setup_component(hass, "persistent_notification", {})
    assert await async_setup_component(hass, "notify", {})
    await use_blueprints(
        hass,
        {"name": NOTIFY, "input": {"notify_action": "notify.persistent_notification"}},
    )
    client = await hass_ws_client(hass)

    async def notifications() -> dict[str, Any]:
        await client.send_json_auto_id({"type": "persistent_notification/get"})
        answer = await client.receive_json()
        return {note["notification_id"]: note for note in answer["result"]}

    fall = await simulator.raise_alert(SITE_UUID, resident.mac, "MAN_DOWN")
    man_down = entity_id(hass, "binary_sensor", resident.mac, "man_down")
    await wait_for(hass, lambda: state_of(hass, man_down) == "on")
    note = (await notifications())[f"ixicare-{fall}"]
    assert note["title"] == f"{resident.name} is down"
    await simulator.set_alert_status(SITE_UUID, fall, "CANCELLED")
    await wait_for(hass, lambda: state_of(hass, man_down) == "off")
    assert f"ixicare-{fall}" not in await notifications()


async def test_dashboard_entities_exist(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> None:
    """The demo's devices (same seed and count) have every entity of the dashboard."""
    assert demo_dashboard.DEMO_SITE == SITE_UUID
    residents = demo_dashboard.residents()
    devices = simulator.make_devices(
        SITE_UUID, demo_dashboard.DEMO_DEVICES, seed=demo_dashboard.DEMO_SEED
    )
    assert [(d.mac, d.name) for d in devices] == [(r.mac, r.name) for r in residents]
    # What the demo's set-up does: a heartbeat each, the IXI PROs outdoors once.
    for resident in residents:
        outdoor = (56.8233, 22.1626) if resident.gps else None
        changes = {"outdoor": outdoor} if outdoor else {}
        await simulator.send_heartbeat(SITE_UUID, resident.mac, **changes)
    expected = demo_dashboard.expected_entity_ids()
    registry = er.async_get(hass)

    def registered() -> dict[str, str | None]:
        return {
            unique_id: registry.async_get_entity_id(
                wanted.split(".")[0], DOMAIN, unique_id
            )
            for unique_id, wanted in expected.items()
        }

    await wait_for(hass, lambda: None not in registered().values())
    assert registered() == expected

    dashboard = yaml.safe_load(demo_dashboard.DASHBOARD_FILE.read_text("utf-8"))
    wanted = demo_setup.dashboard_entity_ids(dashboard)
    assert len(wanted) > 30
    assert sorted(wanted - set(hass.states.async_entity_ids())) == []


def visible_cards(hass: HomeAssistant, card: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the cards the frontend shows for `card` with today's states.

    Conditional cards are evaluated as the frontend does (every state
    condition must hold); stacks are opened.
    """
    if card["type"] == "conditional":
        for condition in card["conditions"]:
            assert condition["condition"] == "state"
            state = state_of(hass, condition["entity"])
            if "state" in condition:
                wanted = condition["state"]
                if state not in (wanted if isinstance(wanted, list) else [wanted]):
                    return []
            if "state_not" in condition:
                unwanted = condition["state_not"]
                if state in (unwanted if isinstance(unwanted, list) else [unwanted]):
                    return []
        return visible_cards(hass, card["card"])
    if card["type"] in ("vertical-stack", "horizontal-stack"):
        return [
            shown for inner in card["cards"] for shown in visible_cards(hass, inner)
        ]
    return [card]


def sections(hass: HomeAssistant) -> dict[str, list[dict[str, Any]]]:
    """Return the visible cards of each section, by its heading."""
    dashboard = yaml.safe_load(demo_dashboard.DASHBOARD_FILE.read_text("utf-8"))
    shown: dict[str, list[dict[str, Any]]] = {}
    for section in dashboard["views"][0]["sections"]:
        heading, *cards = section["cards"]
        shown[heading["heading"]] = [
            visible for card in cards for visible in visible_cards(hass, card)
        ]
    return shown


def tiles(cards: list[dict[str, Any]], color: str | None = None) -> list[str]:
    """Return the names of the tiles (of one colour) among `cards`."""
    return [
        card["name"]
        for card in cards
        if card["type"] == "tile" and (color is None or card.get("color") == color)
    ]


async def test_dashboard_follows_alerts_and_floors(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> None:
    """Who needs help, with the buttons; everyone under the floor they are on now."""
    people = demo_dashboard.residents()
    simulator.make_devices(
        SITE_UUID, demo_dashboard.DEMO_DEVICES, seed=demo_dashboard.DEMO_SEED
    )
    for person in people:
        await simulator.send_heartbeat(SITE_UUID, person.mac)
    coordinator = init_integration.runtime_data.coordinator
    await wait_for(hass, lambda: len(coordinator.state.devices) == len(people))
    names = {person.name for person in people}

    shown = sections(hass)
    assert tiles(shown["Needs help"], "green") == ["Nobody needs help"]
    assert tiles(shown["Needs help"], "red") == []  # quiet: nothing stands out
    # Everyone is listed once, quiet (grey), under their floor.
    by_floor = {
        floor: tiles(shown[floor]) for floor in (*demo_dashboard.FLOORS, "Elsewhere")
    }
    assert sorted(name for listed in by_floor.values() for name in listed) == sorted(
        names
    )
    for person in people:
        assert person.name in by_floor[person.floor]
        assert person.name in tiles(shown[person.floor], "grey")

    # A fall: the resident stands out (red) under their floor, and the help
    # list has a card with the alert, where it is, and both buttons.
    fallen, mover = people[0], people[1]
    fall = await simulator.raise_alert(SITE_UUID, fallen.mac, "MAN_DOWN")
    await wait_for(
        hass, lambda: state_of(hass, fallen.entity_id("active_alert")) == "man_down"
    )
    shown = sections(hass)
    assert "Nobody needs help" not in tiles(shown["Needs help"])
    assert tiles(shown["Needs help"], "red") == ["Active alerts", fallen.name, "Where"]
    help_card = {card["name"]: card for card in shown["Needs help"]}
    assert help_card["Accept"]["entity"] == fallen.entity_id("accept_alert")
    assert help_card["Resolve"]["entity"] == fallen.entity_id("resolve_alert")
    assert tiles(shown[fallen.floor], "red") == [fallen.name]
    assert fallen.name not in tiles(shown[fallen.floor], "grey")

    # Accept, then Resolve, as the cards' tap actions do.
    for button, status in (("Accept", "ACCEPTED"), ("Resolve", "RESOLVED")):
        action = help_card[button]["tap_action"]
        domain, service = action["perform_action"].split(".")
        await hass.services.async_call(
            domain, service, target=action["target"], blocking=True
        )
        assert simulator.alerts(SITE_UUID)[fall]["status"] == status
    await wait_for(
        hass, lambda: state_of(hass, fallen.entity_id("active_alert")) == "none"
    )
    # The resolved alert leaves the list.
    shown = sections(hass)
    assert tiles(shown["Needs help"]) == ["Connection", "Nobody needs help"]
    assert fallen.name in tiles(shown[fallen.floor], "grey")

    # A resident who moves is listed under the floor they are on now.
    destination = next(f for f in demo_dashboard.FLOORS if f != mover.floor)
    await simulator.send_heartbeat(
        SITE_UUID, mover.mac, floor=destination, zone="Lounge"
    )
    await wait_for(
        hass, lambda: state_of(hass, mover.entity_id("floor")) == destination
    )
    shown = sections(hass)
    assert mover.name in tiles(shown[destination])
    assert mover.name not in tiles(shown[mover.floor])


def card_types(node: Any) -> set[str]:
    types: set[str] = set()
    if isinstance(node, dict):
        if isinstance(node.get("type"), str):
            types.add(node["type"])
        for value in node.values():
            types |= card_types(value)
    elif isinstance(node, list):
        for item in node:
            types |= card_types(item)
    return types


def test_dashboard_file_is_current_and_built_in() -> None:
    text = demo_dashboard.DASHBOARD_FILE.read_text("utf-8")
    assert text == demo_dashboard.dashboard_yaml(), (
        "dashboards/ixicare.yaml is stale: run scripts/demo_dashboard.py"
    )
    types = card_types(yaml.safe_load(text))
    assert not {t for t in types if t.startswith("custom:")}
    assert types <= {
        "sections",
        "grid",
        "heading",
        "tile",
        "conditional",
        "vertical-stack",
        "horizontal-stack",
        "map",
    }
