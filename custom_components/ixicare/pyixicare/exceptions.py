"""Exceptions of the ixicare client."""

from __future__ import annotations


class IxicareError(Exception):
    """Base class of every ixicare client error."""


class IxicareParseError(IxicareError, ValueError):
    """A message does not follow the protocol; names the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        """Initialise with the offending field and why it was rejected."""
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class IxicareConnectionError(IxicareError):
    """The server cannot be reached or the connection was lost."""


class IxicareAuthError(IxicareConnectionError):
    """The server refused the token (HTTP 401/403 or a refused namespace)."""


class IxicareNamespaceError(IxicareConnectionError):
    """The server does not serve the socket.io namespace (a configuration error)."""


class IxicareTLSError(IxicareConnectionError):
    """The server's TLS certificate could not be verified."""


class IxicareNotConnectedError(IxicareConnectionError):
    """A command was sent while no session is established."""


class IxicareCommandTimeoutError(IxicareError):
    """No answer to an alert update came in time."""
