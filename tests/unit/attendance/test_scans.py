import math
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import InvalidArgument
from services.attendance.domain.scans import (IMPOSSIBLE_SPEED_MPS, MAX_ACCURACY_M, MAX_FIX_AGE_SECONDS,
                                              MAX_FIX_AHEAD_SECONDS, REJECTION_MESSAGES, ActivityRules, Fix,
                                              Prior, Verdict, judge, parse_fix, rejection_details,
                                              rejection_message)

METRES_PER_DEGREE = 6371008.8 * math.pi / 180
VENUE = (34.341575, 108.93977)
START = datetime(2026, 11, 22, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai
END = START + timedelta(hours=2)
DURING_CHECKIN = START - timedelta(minutes=5)
AFTER_END = END + timedelta(minutes=5)

RULES = ActivityRules(
    activity_id="act_" + "a" * 32, status="open", venue_lat=VENUE[0], venue_lng=VENUE[1], radius_m=300,
    checkin_opens_at=START - timedelta(minutes=30), checkin_closes_at=START + timedelta(minutes=10),
    end_at=END, checkout_closes_at=END + timedelta(minutes=60),
    roster=frozenset({"m1", "m2", "m3"}), on_leave=frozenset({"m3"}),
)
NOTHING = Prior(same_direction=None, checkin=None, device_members=frozenset(), last_fix=None)
CHECKED_IN = replace(NOTHING, checkin={"lat": VENUE[0], "lng": VENUE[1], "at": DURING_CHECKIN})


def north(metres, lat=VENUE[0], lng=VENUE[1]):
    return lat + metres / METRES_PER_DEGREE, lng


def fix_at(metres=0.0, taken_at=DURING_CHECKIN, **changes):
    """A fix; by default the phone also reports where it was an hour before (the venue: no journey to judge)."""
    lat, lng = north(metres)
    values = {"lat": lat, "lng": lng, "accuracy_m": 15.0, "mock_location": False, "device_id": "dev-1",
              "taken_at": taken_at, "history": ((taken_at - timedelta(hours=1), VENUE[0], VENUE[1]),)}
    values.update(changes)
    return Fix(**values)


def scan_in(fix=None, now=DURING_CHECKIN, prior=NOTHING, member="m1", rules=RULES):
    return judge(rules, member, "in", fix or fix_at(taken_at=now), now, prior)


def scan_out(fix=None, now=AFTER_END, prior=CHECKED_IN, member="m1", rules=RULES):
    return judge(rules, member, "out", fix or fix_at(taken_at=now), now, prior)


# ---- parse_fix -------------------------------------------------------------------------------

NOW = datetime(2026, 11, 22, 1, 0, 0, tzinfo=timezone.utc)


def raw_fix(**changes):
    raw = {"lat": 34.34, "lng": 108.94, "accuracy_m": 12.5, "mock_location": False, "device_id": "dev-1",
           "taken_at": "2026-11-22T00:59:30.000Z"}
    raw.update(changes)
    return {key: value for key, value in raw.items() if value is not ...}


def fix_error(raw, now=NOW):
    with pytest.raises(InvalidArgument) as caught:
        parse_fix(raw, now)
    return caught.value.code, caught.value.field


def test_a_valid_fix_is_parsed_to_utc():
    assert parse_fix(raw_fix(), NOW) == Fix(lat=34.34, lng=108.94, accuracy_m=12.5, mock_location=False,
                                            device_id="dev-1",
                                            taken_at=datetime(2026, 11, 22, 0, 59, 30, tzinfo=timezone.utc))


def test_a_local_offset_timestamp_is_converted_to_utc():
    fix = parse_fix(raw_fix(taken_at="2026-11-22T09:00:10+08:00"), NOW)
    assert fix.taken_at == datetime(2026, 11, 22, 1, 0, 10, tzinfo=timezone.utc)
    assert fix.taken_at.utcoffset() == timedelta(0)


def test_mock_location_defaults_to_false_and_integer_values_are_numbers():
    fix = parse_fix(raw_fix(mock_location=..., lat=34, lng=109, accuracy_m=5), NOW)
    assert fix.mock_location is False and fix.lat == 34.0 and fix.accuracy_m == 5.0
    assert parse_fix(raw_fix(mock_location=True), NOW).mock_location is True


@pytest.mark.parametrize("key", ["lat", "lng", "accuracy_m", "device_id", "taken_at"])
def test_every_required_key_is_required(key):
    assert fix_error(raw_fix(**{key: ...})) == ("FIX_MISSING_FIELD", key)
    assert fix_error(raw_fix(**{key: None})) == ("FIX_MISSING_FIELD", key)


def test_a_fix_that_is_not_an_object_is_missing():
    assert fix_error(None) == ("FIX_MISSING_FIELD", "fix")
    assert fix_error([1, 2]) == ("FIX_MISSING_FIELD", "fix")


@pytest.mark.parametrize("changes, field", [
    ({"lat": 91}, "lat"), ({"lng": -180.01}, "lng"), ({"lat": float("nan")}, "lat"), ({"lng": float("-inf")}, "lng"),
])
def test_bad_coordinates(changes, field):
    assert fix_error(raw_fix(**changes)) == ("COORDINATES_INVALID", field)


@pytest.mark.parametrize("changes, field", [
    ({"lat": "34.34"}, "lat"), ({"lng": True}, "lng"), ({"lat": False}, "lat"), ({"lng": [108.94]}, "lng"),
    ({"lat": {"value": 34.34}}, "lat"), ({"accuracy_m": "12"}, "accuracy_m"), ({"accuracy_m": True}, "accuracy_m"),
    ({"accuracy_m": [12]}, "accuracy_m"),
])
def test_a_number_of_another_type_is_a_type_error(changes, field):
    """A caller reaching the service without the gateway gets what the gateway answers: text or a bool is not a
    position."""
    assert fix_error(raw_fix(**changes)) == ("INVALID_TYPE", field)


@pytest.mark.parametrize("accuracy", [0, -5, 100001, float("nan"), float("inf"), 10 ** 400])
def test_bad_accuracy(accuracy):
    assert fix_error(raw_fix(accuracy_m=accuracy)) == ("ACCURACY_INVALID", "accuracy_m")


def test_a_very_poor_but_plausible_accuracy_parses_and_is_judged_later():
    assert parse_fix(raw_fix(accuracy_m=100000), NOW).accuracy_m == 100000


@pytest.mark.parametrize("device_id", ["", "   ", "d" * 129, 42])
def test_bad_device_id(device_id):
    assert fix_error(raw_fix(device_id=device_id)) == ("DEVICE_ID_INVALID", "device_id")


def test_a_128_character_device_id_is_fine():
    assert parse_fix(raw_fix(device_id="d" * 128), NOW).device_id == "d" * 128


@pytest.mark.parametrize("mock", ["false", 0, 1, "yes"])
def test_mock_location_must_be_a_bool(mock):
    assert fix_error(raw_fix(mock_location=mock)) == ("MOCK_LOCATION_INVALID", "mock_location")


@pytest.mark.parametrize("taken_at", [
    "2026-11-22T00:59:30",          # no timezone
    "yesterday", "", "2026-13-22T00:59:30Z", 1763773170, "2026-11-22T00:59:30Z" + " " * 60,
])
def test_unparseable_fix_times(taken_at):
    assert fix_error(raw_fix(taken_at=taken_at)) == ("FIX_TIME_INVALID", "taken_at")


def test_absurd_fix_times_are_rejected_against_server_time():
    old = (NOW - timedelta(seconds=MAX_FIX_AGE_SECONDS + 1)).isoformat()
    ahead = (NOW + timedelta(seconds=MAX_FIX_AHEAD_SECONDS + 1)).isoformat()
    assert fix_error(raw_fix(taken_at=old)) == ("FIX_TIME_INVALID", "taken_at")
    assert fix_error(raw_fix(taken_at=ahead)) == ("FIX_TIME_INVALID", "taken_at")
    assert fix_error(raw_fix(taken_at="2016-11-22T01:00:00Z")) == ("FIX_TIME_INVALID", "taken_at")
    parse_fix(raw_fix(taken_at=(NOW - timedelta(seconds=MAX_FIX_AGE_SECONDS)).isoformat()), NOW)
    parse_fix(raw_fix(taken_at=(NOW + timedelta(seconds=MAX_FIX_AHEAD_SECONDS)).isoformat()), NOW)


# ---- judge: acceptance and the geofence -------------------------------------------------------

def test_a_scan_250_m_from_the_venue_is_accepted():
    verdict = scan_in(fix_at(250))
    assert verdict.accepted and verdict.code == "ACCEPTED" and not verdict.repeat
    assert verdict.distance_m == pytest.approx(250, abs=0.5)
    assert verdict.flags == ()


def test_a_scan_400_m_from_the_venue_is_outside_the_fence_with_its_distance():
    verdict = scan_in(fix_at(400))
    assert verdict == Verdict(accepted=False, code="OUTSIDE_FENCE", distance_m=pytest.approx(400, abs=0.5),
                              flags=())


def test_the_fence_uses_the_activitys_radius():
    wide = replace(RULES, radius_m=500)
    assert scan_in(fix_at(400), rules=wide).accepted
    assert scan_out(fix_at(450, taken_at=AFTER_END), rules=wide).accepted
    assert scan_out(fix_at(550, taken_at=AFTER_END), rules=wide).code == "OUTSIDE_FENCE"


def test_sign_out_outside_the_fence_is_rejected_too():
    assert scan_out(fix_at(400, taken_at=AFTER_END)).code == "OUTSIDE_FENCE"
    assert scan_out().code == "ACCEPTED"


def test_poor_accuracy_is_rejected_before_the_fence():
    assert scan_in(fix_at(0, accuracy_m=MAX_ACCURACY_M + 0.1)).code == "ACCURACY_TOO_POOR"
    assert scan_in(fix_at(0, accuracy_m=MAX_ACCURACY_M)).accepted


# ---- judge: state, roster, leave ----------------------------------------------------------------

@pytest.mark.parametrize("status, code", [("closed", "ACTIVITY_CLOSED"), ("approved", "ACTIVITY_NOT_OPEN"),
                                          ("draft", "ACTIVITY_NOT_OPEN"), ("cancelled", "MEETING_CANCELLED")])
def test_only_an_open_activity_takes_scans(status, code):
    verdict = scan_in(rules=replace(RULES, status=status))
    assert verdict == Verdict(accepted=False, code=code, distance_m=None, flags=())


def test_a_member_not_on_the_frozen_roster_is_rejected():
    assert scan_in(member="stranger").code == "NOT_ON_ROSTER"


def test_a_member_on_approved_leave_is_rejected():
    assert scan_in(member="m3").code == "ON_LEAVE"


# ---- judge: time windows by server time --------------------------------------------------------

def test_checkin_window_bounds():
    opens, closes = RULES.checkin_opens_at, RULES.checkin_closes_at
    assert scan_in(now=opens - timedelta(seconds=1)).code == "CHECKIN_NOT_OPEN"
    assert scan_in(now=opens).accepted
    assert scan_in(now=closes).accepted
    assert scan_in(now=closes + timedelta(seconds=1)).code == "CHECKIN_LATE"


def test_the_phones_clock_does_not_matter_for_the_window():
    late = RULES.checkin_closes_at + timedelta(minutes=1)
    fix = fix_at(taken_at=DURING_CHECKIN)  # the phone claims an earlier time
    assert judge(RULES, "m1", "in", fix, late, NOTHING).code == "CHECKIN_LATE"


def test_checkout_needs_a_checkin():
    assert scan_out(prior=NOTHING).code == "CHECKIN_REQUIRED"


def test_checkout_window_bounds():
    assert scan_out(now=END - timedelta(seconds=1)).code == "CHECKOUT_EARLY"
    assert scan_out(now=END).accepted
    assert scan_out(now=RULES.checkout_closes_at).accepted
    assert scan_out(now=RULES.checkout_closes_at + timedelta(seconds=1)).code == "CHECKOUT_CLOSED"


def test_order_of_checks():
    # state before roster, roster before leave, leave before window, window before accuracy and fence
    closed = replace(RULES, status="closed")
    assert scan_in(member="stranger", rules=closed).code == "ACTIVITY_CLOSED"
    assert judge(replace(RULES, on_leave=frozenset({"x"})), "x", "in", fix_at(), DURING_CHECKIN,
                 NOTHING).code == "NOT_ON_ROSTER"
    assert scan_in(member="m3", now=START + timedelta(hours=1)).code == "ON_LEAVE"
    assert scan_in(fix_at(5000, accuracy_m=500), now=START + timedelta(hours=1)).code == "CHECKIN_LATE"
    assert scan_in(fix_at(5000, accuracy_m=500)).code == "ACCURACY_TOO_POOR"


# ---- judge: repeats -----------------------------------------------------------------------------

def test_a_repeat_is_accepted_without_a_new_record_even_when_now_outside_rules():
    prior = replace(NOTHING, same_direction={"record_id": "r1"})
    verdict = judge(replace(RULES, status="closed"), "m1", "in", fix_at(5000), START + timedelta(hours=5), prior)
    assert verdict == Verdict(accepted=True, code="REPEAT", distance_m=None, flags=(), repeat=True)


def test_a_repeated_sign_out_is_a_repeat():
    prior = replace(CHECKED_IN, same_direction={"record_id": "r2"})
    assert scan_out(prior=prior).repeat is True


# ---- judge: flags -------------------------------------------------------------------------------

def test_mock_location_is_flagged_but_accepted():
    verdict = scan_in(fix_at(10, mock_location=True))
    assert verdict.accepted and verdict.flags == ("MOCK_LOCATION",)


def test_a_device_used_by_another_member_is_flagged():
    prior = replace(NOTHING, device_members=frozenset({"m2"}))
    assert scan_in(prior=prior).flags == ("SHARED_DEVICE",)


def test_a_device_used_only_by_the_member_is_not_flagged():
    prior = replace(NOTHING, device_members=frozenset({"m1"}))
    assert scan_in(prior=prior).flags == ()


def test_an_impossible_journey_since_the_last_fix_is_flagged():
    far = north(10_000)  # 10 km north, 60 s earlier: 167 m/s
    prior = replace(NOTHING, last_fix=(DURING_CHECKIN - timedelta(seconds=60), far[0], far[1]))
    assert scan_in(prior=prior).flags == ("IMPOSSIBLE_SPEED",)
    assert 10_000 / 60 > IMPOSSIBLE_SPEED_MPS


def test_a_plausible_journey_is_not_flagged():
    far = north(10_000)  # 10 km in 10 minutes: 16.7 m/s
    prior = replace(NOTHING, last_fix=(DURING_CHECKIN - timedelta(minutes=10), far[0], far[1]))
    assert scan_in(prior=prior).flags == ()


def test_a_short_hop_is_never_impossible_speed():
    near = north(400)  # 400 m in the same second: fast, but within GPS jitter range
    prior = replace(NOTHING, last_fix=(DURING_CHECKIN, near[0], near[1]))
    assert scan_in(prior=prior).flags == ()


def test_a_far_jump_in_under_a_second_uses_a_one_second_floor():
    far = north(600)
    prior = replace(NOTHING, last_fix=(DURING_CHECKIN, far[0], far[1]))
    assert scan_in(prior=prior).flags == ("IMPOSSIBLE_SPEED",)


def test_sign_out_is_compared_with_the_check_in_position():
    at = AFTER_END - timedelta(seconds=30)
    far = north(50_000)
    prior = replace(CHECKED_IN, checkin={"lat": far[0], "lng": far[1], "at": at})
    assert scan_out(prior=prior).flags == ("IMPOSSIBLE_SPEED",)
    calm = replace(CHECKED_IN, checkin={"lat": far[0], "lng": far[1], "at": START})
    assert scan_out(prior=calm).flags == ()


def test_all_flags_together_in_a_stable_order():
    far = north(10_000)
    prior = replace(NOTHING, device_members=frozenset({"m1", "m2"}),
                    last_fix=(DURING_CHECKIN - timedelta(seconds=10), far[0], far[1]))
    assert scan_in(fix_at(0, mock_location=True), prior=prior).flags == \
        ("MOCK_LOCATION", "SHARED_DEVICE", "IMPOSSIBLE_SPEED")


def test_rejected_scans_carry_no_flags():
    prior = replace(NOTHING, device_members=frozenset({"m2"}))
    assert scan_in(fix_at(400, mock_location=True), prior=prior).flags == ()


def test_an_unknown_direction_is_a_programming_error():
    with pytest.raises(ValueError):
        judge(RULES, "m1", "sideways", fix_at(), DURING_CHECKIN, NOTHING)


# ---- messages ------------------------------------------------------------------------------------

JUDGE_CODES = {"ACTIVITY_NOT_OPEN", "ACTIVITY_CLOSED", "MEETING_CANCELLED", "NOT_ON_ROSTER", "ON_LEAVE",
               "CHECKIN_NOT_OPEN", "CHECKIN_LATE", "CHECKIN_REQUIRED", "CHECKOUT_EARLY", "CHECKOUT_CLOSED", "ACCURACY_TOO_POOR",
               "OUTSIDE_FENCE"}


def test_every_rejection_code_has_a_chinese_message():
    assert JUDGE_CODES | {"TOKEN_FORGED", "TOKEN_EXPIRED"} <= set(REJECTION_MESSAGES)
    for code in REJECTION_MESSAGES:
        message = REJECTION_MESSAGES[code].format(radius=300)
        assert message and any("\u4e00" <= char <= "\u9fff" for char in message)


def test_the_fence_message_names_the_real_radius():
    assert REJECTION_MESSAGES["OUTSIDE_FENCE"].format(radius=300) == "不在活动地点 300 米范围内，无法签到/签退"
    assert "500 米" in rejection_message("OUTSIDE_FENCE", 500)
    assert rejection_message("CHECKIN_LATE", 500) == REJECTION_MESSAGES["CHECKIN_LATE"]


def test_a_fence_refusal_names_the_distance_and_the_radius_for_the_members_page():
    verdict = scan_in(fix_at(412))
    assert rejection_message(verdict.code, 300, verdict.distance_m) == "超出300米签到范围（距离约 412 米）"
    assert rejection_details(verdict, 300) == [{"distance_m": 412, "radius_m": 300}]
    late = Verdict(accepted=False, code="CHECKIN_LATE", distance_m=None, flags=())
    assert rejection_details(late, 300) == [] and rejection_message("CHECKIN_LATE", 300, None) == \
        REJECTION_MESSAGES["CHECKIN_LATE"]


@pytest.mark.parametrize("one, other", [("DEV-SHARED-1", "dev-shared-1"), ("ＤＥＶ－１", "dev-1"), (" Phone-A ", "phone-a"),
                                        ("设备Ａ１", "设备a1"), ("Straße", "STRASSE")])
def test_device_ids_are_compared_without_case_width_or_surrounding_blanks(one, other):
    fixes = [parse_fix(raw_fix(device_id=device), NOW) for device in (one, other)]
    assert fixes[0].device_key == fixes[1].device_key
    assert fixes[0].device_id == one.strip()            # stored and shown as sent


def test_different_devices_stay_different():
    keys = {parse_fix(raw_fix(device_id=device), NOW).device_key for device in ("dev-1", "dev-2", "dev-l", "dev1")}
    assert len(keys) == 4
