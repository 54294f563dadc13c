"""Volunteer teams and their events (services/volunteer/domain/teams.py): the event's lifecycle and a sign-up's,
transition by transition, their time guards, the fence judgement of a fix, event validation and hours."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import Conflict, InvalidArgument
from servicekit.timestamps import stamp
from services.volunteer.domain import teams as rules

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=timezone.utc)
STARTS = NOW + timedelta(hours=2)
ENDS = STARTS + timedelta(hours=3)
VENUE = (33.0676, 107.0238)


def event(status: str = "open", starts: datetime = STARTS, ends: datetime = ENDS) -> dict:
    return {"status": status, "starts_at": stamp(starts), "ends_at": stamp(ends)}


# --- the event's lifecycle ----------------------------------------------------------------------------------
# transition -> the state it leads to from "open" (written out here, not read from the module)
FROM_OPEN = {"sign_up": "open", "cancel_sign_up": "open", "check_in": "open", "check_out": "open", "close": "closed"}
TRANSITIONS = {t.name: t for t in rules.TRANSITIONS}


def test_the_table_names_every_transition_once():
    assert sorted(TRANSITIONS) == sorted(FROM_OPEN)


@pytest.mark.parametrize("name", sorted(FROM_OPEN))
def test_every_transition_is_allowed_from_open(name):
    at = STARTS if name == "check_in" else NOW
    assert rules.apply(TRANSITIONS[name], event(), at).value == FROM_OPEN[name]


@pytest.mark.parametrize("name", sorted(FROM_OPEN))
def test_nothing_happens_to_a_closed_event(name):
    with pytest.raises(Conflict) as refused:
        rules.apply(TRANSITIONS[name], event("closed"), STARTS)
    assert refused.value.code == "EVENT_CLOSED"


def test_signing_up_ends_with_the_event():
    assert rules.apply(rules.SIGN_UP, event(), ENDS - timedelta(seconds=1)).value == "open"
    with pytest.raises(Conflict) as refused:
        rules.apply(rules.SIGN_UP, event(), ENDS)
    assert refused.value.code == "EVENT_ENDED"


def test_check_in_opens_half_an_hour_before_the_start_and_closes_at_the_end():
    with pytest.raises(Conflict) as early:
        rules.apply(rules.CHECK_IN, event(), STARTS - timedelta(minutes=31))
    assert early.value.code == "TOO_EARLY"
    assert rules.apply(rules.CHECK_IN, event(), STARTS - timedelta(minutes=30)).value == "open"
    assert rules.apply(rules.CHECK_IN, event(), ENDS).value == "open"
    with pytest.raises(Conflict) as late:
        rules.apply(rules.CHECK_IN, event(), ENDS + timedelta(seconds=1))
    assert late.value.code == "EVENT_ENDED"


def test_check_out_is_allowed_after_the_end_until_the_event_is_closed():
    assert rules.apply(rules.CHECK_OUT, event(), ENDS + timedelta(hours=5)).value == "open"


# --- a sign-up's lifecycle -------------------------------------------------------------------------------------
# (action, state or None) -> the state reached, or the refusal's code
SIGNUP_EXPECTED = {
    ("sign_up", None): "signed_up", ("sign_up", "cancelled"): "signed_up",
    ("sign_up", "signed_up"): "ALREADY_SIGNED_UP", ("sign_up", "checked_in"): "ALREADY_SIGNED_UP",
    ("sign_up", "checked_out"): "ALREADY_SIGNED_UP",
    ("cancel_sign_up", None): "NOT_SIGNED_UP", ("cancel_sign_up", "cancelled"): "NOT_SIGNED_UP",
    ("cancel_sign_up", "signed_up"): "cancelled", ("cancel_sign_up", "checked_in"): "ALREADY_CHECKED_IN",
    ("cancel_sign_up", "checked_out"): "ALREADY_CHECKED_IN",
    ("check_in", None): "NOT_SIGNED_UP", ("check_in", "cancelled"): "NOT_SIGNED_UP",
    ("check_in", "signed_up"): "checked_in", ("check_in", "checked_in"): "ALREADY_CHECKED_IN",
    ("check_in", "checked_out"): "ALREADY_CHECKED_IN",
    ("check_out", None): "NOT_SIGNED_UP", ("check_out", "cancelled"): "NOT_SIGNED_UP",
    ("check_out", "signed_up"): "NOT_CHECKED_IN", ("check_out", "checked_in"): "checked_out",
    ("check_out", "checked_out"): "ALREADY_CHECKED_OUT",
}


def test_the_sign_up_table_covers_every_action_from_every_state():
    assert set(rules.SIGNUP_TABLE) == set(
        (action, None if state is None else rules.SignupState(state)) for action, state in SIGNUP_EXPECTED)


@pytest.mark.parametrize("action,state", sorted(SIGNUP_EXPECTED, key=str))
def test_a_sign_up_moves_or_is_refused_as_the_table_says(action, state):
    expected = SIGNUP_EXPECTED[(action, state)]
    signup = {"status": state} if state else None
    if expected.isupper():
        with pytest.raises(Conflict) as refused:
            rules.next_signup_state(action, signup)
        assert refused.value.code == expected
    else:
        assert rules.next_signup_state(action, signup).value == expected


# --- who may join --------------------------------------------------------------------------------------------
def test_a_member_may_join_teams_on_its_branch_path_or_of_its_community():
    path = ["city", "county", "branch"]
    assert rules.may_join("county", path, None)
    assert rules.may_join("branch", path, "")
    assert rules.may_join("community", path, "community")
    assert not rules.may_join("community", path, None)
    assert not rules.may_join("other_branch", path, "community")
    assert not rules.may_join("", path, "")


# --- fixes and the fence ---------------------------------------------------------------------------------------
def test_a_fix_inside_the_fence_passes():
    fix = rules.parse_fix(VENUE[0] + 0.001, VENUE[1], 20, False)       # ~111 m north
    assert rules.fence_refusal(fix, *VENUE, 300) is None


def test_a_fix_outside_the_fence_is_refused_with_its_distance():
    fix = rules.parse_fix(VENUE[0] + 0.005, VENUE[1], 20, False)       # ~556 m north
    refusal = rules.fence_refusal(fix, *VENUE, 300)
    assert refusal.code == "OUTSIDE_FENCE"
    assert 550 < refusal.distance_m < 560
    assert "300米" in refusal.message


def test_a_mock_location_is_refused_even_at_the_venue():
    assert rules.fence_refusal(rules.parse_fix(*VENUE, 5, True), *VENUE, 300).code == "MOCK_LOCATION"


def test_an_imprecise_fix_is_refused():
    assert rules.fence_refusal(rules.parse_fix(*VENUE, 100, False), *VENUE, 300) is None
    assert rules.fence_refusal(rules.parse_fix(*VENUE, 101, False), *VENUE, 300).code == "ACCURACY_TOO_LOW"


@pytest.mark.parametrize("lat,lng,accuracy,mock,code,field", [
    (91, 107.0, 10, False, "COORDINATES_INVALID", "lat"),
    ("33.1", 107.0, 10, False, "INVALID_TYPE", "lat"),
    (33.1, 107.0, 0, False, "ACCURACY_INVALID", "accuracy_m"),
    (33.1, 107.0, None, False, "ACCURACY_INVALID", "accuracy_m"),
    (33.1, 107.0, "10", False, "INVALID_TYPE", "accuracy_m"),
    (33.1, 107.0, 10, "yes", "MOCK_LOCATION_INVALID", "mock_location"),
])
def test_a_malformed_fix_is_invalid(lat, lng, accuracy, mock, code, field):
    with pytest.raises(InvalidArgument) as refused:
        rules.parse_fix(lat, lng, accuracy, mock)
    assert (refused.value.code, refused.value.field) == (code, field)


# --- event fields ------------------------------------------------------------------------------------------------
def fields(**changes) -> dict:
    given = {"title": " 清扫社区 ", "description": "", "address": "汉台区某社区", "lat": VENUE[0], "lng": VENUE[1],
             "fence_radius_m": 0, "starts_at": "2026-12-06T12:00:00+08:00", "ends_at": "2026-12-06T15:00:00+08:00",
             "capacity": 10, "hours_cap": 0, **changes}
    return rules.event_fields(**given, now=NOW, default_radius_m=300, default_hours_cap=8)


def test_an_event_takes_the_tenant_defaults_and_stores_utc_stamps():
    stored = fields()
    assert stored["title"] == "清扫社区"
    assert (stored["fence_radius_m"], stored["hours_cap"]) == (300, 8.0)
    assert (stored["starts_at"], stored["ends_at"]) == ("2026-12-06T04:00:00.000Z", "2026-12-06T07:00:00.000Z")


def test_an_event_may_set_its_own_radius_and_cap():
    stored = fields(fence_radius_m=500, hours_cap=2.5)
    assert (stored["fence_radius_m"], stored["hours_cap"]) == (500, 2.5)


@pytest.mark.parametrize("changes,code,field", [
    ({"title": "  "}, "REQUIRED", "title"),
    ({"title": "长" * 61}, "TOO_LONG", "title"),
    ({"address": ""}, "REQUIRED", "address"),
    ({"lat": 100}, "COORDINATES_INVALID", "lat"),
    ({"fence_radius_m": 30}, "OUT_OF_RANGE", "fence_radius_m"),
    ({"fence_radius_m": 300.5}, "INVALID_TYPE", "fence_radius_m"),
    ({"starts_at": "2026-12-06 12:00"}, "TIME_INVALID", "starts_at"),
    ({"starts_at": "2026-12-06T12:00:00"}, "TIME_INVALID", "starts_at"),
    ({"starts_at": ""}, "REQUIRED", "starts_at"),
    ({"ends_at": 1700000000}, "INVALID_TYPE", "ends_at"),
    ({"ends_at": "2026-12-06T11:00:00+08:00"}, "EVENT_TIMES_INVALID", "ends_at"),
    ({"ends_at": "2026-12-20T11:00:00+08:00"}, "EVENT_TOO_LONG", "ends_at"),
    ({"starts_at": "2026-12-05T08:00:00+08:00", "ends_at": "2026-12-06T09:00:00+08:00"}, "EVENT_IN_PAST",
     "ends_at"),
    ({"capacity": 0}, "OUT_OF_RANGE", "capacity"),
    ({"capacity": None}, "INVALID_TYPE", "capacity"),
    ({"fence_radius_m": False}, "INVALID_TYPE", "fence_radius_m"),
    ({"capacity": 1001}, "OUT_OF_RANGE", "capacity"),
    ({"capacity": True}, "INVALID_TYPE", "capacity"),
    ({"hours_cap": 25}, "OUT_OF_RANGE", "hours_cap"),
    ({"hours_cap": -1}, "OUT_OF_RANGE", "hours_cap"),
    ({"hours_cap": "8"}, "INVALID_TYPE", "hours_cap"),
])
def test_bad_event_fields_are_refused_naming_the_field(changes, code, field):
    with pytest.raises(InvalidArgument) as refused:
        fields(**changes)
    assert (refused.value.code, refused.value.field) == (code, field)


# --- hours ----------------------------------------------------------------------------------------------------------
def signup(status: str, minutes: float) -> dict:
    return {"status": status, "checked_in_at": stamp(STARTS),
            "checked_out_at": stamp(STARTS + timedelta(minutes=minutes))}


def test_hours_are_the_time_between_check_in_and_out_capped_by_the_event():
    assert rules.event_hours(signup("checked_out", 90), 8) == 1.5
    assert rules.event_hours(signup("checked_out", 600), 3) == 3.0


def test_closing_credits_only_checked_out_sign_ups_with_hours():
    owed = rules.hours_owed([signup("checked_out", 60), signup("checked_in", 60), signup("signed_up", 0),
                             signup("cancelled", 0), signup("checked_out", 0)], 8)
    assert [hours for _, hours in owed] == [1.0]
