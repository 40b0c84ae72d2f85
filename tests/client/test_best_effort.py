"""Best-effort parsing: only what identifies a message is required.

A bad side field is left out (and named in `dropped`), never the message:
an alert is applied and announced whatever its other fields hold.
"""

from __future__ import annotations

import copy
import math
import time
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.ixicare.const import TRANSITION_RAISED as RAISED
from custom_components.ixicare.pyixicare import (
    AlertEvent,
    AlertStatus,
    AlertType,
    AlertUpdateResponse,
    HeartbeatEvent,
    parse_alerts_message,
    parse_heartbeat,
)
from custom_components.ixicare.pyixicare.parser import (
    FUTURE_TOLERANCE,
    MAX_ERROR_LENGTH,
    MAX_TEXT_LENGTH,
    clean_text,
)
from custom_components.ixicare.pyixicare.state import SiteState
from custom_components.ixicare.pyixicare.tracked import (
    STATUS_TRANSITIONS,
    TrackedAlert,
    TrackedDevice,
)

from .test_parser import ALERT, HEARTBEAT, RESPONSE, replaced, without

NOW = 1_700_000_000.0


def alert(message: dict[str, Any]) -> AlertEvent:
    event = parse_alerts_message(message, now=NOW)
    assert isinstance(event, AlertEvent)
    return event


def heartbeat(message: dict[str, Any]) -> HeartbeatEvent:
    return parse_heartbeat(message, now=NOW)


# (message, the side fields it loses)
ALERT_DROPS = [
    (replaced(ALERT, None, "user"), ("user",)),
    (replaced(ALERT, "John", "user"), ("user",)),
    (without(ALERT, "user", "name"), ("user.name",)),
    (replaced(ALERT, None, "user", "name"), ("user.name",)),
    (replaced(ALERT, " \n\t", "user", "name"), ("user.name",)),
    (replaced(ALERT, {}, "user"), ("user.id", "user.name")),
    (without(ALERT, "user", "id"), ("user.id",)),
    (replaced(ALERT, None, "location"), ("location",)),
    (replaced(ALERT, {}, "location"), ("location",)),
    (replaced(ALERT, {"elsewhere": 1}, "location"), ("location",)),
    (replaced(ALERT, [1, 2], "location"), ("location",)),
    (replaced(ALERT, None, "device", "phone_number"), ("device.phone_number",)),
    (replaced(ALERT, 101, "device", "battery_level"), ("device.battery_level",)),
    (replaced(ALERT, -1, "device", "battery_level"), ("device.battery_level",)),
    (replaced(ALERT, "90", "device", "battery_level"), ("device.battery_level",)),
    (replaced(ALERT, True, "device", "battery_level"), ("device.battery_level",)),
    (replaced(ALERT, math.nan, "device", "battery_level"), ("device.battery_level",)),
    (replaced(ALERT, 10**400, "device", "battery_level"), ("device.battery_level",)),
    (without(ALERT, "device", "battery_level"), ("device.battery_level",)),
    (without(ALERT, "device", "last_update"), ("device.last_update",)),
    (replaced(ALERT, -5, "device", "last_update"), ("device.last_update",)),
    (replaced(ALERT, 1e30, "device", "last_update"), ("device.last_update",)),
    (replaced(ALERT, 10**400, "device", "last_update"), ("device.last_update",)),
    (replaced(ALERT, "1698505520", "device", "last_update"), ("device.last_update",)),
    (without(ALERT, "alert", "timestamp"), ("alert.timestamp",)),
    (replaced(ALERT, None, "alert", "timestamp"), ("alert.timestamp",)),
    (replaced(ALERT, 10**400, "alert", "timestamp"), ("alert.timestamp",)),
    (
        replaced(ALERT, NOW + FUTURE_TOLERANCE + 1, "alert", "timestamp"),
        ("alert.timestamp",),
    ),
    (without(ALERT, "location", "indoor", "zone_id"), ("location.indoor.zone_id",)),
    (replaced(ALERT, None, "location", "indoor"), ("location.indoor",)),
    (replaced(ALERT, [], "location", "indoor"), ("location.indoor",)),
    (
        replaced(ALERT, 91, "location", "outdoor", "latitude"),
        ("location.outdoor.latitude",),
    ),
    (
        replaced(ALERT, "56.8", "location", "outdoor", "latitude"),
        ("location.outdoor.latitude",),
    ),
    (
        replaced(ALERT, 10**400, "location", "outdoor", "last_update"),
        ("location.outdoor.last_update",),
    ),
    (replaced(ALERT, "HEARTBEAT", "type"), ("type",)),
    (without(ALERT, "type"), ("type",)),
    (replaced(ALERT, {"x": [None, {}]}, "extra"), ()),
    (replaced(ALERT, {"x": 1}, "device", "extra"), ()),
    (replaced(ALERT, {"x": 1}, "alert", "extra"), ()),
    (replaced(ALERT, 1, "location", "indoor", "extra"), ()),
    (replaced(ALERT, "alert", "type"), ()),
]


