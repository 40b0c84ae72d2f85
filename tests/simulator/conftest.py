"""Fixtures for the simulator tests."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import pytest

from ixicare_simulator import IxicareSimulator

from .common import OTHER_SITE, OTHER_TOKEN, SITE, TOKEN, SimClient

type ClientFactory = Callable[..., Awaitable[SimClient]]


@pytest.fixture
async def sim(socket_enabled: None) -> AsyncGenerator[IxicareSimulator]:
    """Run a simulator on loopback with two sites and a few devices."""
    simulator = IxicareSimulator(sites={SITE: TOKEN, OTHER_SITE: OTHER_TOKEN})
    simulator.make_devices(SITE, 8, seed=0)
    simulator.make_devices(OTHER_SITE, 2, seed=7)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


@pytest.fixture
async def connect(sim: IxicareSimulator) -> AsyncGenerator[ClientFactory]:
    """Return a factory of connected clients; check what they got at the end."""
    clients: list[SimClient] = []

    async def factory(
        site: str = SITE,
        token: str | None = TOKEN,
        *,
        simulator: IxicareSimulator | None = None,
        validate: bool = True,
        connect: bool = True,
        **kwargs: Any,
    ) -> SimClient:
        client = SimClient(
            (simulator or sim).url, site, token, validate=validate, **kwargs
        )
        clients.append(client)
        if connect:
            await client.connect()
        return client

    yield factory
    for client in clients:
        await client.close()
    for client in clients:
        if client.validate:
            assert client.invalid_messages() == []
