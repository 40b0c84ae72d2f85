"""What goes wrong with a site's messages: counted, logged rate-limited, repaired.

The client counts what it received (`ClientStats`); `MessageStats` counts
what the integration did with it, and reads the client's counts rather than
keeping its own. `SiteIssues` logs (rate-limited) and keeps the repair issues
of the device limit, the alert limit and an unknown namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import time
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import CONF_NAMESPACE, DOMAIN, LOGGER
from .pyixicare import DEFAULT_NAMESPACE, ClientStats, ConnectionState
from .pyixicare.state import MAX_ACTIVE_ALERTS, MAX_ACTIVE_ALERTS_PER_DEVICE, SiteState

if TYPE_CHECKING:
    from . import IxicareConfigEntry

INVALID_LOG_INTERVAL = 60.0


@dataclass(slots=True)
class MessageStats:
    """Counters of what the integration did with messages."""

    client: ClientStats = field(repr=False)
    invalid_by_field: dict[str, int] = field(default_factory=dict)
    # Side fields the parser left out of messages that were otherwise handled.
    dropped: int = 0
    dropped_by_field: dict[str, int] = field(default_factory=dict)
    refused_devices: int = 0
    transitions: int = 0

    @property
    def heartbeats(self) -> int:
        """Return the heartbeats handled (the client's count)."""
        return self.client.heartbeats

    @property
    def alerts(self) -> int:
        """Return the alert events handled (the client's count)."""
        return self.client.alerts

    @property
    def invalid(self) -> int:
        """Return the messages rejected (the client's count)."""
        return self.client.invalid

    def as_dict(self) -> dict[str, Any]:
        """Return the counters for diagnostics."""
        return {
            "heartbeats": self.heartbeats,
            "alerts": self.alerts,
            "invalid": self.invalid,
            "invalid_by_field": dict(self.invalid_by_field),
            "dropped": self.dropped,
            "dropped_by_field": dict(self.dropped_by_field),
            "refused_devices": self.refused_devices,
            "transitions": self.transitions,
        }


class SiteIssues:
    """Counts, rate-limited warnings and repair issues of one site."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: IxicareConfigEntry,
        site_uuid: str,
        state: SiteState,
        stats: MessageStats,
    ) -> None:
        """Start without issues raised."""
        self.hass = hass
        self.entry = entry
        self.site_uuid = site_uuid
        self.state = state
        self.stats = stats
        self._last_invalid_log = 0.0
        self._last_dropped_log = -INVALID_LOG_INTERVAL
        self._full_warned = False
        self._limit_issue_id = f"device_limit_{entry.entry_id}"
        # Raised while devices past the limit have no entities.
        self.limit_issue = False
        self._alert_limit_issue = False

    @callback
    def async_restore(self) -> None:
        """Raise again what the stored state shows, or clear what it does not."""
        # A restart starts without the repair issues; they come back with the
        # first device past the limit.
        if self.state.unlisted:
            self._raise_limit_issue()
        else:
            ir.async_delete_issue(self.hass, DOMAIN, self._limit_issue_id)
        if self.state.forgotten_alerts:
            self.alert_limit_hit()
        else:
            ir.async_delete_issue(
                self.hass, DOMAIN, f"alert_limit_{self.entry.entry_id}"
            )

    @callback
    def invalid(self, topic: str, err: Exception) -> None:
        """Count a rejected message by its field; log rate-limited."""
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
    def dropped(self, topic: str, dropped: tuple[str, ...]) -> None:
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
    def device_refused(self) -> None:
        """Count a message of a device past the limit; raise the issue."""
        self.stats.refused_devices += 1
        if not self.limit_issue:
            self._raise_limit_issue()

    @callback
    def device_listed(self) -> None:
        """Clear the raised device limit issue once no device is refused any more."""
        if not self.state.refused:
            self.limit_issue = False
            ir.async_delete_issue(self.hass, DOMAIN, self._limit_issue_id)

    @callback
    def alert_limit_hit(self) -> None:
        """Warn once that alerts were forgotten to keep within the bounds."""
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
        self._create_issue(
            f"alert_limit_{self.entry.entry_id}",
            "alert_limit",
            per_device=str(MAX_ACTIVE_ALERTS_PER_DEVICE),
            per_site=str(MAX_ACTIVE_ALERTS),
        )

    @callback
    def _raise_limit_issue(self) -> None:
        self.limit_issue = True
        if not self._full_warned:
            self._full_warned = True
            LOGGER.warning(
                "ixicare site %s reached its limit of %s devices; further "
                "devices get no entities, but their alerts are still announced",
                self.site_uuid,
                self.state.max_devices,
            )
        self._create_issue(
            self._limit_issue_id, "device_limit", limit=str(self.state.max_devices)
        )

    @callback
    def update_namespace(self, state: ConnectionState, invalid: bool) -> None:
        """Raise a repair issue while the server does not serve the namespace."""
        issue_id = f"invalid_namespace_{self.entry.entry_id}"
        if state is ConnectionState.CONNECTED:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        elif state is ConnectionState.DISCONNECTED and invalid:
            namespace = self.entry.data.get(CONF_NAMESPACE, DEFAULT_NAMESPACE)
            self._create_issue(
                issue_id,
                "invalid_namespace",
                ir.IssueSeverity.ERROR,
                namespace=namespace,
            )

    @callback
    def _create_issue(
        self,
        issue_id: str,
        translation_key: str,
        severity: ir.IssueSeverity = ir.IssueSeverity.WARNING,
        **placeholders: str,
    ) -> None:
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=severity,
            translation_key=translation_key,
            translation_placeholders={"title": self.entry.title, **placeholders},
        )
