"""Properties of a scan's location fix and its judgement: whatever a phone sends (NaN, infinities, numbers out of
range or too large for a float, text, bools, nested values, times at the calendar's ends) is either a fix within
the documented bounds or a refusal with its code and field; an accepted scan is inside the fence."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from servicekit.errors import InvalidArgument
from servicekit.geo import EARTH_RADIUS_M, check_coordinates, distance_m
from services.attendance.domain.lifecycle import OPEN
from services.attendance.domain.scans import (MAX_ACCURACY_M, MAX_ACCURACY_VALUE_M, MAX_DEVICE_ID_CHARS,
                                              MAX_FIX_AGE_SECONDS, MAX_FIX_AHEAD_SECONDS, REJECTION_MESSAGES,
                                              ActivityRules, Prior, judge, parse_fix)
from tests.support.properties import bounded

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)
FIX_CODES = {"FIX_MISSING_FIELD", "COORDINATES_INVALID", "INVALID_TYPE", "ACCURACY_INVALID", "MOCK_LOCATION_INVALID",
             "DEVICE_ID_INVALID", "FIX_TIME_INVALID"}
FIELDS = {"fix", "lat", "lng", "accuracy_m", "mock_location", "device_id", "taken_at"}

numbers = (st.floats(allow_nan=True, allow_infinity=True) | st.integers(min_value=-10**400, max_value=10**400)
           | st.sampled_from([0.0, -0.0, 90.0, -90.0, 180.0, -180.0, 90.0000001, 1e-320, 5e-324, 1e308]))
anything = st.recursive(st.none() | st.booleans() | numbers | st.text(max_size=20),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                    max_size=3), max_leaves=5)
offsets = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59))
moments = st.datetimes(timezones=st.builds(timezone, offsets))        # year 1 to 9999, any offset
timestamps = (st.builds(lambda m: m.isoformat(), moments)
              | st.builds(lambda s: (NOW + timedelta(seconds=s)).isoformat(), st.integers(-400, 400))
              | st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2026-12-05T02:00:00",
                                 "2026-12-05T02:00:00Z", "", " ", "2026-13-45T25:61:00+08:00", "+08:00"])
              | st.text(max_size=80))


def fix_outcome(raw) -> object:
    """The Fix, or the refusal (checked: a known code, a field, a message); nothing else may escape."""
    try:
        return parse_fix(raw, NOW)
    except InvalidArgument as refused:
        assert refused.code in FIX_CODES, refused.code
        assert refused.field in FIELDS and refused.message
        return refused


def assert_within_bounds(fix) -> None:
    assert -90 <= fix.lat <= 90 and -180 <= fix.lng <= 180
    assert math.isfinite(fix.lat) and math.isfinite(fix.lng)
    assert 0 < fix.accuracy_m <= MAX_ACCURACY_VALUE_M and isinstance(fix.mock_location, bool)
    assert 1 <= len(fix.device_id) <= MAX_DEVICE_ID_CHARS and fix.device_id == fix.device_id.strip()
    age = (NOW - fix.taken_at).total_seconds()
    assert -MAX_FIX_AHEAD_SECONDS <= age <= MAX_FIX_AGE_SECONDS and fix.taken_at.tzinfo is not None


@bounded(300)
@given(lat=numbers | anything, lng=numbers | anything, accuracy=numbers | anything,
       mock=st.none() | st.booleans() | anything, device=st.text(max_size=140) | anything, taken_at=timestamps | anything,
       drop=st.sets(st.sampled_from(["lat", "lng", "accuracy_m", "mock_location", "device_id", "taken_at"])))
def test_any_fix_is_either_within_bounds_or_refused_with_a_code(lat, lng, accuracy, mock, device, taken_at, drop):
    raw = {"lat": lat, "lng": lng, "accuracy_m": accuracy, "mock_location": mock, "device_id": device,
           "taken_at": taken_at}
    for key in drop:
        raw.pop(key)
    result = fix_outcome(raw)
    if not isinstance(result, InvalidArgument):
        assert_within_bounds(result)


@bounded(150)
@given(taken_at=timestamps)
def test_any_fix_time_is_taken_within_its_window_or_refused_as_fix_time_invalid(taken_at):
    result = fix_outcome({"lat": 33.07, "lng": 107.02, "accuracy_m": 10, "device_id": "phone-1",
                          "taken_at": taken_at})
    if isinstance(result, InvalidArgument):
        assert (result.code, result.field) == ("FIX_TIME_INVALID", "taken_at")
    else:
        assert_within_bounds(result)


@bounded(40)
@given(raw=anything)
def test_a_fix_that_is_not_an_object_is_refused(raw):
    result = fix_outcome(raw)
    assert isinstance(result, InvalidArgument)


@bounded(200)
@given(lat=numbers | anything, lng=numbers | anything)
def test_coordinates_are_finite_and_in_range_or_refused(lat, lng):
    try:
        checked = check_coordinates(lat, lng, field_prefix="venue_")
    except InvalidArgument as refused:
        assert refused.code in {"COORDINATES_INVALID", "INVALID_TYPE"}
        assert refused.field in {"venue_lat", "venue_lng"}
        return
    assert all(isinstance(value, float) and math.isfinite(value) for value in checked)
    assert -90 <= checked[0] <= 90 and -180 <= checked[1] <= 180


latitudes = st.floats(min_value=-90, max_value=90)
longitudes = st.floats(min_value=-180, max_value=180)


@bounded(200)
@given(a=st.tuples(latitudes, longitudes), b=st.tuples(latitudes, longitudes))
def test_a_distance_is_finite_symmetric_and_at_most_half_the_earth(a, b):
    there, back = distance_m(*a, *b), distance_m(*b, *a)
    assert math.isfinite(there) and 0 <= there <= math.pi * EARTH_RADIUS_M + 1e-6
    assert math.isclose(there, back, rel_tol=1e-9, abs_tol=1e-6)
    assert distance_m(*a, *a) == 0


@bounded(200)
@given(lat=st.floats(-89, 89), lng=st.floats(-179, 179), d_lat=st.floats(-0.02, 0.02), d_lng=st.floats(-0.02, 0.02),
       accuracy=st.floats(min_value=0.001, max_value=MAX_ACCURACY_VALUE_M), radius=st.integers(10, 2000),
       mock=st.booleans())
def test_a_judged_scan_is_accepted_only_inside_the_fence_with_good_accuracy(lat, lng, d_lat, d_lng, accuracy, radius,
                                                                           mock):
    rules = ActivityRules(activity_id="act_1", status=OPEN, venue_lat=lat, venue_lng=lng, radius_m=radius,
                          checkin_opens_at=NOW - timedelta(minutes=10), checkin_closes_at=NOW + timedelta(minutes=10),
                          end_at=NOW + timedelta(hours=1), checkout_closes_at=NOW + timedelta(hours=2),
                          roster=frozenset({"m1"}), on_leave=frozenset())
    fix = parse_fix({"lat": lat + d_lat, "lng": lng + d_lng, "accuracy_m": accuracy, "mock_location": mock,
                     "device_id": "phone-1", "taken_at": NOW.isoformat()}, NOW)
    verdict = judge(rules, "m1", "in", fix, NOW, Prior(None, None, frozenset(), None))
    distance = distance_m(lat, lng, fix.lat, fix.lng)
    if verdict.accepted:
        assert accuracy <= MAX_ACCURACY_M and distance <= radius
        assert ("MOCK_LOCATION" in verdict.flags) == mock
    else:
        assert verdict.code in REJECTION_MESSAGES
        assert verdict.code == ("ACCURACY_TOO_POOR" if accuracy > MAX_ACCURACY_M else "OUTSIDE_FENCE")
