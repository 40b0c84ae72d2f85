"""The site coordinator: one ixicare session and what it taught us."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
import threading
import time
from typing import TYPE_CHECKING, Any

from homeassistant.const import CONF_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.util.async_ import run_callback_threadsafe

from .announce import Announcer
from .const import (
    CONF_COMMAND_TIMEOUT,
    CONF_IDLE_TIMEOUT,
    CONF_MAX_DEVICES,
    CONF_NAMESPACE,
    CONF_SITE_UUID,
    CONF_SOCKETIO_PATH,
    CONF_UNAVAILABLE_AFTER,
    DEFAULT_COMMAND_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_DEVICES,
    DEFAULT_NAMESPACE,
    DEFAULT_SOCKETIO_PATH,
    DEFAULT_UNAVAILABLE_AFTER,
    DOMAIN,
    ENDED_ALERT_MEMORY,
    LOGGER,
    SAVE_DELAY,
    STORAGE_VERSION,
)
from .pyixicare import (
    AlertAction,
    AlertEvent,
    AlertStatus,
    AlertUpdateResponse,
    ConnectionState,
    HeartbeatEvent,
    IxicareClient,
    UpdateResult,
)
from .pyixicare.state import (
    CHANGED_ALL,
    MAX_ACTIVE_ALERTS,
    MAX_ACTIVE_ALERTS_PER_DEVICE,
    AlertTransition,
    SiteState,
    TrackedAlert,
    TrackedDevice,
    Update,
)

if TYPE_CHECKING:
    from . import IxicareConfigEntry

type DeviceListener = Callable[[], None]
type TransitionListener = Callable[[AlertTransition], None]
type NewDeviceListener = Callable[[TrackedDevice], None]

INVALID_LOG_INTERVAL = 60.0
# Known devices handed to a platform per event-loop iteration at set-up: Home
# Assistant adds the entities of one call without yielding, and thousands of
# devices in one go would block the loop for seconds.
DEVICES_PER_ITERATION = 10
# ... and for at most this long: each platform hands its own devices over, and
# Home Assistant finishes adding their entities in the next iteration.
SETUP_SLICE = 0.002


@dataclass(slots=True)
class MessageStats:
    """Counters of what the integration did with messages."""

    heartbeats: int = 0
    alerts: int = 0
    invalid: int = 0
    invalid_by_field: dict[str, int] = field(default_factory=dict)
    # Side fields the parser left out of messages that were otherwise handled.
    dropped: int = 0
    dropped_by_field: dict[str, int] = field(default_factory=dict)
    refused_devices: int = 0
    transitions: int = 0


class IxicareCoordinator:
    """Keeps the session of one site and fans its messages out to entities."""

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
        self.stats = MessageStats()
        self.client = IxicareClient(
            async_get_clientsession(
                hass, verify_ssl=entry.data.get(CONF_VERIFY_SSL, True)
            ),
            url=entry.data[CONF_URL],
            site_uuid=self.site_uuid,
            token=entry.data[CONF_TOKEN],
            socketio_path=entry.data.get(CONF_SOCKETIO_PATH, DEFAULT_SOCKETIO_PATH),
            namespace=entry.data.get(CONF_NAMESPACE, DEFAULT_NAMESPACE),
            on_alert=self._handle_alert,
            on_heartbeat=self._handle_heartbeat,
            on_state=self._handle_state,
            on_invalid=self._handle_invalid,
            on_response=self._handle_response,
            idle_timeout=options.get(CONF_IDLE_TIMEOUT, DEFAULT_IDLE_TIMEOUT),
        )
        self.available = True
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}"
        )
        self._save_pending = False
        self._device_listeners: dict[str, list[tuple[DeviceListener, int]]] = {}
        self._transition_listeners: dict[str, list[TransitionListener]] = {}
        self._site_listeners: list[DeviceListener] = []
        self._new_device_listeners: list[NewDeviceListener] = []
        self._forget_listeners: list[Callable[[str], None]] = []
        self._device_ids: dict[str, str] = {}
        self._unavailable_timer: CALLBACK_TYPE | None = None
        self._last_invalid_log = 0.0
        self._last_dropped_log = -INVALID_LOG_INTERVAL
        self._full_warned = False
        self._limit_issue_id = f"device_limit_{entry.entry_id}"
        # Raised while devices past the limit have no entities.
        self._limit_issue = False
        self._alert_limit_issue = False
        self._outdoor_announced: set[str] = set()
        self.announcer = Announcer(
            hass,
            entry_id=entry.entry_id,
            site_uuid=self.site_uuid,
            device_id=self.device_id,
            notify=self._notify_transition,
            on_flushed=self._schedule_save,
        )
        self._shut_down = False

    # -- life cycle -----------------------------------------------------------

    async def async_load(self) -> None:
        """Restore the devices and alerts stored before the last restart."""
        if (data := await self._store.async_load()) is not None:
            self.state.load(data)
            self.state.prune_ended(time.time(), ENDED_ALERT_MEMORY)
            self.announcer.restore_held(data.get("held", []), self.state)
        # A restart starts without the repair issue; it comes back with the
        # first device past the limit.
        if self.state.unlisted:
            self._raise_limit_issue()
        else:
            ir.async_delete_issue(self.hass, DOMAIN, self._limit_issue_id)
        if self.state.forgotten_alerts:
            self._alert_limit_hit()
        else:
            ir.async_delete_issue(
                self.hass, DOMAIN, f"alert_limit_{self.entry.entry_id}"
            )

    async def async_start(self, timeout: float) -> None:
        """Connect once (raising on failure) and keep the session alive."""
        await self.client.connect(timeout)
        self.client.start()

    @callback
    def async_release_announcements(self) -> None:
        """Announce alert transitions from now on (the platforms are set up).

        Those of the set-up and of Home Assistant's start go out once it has
        started; see `announce.py`.
        """
        self.announcer.async_release()

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
            await self._store.async_save(self._snapshot())

    # -- subscriptions ----------------------------------------------------------

    @callback
    def async_add_device_listener(
        self, mac: str, listener: DeviceListener, parts: int = CHANGED_ALL
    ) -> CALLBACK_TYPE:
        """Call `listener` when `parts` of the device (CHANGED_* bits) change.

        Every listener is also called when the site's availability changes.
        Return the unsubscribe.
        """
        return _subscribe(self._device_listeners.setdefault(mac, []), (listener, parts))

    @callback
    def async_add_transition_listener(
        self, mac: str, listener: TransitionListener
    ) -> CALLBACK_TYPE:
        """Call `listener` with each alert transition of the device."""
        return _subscribe(self._transition_listeners.setdefault(mac, []), listener)

    @callback
    def async_add_site_listener(self, listener: DeviceListener) -> CALLBACK_TYPE:
        """Call `listener` when the connection or the alert count changes."""
        return _subscribe(self._site_listeners, listener)

    async def async_add_new_device_listener(
        self, listener: NewDeviceListener
    ) -> CALLBACK_TYPE:
        """Call `listener` for each known device now and each new one later.

        The known devices are handed over at most DEVICES_PER_ITERATION, and
        at most SETUP_SLICE seconds, at a time, letting the event loop run in
        between: adding a device's entities costs more as the registries grow.
        """
        unsubscribe = _subscribe(self._new_device_listeners, listener)
        handed = 0
        slice_start = time.monotonic()
        for device in list(self.state.devices.values()):
            if handed == DEVICES_PER_ITERATION or (
                time.monotonic() - slice_start >= SETUP_SLICE
            ):
                await asyncio.sleep(0)
                handed = 0
                slice_start = time.monotonic()
            # Skip a device the user removed meanwhile.
            if self.state.devices.get(device.mac) is device:
                listener(device)
                handed += 1
        return unsubscribe

    @callback
    def async_add_forget_listener(
        self, listener: Callable[[str], None]
    ) -> CALLBACK_TYPE:
        """Call `listener` with the MAC of each device the user removed."""
        return _subscribe(self._forget_listeners, listener)

    # -- message handling (synchronous, in arrival order) -------------------------

    @callback
    def _handle_heartbeat(self, event: HeartbeatEvent) -> None:
        self.stats.heartbeats += 1
        if event.dropped:
            self._count_dropped("heartbeats", event.dropped)
        self._apply(self.state.apply_heartbeat(event), event.device.mac)

    @callback
    def _handle_alert(self, event: AlertEvent) -> None:
        self.stats.alerts += 1
        if event.dropped:
            self._count_dropped("alerts", event.dropped)
        self._apply(self.state.apply_alert(event, time.time()), event.device.mac)

    @callback
    def _handle_response(self, response: AlertUpdateResponse) -> None:
        # The answer is all the protocol promises after a command: apply a
        # SUCCESS at once (an echo of the new status, if any, changes nothing).
        if response.result is UpdateResult.SUCCESS:
            status = (
                AlertStatus.ACCEPTED
                if response.action is AlertAction.ACCEPT
                else AlertStatus.RESOLVED
            )
            self._apply_local(
                self.state.apply_status(response.alert_id, status, time.time())
            )

    @callback
    def async_dismiss_alert(self, alert: TrackedAlert) -> None:
        """End an alert in Home Assistant only (the server has forgotten it)."""
        LOGGER.info(
            "ixicare alert %s of site %s dismissed in Home Assistant",
            alert.alert_id,
            self.site_uuid,
        )
        self._apply_local(self.state.dismiss(alert.alert_id, time.time()))

    @callback
    def _apply_local(self, update: Update) -> None:
        """Apply a change that comes from this side, not from a message."""
        if update.device is not None and update.transitions:
            if not update.listed:
                self._announce(update.device, update.transitions)
                self._schedule_save()
                return
            self._apply(update, update.device.mac)

    @callback
    def _count_dropped(self, topic: str, dropped: tuple[str, ...]) -> None:
        """Count the side fields a handled message lost; log rate-limited."""
        stats = self.stats
        by_field = stats.dropped_by_field
        for name in dropped:
            stats.dropped += 1
            by_field[name] = by_field.get(name, 0) + 1
        now = time.monotonic()
        if now - self._last_dropped_log >= INVALID_LOG_INTERVAL:
            self._last_dropped_log = now
            # The names are the parser's fixed field paths, never server text.
            LOGGER.warning(
                "Handled a %s message from ixicare site %s without its unusable "
                "field(s) %s; %d dropped so far, further ones are counted in "
                "diagnostics",
                topic,
                self.site_uuid,
                ", ".join(dropped),
                stats.dropped,
            )

    @callback
    def _apply(self, update: Update, mac: str) -> None:
        if update.capped:
            self._alert_limit_hit()
        device = update.device
        if device is None or not update.listed:
            # Past the device limit: no entities, but alerts are announced
            # and counted all the same.
            self._device_refused(mac)
            if device is not None and update.transitions:
                self._announce(device, update.transitions)
                self._schedule_save()
            return
        if self._limit_issue and not self.state.refused:
            self._limit_issue = False
            ir.async_delete_issue(self.hass, DOMAIN, self._limit_issue_id)
        if update.new_device or (
            device.outdoor is not None and mac not in self._outdoor_announced
        ):
            if device.outdoor is not None:
                self._outdoor_announced.add(mac)
            # Platforms create the entities of new devices, and the GPS
            # tracker of a device once its first outdoor position arrives.
            for new_listener in list(self._new_device_listeners):
                new_listener(device)
        if update.resident_changed:
            self._update_device_name(device)
        if update.transitions:
            self._announce(device, update.transitions)
        if update.device_changed:
            changed = update.changed
            for listener, parts in list(self._device_listeners.get(mac, ())):
                if parts & changed:
                    listener()
            self._schedule_save()

    @callback
    def _announce(
        self, device: TrackedDevice, transitions: list[AlertTransition]
    ) -> None:
        self.stats.transitions += len(transitions)
        self.announcer.announce(device, transitions)
        for site_listener in list(self._site_listeners):
            site_listener()

    @callback
    def _notify_transition(
        self, device: TrackedDevice, transition: AlertTransition
    ) -> None:
        for listener in list(self._transition_listeners.get(device.mac, ())):
            listener(transition)

    @callback
    def _handle_invalid(self, topic: str, payload: Any, err: Exception) -> None:
        self.stats.invalid += 1
        name = getattr(err, "field", "message")
        by_field = self.stats.invalid_by_field
        by_field[name] = by_field.get(name, 0) + 1
        now = time.monotonic()
        if now - self._last_invalid_log >= INVALID_LOG_INTERVAL:
            self._last_invalid_log = now
            LOGGER.warning(
                "Ignored an invalid %s message from ixicare site %s (%s); "
                "%d rejected so far, further ones are counted in diagnostics",
                topic,
                self.site_uuid,
                err,
                self.stats.invalid,
            )

    @callback
    def _device_refused(self, mac: str) -> None:
        self.stats.refused_devices += 1
        if not self._limit_issue:
            self._raise_limit_issue()

    @callback
    def _alert_limit_hit(self) -> None:
        if self._alert_limit_issue:
            return
        self._alert_limit_issue = True
        LOGGER.warning(
            "ixicare site %s sent more active alerts than kept (%s per device, "
            "%s per site); the least critical, oldest ones are forgotten",
            self.site_uuid,
            MAX_ACTIVE_ALERTS_PER_DEVICE,
            MAX_ACTIVE_ALERTS,
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"alert_limit_{self.entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="alert_limit",
            translation_placeholders={
                "title": self.entry.title,
                "per_device": str(MAX_ACTIVE_ALERTS_PER_DEVICE),
                "per_site": str(MAX_ACTIVE_ALERTS),
            },
        )

    @callback
    def _raise_limit_issue(self) -> None:
        self._limit_issue = True
        if not self._full_warned:
            self._full_warned = True
            LOGGER.warning(
                "ixicare site %s reached its limit of %s devices; further "
                "devices get no entities, but their alerts are still announced",
                self.site_uuid,
                self.state.max_devices,
            )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self._limit_issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="device_limit",
            translation_placeholders={
                "title": self.entry.title,
                "limit": str(self.state.max_devices),
            },
        )

    # -- connection ---------------------------------------------------------------

    @callback
    def _handle_state(self, state: ConnectionState) -> None:
        self._update_namespace_issue(state)
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
        for listener in list(self._site_listeners):
            listener()

    @callback
    def _update_namespace_issue(self, state: ConnectionState) -> None:
        """Raise a repair issue while the server does not serve the namespace."""
        issue_id = f"invalid_namespace_{self.entry.entry_id}"
        if state is ConnectionState.CONNECTED:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        elif state is ConnectionState.DISCONNECTED and self.client.invalid_namespace:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="invalid_namespace",
                translation_placeholders={
                    "title": self.entry.title,
                    "namespace": self.entry.data.get(CONF_NAMESPACE, DEFAULT_NAMESPACE),
                },
            )

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
        for listeners in list(self._device_listeners.values()):
            for listener, _parts in list(listeners):
                listener()
        for site_listener in list(self._site_listeners):
            site_listener()

    # -- devices ------------------------------------------------------------------

    def device_id(self, mac: str) -> str | None:
        """Return the Home Assistant device id of a MAC address."""
        if (device_id := self._device_ids.get(mac)) is None:
            self._refresh_device_ids()
            device_id = self._device_ids.get(mac)
        return device_id

    def mac_of(self, device_id: str) -> str | None:
        """Return the MAC address of a Home Assistant device id."""
        registry = dr.async_get(self.hass)
        entry = registry.async_get(device_id)
        # Ours only. Not through DeviceEntry.config_entries: 2026.11 reports it as
        # deprecated, and its replacement (config_entry_id) is missing in 2025.4.
        if entry is None or entry not in dr.async_entries_for_config_entry(
            registry, self.entry.entry_id
        ):
            return None
        for domain, identifier in entry.identifiers:
            if domain == DOMAIN and identifier in self.state.devices:
                return identifier
        return None

    def _refresh_device_ids(self) -> None:
        registry = dr.async_get(self.hass)
        for entry in dr.async_entries_for_config_entry(registry, self.entry.entry_id):
            for domain, identifier in entry.identifiers:
                if domain == DOMAIN:
                    self._device_ids[identifier] = entry.id

    @callback
    def _update_device_name(self, device: TrackedDevice) -> None:
        if device.resident and (device_id := self.device_id(device.mac)) is not None:
            # Only `name` is passed: none of the reported arguments.
            registry = dr.async_get(self.hass)
            registry.async_update_device(  # ha-compat: ignore
                device_id, name=device.resident
            )

    @callback
    def async_forget_device(self, mac: str) -> None:
        """Forget a device the user removed; a new message brings it back."""
        self.state.forget_device(mac)
        self._device_ids.pop(mac, None)
        self._outdoor_announced.discard(mac)
        self._device_listeners.pop(mac, None)
        self._transition_listeners.pop(mac, None)
        for forget_listener in list(self._forget_listeners):
            forget_listener(mac)
        for site_listener in list(self._site_listeners):
            site_listener()
        self._schedule_save()

    # -- storage ------------------------------------------------------------------

    @callback
    def _schedule_save(self) -> None:
        # One delayed save per batch of changes: asking the store again on
        # every message would postpone the write for as long as messages
        # keep coming less than SAVE_DELAY apart.
        if not self._save_pending:
            self._save_pending = True
            self._store.async_delay_save(self._data_to_save, SAVE_DELAY)

    def _data_to_save(self) -> dict[str, Any]:
        """Return the snapshot to store, taken in the event loop.

        Home Assistant 2025.4 calls this from an executor thread while the
        event loop goes on changing the state (newer versions call it in the
        event loop): the snapshot is then taken in the loop and waited for.
        """
        if threading.get_ident() == self.hass.loop_thread_id:
            return self._snapshot()
        return run_callback_threadsafe(self.hass.loop, self._snapshot).result()

    @callback
    def _snapshot(self) -> dict[str, Any]:
        self._save_pending = False
        self.state.prune_ended(time.time(), ENDED_ALERT_MEMORY)
        data = self.state.as_dict()
        if self.announcer.holding:
            data["held"] = self.announcer.held_as_list()
        return data


def _subscribe(listeners: list[Any], listener: Any) -> CALLBACK_TYPE:
    listeners.append(listener)
    return _Unsubscribe(listeners, listener)


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
