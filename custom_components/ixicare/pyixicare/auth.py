"""Telling a refused token from network trouble.

A failed handshake is one of: the token refused (HTTP 401/403, or a
CONNECT_ERROR packet with a message), a namespace the server does not serve,
a TLS certificate not trusted, or network trouble (retried). When the
failure carries no HTTP status, the WebSocket handshake is repeated alone to
read it (`_probe_status`). The URL and the headers of the handshake are
built here too; the token appears in the Authorization header only.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

from .exceptions import (
    IxicareAuthError,
    IxicareConnectionError,
    IxicareError,
    IxicareNamespaceError,
    IxicareTLSError,
)
from .receive import _Receiver

AUTH_FAILURE_STATUSES = frozenset({401, 403})


def _names_unknown_namespace(data: Any) -> bool:
    """Return True for socket.io's answer to a namespace it does not serve.

    socket.io 4 (JavaScript) sends {"message": "Invalid namespace"};
    python-socketio sends "Unable to connect".
    """
    if isinstance(data, dict):
        data = data.get("message")
    return data in ("Invalid namespace", "Unable to connect")


def _status_from_chain(err: BaseException | None) -> int | None:
    """Return the HTTP status of a refused handshake found in an exception chain."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        status = getattr(err, "status", None)
        if isinstance(err, aiohttp.ClientResponseError) and isinstance(status, int):
            return status
        err = err.__cause__ or err.__context__
    return None


def _tls_error_in_chain(err: BaseException | None) -> str | None:
    """Return why certificate verification failed, if it did."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, aiohttp.ClientConnectorCertificateError):
            err = err.certificate_error
        if isinstance(err, ssl.SSLCertVerificationError):
            return str(getattr(err, "verify_message", None) or err)
        err = err.__cause__ or err.__context__
    return None


class _Auth(_Receiver):
    """The handshake's URL and credentials, and why a handshake failed."""

    site_uuid: str
    invalid_namespace: bool
    _session: aiohttp.ClientSession
    _url: str
    _token: str
    _socketio_path: str
    _connect_error: Any

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def _netloc(self) -> str:
        """Return host and port of the URL, never the credentials it may carry."""
        parts = urlsplit(self._url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        try:
            port = parts.port
        except ValueError:
            port = None
        return host if port is None else f"{host}:{port}"

    def _connect_url(self) -> str:
        parts = urlsplit(self._url)
        query = urlencode({"site_uuid": self.site_uuid})
        return urlunsplit((parts.scheme, self._netloc(), "", query, ""))

    async def _refusal(self, err: BaseException, timeout: float) -> IxicareError:
        """Return the error a failed handshake is reported as.

        Sets `invalid_namespace` for this attempt.
        """
        self.invalid_namespace = _names_unknown_namespace(self._connect_error)
        auth = not self.invalid_namespace and (
            isinstance(self._connect_error, dict)
            or await self._is_auth_failure(err, timeout)
        )
        if auth:
            return IxicareAuthError("the server refused the token")
        if self.invalid_namespace:
            return IxicareNamespaceError(
                f"the server does not serve the namespace {self._namespace!r}"
            )
        if (tls := _tls_error_in_chain(err)) is not None:
            return IxicareTLSError(
                f"the server's TLS certificate is not trusted: {tls}"
            )
        reason = "timed out" if isinstance(err, TimeoutError) else str(err)
        return IxicareConnectionError(f"cannot connect: {reason}")

    async def _is_auth_failure(self, err: BaseException, timeout: float) -> bool:
        """Tell a refused token apart from network trouble."""
        status = _status_from_chain(err)
        if status is None and not isinstance(err, TimeoutError):
            status = await self._probe_status(timeout)
        return status in AUTH_FAILURE_STATUSES

    async def _probe_status(self, timeout: float) -> int | None:
        """Repeat the WebSocket handshake alone and return its HTTP status."""
        parts = urlsplit(self._url)
        scheme = "wss" if parts.scheme in ("https", "wss") else "ws"
        query = urlencode(
            {"site_uuid": self.site_uuid, "EIO": "4", "transport": "websocket"}
        )
        url = urlunsplit(
            (scheme, self._netloc(), f"/{self._socketio_path}/", query, "")
        )
        try:
            async with asyncio.timeout(timeout):
                ws = await self._session.ws_connect(url, headers=self._headers())
                await ws.close()
        except aiohttp.WSServerHandshakeError as err:
            return err.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            return None
        return None
