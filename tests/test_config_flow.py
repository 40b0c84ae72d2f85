"""Config flow, reauthentication, reconfiguration and options of ixicare."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
import logging
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_NAME, CONF_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ixicare.const import (
    CONF_COMMAND_TIMEOUT,
    CONF_IDLE_TIMEOUT,
    CONF_MAX_DEVICES,
    CONF_NAMESPACE,
    CONF_SITE_UUID,
    CONF_SOCKETIO_PATH,
    CONF_UNAVAILABLE_AFTER,
    DOMAIN,
)
from ixicare_simulator import IxicareSimulator

from .conftest import OTHER_SITE, OTHER_TOKEN, SITE_UUID, TOKEN, entry_data
from .helpers import wait_for

NEW_TOKEN = "tok-new-after-rotation"
OTHER_PATH_TOKEN = "tok-second-server"


def user_input(
    sim: IxicareSimulator,
    *,
    site_uuid: str = SITE_UUID,
    token: str = TOKEN,
    **advanced: Any,
) -> dict[str, Any]:
    """Return the input of the user step, the advanced section filled in."""
    return {
        CONF_SITE_UUID: site_uuid,
        CONF_TOKEN: token,
        "advanced": {
            CONF_URL: sim.url,
            CONF_SOCKETIO_PATH: "ws",
            CONF_NAMESPACE: "/",
            CONF_VERIFY_SSL: True,
            **advanced,
        },
    }


def reconfigure_input(sim: IxicareSimulator, **changes: Any) -> dict[str, Any]:
    """Return the input of the reconfigure step."""
    return {
        CONF_URL: sim.url,
        CONF_SOCKETIO_PATH: "ws",
        CONF_NAMESPACE: "/",
        CONF_VERIFY_SSL: True,
        **changes,
    }


def reauth_flows(hass: HomeAssistant, entry: MockConfigEntry) -> list[Any]:
    """Return the reauthentication flows in progress for `entry`."""
    return [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"]["source"] == SOURCE_REAUTH
        and flow["context"].get("entry_id") == entry.entry_id
    ]


@pytest.fixture
async def second_server(socket_enabled: None) -> AsyncGenerator[IxicareSimulator]:
    """Run another ixicare server with an Engine.IO path other than ``ws``."""
    sim = IxicareSimulator(
        sites={SITE_UUID: OTHER_PATH_TOKEN},
        host="127.0.0.1",
        port=0,
        socketio_path="engine",
    )
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


# -- user step ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "title"),
    [
        (None, "ixicare 8c1f2a3e"),
        ("  Residence Les Tilleuls ", "Residence Les Tilleuls"),
    ],
)
async def test_user_flow(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    name: str | None,
    title: str,
) -> None:
    """A site UUID and a token create an entry; the UUID is stored lower-case."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}

    data = user_input(simulator, site_uuid=f"  {SITE_UUID.upper()} ")
    if name is not None:
        data[CONF_NAME] = name
    result = await hass.config_entries.flow.async_configure(result["flow_id"], data)
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title
    assert result["data"] == {
        CONF_SITE_UUID: SITE_UUID,
        CONF_TOKEN: TOKEN,
        CONF_URL: simulator.url,
        CONF_SOCKETIO_PATH: "ws",
        CONF_NAMESPACE: "/",
        CONF_VERIFY_SSL: True,
    }
    entry = result["result"]
    assert entry.unique_id == SITE_UUID
    assert entry.title == title
    assert entry.data == result["data"]
    assert entry.state is ConfigEntryState.LOADED
    # The flow checked the token with one real handshake, then the entry
    # connected once more.
    attempts = simulator.handshakes(SITE_UUID)
    assert len(attempts) == 2
    assert all(attempt["authorized"] for attempt in attempts)
    assert simulator.connected_clients(SITE_UUID) == 1


async def test_user_flow_strips_trailing_slash(
    hass: HomeAssistant, simulator: IxicareSimulator
) -> None:
    """A URL with a trailing slash, a token with spaces: stored without them."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        user_input(
            simulator,
            site_uuid=OTHER_SITE,
            token=f"  {OTHER_TOKEN}\n",
            url=f" {simulator.url}/ ",
        ),
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_URL] == simulator.url
    assert result["data"][CONF_TOKEN] == OTHER_TOKEN
    assert result["result"].unique_id == OTHER_SITE
    assert result["title"] == "ixicare 0b5e2c1d"


def advanced_section(result: Any) -> Any:
    """Return the advanced section of the user form."""
    for key, value in result["data_schema"].schema.items():
        if str(key) == "advanced":
            return value
    raise AssertionError("no advanced section")


def section_defaults(advanced: Any) -> dict[str, Any]:
    """Return the values the section's fields are shown with."""
    return {str(key): key.default() for key in advanced.schema.schema}


