"""The answers a tracked device gives the platforms, and the one Transition enum."""

from __future__ import annotations

from custom_components.ixicare import const
from custom_components.ixicare.pyixicare import (
    AlertAction,
    AlertStatus,
    AlertType,
    AlertUpdateResponse,
    UpdateResult,
)
from custom_components.ixicare.pyixicare.tracked import (
    STATUS_TRANSITIONS,
    TrackedAlert,
    TrackedDevice,
    Transition,
)

MAC = "00:02:04:06:08:0a"


def tracked(
    alert_id: str, alert_type: AlertType, status: AlertStatus, raised_at: float
) -> TrackedAlert:
    return TrackedAlert(
        alert_id=alert_id,
        mac=MAC,
        type=alert_type,
        raw_type=alert_type.value,
        status=status,
        raised_at=raised_at,
    )


def device_with(*alerts: TrackedAlert) -> TrackedDevice:
    return TrackedDevice(mac=MAC, alerts={alert.key: alert for alert in alerts})


def test_the_alert_of_a_type_is_the_earliest_of_that_type() -> None:
    late = tracked("a", AlertType.PANIC_BUTTON, AlertStatus.OPEN, 20.0)
    early = tracked("b", AlertType.PANIC_BUTTON, AlertStatus.ACCEPTED, 10.0)
    man_down = tracked("c", AlertType.MAN_DOWN, AlertStatus.OPEN, 5.0)
    device = device_with(late, early, man_down)
    assert device.alert_of_type(AlertType.PANIC_BUTTON) is early
    assert device.alert_of_type(AlertType.MAN_DOWN) is man_down
    assert device.alert_of_type(AlertType.GEOFENCING) is None


def test_the_alert_a_button_acts_on() -> None:
    battery = tracked("a", AlertType.CRITICAL_BATTERY, AlertStatus.OPEN, 1.0)
    panic = tracked("b", AlertType.PANIC_BUTTON, AlertStatus.ACCEPTED, 2.0)
    device = device_with(battery, panic)
    # Accept: the open ones only; resolve: the most critical open or accepted.
    assert device.alert_to_act_on(frozenset({AlertStatus.OPEN})) is battery
    both = frozenset({AlertStatus.OPEN, AlertStatus.ACCEPTED})
    assert device.alert_to_act_on(both) is panic
    assert device.top_alert is panic
    assert device_with().alert_to_act_on(both) is None


def test_one_transition_enum() -> None:
    assert [t.value for t in Transition] == [
        "raised",
        "escalated",
        "accepted",
        "resolved",
        "cancelled",
        "dismissed",
    ]
    # The integration's names are the enum's members, not strings of its own.
    assert tuple(Transition) == const.TRANSITIONS
    assert const.TRANSITION_DISMISSED is Transition.DISMISSED
    assert STATUS_TRANSITIONS[AlertStatus.RESOLVED] is Transition.RESOLVED


def test_the_status_a_success_confirms() -> None:
    def response(action: AlertAction, result: UpdateResult) -> AlertUpdateResponse:
        return AlertUpdateResponse("1.0.0", MAC, "a", action, result)

    success, failure = UpdateResult.SUCCESS, UpdateResult.FAILURE
    assert response(AlertAction.ACCEPT, success).confirmed_status is (
        AlertStatus.ACCEPTED
    )
    assert response(AlertAction.RESOLVE, success).confirmed_status is (
        AlertStatus.RESOLVED
    )
    assert response(AlertAction.RESOLVE, failure).confirmed_status is None
