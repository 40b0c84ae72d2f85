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
  ...") that names our integration, and the run fails when a line of the integration
  causes a Python deprecation warning. Our users run this release and would see them.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
import logging
import re
import warnings

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
# Our own loggers (the integration's, the simulator's) log, they do not report.
_OUR_LOGGERS = (f"custom_components.{DOMAIN}", "ixicare_simulator")
# Python deprecation warnings attributed to a line of ours (a library we call).
_OUR_FILES = re.compile(rf"(^|/)custom_components/{DOMAIN}/")
_DEPRECATIONS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def reports_naming_us(records: Iterable[logging.LogRecord]) -> list[str]:
    """Messages of the log records that report a deprecation or a wrong use by us."""
    found = []
    for record in records:
        message = record.getMessage()
        if record.name.startswith(_OUR_LOGGERS) or not _NAMES_US.search(message):
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


# Python deprecation warnings: pytest records them only after a test's teardown, so
# they fail the run (listed in the summary) rather than the test that caused them.
_WARNINGS_FROM_US: list[str] = []


def pytest_warning_recorded(
    warning_message: warnings.WarningMessage, when: str, nodeid: str
) -> None:
    """Keep the deprecation warnings that a line of the integration caused."""
    if issubclass(warning_message.category, _DEPRECATIONS) and _OUR_FILES.search(
        warning_message.filename.replace("\\", "/")
    ):
        _WARNINGS_FROM_US.append(
            f"{nodeid or when}: {warning_message.category.__name__}: "
            f"{warning_message.message} "
            f"({warning_message.filename}:{warning_message.lineno})"
        )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the run if the integration caused a deprecation warning."""
    if _WARNINGS_FROM_US and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """List the deprecation warnings that the integration caused."""
    if _WARNINGS_FROM_US:
        terminalreporter.section("deprecation warnings caused by ixicare", red=True)
        for line in _WARNINGS_FROM_US:
            terminalreporter.line(line)
