"""pytest plugin for the run on the newest Home Assistant (scripts/test-newest only).

scripts/test-newest loads it with ``-p tests.newest_ha_plugin``: pytest imports a
``-p`` plugin before the plugins that packages register (the harness's among them),
so the shims below are in place before pytest-homeassistant-custom-component is
imported. The run on the oldest Home Assistant (scripts/test) does not load it.

It does two things:

* shims (tests/harness_shims.py): the harness we pin (requirements_test_newest.txt)
  was made for an older Home Assistant than the one we pin there. Each shim is applied
  only when the installed packages need it, and says when to delete it;
* a guard: every test fails when Home Assistant reports, during that test, a
  deprecation or a frame report (``report_usage``, "Detected that custom integration
  ...") that names our integration. Our users run this release and would see it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
import logging
import re

import pytest

# The shims live in their own module, which the benchmark's process imports too.
from . import harness_shims  # noqa: F401

# --- guard: no deprecation or frame report that names us ---------------------------

DOMAIN = "ixicare"
# Loggers that Home Assistant reports deprecated or wrong use through.
_REPORT_LOGGERS = ("homeassistant.helpers.frame", "homeassistant.helpers.deprecation")
# The wording of frame.report_usage and its older spellings.
_REPORT_TEXT = re.compile(
    r"\bDetected (?:that )?(?:custom )?integration|\bDetected code that"
)
_NAMES_US = re.compile(rf"\b{DOMAIN}\b|custom_components[./]{DOMAIN}\b")


def reports_naming_us(records: Iterable[logging.LogRecord]) -> list[str]:
    """Messages of the log records that report a deprecation or a wrong use by us."""
    found = []
    for record in records:
        message = record.getMessage()
        if not _NAMES_US.search(message):
            continue
        if (
            record.name.startswith(_REPORT_LOGGERS)
            or _REPORT_TEXT.search(message)
            or (record.levelno >= logging.WARNING and "deprecat" in message.lower())
        ):
            found.append(f"{record.name}: {message}")
    return found


class _Recorder(logging.Handler):
    """Keep every record, whatever the level of the logger it came through."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def fail_on_reports_naming_us(
    request: pytest.FixtureRequest,
) -> Generator[None]:
    """Fail the test if Home Assistant reported a deprecated or wrong use by us."""
    recorder = _Recorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    try:
        yield
    finally:
        root.removeHandler(recorder)
    if request.node.get_closest_marker("allow_reports_naming_us"):
        return
    found = reports_naming_us(recorder.records)
    if found:
        pytest.fail(
            "Home Assistant reported a deprecated or wrong use by the integration:\n  "
            + "\n  ".join(found),
            pytrace=False,
        )
