"""The demo's site, its devices and residents, known before anything runs.

The simulator creates its devices deterministically from a seed, so the
residents, their MAC addresses and so the entity ids Home Assistant gives them
are known in advance. This module holds the demo's constants, shared by
``scripts/develop``, ``scripts/screenshot``, the demo's set-up
(``demo_setup.py``), the dashboard (``demo_dashboard.py``) and the tests.

Entity ids come from the device name when Home Assistant first sees a device.
The demo's devices are first seen through a heartbeat, which carries no
resident name, so they are named ``IXI <last 4 hex digits of the MAC>`` and
their entities ``sensor.ixi_c80a_battery`` and so on (the device is renamed
after its resident on the first alert; entity ids stay).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import sys
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ixicare_simulator.server import (  # noqa: E402
    COMMON_ZONES,
    DEFAULT_SITE,
    DEFAULT_TOKEN,
    MODEL_IXI_PRO,
    IxicareSimulator,
)

DASHBOARD_FILE: Final = ROOT / "dashboards" / "ixicare.yaml"

# The demo site: the simulator's default site with a token of its own.
DEMO_SITE: Final = DEFAULT_SITE
DEMO_TOKEN: Final = DEFAULT_TOKEN  # the simulator's default, in its README too
# Seed 12 brings every alert type and an escalation within about 9 minutes of
# simulated time (ticks), whenever the demo's set-up steps in.
DEMO_SEED: Final = 12
DEMO_DEVICES: Final = 8
# The config entry's title is "ixicare" and the first 8 characters of the
# site UUID; the site's entities are named after it.
SITE_SLUG: Final = f"ixicare_{DEMO_SITE[:8]}"

ALERT_STATES: Final = ("man_down", "geofencing", "panic_button", "critical_battery")

# Entity key (end of the unique id) -> domain, for every entity of a device.
DEVICE_ENTITY_KEYS: Final[dict[str, str]] = {
    "battery": "sensor",
    "zone": "sensor",
    "floor": "sensor",
    "active_alert": "sensor",
    "last_update": "sensor",
    "phone_number": "sensor",
    "man_down": "binary_sensor",
    "geofencing": "binary_sensor",
    "panic_button": "binary_sensor",
    "critical_battery": "binary_sensor",
    "alert": "event",
    "location": "device_tracker",
    "accept_alert": "button",
    "resolve_alert": "button",
}

# The floors of the demo's care home (the simulator's), in the order shown.
# A resident is listed under the floor they are on now; one on none of them
# (outdoors, or not located yet) under "Elsewhere".
FLOORS: Final = tuple(COMMON_ZONES)


@dataclass(frozen=True)
class DemoResident:
    """A resident of the demo and the device they wear."""

    mac: str
    name: str
    model: str
    floor: str
    zone: str

    @property
    def slug(self) -> str:
        """Return the object id prefix of the device's entities: ``ixi_c80a``."""
        return "ixi_" + self.mac.replace(":", "")[-4:].lower()

    @property
    def initials(self) -> str:
        """Return the resident's initials: ``OF`` for Odette Fontaine."""
        return "".join(word[0] for word in self.name.split() if word[:1].isupper())

    @property
    def gps(self) -> bool:
        """Return True for an IXI PRO (it has a GPS)."""
        return self.model == MODEL_IXI_PRO

    def entity_id(self, key: str) -> str:
        """Return the entity id of one of the device's entities."""
        return f"{DEVICE_ENTITY_KEYS[key]}.{self.slug}_{key}"


def residents(seed: int = DEMO_SEED, count: int = DEMO_DEVICES) -> list[DemoResident]:
    """Return the residents the simulator creates with this seed and count."""
    sim = IxicareSimulator(sites={DEMO_SITE: DEMO_TOKEN})
    return [
        DemoResident(
            mac=device.mac,
            name=device.name,
            model=device.model,
            floor=device.floor or "",
            zone=device.zone or "",
        )
        for device in sim.make_devices(DEMO_SITE, count, seed=seed)
    ]


def expected_entity_ids(
    seed: int = DEMO_SEED, count: int = DEMO_DEVICES
) -> dict[str, str]:
    """Return the entity id of each unique id of the demo's device entities.

    The tracker of a device without GPS does not exist and is left out.
    """
    ids: dict[str, str] = {}
    for resident in residents(seed, count):
        for key in DEVICE_ENTITY_KEYS:
            if key == "location" and not resident.gps:
                continue
            unique_id = f"{DEMO_SITE}_{resident.mac.lower()}_{key}"
            ids[unique_id] = resident.entity_id(key)
    return ids
