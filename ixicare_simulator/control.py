"""The HTTP control API (``/control/``, unauthenticated, loopback by default)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .commands import CommandsMixin
from .model import ERROR_NOT_ALLOWED, _Site
from .transport import TransportMixin


class ControlMixin(TransportMixin, CommandsMixin):
    """Drive the simulator over HTTP, as the in-process methods do."""

    if TYPE_CHECKING:
        # The life cycle is the layer above (server.py).
        async def restart(self, downtime: float = 0.0) -> None:
            """Stop then start on the same port, keeping the state."""

    def _add_control_routes(self, app: web.Application) -> None:
        app.middlewares.append(self._control_errors)
        prefix = "/control/sites/{site}"
        app.router.add_get("/control/sites", self._http_sites)
        app.router.add_get(f"{prefix}/state", self._http_state)
        app.router.add_post(f"{prefix}/devices", self._http_devices)
        app.router.add_post(f"{prefix}/alerts", self._http_raise)
        app.router.add_post(
            f"{prefix}/alerts/{{alert_id}}/escalate", self._http_escalate
        )
        app.router.add_post(f"{prefix}/alerts/{{alert_id}}/status", self._http_status)
        app.router.add_post(f"{prefix}/heartbeats", self._http_heartbeat)
        app.router.add_post(f"{prefix}/raw", self._http_raw)
        app.router.add_post(f"{prefix}/disconnect", self._http_disconnect)
        app.router.add_post(f"{prefix}/commands/next", self._http_next_command)
        app.router.add_get(f"{prefix}/uplinks", self._http_uplinks)
        app.router.add_post(f"{prefix}/token", self._http_token)
        app.router.add_post("/control/restart", self._http_restart)
        app.router.add_post("/control/handshakes/break", self._http_break)

    @web.middleware
    async def _control_errors(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Turn errors of the control API into JSON 404/400 responses."""
        if not request.path.startswith("/control/"):
            return await handler(request)
        try:
            return await handler(request)
        except KeyError as err:
            return web.json_response({"error": str(err.args[0])}, status=404)
        except (ValueError, TypeError) as err:
            return web.json_response({"error": str(err)}, status=400)

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except ValueError:
            raise ValueError("Body is not JSON") from None
        if not isinstance(body, dict):
            raise TypeError("Body must be a JSON object")
        return body

    def _state_of(self, request: web.Request) -> _Site:
        return self._site(request.match_info["site"])

    async def _http_sites(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "sites": [
                    {"site": key, "connected_clients": len(state.sids)}
                    for key, state in self._sites.items()
                ]
            }
        )

    async def _http_state(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        return web.json_response(
            {
                "site": state.key,
                "devices": [asdict(device) for device in state.devices.values()],
                "alerts": self.alerts(state.key),
                "active_alerts": self.active_alerts(state.key),
                "retained": len(self.retained_events(state.key)),
                "uplinks": len(state.uplinks),
                "connected_clients": len(state.sids),
            }
        )

    async def _http_devices(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        body = await self._body(request)
        created = self.make_devices(
            state.key, int(body.get("count", 1)), seed=int(body.get("seed", 0))
        )
        return web.json_response({"devices": [asdict(device) for device in created]})

    async def _http_raise(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        body = await self._body(request)
        alert_id = await self.raise_alert(
            state.key,
            str(body["mac"]),
            str(body.get("type", "MAN_DOWN")),
            alert_id=body.get("alert_id"),
            include_user=bool(body.get("include_user", True)),
            include_location=bool(body.get("include_location", True)),
            timestamp=None
            if body.get("timestamp") is None
            else float(body["timestamp"]),
        )
        return web.json_response({"alert_id": alert_id})

    async def _http_escalate(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        body = await self._body(request)
        alert_id = request.match_info["alert_id"]
        await self.escalate_alert(
            state.key, alert_id, str(body["type"]), force=bool(body.get("force"))
        )
        return web.json_response(self.alerts(state.key)[alert_id.lower()])

    async def _http_status(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        body = await self._body(request)
        alert_id = request.match_info["alert_id"]
        await self.set_alert_status(
            state.key, alert_id, str(body["status"]), force=bool(body.get("force"))
        )
        return web.json_response(self.alerts(state.key)[alert_id.lower()])

    async def _http_heartbeat(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        changes = await self._body(request)
        mac = str(changes.pop("mac"))
        message = await self.send_heartbeat(state.key, mac, **changes)
        return web.json_response(message)

    async def _http_raw(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        body = await self._body(request)
        await self.send_raw(state.key, str(body["event"]), body.get("data"))
        return web.json_response({"sent": True})

    async def _http_disconnect(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        return web.json_response(
            {"disconnected": await self.disconnect_clients(state.key)}
        )

    async def _http_next_command(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        body = await self._body(request)
        mode = body.get("mode")
        if mode == "fail":
            self.fail_next_command(state.key, str(body.get("error", ERROR_NOT_ALLOWED)))
        elif mode == "ignore":
            self.ignore_next_command(state.key)
        elif mode == "delay":
            self.delay_next_command(state.key, float(body["seconds"]))
        else:
            raise ValueError("mode must be fail, ignore or delay")
        return web.json_response({"mode": mode, "pending": len(state.directives)})

    async def _http_uplinks(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        return web.json_response({"uplinks": self.uplinks(state.key)})

    async def _http_token(self, request: web.Request) -> web.Response:
        state = self._state_of(request)
        body = await self._body(request)
        token = body.get("token")
        if token is not None and not isinstance(token, str):
            raise TypeError("token must be a string or null")
        task = self.set_token(state.key, token, revoke=bool(body.get("revoke")))
        if task is not None:
            await task
        return web.json_response({"site": state.key, "revoked": task is not None})

    async def _http_break(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        count = int(body.get("count", 1))
        open_packet = body.get("open_packet")
        if open_packet is not None and not isinstance(open_packet, str):
            raise TypeError("open_packet must be a string or null")
        self.break_handshakes(count, open_packet)
        return web.json_response({"pending": self.pending_handshake_faults})

    async def _http_restart(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        downtime = float(body.get("downtime", 0.0))
        response = web.json_response({"restarting": True, "downtime": downtime})
        await response.prepare(request)
        await response.write_eof()
        if self._restart_task is None or self._restart_task.done():
            self._restart_task = asyncio.create_task(self.restart(downtime))
        return response