@pytest.mark.parametrize(("message", "dropped"), ALERT_DROPS)
def test_an_odd_side_field_is_dropped_not_the_alert(
    message: dict[str, Any], dropped: tuple[str, ...]
) -> None:
    event = alert(message)
    assert event.dropped == dropped
    assert event.device.mac == "00:02:04:06:08:0a"
    assert event.alert.id == ALERT["alert"]["id"]
    assert event.alert.type is AlertType.PANIC_BUTTON
    assert event.alert.status is AlertStatus.OPEN
    # ... and the site raises it.
    update = SiteState().apply_alert(event, NOW)
    assert [t.transition for t in update.transitions] == [RAISED]


def test_what_is_left_of_the_dropped_fields() -> None:
    event = alert(replaced(ALERT, None, "user"))
    assert event.user is None
    event = alert(without(ALERT, "user", "name"))
    assert event.user is not None
    assert (event.user.id, event.user.name) == (ALERT["user"]["id"], None)
    event = alert(without(ALERT, "device", "battery_level"))
    assert event.device.battery_level is None
    assert event.device.last_update == 1698505520.0
    event = alert(without(ALERT, "alert", "timestamp"))
    assert event.alert.timestamp is None
    # An indoor part without its zone id keeps its zone and floor.
    event = alert(without(ALERT, "location", "indoor", "zone_id"))
    assert event.location is not None and event.location.indoor is not None
    assert event.location.indoor.zone == "1.16 Bedroom"
    assert event.location.indoor.zone_id is None
    # A bad latitude loses the outdoor part, not the indoor one.
    event = alert(replaced(ALERT, 91, "location", "outdoor", "latitude"))
    assert event.location is not None
    assert event.location.outdoor is None
    assert event.location.indoor is not None
    # An indoor part with neither zone nor floor is left out.
    message = without(ALERT, "location", "indoor", "zone")
    del message["location"]["indoor"]["floor"]
    event = alert(message)
    assert event.dropped == ("location.indoor.floor", "location.indoor.zone")
    assert event.location is not None
    assert event.location.indoor is None
    assert event.location.outdoor is not None
    # A floor alone is a position.
    event = alert(without(ALERT, "location", "indoor", "zone"))
    assert event.location is not None and event.location.indoor is not None
    assert (event.location.indoor.floor, event.location.indoor.zone) == (
        "Floor 1",
        None,
    )


def test_times_in_milliseconds_are_read() -> None:
    message = replaced(ALERT, 1698505520123, "device", "last_update")
    message["alert"]["timestamp"] = 1698505526000
    event = alert(message)
    assert event.dropped == ()
    assert event.device.last_update == pytest.approx(1698505520.123)
    assert event.alert.timestamp == pytest.approx(1698505526.0)
    # Milliseconds from the future are not.
    event = alert(replaced(ALERT, (NOW + 3600) * 1000, "device", "last_update"))
    assert event.dropped == ("device.last_update",)


