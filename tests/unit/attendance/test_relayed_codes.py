"""The rules against a relayed printed code: a printed scan is marked, a sign-in with no earlier position of the day
or with a device new to the member is flagged, and a closed day keeps what the next days compare with."""
from dataclasses import replace
from datetime import timedelta

import pytest

from servicekit.errors import InvalidArgument
from services.attendance.domain import closing, qrtoken
from services.attendance.domain.scans import (MAX_HISTORY_SAMPLES, MOVEMENT_MIN_AGE_SECONDS, moved_today,
                                              parse_fix, parse_history)
from services.attendance.scanning import DeviceBook, printed_code_allowed
from tests.unit.attendance.test_scans import (AFTER_END, CHECKED_IN, DURING_CHECKIN, NOTHING, NOW, fix_at, north,
                                              raw_fix, scan_in, scan_out)

NO_HISTORY = {"history": ()}


def earlier(seconds, metres=0.0):
    lat, lng = north(metres)
    return (DURING_CHECKIN - timedelta(seconds=seconds), lat, lng)


# ---- NO_MOVEMENT_TODAY -----------------------------------------------------------------------

def test_a_sign_in_with_no_earlier_position_of_the_day_is_flagged():
    verdict = scan_in(fix_at(**NO_HISTORY))
    assert verdict.accepted and verdict.flags == ("NO_MOVEMENT_TODAY",)


def test_a_position_from_earlier_that_day_clears_it():
    assert scan_in(fix_at(history=(earlier(MOVEMENT_MIN_AGE_SECONDS, 2000),))).flags == ()


@pytest.mark.parametrize("history, why", [
    ((earlier(MOVEMENT_MIN_AGE_SECONDS - 1),), "too recent: the page opened for this very scan"),
    ((earlier(9 * 3600 + 60),), "the day before in Shanghai (the fix is at 08:55 local time)"),
    ((earlier(-60),), "taken after the fix"),
])
def test_positions_that_are_not_earlier_history_of_the_day_do_not_count(history, why):
    assert scan_in(fix_at(history=history)).flags == ("NO_MOVEMENT_TODAY",), why


def test_the_day_is_the_local_day_of_the_fix():
    fix = fix_at(history=(earlier(8 * 3600),))         # 00:55 Shanghai, the same local day as 08:55
    assert moved_today(fix)


def test_a_sign_out_is_not_judged_on_history():
    assert scan_out(fix_at(taken_at=AFTER_END, **NO_HISTORY)).flags == ()


def test_the_latest_earlier_position_counts_for_impossible_speed():
    fix = fix_at(history=(earlier(3600), earlier(60, 20_000)))       # 20 km away a minute ago
    assert scan_in(fix).flags == ("IMPOSSIBLE_SPEED",)
    calm = fix_at(history=(earlier(3600, 2000),))
    assert scan_in(calm).flags == ()


# ---- NEW_DEVICE ------------------------------------------------------------------------------

def test_a_sign_in_with_a_device_the_member_never_used_is_flagged():
    prior = replace(NOTHING, member_devices=frozenset({"phone-a"}))
    assert scan_in(fix_at(device_id="phone-b"), prior=prior).flags == ("NEW_DEVICE",)


def test_a_known_device_compares_as_device_ids_do():
    prior = replace(NOTHING, member_devices=frozenset({"dev-1"}))
    assert scan_in(fix_at(device_id="ＤＥＶ－１"), prior=prior).flags == ()


def test_a_member_with_no_device_history_is_not_flagged():
    assert scan_in(fix_at(device_id="phone-b"), prior=NOTHING).flags == ()


def test_new_device_is_a_sign_in_rule():
    prior = replace(CHECKED_IN, member_devices=frozenset({"phone-a"}))
    assert scan_out(fix_at(taken_at=AFTER_END, device_id="phone-b"), prior=prior).flags == ()


def test_every_flag_in_a_stable_order():
    far = north(10_000)
    prior = replace(NOTHING, device_members=frozenset({"m1", "m2"}), member_devices=frozenset({"other"}),
                    last_fix=(DURING_CHECKIN - timedelta(seconds=10), far[0], far[1]))
    assert scan_in(fix_at(0, mock_location=True, **NO_HISTORY), prior=prior).flags == \
        ("MOCK_LOCATION", "SHARED_DEVICE", "IMPOSSIBLE_SPEED", "NEW_DEVICE", "NO_MOVEMENT_TODAY")


# ---- parsing the history ---------------------------------------------------------------------

def test_history_is_optional_and_kept_oldest_first():
    assert parse_history(None) == () and parse_history([]) == ()
    history = [{"lat": 34.3, "lng": 108.9, "taken_at": "2026-11-22T00:30:00+08:00"},
               {"lat": 34.2, "lng": 108.8, "accuracy_m": 30, "taken_at": "2026-11-21T16:10:00Z"}]
    fix = parse_fix(raw_fix(history=history), now=NOW)
    assert [(taken.isoformat(), lat) for taken, lat, _ in fix.history] == [("2026-11-21T16:10:00+00:00", 34.2),
                                                                           ("2026-11-21T16:30:00+00:00", 34.3)]


