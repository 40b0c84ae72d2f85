"""The token never leaks: not in logs at any level, errors, or repr."""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ixicare.const import DOMAIN
from ixicare_simulator import IxicareSimulator

from .conftest import SITE_UUID, TOKEN
from .helpers import wait_for

NEW_TOKEN = "tok-rotated-7d1e9b3a55c2-secret"


async def test_token_never_logged(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("socketio", "engineio", "aiohttp", "custom_components.ixicare"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    errors: list[str] = []
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    coordinator = mock_config_entry.runtime_data.coordinator
    device = simulator.make_devices(SITE_UUID, 1, seed=71)[0]
    alert_id = await simulator.raise_alert(SITE_UUID, device.mac, "MAN_DOWN")
    await simulator.send_raw(SITE_UUID, "alerts", {"broken": True})
    await wait_for(hass, lambda: coordinator.state.find_alert(alert_id) is not None)
    # A failing command, a reconnection, then the token revoked and renewed.
    simulator.fail_next_command(SITE_UUID, "Action not allowed")
    try:
        await hass.services.async_call(
            DOMAIN, "accept_alert", {"alert_id": alert_id}, blocking=True
        )
    except HomeAssistantError as err:
        errors.append(str(err))
    await simulator.restart()
    await wait_for(hass, lambda: coordinator.client.stats.connections == 2, timeout=15)
    simulator.set_token(SITE_UUID, NEW_TOKEN, revoke=True)
    await wait_for(
        hass, lambda: bool(hass.config_entries.flow.async_progress()), timeout=10
    )
    flow = hass.config_entries.flow.async_progress()[0]
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"token": "still-wrong-token"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"token": NEW_TOKEN}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    coordinator = mock_config_entry.runtime_data.coordinator
    await wait_for(hass, lambda: coordinator.client.connected)
    errors.extend(repr(x) for x in (coordinator.client, mock_config_entry))
    text = caplog.text + "\n".join(errors)
    assert "Action not allowed" in text
    for secret in (TOKEN, NEW_TOKEN, "still-wrong-token"):
        assert secret not in text
    assert "Bearer" not in caplog.text
    assert len(caplog.records) > 50
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
