"""Memory bounds: active and ended alerts are capped, alerts still announced."""

from __future__ import annotations

import copy
from typing import Any
import uuid

import pytest

from custom_components.ixicare.pyixicare import (
    parse_alerts_message,
    state as state_module,
)
from custom_components.ixicare.pyixicare.state import SiteState

from .test_parser import ALERT


def alert(
    alert_type: str = "CRITICAL_BATTERY",
    status: str = "OPEN",
    mac: str | None = None,
    timestamp: float = 1.7e9,
) -> Any:
    message = copy.deepcopy(ALERT)
    message["alert"].update(
        id=str(uuid.uuid4()), type=alert_type, status=status, timestamp=timestamp
    )
    if mac is not None:
        message["device"]["id"] = mac
    return parse_alerts_message(message)


@pytest.fixture
def small_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_module, "MAX_ACTIVE_ALERTS_PER_DEVICE", 5)
    monkeypatch.setattr(state_module, "MAX_ACTIVE_ALERTS", 8)
    monkeypatch.setattr(state_module, "MAX_ENDED_ALERTS", 10)


def test_alerts_per_device_are_capped(small_caps: None) -> None:
    state = SiteState()
    man_down = alert("MAN_DOWN", timestamp=1.0e9)
    state.apply_alert(man_down, 0.0)
    updates = [state.apply_alert(alert(timestamp=1.7e9 + i), 0.0) for i in range(10)]
    # Every alert was announced, and the device keeps five.
    assert all(u.transitions[0].transition == "raised" for u in updates)
    device = next(iter(state.devices.values()))
    assert len(device.alerts) == len(state.alerts) == 5
    assert [u.capped for u in updates] == [False] * 4 + [True] * 6
    assert state.forgotten_alerts == 6
    # The least critical, oldest go first: the fall and the newest stay.
    assert man_down.alert.key in device.alerts
    assert device.top_alert is not None
    assert device.top_alert.alert_id == man_down.alert.id
    assert len(state.ended) == 6


def test_alerts_per_site_and_ended_are_capped(small_caps: None) -> None:
    state = SiteState()
    for i in range(12):
        state.apply_alert(alert(mac=f"00:00:00:00:00:{i:02x}"), 0.0)
    assert len(state.alerts) == 8
    assert state.forgotten_alerts == 4
    for i in range(20):
        state.apply_alert(alert(status="RESOLVED"), float(i))
    assert len(state.ended) == 10
    assert min(state.ended.values()) == 10.0  # the oldest went first
    # A stored snapshot past the bounds is trimmed at load.
    data = state.as_dict()
    data["ended"].update({str(uuid.uuid4()): 100.0 + i for i in range(5)})
    restored = SiteState()
    restored.load(data)
    assert len(restored.ended) == 10
    assert min(restored.ended.values()) == 15.0
    assert len(restored.alerts) == 8


def test_load_caps_active_alerts(small_caps: None) -> None:
    state = SiteState()
    for _ in range(5):
        state.apply_alert(alert(), 0.0)
    data = state.as_dict()
    mac = data["alerts"][0]["mac"]
    data["alerts"] += [
        {**data["alerts"][0], "alert_id": str(uuid.uuid4()), "mac": mac}
        for _ in range(3)
    ]
    restored = SiteState()
    restored.load(data)
    assert len(restored.alerts) == 5
    assert restored.forgotten_alerts == 3