@pytest.mark.parametrize("history", [
    "yesterday", [1], [{"lat": 34.3, "lng": 108.9}], [{"lat": 95, "lng": 108.9, "taken_at": "2026-11-22T00:30:00Z"}],
    [{"lat": "34.3", "lng": 108.9, "taken_at": "2026-11-22T00:30:00Z"}],
    [{"lat": 34.3, "lng": 108.9, "taken_at": "2026-11-22T00:30:00"}],           # no time zone
    [{"lat": 34.3, "lng": 108.9, "taken_at": "soon"}],
    [{"lat": 34.3, "lng": 108.9, "taken_at": "2026-11-22T00:30:00Z"}] * (MAX_HISTORY_SAMPLES + 1),
])
def test_a_malformed_history_is_refused_with_its_code(history):
    with pytest.raises(InvalidArgument) as refused:
        parse_fix(raw_fix(history=history), now=NOW)
    assert (refused.value.code, refused.value.field) == ("HISTORY_INVALID", "history")


# ---- printed codes -----------------------------------------------------------------------------

def test_the_code_kind_of_a_token():
    key = qrtoken.tenant_key(b"k" * 32, "t1")
    assert qrtoken.code_kind(qrtoken.parse(qrtoken.issue(key, "act_1", "in", None))) == "printed"
    assert qrtoken.code_kind(qrtoken.parse(qrtoken.issue(key, "act_1", "in", 123))) == "rotating"


def test_printed_codes_are_off_unless_the_superior_allowed_them():
    assert not printed_code_allowed({"_id": "a"})
    assert not printed_code_allowed({"printed_code": {"allowed": False, "reason": "x"}})
    assert printed_code_allowed({"printed_code": {"allowed": True, "reason": "场地无法投屏"}})


# ---- what a closing keeps ----------------------------------------------------------------------

def test_a_closing_keeps_each_members_devices_and_printed_scans():
    def scan(member_id, device_key, code_kind="printed"):
        return {"activity_id": "a1", "member_id": member_id, "kind": "checkin", "device_key": device_key,
                "code_kind": code_kind}
    scans = [scan("m1", "a1: Phone-1 "), scan("m1", "a1:phone-1", "rotating"), scan("m2", "a1:ＰＡＤ"),
             scan("m3", None, "rotating")]
    assert closing.member_devices("a1", scans) == {"m1": ["phone-1"], "m2": ["pad"]}
    assert closing.printed_scans(scans) == {"m1": 1, "m2": 1}


def test_previous_months():
    assert closing.previous_months("2026-02", 3) == ["2026-01", "2025-12", "2025-11"]
    assert closing.previous_months("", 3) == [] and closing.previous_months("2026-13", 2) == []


# ---- the device book's history -----------------------------------------------------------------

class ClosedDays:
    """A store with closed activities' member_devices; records are never there (nothing scanned yet)."""

    def __init__(self, devices):
        self.devices, self.history_reads = devices, []

    def member_devices_of(self, ids):
        self.history_reads.append(list(ids))
        return {i: self.devices[i] for i in ids if i in self.devices}

    def records_by_ids(self, ids, projection=None):
        return {}


def test_the_book_reads_the_branchs_earlier_days_once_for_a_whole_batch():
    store = ClosedDays({"act_b1_2026-11": {"m1": ["phone-1"]}, "act_b1_2026-09": {"m1": ["pad-1"], "m2": ["x"]},
                        "act_b2_2026-11": {"m9": ["y"]}})
    book = DeviceBook(store, history_months=3)
    activities = {"act_b1_2026-12": {"_id": "act_b1_2026-12", "branch_id": "b1", "month": "2026-12", "roster": {}},
                  "act_b2_2026-12": {"_id": "act_b2_2026-12", "branch_id": "b2", "month": "2026-12", "roster": {}}}
    book.users(activities)
    book.users(activities)
    assert len(store.history_reads) == 1 and set(store.history_reads[0]) == {
        f"act_{branch}_{month}" for branch in ("b1", "b2") for month in ("2026-11", "2026-10", "2026-09")}
    assert book.member_devices("act_b1_2026-12", "m1") == {"phone-1", "pad-1"}
    assert book.member_devices("act_b1_2026-12", "m9") == frozenset()       # another branch's member
    assert book.member_devices("act_b2_2026-12", "m9") == {"y"}


def test_the_roster_freeze_warms_the_history_so_the_first_scans_read_none():
    store = ClosedDays({"act_b1_2026-11": {"m1": ["phone-1"]}})
    book = DeviceBook(store, history_months=1)
    activity = {"_id": "act_b1_2026-12", "branch_id": "b1", "month": "2026-12", "roster": {}}
    book.warm_history([activity])
    book.users({activity["_id"]: activity})
    assert store.history_reads == [["act_b1_2026-11"]]
    assert book.member_devices(activity["_id"], "m1") == {"phone-1"}