@pytest.mark.parametrize(
    ("make_input", "errors"),
    [
        pytest.param(
            lambda sim, _port: user_input(sim, site_uuid="not-a-uuid"),
            {CONF_SITE_UUID: "invalid_site_uuid"},
            id="invalid_site_uuid",
        ),
        pytest.param(
            lambda sim, _port: user_input(sim, url="ftp://x"),
            {"advanced": "invalid_url"},
            id="invalid_url_scheme",
        ),
        pytest.param(
            lambda sim, _port: user_input(sim, url="not a url"),
            {"advanced": "invalid_url"},
            id="invalid_url_text",
        ),
        pytest.param(
            lambda sim, _port: user_input(sim, url="http://example.com"),
            {"advanced": "insecure_url"},
            id="insecure_url",
        ),
        pytest.param(
            lambda sim, _port: user_input(sim, token="wrong-token"),
            {"base": "invalid_auth"},
            id="invalid_auth",
        ),
        pytest.param(
            lambda sim, _port: user_input(sim, **{CONF_NAMESPACE: "/ws"}),
            {"advanced": "invalid_namespace"},
            id="invalid_namespace",
        ),
        pytest.param(
            lambda sim, _port: user_input(
                sim, url=sim.url.replace("://", "://admin:hunter2@")
            ),
            {"advanced": "url_credentials"},
            id="url_credentials",
        ),
        pytest.param(
            lambda sim, _port: user_input(sim, url="https://ixicare.example.com:99999"),
            {"advanced": "invalid_port"},
            id="invalid_port",
        ),
        pytest.param(
            lambda sim, _port: user_input(sim, url="https://ixicare.example.com:http"),
            {"advanced": "invalid_port"},
            id="invalid_port_text",
        ),
        pytest.param(
            lambda sim, _port: user_input(sim, url="https://ixicare.example.com:0"),
            {"advanced": "invalid_port"},
            id="port_zero",
        ),
        pytest.param(
            lambda sim, _port: user_input(sim, url="https://ixi care.example.com"),
            {"advanced": "url_characters"},
            id="url_space",
        ),
        pytest.param(
            lambda sim, _port: user_input(sim, url="https://ixicare.exa\nmple.com"),
            {"advanced": "url_characters"},
            id="url_line_break",
        ),
        pytest.param(
            lambda sim, _port: user_input(sim, url="https://ixicare\x00.example.com"),
            {"advanced": "url_characters"},
            id="url_control_character",
        ),
        pytest.param(
            lambda sim, _port: user_input(sim, url="https://[::1"),
            {"advanced": "invalid_url"},
            id="url_unparsable",
        ),
        pytest.param(
            lambda sim, port: user_input(sim, url=f"http://127.0.0.1:{port}"),
            {"base": "cannot_connect"},
            id="cannot_connect",
        ),
    ],
)
async def test_user_flow_errors(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    unused_tcp_port: int,
    make_input: Callable[[IxicareSimulator, int], dict[str, Any]],
    errors: dict[str, str],
) -> None:
    """Each error is shown on the form and the same flow then succeeds."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], make_input(simulator, unused_tcp_port)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == errors
    assert hass.config_entries.async_entries(DOMAIN) == []
    # The advanced section is shown open again after an error about its
    # fields (or the connection they define), with the values entered.
    advanced = advanced_section(result)
    opened = "advanced" in errors or errors.get("base") == "cannot_connect"
    assert advanced.options["collapsed"] is not opened
    entered = make_input(simulator, unused_tcp_port)["advanced"]
    assert section_defaults(advanced) == entered

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator)
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == SITE_UUID
    assert result["data"][CONF_TOKEN] == TOKEN


@pytest.mark.parametrize(
    "make_url",
    [
        pytest.param(lambda sim: f"ws://127.0.0.1:{sim.port}", id="ws"),
    ],
)
async def test_user_flow_plain_http_on_loopback(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    make_url: Callable[[IxicareSimulator], str],
) -> None:
    """Unencrypted URLs are accepted for this machine."""
    url = make_url(simulator)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator, url=url)
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_URL] == url
    assert result["result"].state is ConfigEntryState.LOADED


async def test_user_flow_unknown_error(
    hass: HomeAssistant, simulator: IxicareSimulator
) -> None:
    """An unexpected exception shows `unknown`; the flow can still finish."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    with patch(
        "custom_components.ixicare.config_flow.validate_connection",
        side_effect=Exception("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], user_input(simulator)
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator)
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == SITE_UUID


