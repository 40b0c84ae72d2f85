"""Shims that adapt pytest-homeassistant-custom-component to a newer Home Assistant.

requirements_test_newest.txt pins a harness made for an older Home Assistant than the
one it pins (no harness release pins 2026.11 yet). Importing this module, before the
harness is imported, applies the shims that the installed packages need and nothing
else; on the oldest run (2025.4.4 with its own harness) it changes nothing. Imported by
tests/newest_ha_plugin.py (which scripts/test-newest loads first) and by the benchmark
(benchmarks/harness.py), which starts a test Home Assistant in its own process.

Shim 3 is a pin, not code: requirements_test_newest.txt pins pycares 5 for aiodns 4
(requirements_test.txt keeps pycares 4 for 2025.4's aiodns 3). Drop it when Home
Assistant itself pins pycares.
"""

from __future__ import annotations

# Shim 1. Home Assistant 2026.9+ aliases `httpx` to `httpx2` when `homeassistant` is
# imported, and 2026.11 raises "httpx was already imported" when httpx came first.
# pytest-homeassistant-custom-component 0.13.375 (made for 2026.10.4) imports respx,
# which imports httpx, before any homeassistant module. Importing homeassistant here
# (pytest imports tests/newest_ha_plugin.py, hence this, before the harness's plugin)
# lets the alias happen first.
# Delete when the pinned harness pins homeassistant 2026.11 or newer.
import homeassistant  # noqa: F401
import homeassistant.components.logger as logger_component

# Shim 2. Home Assistant 2026.11 moved `_clear_logger_overwrites` from the logger
# component's __init__ to homeassistant.components.logger.helpers; the 0.13.375 harness
# (its common.py) still imports it from the component. Put the name back where the
# harness looks for it, only when it moved (2025.4 has it in neither place and
# its harness does not look for it). Delete with shim 1 (same condition).
from homeassistant.components.logger import helpers as logger_helpers

if not hasattr(logger_component, "_clear_logger_overwrites") and hasattr(
    logger_helpers, "_clear_logger_overwrites"
):
    logger_component._clear_logger_overwrites = logger_helpers._clear_logger_overwrites  # type: ignore[attr-defined]
