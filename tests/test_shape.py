"""The shape of the integration (issue 15): one job per module, within bounds."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_platform
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ixicare import entity as entity_module
from custom_components.ixicare.const import DOMAIN
from custom_components.ixicare.entity import IxicareEntity
from ixicare_simulator import IxicareSimulator

from .conftest import SITE_UUID
from .helpers import wait_for

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "custom_components" / DOMAIN
# Where no file may pass 400 lines.
FOLDERS = ("custom_components", "ixicare_simulator", "scripts", "benchmarks")


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_modules_stay_small() -> None:
    assert _lines(PACKAGE / "coordinator.py") <= 250
    too_long = {
        str(path.relative_to(ROOT)): _lines(path)
        for folder in FOLDERS
        for path in (ROOT / folder).rglob("*.py")
        if _lines(path) > 400
    }
    assert too_long == {}


async def test_statistics_are_counted_once(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> None:
    """The integration reads the client's counts rather than keeping its own."""
    coordinator = init_integration.runtime_data.coordinator
    own = {field.name for field in dataclasses.fields(coordinator.stats)}
    assert not own & {"heartbeats", "alerts", "invalid"}
    device = simulator.make_devices(SITE_UUID, 1, seed=151)[0]
    for level in (40, 41):
        await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=level)
    await wait_for(hass, lambda: coordinator.client.stats.heartbeats == 2)
    assert coordinator.stats.heartbeats == 2
    assert coordinator.stats.as_dict()["heartbeats"] == 2


async def test_a_device_s_entities_share_one_device_info(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> None:
    """Kept by the site's devices object, not in a module-global cache."""
    assert not hasattr(entity_module, "_DEVICE_INFO")
    coordinator = init_integration.runtime_data.coordinator
    device = simulator.make_devices(SITE_UUID, 1, seed=152)[0]
    await simulator.send_heartbeat(SITE_UUID, device.mac)
    mac = device.mac.lower()
    await wait_for(hass, lambda: mac in coordinator.state.devices)
    await hass.async_block_till_done()
    entities = [
        entity
        for platform in entity_platform.async_get_platforms(hass, DOMAIN)
        for entity in platform.entities.values()
        if isinstance(entity, IxicareEntity) and entity.device is not None
    ]
    assert len(entities) > 1
    shared = coordinator.devices.device_info(coordinator.state.devices[mac])
    assert all(entity.device_info is shared for entity in entities)
