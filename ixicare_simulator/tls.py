"""TLS for the simulator: handshakes done by the simulator itself."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
import ssl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core import SimulatorCore

_LOGGER = logging.getLogger(__name__)


class _TlsAcceptor(asyncio.Protocol):
    """Do the TLS handshake of a connection, then hand it to aiohttp.

    With ``create_server(ssl=...)`` a failed handshake (a client that does not
    trust the certificate) is reported to the event loop's exception handler
    in debug mode, which Home Assistant's test harness turns into an error.
    Here it is only logged at debug level.
    """

    def __init__(
        self,
        sim: SimulatorCore,
        factory: Callable[[], asyncio.Protocol],
        context: ssl.SSLContext,
    ) -> None:
        self._sim = sim
        self._factory = factory
        self._context = context
        self._received: list[bytes] = []
        self._eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the handshake (nothing is read before it)."""
        assert isinstance(transport, asyncio.Transport)
        transport.pause_reading()
        self._sim._spawn(self._handshake(transport))

    def data_received(self, data: bytes) -> None:
        """Keep application data that came with the end of the handshake."""
        self._received.append(data)

    def eof_received(self) -> bool | None:
        """Remember an end of stream before the hand-over."""
        self._eof = True
        return True

    async def _handshake(self, transport: asyncio.Transport) -> None:
        if transport.is_closing():
            return
        try:
            tls = await asyncio.get_running_loop().start_tls(
                transport,
                self,
                self._context,
                server_side=True,
                ssl_handshake_timeout=10.0,
            )
        except OSError as err:
            _LOGGER.debug("TLS handshake failed: %r", err)
            return
        if tls is None or tls.is_closing():
            return
        protocol = self._factory()
        tls.set_protocol(protocol)
        protocol.connection_made(tls)
        for data in self._received:
            protocol.data_received(data)
        if self._eof:
            protocol.eof_received()
