"""Hostile input: fuzzed messages never raise, never create or change anything."""

from __future__ import annotations

import asyncio
import copy
import logging
import math
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.ixicare.const import CONF_MAX_DEVICES, DOMAIN, EVENT_ALERT
from custom_components.ixicare.pyixicare import (
    IxicareParseError,
    parse_alerts_message,
    parse_heartbeat,
    state as state_module,
)
from ixicare_simulator import IxicareSimulator

from .client.test_parser import ALERT, HEARTBEAT, RESPONSE
from .conftest import SITE_UUID
from .helpers import wait_for

MESSAGES_PER_RUN = 10_000
BATCH = 10

HOSTILE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 1e300, -5, 101, 1e12]),
    st.text(max_size=40),
    st.sampled_from(
        [
            "<script>alert(1)</script>",
            "\x00\x01\x1b[31m",
            "\ud800",
            "x" * 1_048_576,
            "00:02:04:06:08:0G",
            "",
        ]
    ),
    st.binary(max_size=20),
)
HOSTILE = st.recursive(
    HOSTILE_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=4),
    ),
    max_leaves=12,
)
PATHS = [
    ("version",),
    ("type",),
    ("device",),
    ("device", "id"),
    ("device", "battery_level"),
    ("device", "last_update"),
    ("device", "phone_number"),
    ("alert",),
    ("alert", "id"),
    ("alert", "type"),
    ("alert", "status"),
    ("alert", "timestamp"),
    ("user",),
    ("user", "name"),
    ("location",),
    ("location", "indoor"),
    ("location", "indoor", "zone"),
    ("location", "indoor", "last_update"),
    ("location", "outdoor", "latitude"),
    ("location", "outdoor", "longitude"),
    ("result",),
    ("device_id",),
]


def deep(levels: int) -> Any:
    value: Any = {}
    for _ in range(levels):
        value = {"n": value}
    return value


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Any]:
    """A valid message with one field made hostile, removed, or the whole replaced."""
    topic = draw(st.sampled_from(["alerts", "heartbeats"]))
    base = {
        "alerts": draw(st.sampled_from([ALERT, RESPONSE])),
        "heartbeats": HEARTBEAT,
    }[topic]
    message = copy.deepcopy(base)
    mode = draw(st.integers(0, 9))
    if mode == 0:
        return topic, draw(HOSTILE)
    if mode == 1:
        return topic, deep(draw(st.integers(50, 400)))
    path = draw(st.sampled_from(PATHS))
    target = message
    for key in path[:-1]:
        if not isinstance(target, dict) or key not in target:
            return topic, message
        target = target[key]
    if not isinstance(target, dict):
        return topic, message
    if mode == 2:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = draw(HOSTILE)
    if draw(st.booleans()):
        message[draw(st.text(max_size=8))] = draw(HOSTILE)
    return topic, message


def parse(topic: str, payload: Any) -> Any:
    return (
        parse_heartbeat(payload)
        if topic == "heartbeats"
        else parse_alerts_message(payload)
    )


