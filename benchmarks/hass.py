"""Home Assistant set-up for the benchmark, and what watches it.

Home Assistant runs in the benchmark's process (the test harness's
``async_test_home_assistant`` with a temporary configuration directory and real
storage). This module starts it, pre-fills the integration's storage, adds the
config entry of the simulator's site, and hooks the probes that count what the
integration handles and when its states are written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass, field
import importlib
import json
from pathlib import Path
import time
from typing import Any

from .measure import Counter
from .simctl import SimulatorProcess

ENTRY_ID = "01JBENCHMARK00000000000000"


@contextlib.asynccontextmanager
async def home_assistant(config_dir: Path) -> AsyncIterator[Any]:
    """Run a test Home Assistant whose storage is real files in `config_dir`."""
    from unittest.mock import patch

    from aiohttp.resolver import AsyncResolver
    from homeassistant import loader
    from homeassistant.helpers import frame

    # The harness pinned for the newest Home Assistant needs these shims before it
    # is imported (pytest's runs get them from tests/newest_ha_plugin.py).
    importlib.import_module("tests.harness_shims")
    from pytest_homeassistant_custom_component.common import async_test_home_assistant  # type: ignore[import-untyped]

    # What the test harness's `mock_zeroconf_resolver` fixture does. Home Assistant
    # 2026.x closes the resolver through `real_close` (the harness's own resolver
    # has it from 2026); 2025.4 never looks for it.
    resolver = AsyncResolver()
    resolver.real_close = resolver.close  # type: ignore[attr-defined]
    with patch(
        "homeassistant.helpers.aiohttp_client._async_make_resolver",
        return_value=resolver,
    ):
        async with _hass(async_test_home_assistant, loader, frame, config_dir) as hass:
            yield hass


@contextlib.asynccontextmanager
async def _hass(
    factory: Any, loader: Any, frame: Any, config_dir: Path
) -> AsyncIterator[Any]:
    async with factory(config_dir=str(config_dir)) as hass:
        # What the harness's `hass` fixture does: without it, any frame report
        # (e.g. a deprecated use on a newer Home Assistant) raises instead of being
        # logged.
        frame.async_setup(hass)
        # What the `enable_custom_integrations` fixture does.
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
        try:
            yield hass
        finally:
            await hass.async_stop(force=True)


def store_data(
    heartbeats: list[dict[str, Any]], names: dict[str, str]
) -> dict[str, Any]:
    """Return what the coordinator stores for these devices (its Store format)."""
    from custom_components.ixicare.pyixicare.parser import parse_heartbeat
    from custom_components.ixicare.pyixicare.state import SiteState

    state = SiteState()
    for message in heartbeats:
        update = state.apply_heartbeat(parse_heartbeat(message))
        assert update.device is not None
        update.device.resident = names.get(message["device"]["id"])
    return state.as_dict()


def write_store(config_dir: Path, data: dict[str, Any]) -> None:
    """Pre-fill Home Assistant's storage for the benchmark's config entry."""
    from custom_components.ixicare.const import DOMAIN, STORAGE_VERSION

    key = f"{DOMAIN}.{ENTRY_ID}"
    storage = config_dir / ".storage"
    storage.mkdir(parents=True, exist_ok=True)
    (storage / key).write_text(
        json.dumps(
            {"version": STORAGE_VERSION, "minor_version": 1, "key": key, "data": data}
        )
    )


def add_entry(hass: Any, sim: SimulatorProcess) -> Any:
    """Add the config entry of the simulator's site."""
    from homeassistant.const import CONF_TOKEN, CONF_URL, CONF_VERIFY_SSL
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from custom_components.ixicare.const import (
        CONF_MAX_DEVICES,
        CONF_NAMESPACE,
        CONF_SITE_UUID,
        CONF_SOCKETIO_PATH,
        DOMAIN,
    )

    entry = MockConfigEntry(
        domain=DOMAIN,
        title="benchmark site",
        unique_id=sim.site,
        data={
            CONF_SITE_UUID: sim.site,
            CONF_TOKEN: sim.token,
            CONF_URL: sim.url,
            CONF_SOCKETIO_PATH: "ws",
            CONF_NAMESPACE: "/",
            CONF_VERIFY_SSL: True,
        },
        options={CONF_MAX_DEVICES: 100000},
        entry_id=ENTRY_ID,
    )
    entry.add_to_hass(hass)
    return entry


class Probe:
    """Count what the integration's client hands to the coordinator."""

    def __init__(self, coordinator: Any) -> None:
        client = coordinator.client
        self.heartbeats = Counter()
        self.alerts = Counter()
        self.connected_at: float | None = None
        on_heartbeat, on_alert, on_state = (
            client._on_heartbeat,
            client._on_alert,
            client._on_state,
        )

        def heartbeat(event: Any) -> None:
            on_heartbeat(event)
            self.heartbeats.hit()

        def alert(event: Any) -> None:
            on_alert(event)
            self.alerts.hit()

        def state(value: Any) -> None:
            on_state(value)
            if value == "connected":
                self.connected_at = time.perf_counter()

        client._on_heartbeat, client._on_alert, client._on_state = (
            heartbeat,
            alert,
            state,
        )

    def reset_alerts(self) -> None:
        """Count alerts and the next connection from now on."""
        self.alerts = Counter()
        self.connected_at = None


@dataclass
class Watch:
    """Time at which battery and MAN_DOWN states were written."""

    battery_latency: list[float] = field(default_factory=list)
    man_down_on: dict[str, float] = field(default_factory=dict)


def watch_states(hass: Any, coordinator: Any) -> tuple[Watch, Callable[[], None]]:
    """Record the latency of battery writes and when MAN_DOWN sensors turn on."""
    from homeassistant.const import EVENT_STATE_CHANGED
    from homeassistant.core import callback
    from homeassistant.helpers import entity_registry as er

    from custom_components.ixicare.const import DOMAIN

    battery: dict[str, str] = {}
    man_down: set[str] = set()
    prefix = f"{coordinator.site_uuid}_"
    for entry in er.async_entries_for_config_entry(er.async_get(hass), ENTRY_ID):
        rest = entry.unique_id.removeprefix(prefix)
        if entry.domain == "sensor" and rest.endswith("_battery"):
            battery[entry.entity_id] = rest.removesuffix("_battery")
        elif entry.domain == "binary_sensor" and rest.endswith("_man_down"):
            man_down.add(entry.entity_id)
    assert battery, f"no battery sensor of {DOMAIN} found"
    watched = battery.keys() | man_down
    watch = Watch()
    devices = coordinator.state.devices

    @callback
    def _changed(event: Any) -> None:
        new = event.data["new_state"]
        if new is None:
            return
        entity_id = event.data["entity_id"]
        written = new.last_reported_timestamp
        if (mac := battery.get(entity_id)) is not None:
            emitted = devices[mac].last_update
            if emitted is not None:
                watch.battery_latency.append(written - emitted)
        elif new.state == "on":
            watch.man_down_on[new.attributes["alert_id"]] = written

    unsub = hass.bus.async_listen(
        EVENT_STATE_CHANGED,
        _changed,
        event_filter=callback(lambda data: data["entity_id"] in watched),
    )
    return watch, unsub