def test_times_are_bounded_to_the_present() -> None:
    fine = NOW + FUTURE_TOLERANCE
    event = alert(replaced(ALERT, fine, "device", "last_update"))
    assert event.device.last_update == fine
    late = replaced(HEARTBEAT, NOW + 10 * 365 * 86400, "device", "last_update")
    late["location"]["indoor"]["last_update"] = NOW + 86400
    event_hb = heartbeat(late)
    assert event_hb.device.last_update is None
    assert event_hb.location is not None and event_hb.location.indoor is not None
    assert event_hb.location.indoor.last_update is None
    assert event_hb.dropped == ("device.last_update", "location.indoor.last_update")
    # Without `now`, the present is the clock's.
    current = parse_heartbeat(
        replaced(HEARTBEAT, time.time() + 86400, "device", "last_update")
    )
    assert current.dropped == ("device.last_update",)


@pytest.mark.parametrize(
    "spelling",
    [
        "MAN_DOWN",
        "MAN DOWN",
        "MAN-DOWN",
        "man_down",
        " Man Down ",
        "man - down",
        "Man__Down",
    ],
)
def test_alert_types_however_spelt(spelling: str) -> None:
    event = alert(replaced(ALERT, spelling, "alert", "type"))
    assert event.alert.type is AlertType.MAN_DOWN
    assert event.alert.raw_type == "MAN_DOWN"
    assert event.dropped == ()


@pytest.mark.parametrize("known", [t for t in AlertType if t is not AlertType.UNKNOWN])
def test_every_type_is_normalised(known: AlertType) -> None:
    spelt = known.value.replace("_", " ").title()
    assert alert(replaced(ALERT, spelt, "alert", "type")).alert.type is known
    assert AlertType.from_text(known.value.lower().replace("_", "-")) is known


def test_statuses_and_answers_however_spelt() -> None:
    assert alert(replaced(ALERT, " accepted", "alert", "status")).alert.status is (
        AlertStatus.ACCEPTED
    )
    answer = parse_alerts_message(replaced(RESPONSE, "failure", "result"))
    assert isinstance(answer, AlertUpdateResponse)
    answer = parse_alerts_message(replaced(RESPONSE, "Resolve", "alert", "action"))
    assert isinstance(answer, AlertUpdateResponse)


def test_unknown_type_text_is_cleaned_and_cut() -> None:
    event = alert(replaced(ALERT, "FIRE\x1b[31m_ALARM\n" + "x" * 500, "alert", "type"))
    assert event.alert.type is AlertType.UNKNOWN
    assert event.alert.raw_type.startswith("FIRE[31m_ALARM x")
    assert len(event.alert.raw_type) <= 64
    event = alert(replaced(ALERT, "\x00", "alert", "type"))
    assert event.alert.raw_type == "UNKNOWN"


