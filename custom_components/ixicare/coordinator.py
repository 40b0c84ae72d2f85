"""The site coordinator: owns one site's client, state and availability.

A message goes from the client's callback to `SiteState`, then to the
subscriptions (the entities that show a changed part) and the announcer.
"""

from __future__ import annotations

from collections.abc import Callable
import time
from typing import TYPE_CHECKING, Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .announce import Announcer
from .connection import create_client
from .const import (
    CONF_COMMAND_TIMEOUT,
    CONF_IDLE_TIMEOUT,
    CONF_MAX_DEVICES,
    CONF_SITE_UUID,
    CONF_UNAVAILABLE_AFTER,
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_DEVICES,
    DEFAULT_UNAVAILABLE_AFTER,
    LOGGER,
)
from .devices import SiteDevices
from .issues import MessageStats, SiteIssues
from .pyixicare import AlertEvent, AlertUpdateResponse, ConnectionState, HeartbeatEvent
from .pyixicare.state import SiteState, Update
from .pyixicare.tracked import AlertTransition, TrackedDevice
from .storage import SiteStore
from .subscriptions import Subscriptions

if TYPE_CHECKING:
    from . import IxicareConfigEntry


class IxicareCoordinator:
    """Keeps the session of one site and fans its messages out to entities."""

    # Made after the client and the announcer, whose callbacks use them.
    issues: SiteIssues
    storage: SiteStore

    def __init__(self, hass: HomeAssistant, entry: IxicareConfigEntry) -> None:
        """Set up from the config entry; `async_start` connects."""
        self.hass = hass
        self.entry = entry
        self.site_uuid: str = entry.data[CONF_SITE_UUID]
        options = entry.options
        self.unavailable_after: float = options.get(
            CONF_UNAVAILABLE_AFTER, DEFAULT_UNAVAILABLE_AFTER
        )
        self.command_timeout: float = options.get(
            CONF_COMMAND_TIMEOUT, DEFAULT_COMMAND_TIMEOUT
        )
        self.state = SiteState(
            max_devices=options.get(CONF_MAX_DEVICES, DEFAULT_MAX_DEVICES)
        )
        self.client = create_client(
            hass,
            entry.data,
            on_alert=self._handle_alert,
            on_heartbeat=self._handle_heartbeat,
            on_state=self._handle_state,
            on_invalid=lambda topic, _payload, err: self.issues.invalid(topic, err),
            on_response=self._handle_response,
            idle_timeout=options.get(CONF_IDLE_TIMEOUT, DEFAULT_IDLE_TIMEOUT),
        )
        self.available = True
        self.stats = MessageStats(self.client.stats)
        self.issues = SiteIssues(hass, entry, self.site_uuid, self.state, self.stats)
        self.devices = SiteDevices(hass, entry, self.state)
        self.mac_of = self.devices.mac_of
        self.subscriptions = Subscriptions()
        self._unavailable_timer: CALLBACK_TYPE | None = None
        self._outdoor_announced: set[str] = set()
        self.announcer = Announcer(
            hass,
            entry_id=entry.entry_id,
            site_uuid=self.site_uuid,
            device_id=self.devices.device_id,
            notify=self.subscriptions.transition,
            # The store, made below, keeps what the announcer holds.
            on_flushed=lambda: self.storage.schedule_save(),  # noqa: PLW0108
        )
        self.storage = SiteStore(hass, entry.entry_id, self.state, self.announcer)
        # Home Assistant's store and what it is handed (the tests watch them).
        self._store = self.storage.store
        self._data_to_save = self.storage.data_to_save
        self._schedule_save = self.storage.schedule_save
        self._shut_down = False

    async def async_load(self) -> None:
        """Restore the devices and alerts stored before the last restart."""
        await self.storage.async_load()
        self.issues.async_restore()

    async def async_start(self, timeout: float) -> None:
        """Connect once (raising on failure) and keep the session alive."""
        await self.client.connect(timeout)
        self.client.start()

    async def async_shutdown(self) -> None:
        """Close the session and write what we know (once)."""
        if self._shut_down:
            return
        self._shut_down = True
        self._cancel_timer()
        self.announcer.async_shutdown()
        try:
            await self.client.close()
        finally:
            await self.storage.async_save()

    async def async_add_new_device_listener(
        self, listener: Callable[[TrackedDevice], None]
    ) -> CALLBACK_TYPE:
        """Call `listener` for each known device now and each new one later."""
        return await self.subscriptions.async_add_new_device_listener(
            listener, self.state.devices
        )

    @callback
    def _handle_heartbeat(self, event: HeartbeatEvent) -> None:
        # Messages are handled synchronously, in the order they arrived.
        if event.dropped:
            self.issues.dropped("heartbeats", event.dropped)
        self._apply(self.state.apply_heartbeat(event), event.device.mac)

    @callback
    def _handle_alert(self, event: AlertEvent) -> None:
        if event.dropped:
            self.issues.dropped("alerts", event.dropped)
        self._apply(self.state.apply_alert(event, time.time()), event.device.mac)

    @callback
    def _handle_response(self, response: AlertUpdateResponse) -> None:
        # The answer is all the protocol promises after a command: apply a
        # SUCCESS at once (an echo of the new status, if any, changes nothing).
        if (status := response.confirmed_status) is not None:
            self.async_apply_local(
                self.state.apply_status(response.alert_id, status, time.time())
            )

    @callback
    def async_apply_local(self, update: Update) -> None:
        """Apply a change that comes from this side (an answer, a dismissal)."""
        if update.device is not None and update.transitions:
            if not update.listed:
                self._announce(update.device, update.transitions)
                self._schedule_save()
                return
            self._apply(update, update.device.mac)

    @callback
    def _apply(self, update: Update, mac: str) -> None:
        if update.capped:
            self.issues.alert_limit_hit()
        device = update.device
        if device is None or not update.listed:
            # Past the device limit: no entities, but alerts are announced
            # and counted all the same.
            self.issues.device_refused()
            if device is not None and update.transitions:
                self._announce(device, update.transitions)
                self._schedule_save()
            return
        if self.issues.limit_issue:
            self.issues.device_listed()
        if update.new_device or (
            device.outdoor is not None and mac not in self._outdoor_announced
        ):
            if device.outdoor is not None:
                self._outdoor_announced.add(mac)
            # Platforms create the entities of new devices, and the GPS
            # tracker of a device once its first outdoor position arrives.
            self.subscriptions.new_device(device)
        if update.resident_changed:
            self.devices.update_name(device)
        if update.transitions:
            self._announce(device, update.transitions)
        if update.device_changed:
            self.subscriptions.device_changed(mac, update.changed)
            self._schedule_save()

    @callback
    def _announce(
        self, device: TrackedDevice, transitions: list[AlertTransition]
    ) -> None:
        self.stats.transitions += len(transitions)
        self.announcer.announce(device, transitions)
        self.subscriptions.site_changed()

    @callback
    def _handle_state(self, state: ConnectionState) -> None:
        self.issues.update_namespace(state, self.client.invalid_namespace)
        if state is ConnectionState.CONNECTED:
            self._cancel_timer()
            self._set_available(True)
        elif state is ConnectionState.AUTH_FAILED:
            LOGGER.warning("ixicare site %s refused the token", self.site_uuid)
            self.entry.async_start_reauth(self.hass)
            self._set_available(False)
        elif state is ConnectionState.DISCONNECTED and self._unavailable_timer is None:
            self._unavailable_timer = async_call_later(
                self.hass, self.unavailable_after, self._unavailable_timeout
            )
        self.subscriptions.site_changed()

    @callback
    def _unavailable_timeout(self, _now: Any) -> None:
        self._unavailable_timer = None
        if not self.client.connected:
            self._set_available(False)

    @callback
    def _cancel_timer(self) -> None:
        if self._unavailable_timer is not None:
            self._unavailable_timer()
            self._unavailable_timer = None

    @callback
    def _set_available(self, available: bool) -> None:
        if available == self.available:
            return
        self.available = available
        if available:
            LOGGER.info("ixicare site %s is connected again", self.site_uuid)
        else:
            LOGGER.warning(
                "ixicare site %s is unavailable: no connection for %s seconds",
                self.site_uuid,
                self.unavailable_after,
            )
        self.subscriptions.everything_changed()

    @callback
    def async_forget_device(self, mac: str) -> None:
        """Forget a device the user removed; a new message brings it back."""
        self.state.forget_device(mac)
        self.devices.forget(mac)
        self._outdoor_announced.discard(mac)
        self.subscriptions.forget(mac)
        self.subscriptions.site_changed()
        self._schedule_save()
