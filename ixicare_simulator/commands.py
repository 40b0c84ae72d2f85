"""Uplink commands: alert updates and the server's answers."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from .downlink import DownlinkMixin
from .model import (
    _UPLINK_VALIDATOR,
    ACTIONS,
    ERROR_ALREADY_FINAL,
    ERROR_INVALID_MESSAGE,
    ERROR_NOT_ALLOWED,
    ERROR_UNKNOWN_ALERT,
    EVENT_ALERTS,
    FINAL_STATUSES,
    NIL_UUID,
    PROTOCOL_VERSION,
    _Directive,
    _is_uuid,
    _SimAlert,
    _Site,
    normalize_mac,
)

_LOGGER = logging.getLogger(__name__)


class CommandsMixin(DownlinkMixin):
    """Answer alert updates, or fail, ignore or delay them as told."""

    def fail_next_command(self, site: str, error: str = ERROR_NOT_ALLOWED) -> None:
        """Answer the next uplink of a site with FAILURE and ``error``."""
        self._site(site).directives.append(_Directive("fail", error=error))

    def ignore_next_command(self, site: str) -> None:
        """Never answer the next uplink of a site (nor apply it)."""
        self._site(site).directives.append(_Directive("ignore"))

    def delay_next_command(self, site: str, seconds: float) -> None:
        """Answer the next uplink of a site ``seconds`` late."""
        self._site(site).directives.append(_Directive("delay", seconds=seconds))

    async def _on_alerts(self, sid: str, *args: Any) -> Any:
        key = self._sid_site.get(sid)
        if key is None or (state := self._sites.get(key)) is None:
            return self._not_handled()
        data = args[0] if args else None
        state.uplinks.append(data)
        self._notify()
        directive = state.directives.popleft() if state.directives else None
        if directive is not None and directive.mode == "ignore":
            _LOGGER.info("Ignoring an alert update from %s as told", sid)
            return self._not_handled()
        delay = self.command_delay
        if directive is not None and directive.mode == "delay":
            delay = directive.seconds
        self._spawn(self._answer(state, sid, data, delay, directive))
        # The ixicare cloud never acknowledges: tell python-socketio not to.
        return self._not_handled()

    def _not_handled(self) -> Any:
        return self._sio.not_handled if self._sio is not None else None

    async def _answer(
        self,
        state: _Site,
        sid: str,
        data: Any,
        delay: float,
        directive: _Directive | None,
    ) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        response, alert = self._evaluate(state, data, directive)
        _LOGGER.info(
            "Alert update %s %s: %s %s",
            response["alert"]["id"],
            response["alert"]["action"],
            response["result"],
            response.get("error", ""),
        )
        await self._deliver(state, EVENT_ALERTS, self._prepare(response), to=sid)
        if alert is not None:
            if self.echo_updates:
                await self._publish_alert(state, alert)
            else:
                alert.changed = time.time()

    def _evaluate(
        self, state: _Site, data: Any, directive: _Directive | None
    ) -> tuple[dict[str, Any], _SimAlert | None]:
        """Decide the response to an uplink; apply it on success."""
        if not _UPLINK_VALIDATOR.is_valid(data):
            return self._response(data, "FAILURE", ERROR_INVALID_MESSAGE), None
        if directive is not None and directive.mode == "fail":
            return self._response(data, "FAILURE", directive.error), None
        alert = state.alerts.get(data["alert"]["id"].lower())
        action = data["alert"]["action"]
        if alert is None:
            return self._response(data, "FAILURE", ERROR_UNKNOWN_ALERT), None
        if alert.status in FINAL_STATUSES:
            return self._response(data, "FAILURE", ERROR_ALREADY_FINAL), None
        if normalize_mac(data["device_id"]) != alert.mac or (
            action == "ACCEPT" and alert.status == "ACCEPTED"
        ):
            return self._response(data, "FAILURE", ERROR_NOT_ALLOWED), None
        alert.status = "ACCEPTED" if action == "ACCEPT" else "RESOLVED"
        return self._response(data, "SUCCESS"), alert

    @staticmethod
    def _response(data: Any, result: str, error: str | None = None) -> dict[str, Any]:
        """Build an alert update response echoing the uplink.

        Fields of a malformed uplink that cannot be echoed validly are replaced
        (device_id "", alert id the nil UUID, action ACCEPT).
        """
        payload = data if isinstance(data, dict) else {}
        alert = payload.get("alert")
        alert = alert if isinstance(alert, dict) else {}
        device_id = payload.get("device_id")
        alert_id = alert.get("id")
        action = alert.get("action")
        response: dict[str, Any] = {
            "version": PROTOCOL_VERSION,
            "type": "ALERT",
            "device_id": device_id if isinstance(device_id, str) else "",
            "alert": {
                "id": alert_id if _is_uuid(alert_id) else NIL_UUID,
                "action": action if action in ACTIONS else "ACCEPT",
            },
            "result": result,
        }
        if error is not None:
            response["error"] = error
        return response
