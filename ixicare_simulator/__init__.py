"""ixicare simulator: a socket.io server that plays the ixicare cloud."""

from __future__ import annotations

from .model import SimDevice
from .scenario import Scenario
from .server import IxicareSimulator

__all__ = ["IxicareSimulator", "Scenario", "SimDevice"]
