"""The guard of the newest run (tests/newest_ha_plugin.py) picks out reports naming us.

The plugin is loaded only by scripts/test-newest; its filter is checked here on both
runs, against Home Assistant's real report wording.
"""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant
from homeassistant.helpers import frame
from homeassistant.setup import async_setup_component
import pytest

from custom_components.ixicare.const import DOMAIN

from .newest_ha_plugin import reports_naming_us


def record(name: str, message: str, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, message, None, None)


def test_only_reports_naming_us_are_picked() -> None:
    ours = [
        record(
            "homeassistant.helpers.frame",
            "Detected that custom integration 'ixicare' accesses `DeviceEntry.config_"
            "entries`, which is deprecated at custom_components/ixicare/coordinator.py",
        ),
        record(
            "homeassistant.helpers.deprecation",
            "The deprecated function X was called from ixicare",
        ),
        record(
            "homeassistant.const",
            "SOMETHING was used from ixicare, this is a deprecated constant",
        ),
    ]
    noise = [
        # Reports about others (the harness, core integrations) are not ours.
        record(
            "homeassistant.helpers.frame",
            "Detected that custom integration 'other' does something deprecated",
        ),
        record(
            "homeassistant.helpers.frame",
            "Detected code that calls async_get_device. Please report this issue",
        ),
        # Our own logs are not reports, even when they name us.
        record("custom_components.ixicare.coordinator", "ixicare site connected"),
        record(
            "custom_components.ixicare.coordinator",
            "ixicare: a deprecated field was ignored",
        ),
    ]
    assert reports_naming_us(noise + ours) == [
        f"{r.name}: {r.getMessage()}" for r in ours
    ]


@pytest.mark.allow_reports_naming_us
async def test_a_real_frame_report_naming_us_is_picked(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Home Assistant's own report_usage wording, on the release the test runs on."""
    assert await async_setup_component(hass, DOMAIN, {})
    frame.report_usage("does something deprecated", integration_domain=DOMAIN)
    (found,) = reports_naming_us(caplog.records)
    assert "custom integration 'ixicare'" in found
    assert "does something deprecated" in found
