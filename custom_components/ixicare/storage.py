"""The store of a site: its devices, alerts and held announcements, across restarts."""

from __future__ import annotations

import threading
import time
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.util.async_ import run_callback_threadsafe

from .announce import Announcer
from .const import DOMAIN, ENDED_ALERT_MEMORY, SAVE_DELAY, STORAGE_VERSION
from .pyixicare.state import SiteState


def store_key(entry_id: str) -> str:
    """Return the storage key of a config entry."""
    return f"{DOMAIN}.{entry_id}"


class SiteStore:
    """Loads the site's state and saves it, at most once per SAVE_DELAY."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        state: SiteState,
        announcer: Announcer,
    ) -> None:
        """Keep the state (and the announcements held) of one entry."""
        self.hass = hass
        self.store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, store_key(entry_id)
        )
        self._state = state
        self._announcer = announcer
        self._save_pending = False

    async def async_load(self) -> None:
        """Restore the devices, alerts and held announcements last stored."""
        if (data := await self.store.async_load()) is not None:
            self._state.load(data)
            self._state.prune_ended(time.time(), ENDED_ALERT_MEMORY)
            self._announcer.restore_held(data.get("held", []), self._state)

    async def async_save(self) -> None:
        """Write now (at shutdown)."""
        await self.store.async_save(self.snapshot())

    @callback
    def schedule_save(self) -> None:
        """Ask for one delayed save of the changes made so far."""
        # One delayed save per batch of changes: asking the store again on
        # every message would postpone the write for as long as messages
        # keep coming less than SAVE_DELAY apart.
        if not self._save_pending:
            self._save_pending = True
            self.store.async_delay_save(self.data_to_save, SAVE_DELAY)

    def data_to_save(self) -> dict[str, Any]:
        """Return the snapshot to store, taken in the event loop.

        Home Assistant 2025.4 calls this from an executor thread while the
        event loop goes on changing the state (newer versions call it in the
        event loop): the snapshot is then taken in the loop and waited for.
        """
        if threading.get_ident() == self.hass.loop_thread_id:
            return self.snapshot()
        return run_callback_threadsafe(self.hass.loop, self.snapshot).result()

    @callback
    def snapshot(self) -> dict[str, Any]:
        """Return the state (and the held announcements) to store."""
        self._save_pending = False
        self._state.prune_ended(time.time(), ENDED_ALERT_MEMORY)
        data = self._state.as_dict()
        if self._announcer.holding:
            data["held"] = self._announcer.held_as_list()
        return data
