"""Who listens to what of a site: one registry, keyed by kind and device.

Entities listen to the one device they show (`DEVICE`: the CHANGED_* parts
they show; `TRANSITION`: the event entity), or to the site (`SITE`: the
connection and the alert count). Platforms listen for devices to create
entities for (`NEW_DEVICE`) and to forget (`FORGET`). Site-wide listeners are
kept under the key `SITE_KEY`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from enum import IntEnum
import time
from typing import Any

from homeassistant.core import CALLBACK_TYPE, callback

from .pyixicare.state import CHANGED_ALL
from .pyixicare.tracked import AlertTransition, TrackedDevice

SITE_KEY = ""
# Known devices handed to a platform per event-loop iteration at set-up: Home
# Assistant adds the entities of one call without yielding, and thousands of
# devices in one go would block the loop for seconds.
DEVICES_PER_ITERATION = 10
# ... and for at most this long: each platform hands its own devices over, and
# Home Assistant finishes adding their entities in the next iteration.
SETUP_SLICE = 0.002


class Kind(IntEnum):
    """What a listener is told about, and what it is called with."""

    DEVICE = 0  # () when parts of the device, or the availability, changed
    TRANSITION = 1  # (AlertTransition) of the device
    SITE = 2  # () when the connection or the alert count changed
    NEW_DEVICE = 3  # (TrackedDevice) for each new (or newly outdoor) device
    FORGET = 4  # (mac) of each device the user removed


class Subscriptions:
    """The listeners of one site.

    A device listener is kept with the parts it shows: a message that
    changes none of them does not call it.
    """

    __slots__ = ("_by_kind",)

    def __init__(self) -> None:
        """Start without listeners."""
        self._by_kind: tuple[dict[str, list[Any]], ...] = tuple({} for _ in Kind)

    @callback
    def subscribe(
        self, kind: Kind, listener: Any, key: str = SITE_KEY, parts: int = CHANGED_ALL
    ) -> CALLBACK_TYPE:
        """Add `listener` (of a device: with `parts`); return the unsubscribe."""
        entry = (listener, parts) if kind is Kind.DEVICE else listener
        listeners = self._by_kind[kind].setdefault(key, [])
        listeners.append(entry)
        return _Unsubscribe(listeners, entry)

    async def async_add_new_device_listener(
        self,
        listener: Callable[[TrackedDevice], None],
        devices: dict[str, TrackedDevice],
    ) -> CALLBACK_TYPE:
        """Call `listener` for each of `devices` now and each new one later.

        The known devices are handed over at most DEVICES_PER_ITERATION, and
        at most SETUP_SLICE seconds, at a time, letting the event loop run in
        between: adding a device's entities costs more as the registries grow.
        """
        unsubscribe = self.subscribe(Kind.NEW_DEVICE, listener)
        handed = 0
        slice_start = time.monotonic()
        for device in list(devices.values()):
            if handed == DEVICES_PER_ITERATION or (
                time.monotonic() - slice_start >= SETUP_SLICE
            ):
                await asyncio.sleep(0)
                handed = 0
                slice_start = time.monotonic()
            # Skip a device the user removed meanwhile.
            if devices.get(device.mac) is device:
                listener(device)
                handed += 1
        return unsubscribe

    def listeners(self, kind: Kind, key: str = SITE_KEY) -> list[Any]:
        """Return a copy of the listeners (they may unsubscribe while called)."""
        return list(self._by_kind[kind].get(key, ()))

    @callback
    def device_changed(self, mac: str, changed: int) -> None:
        """Call the listeners of the device that show a part in `changed`."""
        listeners = self._by_kind[Kind.DEVICE].get(mac)
        if listeners:
            for listener, parts in list(listeners):
                if parts & changed:
                    listener()

    @callback
    def everything_changed(self) -> None:
        """Call every device and site listener (the availability changed)."""
        for listeners in list(self._by_kind[Kind.DEVICE].values()):
            for listener, _parts in list(listeners):
                listener()
        self.site_changed()

    @callback
    def site_changed(self) -> None:
        """Call the site listeners."""
        for listener in self.listeners(Kind.SITE):
            listener()

    @callback
    def transition(self, device: TrackedDevice, transition: AlertTransition) -> None:
        """Call the transition listeners of `device`."""
        for listener in self.listeners(Kind.TRANSITION, device.mac):
            listener(transition)

    @callback
    def new_device(self, device: TrackedDevice) -> None:
        """Hand `device` to the platforms, to create its entities."""
        for listener in self.listeners(Kind.NEW_DEVICE):
            listener(device)

    @callback
    def forget(self, mac: str) -> None:
        """Drop the listeners of a removed device and tell the platforms."""
        for by_key in self._by_kind:
            by_key.pop(mac, None)
        listener: Callable[[str], None]
        for listener in self.listeners(Kind.FORGET):
            listener(mac)


class _Unsubscribe:
    """Remove a listener; every entity keeps one of these for its life.

    A slotted object is a fraction of the memory of a decorated closure.
    """

    __slots__ = ("listener", "listeners")

    def __init__(self, listeners: list[Any], listener: Any) -> None:
        self.listeners = listeners
        self.listener = listener

    @callback
    def __call__(self) -> None:
        if self.listener in self.listeners:
            self.listeners.remove(self.listener)
