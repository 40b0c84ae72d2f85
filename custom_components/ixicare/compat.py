"""The few spellings that differ between Home Assistant 2025.4 and 2026.11."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant import config_entries
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION

HA_VERSION = (MAJOR_VERSION, MINOR_VERSION)

# OptionsFlowWithReload (2025.8+) reloads the entry itself; before it an update
# listener must, and from 2026.6 having both is reported.
HAS_OPTIONS_FLOW_WITH_RELOAD = HA_VERSION >= (2025, 8)

if TYPE_CHECKING:
    OptionsFlowBase = config_entries.OptionsFlow
else:
    OptionsFlowBase = getattr(
        config_entries, "OptionsFlowWithReload", config_entries.OptionsFlow
    )