def test_server_text_is_cleaned_and_cut() -> None:
    message = copy.deepcopy(ALERT)
    message["user"]["name"] = "John\nINFO fake log line\x00\u2028" + "y" * 5000
    message["location"]["indoor"]["zone"] = "x" * 1_048_576
    message["location"]["indoor"]["floor"] = "\x1b[2JFloor\t1"
    message["device"]["phone_number"] = "+32\r\n81"
    message["alert"]["id"] = "id-\x00with\x07control"
    event = alert(message)
    assert event.dropped == ()
    assert event.user is not None and event.user.name is not None
    assert event.user.name.startswith("John INFO fake log line y")
    assert len(event.user.name) <= MAX_TEXT_LENGTH
    assert event.location is not None and event.location.indoor is not None
    assert event.location.indoor.zone == "x" * MAX_TEXT_LENGTH
    assert event.location.indoor.floor == "[2JFloor 1"
    assert event.device.phone_number == "+32 81"
    assert event.alert.id == "id-withcontrol"
    answer = parse_alerts_message(
        replaced(RESPONSE, "no\nsuch alert\x00" + "z" * 5000, "error")
    )
    assert isinstance(answer, AlertUpdateResponse)
    assert answer.error is not None
    assert answer.error.startswith("no such alertz")
    assert len(answer.error) <= MAX_ERROR_LENGTH
    answer = parse_alerts_message(replaced(RESPONSE, {"x": 1}, "error"))
    assert isinstance(answer, AlertUpdateResponse)
    assert answer.error is None
    # Lone surrogates cannot be stored (JSON) and go too.
    assert clean_text("a\ud800b") == "ab"
    # So do bidirectional overrides, which can make a line read otherwise.
    assert clean_text("evil\u202etxt.exe\u2066") == "eviltxt.exe"


def test_an_alert_and_a_response_told_apart() -> None:
    # `result` on a message that has an alert status: an alert, not lost.
    event = alert(replaced(ALERT, "SUCCESS", "result"))
    assert event.alert.status is AlertStatus.OPEN
    assert isinstance(parse_alerts_message(RESPONSE), AlertUpdateResponse)


HEARTBEAT_DROPS = [
    (replaced(HEARTBEAT, "ALERT", "type"), ("type",)),
    (without(HEARTBEAT, "type"), ("type",)),
    (replaced(HEARTBEAT, None, "type"), ("type",)),
    (without(HEARTBEAT, "location"), ("location",)),
    (replaced(HEARTBEAT, {}, "location"), ("location",)),
    (replaced(HEARTBEAT, 101, "device", "battery_level"), ("device.battery_level",)),
    (
        replaced(HEARTBEAT, 91, "location", "outdoor", "latitude"),
        ("location.outdoor.latitude",),
    ),
    (replaced(HEARTBEAT, "x", "location", "indoor"), ("location.indoor",)),
]


@pytest.mark.parametrize(("message", "dropped"), HEARTBEAT_DROPS)
def test_heartbeats_part_by_part(
    message: dict[str, Any], dropped: tuple[str, ...]
) -> None:
    event = heartbeat(message)
    assert event.dropped == dropped
    assert event.type in {"HEARTBEAT", "LOCATION"}
    assert event.device.mac == "00:02:04:06:08:0a"


def test_a_bad_battery_keeps_a_good_position_and_back() -> None:
    state = SiteState()
    state.apply_heartbeat(heartbeat(HEARTBEAT))
    device = state.devices["00:02:04:06:08:0a"]
    assert device.battery_level == 90
    moved = replaced(HEARTBEAT, "x", "device", "battery_level")
    moved["device"]["last_update"] = 1698505600
    moved["location"]["indoor"].update(zone="1.17 Bedroom", last_update=1698505600)
    update = state.apply_heartbeat(heartbeat(moved))
    assert update.device_changed
    assert device.indoor is not None and device.indoor.zone == "1.17 Bedroom"
    assert device.battery_level == 90  # kept
    assert device.last_update == 1698505600
    charged = replaced(HEARTBEAT, None, "location")
    charged["device"].update(battery_level=55, last_update=1698505700)
    state.apply_heartbeat(heartbeat(charged))
    assert device.battery_level == 55
    assert device.indoor.zone == "1.17 Bedroom"  # kept


def test_data_without_a_time_is_taken_and_the_held_time_stays() -> None:
    state = SiteState()
    state.apply_heartbeat(heartbeat(HEARTBEAT))
    device = state.devices["00:02:04:06:08:0a"]
    untimed = without(HEARTBEAT, "device", "last_update")
    untimed["device"]["battery_level"] = 70
    assert state.apply_heartbeat(heartbeat(untimed)).device_changed
    assert (device.battery_level, device.last_update) == (70, 1698505520)
    # Older data still loses against the time held.
    older = replaced(HEARTBEAT, 1698505000, "device", "last_update")
    older["device"]["battery_level"] = 10
    assert not state.apply_heartbeat(heartbeat(older)).device_changed
    assert device.battery_level == 70


