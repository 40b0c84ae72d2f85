"""Helpers for the integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr


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


def find_device(hass: HomeAssistant, identifier: str) -> dr.DeviceEntry | None:
    """Return the integration's device with this identifier (a MAC or the site), or None.

    It looks through the devices of the integration's config entries:
    `dr.async_entries_for_config_entry` works on every Home Assistant we support, while
    `DeviceRegistry.async_get_device` is deprecated from 2026.8 (identifiers are no
    longer unique across config entries) and raises when a test calls it.
    """
    from custom_components.ixicare.const import DOMAIN

    registry = dr.async_get(hass)
    for entry in hass.config_entries.async_entries(DOMAIN):
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            if (DOMAIN, identifier) in device.identifiers:
                return device
    return None


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
