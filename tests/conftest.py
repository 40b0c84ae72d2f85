"""Fixtures: a real ixicare simulator on loopback and a configured site."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ixicare.const import (
    CONF_NAMESPACE,
    CONF_SITE_UUID,
    CONF_SOCKETIO_PATH,
    CONF_UNAVAILABLE_AFTER,
    DOMAIN,
)
from custom_components.ixicare.pyixicare import client as client_module
from ixicare_simulator import IxicareSimulator

pytest_plugins = "pytest_homeassistant_custom_component"

SITE_UUID = "8c1f2a3e-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
TOKEN = "tok-3f9a1c7e5b2d4f60-secret"
OTHER_SITE = "0b5e2c1d-9a8f-4e3d-8c2b-1a0f9e8d7c6b"
OTHER_TOKEN = "tok-other-site-secret"
MAC = "00:02:04:06:08:0a"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    enable_custom_integrations: None,
) -> Generator[None]:
    """Load custom integrations in every test."""
    return


@pytest.fixture(params=["fast", "stock"])
def receive_path(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Run a test with the client's fast receive path, then with the stock one."""
    if request.param == "stock":
        monkeypatch.setattr(client_module, "fast_path_available", lambda: False)
    else:
        assert client_module.fast_path_available()
    return str(request.param)


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncGenerator[IxicareSimulator]:
    """Run the ixicare simulator on loopback with two sites."""
    sim = IxicareSimulator(
        sites={SITE_UUID: TOKEN, OTHER_SITE: OTHER_TOKEN}, host="127.0.0.1", port=0
    )
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def entry_data(sim: IxicareSimulator, **overrides: Any) -> dict[str, Any]:
    """Return config entry data pointing at the simulator."""
    return {
        CONF_SITE_UUID: SITE_UUID,
        CONF_TOKEN: TOKEN,
        CONF_URL: sim.url,
        CONF_SOCKETIO_PATH: "ws",
        CONF_NAMESPACE: "/",
        CONF_VERIFY_SSL: True,
        **overrides,
    }


@pytest.fixture
def mock_config_entry(simulator: IxicareSimulator) -> MockConfigEntry:
    """Return the config entry of the simulator's first site."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="ixicare 8c1f2a3e",
        unique_id=SITE_UUID,
        data=entry_data(simulator),
        options={CONF_UNAVAILABLE_AFTER: 120},
        entry_id="01JIXICARE0000000000000000",
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> AsyncGenerator[MockConfigEntry]:
    """Set the integration up against the simulator; unload it before the simulator stops."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    yield mock_config_entry
    if mock_config_entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
        await hass.async_block_till_done()