def test_a_future_time_does_not_freeze_the_device() -> None:
    state = SiteState()
    future = replaced(HEARTBEAT, NOW + 5 * 365 * 86400, "device", "last_update")
    future["device"]["battery_level"] = 5
    state.apply_heartbeat(heartbeat(future))
    real = replaced(HEARTBEAT, NOW - 10, "device", "last_update")
    real["device"]["battery_level"] = 77
    state.apply_heartbeat(heartbeat(real))
    device = state.devices["00:02:04:06:08:0a"]
    assert (device.battery_level, device.last_update) == (77, NOW - 10)


def test_stored_future_times_are_repaired_at_load() -> None:
    far = NOW + 5 * 365 * 86400
    device = TrackedDevice.from_dict(
        {
            "mac": "00:02:04:06:08:0a",
            "battery_level": 50,
            "last_update": far,
            "indoor": {"floor": "F", "zone": "Z", "zone_id": None, "last_update": far},
            "outdoor": {"latitude": 1.0, "longitude": 2.0, "last_update": NOW - 5},
        },
        NOW,
    )
    assert device.last_update is None
    assert device.indoor is not None and device.indoor.last_update is None
    assert device.outdoor is not None and device.outdoor.last_update == NOW - 5
    state = SiteState()
    state.load(
        {
            "devices": [device.as_dict() | {"last_update": far}],
            "alerts": [
                TrackedAlert(
                    "a1",
                    device.mac,
                    AlertType.MAN_DOWN,
                    "MAN DOWN",
                    AlertStatus.OPEN,
                    far,
                ).as_dict()
            ],
            "ended": {"a0": far},
        },
        now=NOW,
    )
    held = state.devices[device.mac]
    assert held.last_update is None
    assert state.alerts["a1"].raised_at == NOW
    assert state.alerts["a1"].type is AlertType.MAN_DOWN
    assert state.ended["a0"] == NOW
    # A real update is taken after the repair.
    state.apply_heartbeat(
        heartbeat(replaced(HEARTBEAT, NOW - 1, "device", "last_update"))
    )
    assert held.last_update == NOW - 1


def test_alert_without_timestamp_or_name() -> None:
    state = SiteState()
    state.apply_alert(alert(ALERT), NOW)
    device = state.devices["00:02:04:06:08:0a"]
    assert device.resident == "John Smith"
    message = without(ALERT, "alert", "timestamp")
    message["alert"]["id"] = "second"
    message["user"] = {"id": "u"}
    update = state.apply_alert(alert(message), NOW + 5)
    (transition,) = update.transitions
    assert transition.alert.raised_at == NOW + 5
    # A user without a name keeps the name known.
    assert device.resident == "John Smith"
    assert transition.alert.resident == "John Smith"
    assert not update.resident_changed


# -- properties -------------------------------------------------------------

JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**400), max_value=10**400),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=30),
        st.sampled_from(["\x00\n\u2028", "\ud800", "x" * 5000, "MAN DOWN"]),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=4),
    ),
    max_leaves=10,
)
# Side keys of each object, and the ones a server might add.
TOP_KEYS = ["type", "user", "location", "extra", "device_id", "error"]
DEVICE_KEYS = ["battery_level", "last_update", "phone_number", "extra"]
ALERT_KEYS = ["timestamp", "extra", "action"]
SPELLINGS = st.sampled_from(
    [
        "MAN_DOWN",
        "MAN DOWN",
        "man-down",
        "GEOFENCING",
        " panic button ",
        "CRITICAL_BATTERY",
        "FIRE_ALARM",
        "",
    ]
)
STATUSES = st.sampled_from(["OPEN", "ACCEPTED", "RESOLVED", "CANCELLED", "open"])
IDS = st.text(min_size=1, max_size=128).filter(
    lambda text: bool(clean_text(text, strip=False))
)


