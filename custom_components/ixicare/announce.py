"""Announcing alert transitions, each exactly once.

An announcement is the `ixicare_alert` bus event (which also drives the device
triggers and the logbook) and a call to the transition listeners of the device
(its event entity). States are written at once, but announcements that happen
before Home Assistant has started are held: automations arm only once it has
started, in their own `EVENT_HOMEASSISTANT_STARTED` listeners, and they attach
their triggers asynchronously, so an event fired from another listener of that
same event can still miss them. The retained alerts a server replays as the
integration connects during Home Assistant's start would otherwise reach no
automation.

So held announcements go out, in order, once Home Assistant has started and
the work its start scheduled (among it the arming of every automation) is
done, or after START_SETTLE_TIMEOUT if that work takes longer. They are also
held until the entry's platforms are set up, so that the event entities and
the device registry entries they name exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import time
from typing import Any

from homeassistant.core import CALLBACK_TYPE, CoreState, HomeAssistant, callback
from homeassistant.helpers.start import async_at_started

from .const import (
    ATTR_ALERT_ID,
    ATTR_ALERT_TYPE,
    ATTR_CONFIG_ENTRY_ID,
    ATTR_MAC,
    ATTR_PREVIOUS_STATUS,
    ATTR_PREVIOUS_TYPE,
    ATTR_RESIDENT,
    ATTR_SITE_UUID,
    ATTR_STATUS,
    ATTR_TIMESTAMP,
    ATTR_TRANSITION,
    ATTR_ZONE,
    EVENT_ALERT,
    LOGGER,
)
from .pyixicare.state import SiteState
from .pyixicare.tracked import AlertTransition, TrackedDevice

type TransitionHandler = Callable[[TrackedDevice, AlertTransition], None]

# The longest announcements wait, after Home Assistant has started, for the
# work its start scheduled (the arming of automations) to finish.
START_SETTLE_TIMEOUT = 30.0


class Announcer:
    """Announce a site's alert transitions once; hold them until ready."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        entry_id: str,
        site_uuid: str,
        device_id: Callable[[str], str | None],
        notify: TransitionHandler,
        on_flushed: Callable[[], None],
    ) -> None:
        """Start holding; `async_release` ends the hold.

        `device_id` maps a MAC address to its Home Assistant device id,
        `notify` calls the device's transition listeners, and `on_flushed`
        is called once held announcements went out (to store that).
        """
        self.hass = hass
        self._entry_id = entry_id
        self._site_uuid = site_uuid
        self._device_id = device_id
        self._notify = notify
        self._on_flushed = on_flushed
        self._held: list[tuple[TrackedDevice, AlertTransition]] | None = []
        self._unsub_started: CALLBACK_TYPE | None = None
        self._settle_task: asyncio.Task[None] | None = None
        self.announced = 0
        self.held_at_start = 0

    @property
    def holding(self) -> bool:
        """Return True while announcements are held."""
        return self._held is not None

    @callback
    def announce(
        self, device: TrackedDevice, transitions: list[AlertTransition]
    ) -> None:
        """Announce `transitions` of `device` now, or when the hold ends."""
        if self._held is not None:
            self._held.extend((device, transition) for transition in transitions)
            self.held_at_start += len(transitions)
            return
        for transition in transitions:
            self._fire(device, transition)

    @callback
    def async_release(self) -> None:
        """End the hold once Home Assistant has started and settled.

        Called when the entry's platforms are set up. If Home Assistant is
        running already (a reload, a site added later), that is now.
        """
        if self._held is None:
            return
        if self.hass.state is CoreState.running:
            self._flush()
            return
        self._unsub_started = async_at_started(self.hass, self._started)

    @callback
    def _started(self, hass: HomeAssistant) -> None:
        self._unsub_started = None
        # A background task: tracked tasks are what it waits for, and the
        # settle tasks of two sites must not wait for each other.
        self._settle_task = hass.async_create_background_task(
            self._async_settle_then_flush(), f"ixicare {self._site_uuid} announce"
        )

    async def _async_settle_then_flush(self) -> None:
        # Our listener of EVENT_HOMEASSISTANT_STARTED ran; the automations'
        # listeners of that same event have started tasks that attach their
        # triggers. Let them (and whatever else the start scheduled) finish.
        try:
            async with asyncio.timeout(START_SETTLE_TIMEOUT):
                await self.hass.async_block_till_done()
        except TimeoutError:
            LOGGER.debug(
                "Home Assistant's start-up work is still running after %s s; "
                "announcing the held ixicare alerts now",
                START_SETTLE_TIMEOUT,
            )
        self._settle_task = None
        self._flush()

    @callback
    def _flush(self) -> None:
        held, self._held = self._held or [], None
        if held:
            LOGGER.debug(
                "Announcing %d ixicare alert transitions held during start-up",
                len(held),
            )
        for device, transition in held:
            self._fire(device, transition)
        if held:
            self._on_flushed()

    @callback
    def _fire(self, device: TrackedDevice, transition: AlertTransition) -> None:
        self.announced += 1
        self._notify(device, transition)
        self.hass.bus.async_fire(
            EVENT_ALERT,
            self.event_data(transition, device, self._device_id(device.mac)),
        )

    def held_as_list(self) -> list[dict[str, Any]]:
        """Return the held announcements in a JSON-serialisable form.

        They are stored with the site: a restart before Home Assistant has
        started would otherwise lose them (the alerts are stored as known).
        """
        return [
            {"mac": device.mac, **transition.as_dict()}
            for device, transition in self._held or ()
        ]

    @callback
    def restore_held(self, items: list[dict[str, Any]], state: SiteState) -> None:
        """Hold again what was held when the site was last stored."""
        if self._held is None:
            return
        for item in items:
            mac = str(item["mac"])
            device = state.owner(mac) or TrackedDevice(mac=mac)
            self._held.append((device, AlertTransition.from_dict(item, state.alerts)))
        self.held_at_start += len(items)

    @callback
    def async_shutdown(self) -> None:
        """Stop waiting; what is still held is dropped with the entry."""
        if self._unsub_started is not None:
            self._unsub_started()
            self._unsub_started = None
        if self._settle_task is not None:
            self._settle_task.cancel()
            self._settle_task = None

    def event_data(
        self,
        transition: AlertTransition,
        device: TrackedDevice,
        device_id: str | None,
    ) -> dict[str, Any]:
        """Return the data of the `ixicare_alert` bus event."""
        alert = transition.alert
        return {
            ATTR_CONFIG_ENTRY_ID: self._entry_id,
            ATTR_SITE_UUID: self._site_uuid,
            "device_id": device_id,
            ATTR_MAC: device.mac,
            ATTR_TRANSITION: transition.transition.value,
            ATTR_ALERT_ID: alert.alert_id,
            ATTR_ALERT_TYPE: transition.type_name,
            ATTR_PREVIOUS_TYPE: transition.previous_type,
            ATTR_STATUS: transition.status.value,
            ATTR_PREVIOUS_STATUS: transition.previous_status.value
            if transition.previous_status is not None
            else None,
            ATTR_RESIDENT: alert.resident or device.resident,
            ATTR_ZONE: device.indoor.zone if device.indoor is not None else None,
            ATTR_TIMESTAMP: time.time(),
        }
