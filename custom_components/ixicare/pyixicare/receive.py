"""The receive path: from a decoded socket.io event to the caller's callbacks.

The handlers run synchronously where python-socketio (or, on the fast path,
`transport._AsyncClient`) calls them, so callbacks see the messages in the
order they arrived. Every failure is an invalid message: counted, reported
to `on_invalid`, never raised into the socket's read loop.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
import time
from typing import Any

from .commands import _Commands
from .exceptions import IxicareParseError
from .models import AlertEvent, AlertUpdateResponse, HeartbeatEvent
from .parser import parse_alerts_message, parse_heartbeat
from .transport import EVENT_ALERTS, EVENT_HEARTBEATS

_LOGGER = logging.getLogger(__name__)


class _Receiver(_Commands):
    """Hand each downlink message to its callback; count what cannot be read."""

    _on_alert: Callable[[AlertEvent], None] | None
    _on_heartbeat: Callable[[HeartbeatEvent], None] | None
    _on_invalid: Callable[[str, Any, Exception], None] | None
    _on_response: Callable[[AlertUpdateResponse], None] | None

    def _invalid(self, topic: str, payload: Any, err: Exception) -> None:
        self.stats.invalid += 1
        self.stats.last_error = f"{topic}: {err}"
        if self._on_invalid is not None:
            try:
                self._on_invalid(topic, payload, err)
            except Exception:
                _LOGGER.debug("Error reporting an invalid message", exc_info=True)

    def _handle_alerts(self, payload: Any = None, *_: Any) -> None:
        self.stats.last_message = time.monotonic()
        try:
            message = parse_alerts_message(payload)
            if isinstance(message, AlertUpdateResponse):
                self.stats.responses += 1
                self._resolve_pending(message)
                # Every answer, also a late one to a command that timed out:
                # a SUCCESS is the server's word that the alert changed.
                if self._on_response is not None:
                    self._on_response(message)
                return
            self.stats.alerts += 1
            if self._on_alert is not None:
                self._on_alert(message)
        except Exception as err:  # noqa: BLE001 - every failure is an invalid message
            self._failed(EVENT_ALERTS, payload, err)

    def _handle_invalid_frame(self, reason: Any = None, *_: Any) -> None:
        self.stats.last_message = time.monotonic()
        self._invalid("frame", None, IxicareParseError("message", str(reason)))

    def _invalid_frame(self, err: Exception) -> None:
        """A frame whose handling failed before it reached a handler."""
        self.stats.last_message = time.monotonic()
        _LOGGER.debug("Cannot handle an ixicare frame", exc_info=err)
        self._invalid(
            "frame",
            None,
            IxicareParseError("message", f"cannot be handled ({type(err).__name__})"),
        )

    def _handle_heartbeats(self, payload: Any = None, *_: Any) -> None:
        self.stats.last_message = time.monotonic()
        try:
            message = parse_heartbeat(payload)
            self.stats.heartbeats += 1
            if self._on_heartbeat is not None:
                self._on_heartbeat(message)
        except Exception as err:  # noqa: BLE001 - every failure is an invalid message
            self._failed(EVENT_HEARTBEATS, payload, err)

    def _failed(self, topic: str, payload: Any, err: Exception) -> None:
        if not isinstance(err, IxicareParseError):
            # A value the parser let through that the handling then choked
            # on, or a bug: counted like any invalid message, the traceback
            # at debug level only.
            _LOGGER.debug("Error handling an ixicare %s message", topic, exc_info=err)
            err = IxicareParseError("message", f"cannot be handled ({err!r:.200})")
        self._invalid(topic, payload, err)