@settings(
    max_examples=MESSAGES_PER_RUN // BATCH,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
@given(st.lists(mutated(), min_size=BATCH, max_size=BATCH))
def test_parser_never_raises_anything_else(batch: list[tuple[str, Any]]) -> None:
    """10,000 generated messages: parsed, or rejected naming a field."""
    for topic, payload in batch:
        try:
            parse(topic, payload)
        except IxicareParseError as err:
            assert err.field
            assert err.reason


async def test_handler_fuzz(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """10,000 generated messages through the client's receive path into HA."""
    coordinator = init_integration.runtime_data.coordinator
    client = coordinator.client
    handlers = {
        "alerts": client._handle_alerts,
        "heartbeats": client._handle_heartbeats,
    }
    counts = {"valid": 0, "invalid": 0}

    def snapshot() -> tuple[Any, ...]:
        return (
            len(coordinator.state.devices),
            len(coordinator.state.alerts),
            tuple(sorted((s.entity_id, s.state) for s in hass.states.async_all())),
        )

    def generate() -> list[tuple[str, Any]]:
        generated: list[tuple[str, Any]] = []

        @settings(
            max_examples=MESSAGES_PER_RUN // BATCH,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(st.lists(mutated(), min_size=BATCH, max_size=BATCH))
        def collect(batch: list[tuple[str, Any]]) -> None:
            generated.extend(batch)

        collect()
        return generated

    caplog.set_level(logging.WARNING)
    # Generated in a worker thread, so the event loop (and the session's
    # pings) keep running; then fed to the receive path one by one.
    messages = await hass.async_add_executor_job(generate)
    for index, (topic, payload) in enumerate(messages):
        try:
            parse(topic, payload)
        except IxicareParseError:
            before = snapshot()
            handlers[topic](payload)
            assert snapshot() == before
            counts["invalid"] += 1
        else:
            handlers[topic](payload)
            counts["valid"] += 1
        if index % 500 == 0:
            await asyncio.sleep(0)
    assert counts["valid"] + counts["invalid"] == MESSAGES_PER_RUN
    assert counts["invalid"] > MESSAGES_PER_RUN // 2
    assert client.stats.invalid == counts["invalid"]
    assert coordinator.stats.invalid == counts["invalid"]
    # Logged once, rate-limited: a handful of lines, not thousands.
    warnings = [r for r in caplog.records if "Ignored an invalid" in r.message]
    assert 1 <= len(warnings) <= 2
    await hass.async_block_till_done()
    # Valid messages that follow are still handled, over the real socket.
    device = simulator.make_devices(SITE_UUID, 1, seed=61)[0]
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=64)
    await wait_for(hass, lambda: device.mac.lower() in coordinator.state.devices)


@pytest.mark.usefixtures("receive_path")
async def test_hostile_frames_over_the_socket(
    hass: HomeAssistant, simulator: IxicareSimulator, init_integration: MockConfigEntry
) -> None:
    coordinator = init_integration.runtime_data.coordinator
    payloads: list[Any] = [
        b"\x00\xff\xfe binary",
        "not json at all",
        [1, 2, 3],
        None,
        deep(300),
        {"version": "1.0.0", "type": "HEARTBEAT", "device": {"id": "<img src=x>"}},
        {**HEARTBEAT, "device": {**HEARTBEAT["device"], "battery_level": 1e308 * 10}},
        {**HEARTBEAT, "device": {**HEARTBEAT["device"], "id": "x" * 1_048_576}},
    ]
    for payload in payloads:
        await simulator.send_raw(SITE_UUID, "heartbeats", payload)
        await simulator.send_raw(SITE_UUID, "alerts", payload)
    device = simulator.make_devices(SITE_UUID, 1, seed=63)[0]
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=50)
    await wait_for(hass, lambda: device.mac.lower() in coordinator.state.devices)
    # All invalid but one: the heartbeat whose battery level is Infinity is
    # handled without it (best effort); on `alerts` it has no alert.
    assert coordinator.client.stats.invalid == 2 * len(payloads) - 1
    assert coordinator.stats.dropped_by_field == {"device.battery_level": 1}
    assert len(coordinator.state.devices) == 2
    assert coordinator.state.devices["00:02:04:06:08:0a"].battery_level is None
    assert coordinator.client.connected


@pytest.mark.usefixtures("receive_path")
async def test_forged_internal_signals_and_broken_frames(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Events named after the client's signals, frames socket.io cannot handle."""
    coordinator = init_integration.runtime_data.coordinator
    client = coordinator.client
    huge = "\x1b[31mFAKE LOG LINE\n" * 70_000  # 1 MB
    for event in ("ixicare:invalid-frame", "disconnect", "connect_error", "connect"):
        await simulator.send_raw(SITE_UUID, event, huge)
    for frame in ("2", "2[]", "9", '2{"a": 1}'):
        await simulator.send_frame(SITE_UUID, frame)
    device = simulator.make_devices(SITE_UUID, 1, seed=65)[0]
    await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=50)
    await wait_for(hass, lambda: device.mac.lower() in coordinator.state.devices)
    # "ixicare:invalid-frame" is now an event like any other the client does
    # not handle (ignored); the three reserved names and four frames are invalid.
    assert client.stats.invalid == coordinator.stats.invalid == 7
    assert client.connected
    assert client.stats.disconnections == 0
    # Not a line of its own in the log (the libraries' debug lines carry
    # packets, cut and without control characters), nor 1 MB of it.
    assert "\nFAKE LOG LINE" not in caplog.text
    assert "\x1b" not in caplog.text
    assert caplog.text.count("FAKE LOG LINE") < 200
    assert "FAKE LOG LINE" not in (client.stats.last_error or "")
    assert not [
        r for r in caplog.records if r.levelno >= logging.ERROR and r.name != "asyncio"
    ]


async def test_device_flood_is_capped(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    mock_config_entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry, options={CONF_MAX_DEVICES: 5}
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    coordinator = mock_config_entry.runtime_data.coordinator
    flood = simulator.make_devices(SITE_UUID, 40, seed=67)
    for device in flood:
        await simulator.send_heartbeat(SITE_UUID, device.mac, battery_level=50)
    await wait_for(hass, lambda: coordinator.stats.refused_devices == 35)
    assert len(coordinator.state.devices) == 5
    devices = dr.async_entries_for_config_entry(
        device_registry, mock_config_entry.entry_id
    )
    assert len(devices) == 6  # five residents and the site
    issue = issue_registry.async_get_issue(
        DOMAIN, f"device_limit_{mock_config_entry.entry_id}"
    )
    assert issue is not None
    assert issue.translation_placeholders == {
        "title": mock_config_entry.title,
        "limit": "5",
    }
    assert caplog.text.count("reached its limit of 5 devices") == 1
    # Known devices are still served.
    await simulator.send_heartbeat(SITE_UUID, flood[0].mac, battery_level=11)
    await wait_for(
        hass,
        lambda: coordinator.state.devices[flood[0].mac.lower()].battery_level == 11,
    )
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)


async def test_alert_flood_is_capped(
    hass: HomeAssistant,
    simulator: IxicareSimulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Active alerts are bounded; every alert is still announced."""
    monkeypatch.setattr(state_module, "MAX_ACTIVE_ALERTS_PER_DEVICE", 3)
    coordinator = init_integration.runtime_data.coordinator
    events = async_capture_events(hass, EVENT_ALERT)
    device = simulator.make_devices(SITE_UUID, 1, seed=68)[0]
    for _ in range(5):
        await simulator.raise_alert(SITE_UUID, device.mac, "CRITICAL_BATTERY")
    await wait_for(hass, lambda: len(events) == 5)
    assert {e.data["transition"] for e in events} == {"raised"}
    assert len(coordinator.state.alerts) == 3
    issue_id = f"alert_limit_{init_integration.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    # Reloaded within the bounds, the issue goes.
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
