"""Long-lived socket.io session with one ixicare site.

The client keeps one session per site: it connects, hands every downlink
message to the caller's callbacks synchronously and in order, reconnects
forever with exponential backoff and full jitter, and stops for good when the
server refuses the token. It never logs or repeats the token.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp

from .commands import LATE_ANSWER_WINDOW
from .models import AlertEvent, AlertUpdateResponse, ConnectionState, HeartbeatEvent
from .session import Backoff, ClientStats, _Session
from .transport import (
    DEFAULT_NAMESPACE,
    DEFAULT_SOCKETIO_PATH,
    _TrackedSession,
    fast_path_available,
)

__all__ = [
    "DEFAULT_NAMESPACE",
    "DEFAULT_SOCKETIO_PATH",
    "Backoff",
    "ClientStats",
    "IxicareClient",
]


class IxicareClient(_Session):
    """Client of one ixicare site.

    Its layers, each in a module of its own, from the bottom up: commands
    and the connection state (commands.py), the receive path (receive.py),
    the handshake's credentials and refusals (auth.py), the session and its
    supervisor (session.py). This class only sets them up.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        url: str,
        site_uuid: str,
        token: str,
        socketio_path: str = DEFAULT_SOCKETIO_PATH,
        namespace: str = DEFAULT_NAMESPACE,
        on_alert: Callable[[AlertEvent], None] | None = None,
        on_heartbeat: Callable[[HeartbeatEvent], None] | None = None,
        on_state: Callable[[ConnectionState], None] | None = None,
        on_invalid: Callable[[str, Any, Exception], None] | None = None,
        on_response: Callable[[AlertUpdateResponse], None] | None = None,
        backoff: Backoff | None = None,
        stable_after: float = 30.0,
        idle_timeout: float | None = None,
        late_answer_window: float = LATE_ANSWER_WINDOW,
        fast_path: bool | None = None,
    ) -> None:
        """Set the client up; nothing connects until `connect` or `start`.

        `fast_path` None uses the fast receive path where the installed
        python-socketio and python-engineio allow it; False forces the stock
        path.
        """
        self._session = session
        self._url = url.rstrip("/")
        self.site_uuid = site_uuid
        self._token = token
        self._socketio_path = socketio_path.strip("/") or DEFAULT_SOCKETIO_PATH
        self._namespace = namespace or DEFAULT_NAMESPACE
        self._on_alert = on_alert
        self._on_heartbeat = on_heartbeat
        self._on_state = on_state
        self._on_invalid = on_invalid
        self._on_response = on_response
        self._backoff = backoff or Backoff()
        self._stable_after = stable_after
        self.idle_timeout = idle_timeout
        self.state = ConnectionState.DISCONNECTED
        self.stats = ClientStats()
        self._sio = None
        self._connecting = None
        self._disconnected = asyncio.Event()
        self._supervisor = None
        self._closing = False
        self._emit_lock = asyncio.Lock()
        self._pending = {}
        self._connect_error = None
        self._http = _TrackedSession(session)
        self._late = {}
        self.late_answer_window = late_answer_window
        self.fast_path = fast_path_available() if fast_path is None else fast_path
        # Set at each failed attempt: the server does not serve the namespace.
        self.invalid_namespace = False
        self._failures = 0

    def __repr__(self) -> str:
        """Describe the client without its token."""
        return (
            f"IxicareClient(url={self._url!r}, site_uuid={self.site_uuid!r}, "
            f"state={self.state.value!r})"
        )

    def set_token(self, token: str) -> None:
        """Use a new token from the next connection attempt on."""
        self._token = token
