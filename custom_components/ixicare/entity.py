"""Base entity and description of the ixicare integration.

An entity shows one device (its description's functions read the
`TrackedDevice`) or the site (they read the coordinator). What it shows is
the description's `value_fn` and `attrs_fn`: a state is written only when
they, or the availability, changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity, EntityDescription

from .coordinator import IxicareCoordinator
from .pyixicare.state import CHANGED_ALL
from .pyixicare.tracked import TrackedDevice
from .subscriptions import Kind

if TYPE_CHECKING:
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from . import IxicareConfigEntry


@dataclass(frozen=True, kw_only=True)
class IxicareEntityDescription[T](EntityDescription):
    """What an entity reads of `T`: a device, or the site's coordinator."""

    value_fn: Callable[[T], Any] = lambda _subject: None
    attrs_fn: Callable[[T], dict[str, Any] | None] = lambda _subject: None
    # The parts of the device value_fn and attrs_fn read (CHANGED_* bits): a
    # message that changes none of them does not ask the entity.
    shows: int = CHANGED_ALL
    # An entity of the site: its functions read the coordinator, not a device.
    of_site: bool = False
    # Whether a device has the entity yet (a tracker waits for a position).
    exists_fn: Callable[[T], bool] = lambda _subject: True


class IxicareEntity(Entity):
    """An entity that shows a part of the site or of one device."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: IxicareEntityDescription[Any]

    def __init__(
        self,
        coordinator: IxicareCoordinator,
        description: IxicareEntityDescription[Any],
        device: TrackedDevice | None = None,
    ) -> None:
        """Initialise the entity of `device`, or of the site without one."""
        self.coordinator = coordinator
        self.entity_description = description
        self.device = device
        self._subject: Any = coordinator if device is None else device
        key = description.key if device is None else f"{device.mac}_{description.key}"
        self._attr_unique_id = f"{coordinator.site_uuid}_{key}"
        self._attr_device_info = coordinator.devices.device_info(device)
        self._shown_value: Any = None
        self._shown_attrs: dict[str, Any] | None = None
        self._written: tuple[Any, ...] | None = self._shown()

    @property
    def available(self) -> bool:
        """Return True while the site's data can be trusted."""
        return self.coordinator.available

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the attributes (as computed with the value, see `_shown`)."""
        return self._shown_attrs

    def _value(self) -> Any:
        return self._shown_value

    def _shown(self) -> tuple[Any, ...]:
        """Compute what the entity shows, once per change.

        The value and attributes are kept for the state write that may
        follow: a binary sensor's functions look the alert up, and the write
        would otherwise do it again for each property.
        """
        description = self.entity_description
        self._shown_value = description.value_fn(self._subject)
        self._shown_attrs = description.attrs_fn(self._subject)
        # Dicts compare without regard to order: no sorting needed.
        return (self.available, self._shown_value, self._shown_attrs)

    @callback
    def _handle_update(self) -> None:
        """Write the state if what the entity shows changed."""
        if (shown := self._shown()) != self._written:
            self._written = shown
            self.async_write_ha_state()

    async def async_added_to_hass(self) -> None:
        """Remember what was written first; follow the device (or the site)."""
        await super().async_added_to_hass()
        self._written = self._shown()
        subscriptions = self.coordinator.subscriptions
        if self.device is None:
            unsubscribe = subscriptions.subscribe(Kind.SITE, self._handle_update)
        else:
            unsubscribe = subscriptions.subscribe(
                Kind.DEVICE,
                self._handle_update,
                self.device.mac,
                self.entity_description.shows,
            )
        self.async_on_remove(unsubscribe)


async def async_setup_entities[E: IxicareEntity](
    entry: IxicareConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entity_class: Callable[..., E],
    descriptions: tuple[IxicareEntityDescription[Any], ...],
) -> None:
    """Add a platform's site entities, and those of each device, now and later.

    A description's `exists_fn` may hold a device back until it has what the
    entity shows (the GPS tracker waits for the first outdoor position). A
    device the user removed gets its entities again when a new message names it.
    """
    coordinator = entry.runtime_data.coordinator
    if site := [entity_class(coordinator, d) for d in descriptions if d.of_site]:
        async_add_entities(site)
    device_descriptions = [d for d in descriptions if not d.of_site]
    known: set[str] = set()

    @callback
    def add_device(device: TrackedDevice) -> None:
        if device.mac in known:
            return
        entities = [
            entity_class(coordinator, description, device)
            for description in device_descriptions
            if description.exists_fn(device)
        ]
        if entities:
            known.add(device.mac)
            async_add_entities(entities)

    entry.async_on_unload(await coordinator.async_add_new_device_listener(add_device))
    entry.async_on_unload(
        coordinator.subscriptions.subscribe(Kind.FORGET, known.discard)
    )
