"""ixicare simulator: a socket.io server that plays the ixicare cloud."""

from __future__ import annotations

from .scenario import Scenario
from .server import IxicareSimulator, SimDevice

__all__ = ["IxicareSimulator", "Scenario", "SimDevice"]
