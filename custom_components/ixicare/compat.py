"""The few spellings that differ between Home Assistant 2025.4 and 2026.11."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant import config_entries
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
from homeassistant.core import DOMAIN as HOMEASSISTANT_DOMAIN
from homeassistant.exceptions import ConfigEntryError

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


# From 2026.11 the config entry methods (async_setup_entry, async_unload_entry) return
# None and raise to fail; a boolean is reported as a deprecated use. Up to 2026.10
# anything but a boolean is a failure ("did not return boolean").
ENTRY_METHODS_RETURN_NONE = HA_VERSION >= (2026, 11)

# What async_setup_entry returns once the entry is set up.
SETUP_ENTRY_DONE: bool | None = None if ENTRY_METHODS_RETURN_NONE else True


def unload_entry_result(unloaded: bool) -> bool | None:
    """Return what async_unload_entry returns, given whether the platforms unloaded."""
    if not ENTRY_METHODS_RETURN_NONE:
        return unloaded
    if not unloaded:  # pragma: no cover - a platform refused to unload (2026.11+)
        # What ConfigEntries.async_unload_platforms_or_raise (2026.11+) raises.
        raise ConfigEntryError(
            translation_domain=HOMEASSISTANT_DOMAIN,
            translation_key="unload_platforms_failed",
        )
    return None