async def test_user_flow_already_configured(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A second entry for the same site aborts before connecting."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator, site_uuid=SITE_UUID.upper())
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert simulator.handshakes(SITE_UUID) == []
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


# -- reauthentication ---------------------------------------------------------


async def test_reauth_flow(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> None:
    """A wrong token is refused, the right one is stored and the entry reloads."""
    entry = init_integration
    coordinator = entry.runtime_data.coordinator
    simulator.set_token(SITE_UUID, NEW_TOKEN)

    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["title"] == "ixicare 8c1f2a3e"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: TOKEN}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    assert entry.data[CONF_TOKEN] == TOKEN

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: f"{NEW_TOKEN} "}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data == entry_data(simulator, **{CONF_TOKEN: NEW_TOKEN})

    # Reloaded: a new coordinator, connected with the new token.
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.coordinator is not coordinator
    assert entry.runtime_data.coordinator.client.connected
    await wait_for(hass, lambda: simulator.connected_clients(SITE_UUID) == 1)
    assert simulator.handshakes(SITE_UUID)[-1]["authorized"]
    assert reauth_flows(hass, entry) == []


async def test_reauth_started_at_setup(
    hass: HomeAssistant, simulator: IxicareSimulator
) -> None:
    """A refused token at set-up leaves the entry in error and asks for a token."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="ixicare 8c1f2a3e",
        unique_id=SITE_UUID,
        data=entry_data(simulator, **{CONF_TOKEN: "revoked-long-ago"}),
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = reauth_flows(hass, entry)
    assert len(flows) == 1
    assert flows[0]["step_id"] == "reauth_confirm"
    assert simulator.connected_clients(SITE_UUID) == 0

    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_TOKEN: TOKEN}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_TOKEN] == TOKEN
    assert entry.state is ConfigEntryState.LOADED
    await wait_for(hass, lambda: simulator.connected_clients(SITE_UUID) == 1)


async def test_reauth_started_when_token_revoked(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> None:
    """A token revoked mid-session starts one reauth flow and no retry storm."""
    entry = init_integration
    coordinator = entry.runtime_data.coordinator
    assert coordinator.client.connected
    before = len(simulator.handshakes(SITE_UUID))

    revoke = simulator.set_token(SITE_UUID, NEW_TOKEN, revoke=True)
    assert revoke is not None
    assert await revoke == 1
    await wait_for(hass, lambda: len(reauth_flows(hass, entry)) == 1)
    assert not coordinator.available

    # Give a misbehaving client time to hammer the server, then count.
    await asyncio.sleep(1.0)
    await hass.async_block_till_done()
    attempts = simulator.handshakes(SITE_UUID)[before:]
    assert len(attempts) == 1, attempts
    assert attempts[0]["reason"] == "wrong token"
    assert not attempts[0]["authorized"]
    flows = reauth_flows(hass, entry)
    assert len(flows) == 1
    assert simulator.connected_clients(SITE_UUID) == 0

    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_TOKEN: NEW_TOKEN}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_TOKEN] == NEW_TOKEN
    assert entry.state is ConfigEntryState.LOADED
    new_coordinator = entry.runtime_data.coordinator
    assert new_coordinator is not coordinator
    assert new_coordinator.client.connected
    assert new_coordinator.available
    await wait_for(hass, lambda: simulator.connected_clients(SITE_UUID) == 1)
    assert reauth_flows(hass, entry) == []


# -- reconfiguration -------------------------------------------------------------


async def test_reconfigure_flow(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    second_server: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> None:
    """The server, its path and the token change; the entry reloads on them."""
    entry = init_integration
    coordinator = entry.runtime_data.coordinator

    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {}
    defaults = {
        str(key): key.default()
        for key in result["data_schema"].schema
        if str(key) != CONF_TOKEN
    }
    assert defaults == {
        CONF_URL: simulator.url,
        CONF_SOCKETIO_PATH: "ws",
        CONF_NAMESPACE: "/",
        CONF_VERIFY_SSL: True,
    }

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        reconfigure_input(
            second_server,
            # A pasted token's surrounding whitespace is not part of it.
            **{CONF_SOCKETIO_PATH: "engine", CONF_TOKEN: f" {OTHER_PATH_TOKEN}\n"},
        ),
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        CONF_SITE_UUID: SITE_UUID,
        CONF_TOKEN: OTHER_PATH_TOKEN,
        CONF_URL: second_server.url,
        CONF_SOCKETIO_PATH: "engine",
        CONF_NAMESPACE: "/",
        CONF_VERIFY_SSL: True,
    }
    assert entry.unique_id == SITE_UUID
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.coordinator is not coordinator
    await wait_for(hass, lambda: second_server.connected_clients(SITE_UUID) == 1)
    await wait_for(hass, lambda: simulator.connected_clients(SITE_UUID) == 0)


@pytest.mark.parametrize("token", ["", None])
async def test_reconfigure_keeps_token(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    token: str | None,
) -> None:
    """An empty or missing token keeps the stored one."""
    entry = init_integration
    changes: dict[str, Any] = {CONF_URL: f"{simulator.url}/"}
    if token is not None:
        changes[CONF_TOKEN] = token
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], reconfigure_input(simulator, **changes)
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == entry_data(simulator)
    assert entry.state is ConfigEntryState.LOADED
    await wait_for(hass, lambda: simulator.connected_clients(SITE_UUID) == 1)


@pytest.mark.parametrize(
    ("make_input", "errors"),
    [
        pytest.param(
            lambda sim, _port: reconfigure_input(sim, **{CONF_TOKEN: "wrong-token"}),
            {"base": "invalid_auth"},
            id="invalid_auth",
        ),
        pytest.param(
            lambda sim, _port: reconfigure_input(sim, **{CONF_SOCKETIO_PATH: "nope"}),
            {"base": "cannot_connect"},
            id="wrong_path",
        ),
        pytest.param(
            lambda sim, port: reconfigure_input(
                sim, **{CONF_URL: f"http://127.0.0.1:{port}"}
            ),
            {"base": "cannot_connect"},
            id="cannot_connect",
        ),
        pytest.param(
            lambda sim, _port: reconfigure_input(
                sim, **{CONF_URL: "http://ixicare.example.com"}
            ),
            {CONF_URL: "insecure_url"},
            id="insecure_url",
        ),
        pytest.param(
            lambda sim, _port: reconfigure_input(sim, **{CONF_URL: "ftp://x"}),
            {CONF_URL: "invalid_url"},
            id="invalid_url",
        ),
        pytest.param(
            lambda sim, _port: reconfigure_input(
                sim, **{CONF_NAMESPACE: "/ws", CONF_TOKEN: NEW_TOKEN}
            ),
            {CONF_NAMESPACE: "invalid_namespace"},
            id="invalid_namespace",
        ),
        pytest.param(
            lambda sim, _port: reconfigure_input(
                sim, **{CONF_URL: sim.url.replace("://", "://admin:hunter2@")}
            ),
            {CONF_URL: "url_credentials"},
            id="url_credentials",
        ),
        pytest.param(
            lambda sim, _port: reconfigure_input(sim, **{CONF_URL: f"{sim.url}0000"}),
            {CONF_URL: "invalid_port"},
            id="invalid_port",
        ),
        pytest.param(
            lambda sim, _port: reconfigure_input(
                sim, **{CONF_URL: f"{sim.url}/\tpath"}
            ),
            {CONF_URL: "url_characters"},
            id="url_characters",
        ),
    ],
)
async def test_reconfigure_errors(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    unused_tcp_port: int,
    *,
    make_input: Callable[[IxicareSimulator, int], dict[str, Any]],
    errors: dict[str, str],
) -> None:
    """Errors keep the entry as it was; the same flow then succeeds."""
    entry = init_integration
    coordinator = entry.runtime_data.coordinator
    simulator.set_token(SITE_UUID, NEW_TOKEN)

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], make_input(simulator, unused_tcp_port)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == errors
    assert entry.data == entry_data(simulator)
    assert entry.runtime_data.coordinator is coordinator

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], reconfigure_input(simulator, **{CONF_TOKEN: NEW_TOKEN})
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_TOKEN] == NEW_TOKEN
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.coordinator is not coordinator


async def test_reconfigure_unknown_error(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> None:
    """An unexpected exception while reconfiguring shows `unknown`."""
    entry = init_integration
    result = await entry.start_reconfigure_flow(hass)
    with patch(
        "custom_components.ixicare.config_flow.validate_connection",
        side_effect=Exception("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], reconfigure_input(simulator)
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], reconfigure_input(simulator)
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"


# -- options -----------------------------------------------------------------------


async def test_options_flow(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
) -> None:
    """The options show their defaults; saving them reloads the entry."""
    entry = init_integration
    coordinator = entry.runtime_data.coordinator
    assert coordinator.unavailable_after == 120
    assert coordinator.command_timeout == 15

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    defaults = {str(key): key.default() for key in result["data_schema"].schema}
    assert defaults == {
        CONF_UNAVAILABLE_AFTER: 120,
        CONF_COMMAND_TIMEOUT: 15,
        CONF_IDLE_TIMEOUT: 900,
        CONF_MAX_DEVICES: 1000,
    }

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_UNAVAILABLE_AFTER: 30.0,
            CONF_COMMAND_TIMEOUT: 5,
            CONF_IDLE_TIMEOUT: 60,
            CONF_MAX_DEVICES: 10,
        },
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_UNAVAILABLE_AFTER: 30,
        CONF_COMMAND_TIMEOUT: 5,
        CONF_IDLE_TIMEOUT: 60,
        CONF_MAX_DEVICES: 10,
    }
    assert isinstance(entry.options[CONF_UNAVAILABLE_AFTER], int)

    # Reloaded: the new coordinator reads the new values.
    assert entry.state is ConfigEntryState.LOADED
    new_coordinator = entry.runtime_data.coordinator
    assert new_coordinator is not coordinator
    assert new_coordinator.unavailable_after == 30
    assert new_coordinator.command_timeout == 5
    assert new_coordinator.client.idle_timeout == 60
    assert new_coordinator.state.max_devices == 10
    await wait_for(hass, lambda: simulator.connected_clients(SITE_UUID) == 1)

    # Opening the options again shows the stored values.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    defaults = {str(key): key.default() for key in result["data_schema"].schema}
    assert defaults == entry.options
    await hass.config_entries.options.async_configure(
        result["flow_id"], dict(entry.options)
    )
    await hass.async_block_till_done()


async def test_second_flow_for_the_same_site_reads_plain_words(
    hass: HomeAssistant, simulator: IxicareSimulator
) -> None:
    """A flow for a site another open flow is setting up aborts, in words."""
    first = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    first = await hass.config_entries.flow.async_configure(
        first["flow_id"], user_input(simulator, token="wrong-token")
    )
    assert first["errors"] == {"base": "invalid_auth"}
    second = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    second = await hass.config_entries.flow.async_configure(
        second["flow_id"], user_input(simulator)
    )
    assert second["type"] is FlowResultType.ABORT
    assert second["reason"] == "already_in_progress"
    translations = await async_get_translations(hass, "en", "config", [DOMAIN])
    assert translations[f"component.{DOMAIN}.config.abort.already_in_progress"] == (
        "This site is already being set up in another window. Finish or close that "
        "one first."
    )
    hass.config_entries.flow.async_abort(first["flow_id"])


@pytest.mark.parametrize(
    "open_packet",
    [pytest.param(None, id="closed-before-open"), pytest.param("0{}", id="bad-open")],
)
async def test_user_flow_broken_handshake_is_cannot_connect(
    hass: HomeAssistant, simulator: IxicareSimulator, open_packet: str | None
) -> None:
    """A server closing the handshake is "cannot connect", not a crash."""
    simulator.break_handshakes(1, open_packet)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(simulator)
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_credentials_in_the_url_are_never_logged(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        user_input(simulator, url=simulator.url.replace("://", "://admin:hunter2@")),
    )
    assert result["errors"] == {"advanced": "url_credentials"}
    assert "hunter2" not in caplog.text
    assert simulator.handshakes(SITE_UUID) == []


async def test_reauth_flow_shows_other_errors_on_the_form(
    hass: HomeAssistant, simulator: IxicareSimulator
) -> None:
    """The reauth form has the token only: a namespace error is the form's."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=SITE_UUID,
        data=entry_data(simulator, **{CONF_NAMESPACE: "/ws"}),
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOKEN: TOKEN}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_namespace"}
