"""The parser accepts what the repaired schemas accept, and names what it rejects."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from custom_components.ixicare.pyixicare import (
    AlertAction,
    AlertEvent,
    AlertStatus,
    AlertType,
    AlertUpdate,
    AlertUpdateResponse,
    IxicareParseError,
    UpdateResult,
    normalize_mac,
    parse_alerts_message,
    parse_heartbeat,
)

SCHEMAS = Path(__file__).parents[2] / "custom_components/ixicare/pyixicare/schemas"


def schema(name: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(
        json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    )


ALERT: dict[str, Any] = {
    "version": "1.0.0",
    "type": "ALERT",
    "device": {
        "id": "00:02:04:06:08:0A",
        "phone_number": "+3281000000",
        "battery_level": 90,
        "last_update": 1698505520,
    },
    "alert": {
        "id": "4da86f15-16be-49f8-9430-3b3ca0585819",
        "type": "PANIC_BUTTON",
        "status": "OPEN",
        "timestamp": 1698505526,
    },
    "user": {"id": "4dffdfa4-f11c-4c64-9140-931accea4f6e", "name": "John Smith"},
    "location": {
        "indoor": {
            "floor": "Floor 1",
            "zone": "1.16 Bedroom",
            "zone_id": "9780e244-1e48-4669-9f47-20d63f453fde",
            "last_update": 1698505520,
        },
        "outdoor": {
            "latitude": 56.823279418945,
            "longitude": 22.162609863281,
            "last_update": 1698505520,
        },
    },
}

HEARTBEAT: dict[str, Any] = {
    "version": "1.0.0",
    "type": "HEARTBEAT",
    "device": copy.deepcopy(ALERT["device"]),
    "location": copy.deepcopy(ALERT["location"]),
}

RESPONSE: dict[str, Any] = {
    "version": "1.0.0",
    "type": "ALERT",
    "device_id": "00:02:04:06:08:0A",
    "alert": {"id": "4da86f15-16be-49f8-9430-3b3ca0585819", "action": "RESOLVE"},
    "result": "FAILURE",
    "error": "Invalid action",
}


def without(message: dict[str, Any], *path: str) -> dict[str, Any]:
    result = copy.deepcopy(message)
    target = result
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return result


def replaced(message: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    result = copy.deepcopy(message)
    target = result
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return result


def test_vendor_examples_parse() -> None:
    assert schema("alert-event").is_valid(ALERT)
    event = parse_alerts_message(ALERT)
    assert isinstance(event, AlertEvent)
    assert event.device.mac == "00:02:04:06:08:0a"
    assert event.device.battery_level == 90.0
    assert event.device.phone_number == "+3281000000"
    assert event.alert.type is AlertType.PANIC_BUTTON
    assert event.alert.status is AlertStatus.OPEN
    assert event.user is not None and event.user.name == "John Smith"
    assert event.location is not None
    assert event.location.indoor is not None
    assert event.location.indoor.zone == "1.16 Bedroom"
    assert event.location.outdoor is not None
    assert event.location.outdoor.latitude == pytest.approx(56.823279418945)

    assert schema("heartbeat-event").is_valid(HEARTBEAT)
    heartbeat = parse_heartbeat(HEARTBEAT)
    assert heartbeat.type == "HEARTBEAT"
    assert heartbeat.device.last_update == 1698505520.0

    assert schema("alert-update-response").is_valid(RESPONSE)
    response = parse_alerts_message(RESPONSE)
    assert isinstance(response, AlertUpdateResponse)
    assert response.result is UpdateResult.FAILURE
    assert response.error == "Invalid action"
    assert response.key == ("4da86f15-16be-49f8-9430-3b3ca0585819", AlertAction.RESOLVE)


@pytest.mark.parametrize(
    "message",
    [
        replaced(HEARTBEAT, "LOCATION", "type"),
        without(HEARTBEAT, "device", "phone_number"),
        without(HEARTBEAT, "location", "indoor"),
        without(HEARTBEAT, "location", "outdoor"),
        without(HEARTBEAT, "location", "indoor", "last_update"),
        without(HEARTBEAT, "location", "outdoor", "last_update"),
        replaced(HEARTBEAT, 90.5, "device", "battery_level"),
        replaced(HEARTBEAT, 1698505520.25, "device", "last_update"),
        replaced(HEARTBEAT, "00-02-04-06-08-0a", "device", "id"),
        replaced(HEARTBEAT, "000204060A0B", "device", "id"),
        replaced(HEARTBEAT, {"x": 1}, "extra"),
        replaced(HEARTBEAT, "1.7.3", "version"),
    ],
)
def test_heartbeat_variants_accepted(message: dict[str, Any]) -> None:
    assert schema("heartbeat-event").is_valid(message)
    assert parse_heartbeat(message).device.mac.count(":") == 5


@pytest.mark.parametrize(
    "message",
    [
        without(ALERT, "user"),
        without(ALERT, "location"),
        without(ALERT, "device", "phone_number"),
        without(ALERT, "location", "indoor"),
        replaced(ALERT, 1698505526.5, "alert", "timestamp"),
        replaced(ALERT, "ACCEPTED", "alert", "status"),
        replaced(ALERT, "CANCELLED", "alert", "status"),
        replaced(ALERT, True, "unknown_field"),
    ],
)
def test_alert_variants_accepted(message: dict[str, Any]) -> None:
    assert schema("alert-event").is_valid(message)
    assert isinstance(parse_alerts_message(message), AlertEvent)


def test_unknown_alert_type_is_kept() -> None:
    event = parse_alerts_message(replaced(ALERT, "FIRE_ALARM", "alert", "type"))
    assert isinstance(event, AlertEvent)
    assert event.alert.type is AlertType.UNKNOWN
    assert event.alert.raw_type == "FIRE_ALARM"


@pytest.mark.parametrize(
    ("parse", "message", "field", "reason"),
    [
        (parse_heartbeat, [1, 2], "message", "must be an object"),
        (parse_heartbeat, without(HEARTBEAT, "version"), "version", "is missing"),
        (
            parse_heartbeat,
            replaced(HEARTBEAT, "2.0.0", "version"),
            "version",
            "unsupported",
        ),
        (
            parse_heartbeat,
            replaced(HEARTBEAT, "1" * 200, "version"),
            "version",
            "longer",
        ),
        (parse_heartbeat, without(HEARTBEAT, "device"), "device", "is missing"),
        (
            parse_heartbeat,
            replaced(HEARTBEAT, "x", "device"),
            "device",
            "must be an object",
        ),
        (parse_heartbeat, replaced(HEARTBEAT, "x", "device", "id"), "device.id", "MAC"),
        (
            parse_heartbeat,
            replaced(HEARTBEAT, 5, "device", "id"),
            "device.id",
            "string",
        ),
        (
            parse_heartbeat,
            without(HEARTBEAT, "device", "id"),
            "device.id",
            "is missing",
        ),
        (parse_alerts_message, without(ALERT, "alert"), "alert", "is missing"),
        (
            parse_alerts_message,
            replaced(ALERT, None, "alert"),
            "alert",
            "must be an object",
        ),
        (
            parse_alerts_message,
            without(ALERT, "device", "id"),
            "device.id",
            "is missing",
        ),
        (
            parse_alerts_message,
            replaced(ALERT, "DONE", "alert", "status"),
            "alert.status",
            "must be one of",
        ),
        (
            parse_alerts_message,
            without(ALERT, "alert", "status"),
            "alert.status",
            "is missing",
        ),
        (
            parse_alerts_message,
            replaced(ALERT, 1, "alert", "status"),
            "alert.status",
            "string",
        ),
        (parse_alerts_message, replaced(ALERT, "", "alert", "id"), "alert.id", "empty"),
        (
            parse_alerts_message,
            replaced(ALERT, "\x00\n", "alert", "id"),
            "alert.id",
            "empty",
        ),
        (
            parse_alerts_message,
            replaced(ALERT, "a" * 129, "alert", "id"),
            "alert.id",
            "longer than 128",
        ),
        (
            parse_alerts_message,
            without(ALERT, "alert", "type"),
            "alert.type",
            "is missing",
        ),
        (
            parse_alerts_message,
            replaced(ALERT, ["MAN_DOWN"], "alert", "type"),
            "alert.type",
            "string",
        ),
        (
            parse_alerts_message,
            replaced(RESPONSE, "MAYBE", "result"),
            "result",
            "SUCCESS or FAILURE",
        ),
        (
            parse_alerts_message,
            replaced(RESPONSE, "DELETE", "alert", "action"),
            "alert.action",
            "ACCEPT or RESOLVE",
        ),
        (parse_alerts_message, without(RESPONSE, "alert"), "alert", "is missing"),
        (
            parse_alerts_message,
            replaced(RESPONSE, "nope", "device_id"),
            "device_id",
            "MAC",
        ),
    ],
)
def test_rejections_name_the_field(
    parse: Any, message: Any, field: str, reason: str
) -> None:
    with pytest.raises(IxicareParseError) as err:
        parse(message)
    assert err.value.field == field
    assert reason in err.value.reason
    assert field in str(err.value)


def test_normalize_mac() -> None:
    assert normalize_mac("00:02:04:06:08:0A") == "00:02:04:06:08:0a"
    assert normalize_mac("00-02-04-06-08-0a") == "00:02:04:06:08:0a"
    assert normalize_mac("00020406080A") == "00:02:04:06:08:0a"
    with pytest.raises(ValueError):
        normalize_mac("00:02-04:06:08:0A")


@pytest.mark.parametrize("action", list(AlertAction))
def test_built_uplink_validates(action: AlertAction) -> None:
    update = AlertUpdate(
        device_id="00:02:04:06:08:0a",
        alert_id="4da86f15-16be-49f8-9430-3b3ca0585819",
        action=action,
    )
    payload = update.as_dict()
    schema("alert-update").validate(payload)
    assert payload["device_id"] == "00:02:04:06:08:0A"
    assert payload["alert"] == {
        "id": "4da86f15-16be-49f8-9430-3b3ca0585819",
        "action": action.value,
    }


def test_models_are_immutable() -> None:
    event = parse_alerts_message(ALERT)
    with pytest.raises(AttributeError):
        event.alert = None  # type: ignore[misc]


def test_status_and_type_helpers() -> None:
    assert AlertStatus.OPEN.is_active
    assert not AlertStatus.RESOLVED.is_active
    assert AlertStatus.CANCELLED.rank > AlertStatus.ACCEPTED.rank
    assert AlertType.MAN_DOWN.priority < AlertType.CRITICAL_BATTERY.priority
