"""Commands to the server and the matching of their answers.

The protocol has no correlation id: an answer is matched to the oldest
command waiting for the same alert and action. A command that timed out
leaves a late-answer window open for its key, so that its answer, should it
still come, is not taken for the answer to the next command.

`_Commands` is the first layer of `IxicareClient` (see client.py): it also
holds the connection state every layer reads.
"""

from __future__ import annotations

import asyncio
from collections import deque
import time
from typing import TYPE_CHECKING

import socketio

from .exceptions import (
    IxicareCommandTimeoutError,
    IxicareConnectionError,
    IxicareNotConnectedError,
)
from .models import AlertAction, AlertUpdate, AlertUpdateResponse, ConnectionState
from .parser import normalize_mac
from .transport import EVENT_ALERTS

if TYPE_CHECKING:
    from .session import ClientStats

# How long after a command timed out the next answer for the same alert and
# action is taken for that command's late answer (and discarded).
LATE_ANSWER_WINDOW = 60.0


class _Commands:
    """Send alert updates and match the answers to them."""

    state: ConnectionState
    stats: ClientStats
    late_answer_window: float
    _sio: socketio.AsyncClient | None
    _namespace: str
    _emit_lock: asyncio.Lock
    # Commands waiting for their answer by (alert id, action), oldest first.
    _pending: dict[tuple[str, AlertAction], deque[asyncio.Future[AlertUpdateResponse]]]
    # Keys of commands that timed out: (late answers still expected,
    # until when the next answers for the key are taken for them).
    _late: dict[tuple[str, AlertAction], tuple[int, float]]

    @property
    def connected(self) -> bool:
        """Return True while a session is established."""
        return self.state is ConnectionState.CONNECTED

    async def update_alert(
        self,
        device_id: str,
        alert_id: str,
        action: AlertAction,
        timeout: float = 15.0,
    ) -> AlertUpdateResponse:
        """Send ACCEPT or RESOLVE and return the server's answer."""
        sio = self._sio
        if sio is None or not self.connected:
            raise IxicareNotConnectedError("not connected to the ixicare server")
        update = AlertUpdate(
            device_id=normalize_mac(device_id),
            alert_id=alert_id,
            action=AlertAction(action),
        )
        key = (alert_id.lower(), update.action)
        future: asyncio.Future[AlertUpdateResponse] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending.setdefault(key, deque()).append(future)
        try:
            async with self._emit_lock:
                await sio.emit(
                    EVENT_ALERTS, update.as_dict(), namespace=self._namespace
                )
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            count, _until = self._late.get(key, (0, 0.0))
            self._late[key] = (
                count + 1,
                time.monotonic() + self.late_answer_window,
            )
            raise IxicareCommandTimeoutError(
                f"no answer to {update.action.value} within {timeout:g} s"
            ) from None
        except socketio.exceptions.SocketIOError as err:
            raise IxicareConnectionError(f"cannot send the command: {err}") from None
        finally:
            futures = self._pending.get(key)
            if futures is not None and future in futures:
                futures.remove(future)
                if not futures:
                    del self._pending[key]

    def _resolve_pending(self, response: AlertUpdateResponse) -> None:
        if (late := self._late.pop(response.key, None)) is not None:
            count, until = late
            if count > 1:
                self._late[response.key] = (count - 1, until)
            if time.monotonic() < until:
                # The protocol has no correlation id: the first answer after
                # a command timed out is taken for that command's late one.
                self.stats.late_answers += 1
                return
        futures = self._pending.get(response.key)
        while futures:
            future = futures.popleft()
            if not future.done():
                future.set_result(response)
                break
        if futures is not None and not futures:
            self._pending.pop(response.key, None)

    def _fail_pending(self, err: Exception) -> None:
        pending, self._pending = self._pending, {}
        for futures in pending.values():
            for future in futures:
                if not future.done():
                    future.set_exception(err)