@st.composite
def side_fields(
    draw: st.DrawFn, base: dict[str, Any], keys: list[str]
) -> dict[str, Any]:
    """`base` with any of `keys` removed, kept, set to any JSON or a nested object."""
    result = copy.deepcopy(base)
    for key in keys:
        choice = draw(st.integers(0, 3))
        if choice == 0:
            result.pop(key, None)
        elif choice == 1:
            result[key] = draw(JSON)
        elif choice == 2 and key in base and isinstance(base[key], dict):
            result[key] = draw(side_fields(base[key], [*base[key], "extra"]))
    for key, value in draw(
        st.dictionaries(st.text(max_size=8), JSON, max_size=3)
    ).items():
        if key not in {"version", "device", "alert"}:
            result[key] = value
    return result


@st.composite
def alert_messages(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """Valid required fields; anything in the rest."""
    message = draw(side_fields(ALERT, TOP_KEYS))
    message["version"] = draw(st.sampled_from(["1.0.0", "1", "1.9.3"]))
    message["device"] = draw(side_fields(ALERT["device"], DEVICE_KEYS))
    message["device"]["id"] = draw(
        st.sampled_from(["00:02:04:06:08:0A", "00-02-04-06-08-0a", "000204060A0B"])
    )
    message["alert"] = draw(side_fields(ALERT["alert"], ALERT_KEYS))
    message["alert"].update(id=draw(IDS), type=draw(SPELLINGS), status=draw(STATUSES))
    return message, message["alert"]["status"].upper()


PROPERTY_SETTINGS = settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


@PROPERTY_SETTINGS
@given(alert_messages())
def test_any_alert_with_valid_required_fields_is_applied_and_announced(
    drawn: tuple[dict[str, Any], str],
) -> None:
    message, status = drawn
    event = parse_alerts_message(message)
    assert isinstance(event, AlertEvent)
    state = SiteState()
    update = state.apply_alert(event, time.time())
    transitions = [t.transition for t in update.transitions]
    if status == "OPEN":
        assert transitions == [RAISED]
    elif status == "ACCEPTED":
        assert transitions == [RAISED, "accepted"]
    else:
        assert transitions == [STATUS_TRANSITIONS[AlertStatus(status)]]
    assert update.device is not None
    assert (event.alert.key in state.alerts) == (status in {"OPEN", "ACCEPTED"})
    # What is held is fit to store and show.
    for text in (
        update.device.resident,
        update.device.phone_number,
        event.alert.raw_type,
    ):
        assert text is None or (len(text) <= 128 and clean_text(text) == text)
    assert all(
        name.replace(".", "").replace("_", "").isalpha() for name in event.dropped
    )


@st.composite
def heartbeat_messages(draw: st.DrawFn) -> dict[str, Any]:
    message = draw(side_fields(HEARTBEAT, ["type", "location", "extra"]))
    message["version"] = "1.0.0"
    message["device"] = draw(side_fields(HEARTBEAT["device"], DEVICE_KEYS))
    message["device"]["id"] = "00:02:04:06:08:0A"
    return message


@PROPERTY_SETTINGS
@given(heartbeat_messages())
def test_any_heartbeat_with_a_valid_device_id_gives_a_device(
    message: dict[str, Any],
) -> None:
    event = parse_heartbeat(message)
    state = SiteState()
    update = state.apply_heartbeat(event)
    assert update.new_device
    device = state.devices["00:02:04:06:08:0a"]
    assert device.battery_level is None or 0 <= device.battery_level <= 100
    assert (
        device.last_update is None
        or device.last_update <= time.time() + FUTURE_TOLERANCE
    )
