"""Helpers for the integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib

from homeassistant.core import HomeAssistant, ServiceCall


async def wait_for(
    hass: HomeAssistant, predicate: Callable[[], bool], timeout: float = 5.0
) -> None:
    """Let the loop run until `predicate` holds (messages cross a real socket)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)
    await hass.async_block_till_done()


def calls_service(hass: HomeAssistant) -> list[ServiceCall]:
    """Register `test.automation`; return the calls automations make of it."""
    calls: list[ServiceCall] = []

    async def record(call: ServiceCall) -> None:
        calls.append(call)

    hass.services.async_register("test", "automation", record)
    return calls


def state_of(hass: HomeAssistant, entity_id: str) -> str | None:
    """Return the state of an entity, or None when it does not exist."""
    state = hass.states.get(entity_id)
    return None if state is None else state.state


def entity_id(hass: HomeAssistant, platform: str, mac: str, key: str) -> str:
    """Return the entity id of a device entity from its unique id."""
    from homeassistant.helpers import entity_registry as er

    from custom_components.ixicare.const import DOMAIN

    from .conftest import SITE_UUID

    found = er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"{SITE_UUID}_{mac.lower()}_{key}"
    )
    assert found is not None, f"no {platform} entity {key} for {mac}"
    return found


class LoopTurns:
    """How many times the event loop has turned since `counting` began."""

    def __init__(self) -> None:
        self.count = 0

    async def _count(self) -> None:
        while True:
            await asyncio.sleep(0)
            self.count += 1

    @contextlib.asynccontextmanager
    async def counting(self) -> AsyncIterator[LoopTurns]:
        """Count the turns while the block runs."""
        task = asyncio.ensure_future(self._count())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
