"""The token never leaks: not in logs at any level, errors, or repr."""

from __future__ import annotations

import logging

from homeassistant.const import CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ixicare.const import CONF_NAMESPACE, CONF_SOCKETIO_PATH, DOMAIN
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


async def test_tls_verification_off_is_a_repair_issue(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Warned once, an issue while the check is off, gone when on or removed."""
    issues = ir.async_get(hass)
    issue_id = f"tls_verification_off_{mock_config_entry.entry_id}"
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_VERIFY_SSL: False}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "tls_verification_off"
    assert issue.translation_placeholders == {"title": mock_config_entry.title}
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is not None
    assert caplog.text.count("does not verify the ixicare server's TLS") == 1
    # Turned on: the issue goes.
    result = await mock_config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_URL: simulator.url,
            CONF_SOCKETIO_PATH: "ws",
            CONF_NAMESPACE: "/",
            CONF_VERIFY_SSL: True,
        },
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    # Off again, then the entry is deleted: the issue goes with it.
    hass.config_entries.async_update_entry(
        mock_config_entry, data={**mock_config_entry.data, CONF_VERIFY_SSL: False}
    )
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert issues.async_get_issue(DOMAIN, issue_id) is not None
    assert caplog.text.count("does not verify the ixicare server's TLS") == 2
    assert await hass.config_entries.async_remove(mock_config_entry.entry_id)
    assert issues.async_get_issue(DOMAIN, issue_id) is None
