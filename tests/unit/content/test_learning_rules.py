"""Learning rules (pure): dwell time observed by the server, package and session lifecycles, item validation,
progress rows. Times are explicit: T(s) is s seconds after a fixed moment."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import Conflict, InvalidArgument
from servicekit.timestamps import stamp
from services.content.domain import learning as rules
from services.content.domain.learning import ItemTime, observe

ZERO = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)


def T(seconds: float) -> datetime:
    return ZERO + timedelta(seconds=seconds)


def run(observations, min_seconds=60, cap_seconds=600, time=ItemTime()):
    """Feed (previous, now) observation pairs in order; the final time and what each credited."""
    credits = []
    for previous, now in observations:
        credit = observe(time, T(previous), T(now), min_seconds, cap_seconds)
        time = credit.time
        credits.append(credit)
    return time, credits


def session(*moments):
    """The (previous, now) pairs of one session observed at these moments."""
    return list(zip(moments, moments[1:]))


# --- dwell time ----------------------------------------------------------------------------------------------
def test_time_between_heartbeats_counts():
    time, credits = run(session(0, 15, 30, 45))
    assert time.seconds == 45 and [c.seconds for c in credits] == [15, 15, 15]


def test_a_gap_longer_than_the_maximum_counts_nothing():
    time, credits = run(session(0, 15, 76, 90))      # 61 s of silence: the member left
    assert [c.seconds for c in credits] == [15, 0, 14]
    assert credits[1].counted is False and time.seconds == 29


def test_a_gap_of_exactly_the_maximum_counts():
    time, _ = run(session(0, 60))
    assert time.seconds == 60


def test_a_clock_going_back_or_standing_still_counts_nothing():
    assert observe(ItemTime(), T(10), T(10), 60, 600).seconds == 0
    assert observe(ItemTime(), T(10), T(5), 60, 600).seconds == 0


def test_the_cap_limits_the_total_over_all_sessions():
    time, credits = run(session(0, 50, 100) + session(200, 250, 300), min_seconds=30, cap_seconds=120)
    assert [c.seconds for c in credits] == [50, 50, 20, 0]
    assert time.seconds == 120


def test_studied_once_the_minimum_is_reached_exactly():
    time, credits = run(session(0, 30, 60, 90), min_seconds=60)
    assert [c.newly_studied for c in credits] == [False, True, False]
    assert time.studied and time.seconds == 90


def test_one_second_short_of_the_minimum_is_not_studied():
    time, credits = run(session(0, 30, 59), min_seconds=60)
    assert not time.studied and not any(c.newly_studied for c in credits)


def test_studied_is_reported_once_even_across_sessions():
    time, credits = run(session(0, 40) + session(100, 140) + session(200, 240), min_seconds=60)
    assert [c.newly_studied for c in credits] == [False, True, False]


def test_two_overlapping_sessions_count_the_shared_time_once():
    # tab A observed at 0, 15, 30, 45; tab B at 10, 25, 40, 55, interleaved as the server sees them
    order = [(0, 15), (10, 25), (15, 30), (25, 40), (30, 45), (40, 55)]
    time, credits = run(order)
    assert time.seconds == 55                       # the union: 0..55
    assert [c.seconds for c in credits] == [15, 10, 5, 10, 5, 10]


def test_a_second_tab_inside_the_first_adds_nothing():
    time, credits = run([(0, 30), (5, 20), (30, 60), (20, 35)])
    assert time.seconds == 60 and [c.seconds for c in credits] == [30, 0, 30, 0]


def test_a_second_session_after_the_first_counts_fully():
    time, _ = run(session(0, 15, 30) + session(100, 115, 130))
    assert time.seconds == 60


def test_an_overlapping_session_fills_a_hole_left_by_the_first():
    # A: 0..30 then silent (gap > max) until 100; B covers 40..55 while A is silent
    time, credits = run([(0, 30), (40, 55), (30, 100)])
    assert [c.seconds for c in credits] == [30, 15, 0] and time.seconds == 45


def test_old_intervals_are_forgotten_and_recent_ones_merged():
    time, _ = run(session(0, 15, 30) + session(200, 215))
    assert time.recent == ((T(200), T(215)),)       # 0..30 ended more than the maximum gap before 215
    time, _ = run([(0, 15), (10, 25)])
    assert time.recent == ((T(0), T(25)),)


def test_stored_time_round_trips():
    time, _ = run(session(0, 15.5, 30.25), min_seconds=20)
    stored = rules.stored_time(time)
    back = rules.time_of({**stored, "studied_at": stamp(T(30))})
    assert back == time
    assert rules.time_of(None) == ItemTime()


# --- sessions --------------------------------------------------------------------------------------------------
def open_session(last_seen=0, state="open"):
    return {"state": state, "last_seen_at": stamp(T(last_seen))}


def test_a_heartbeat_within_the_maximum_gap_keeps_the_session_open():
    assert rules.apply_session(rules.heartbeat_transition(T(60)), open_session(0)) is rules.OPEN


def test_a_heartbeat_after_the_maximum_gap_is_refused_as_expired():
    with pytest.raises(Conflict) as refused:
        rules.apply_session(rules.heartbeat_transition(T(61)), open_session(0))
    assert refused.value.code == "SESSION_EXPIRED"
    assert rules.is_stale(open_session(0), T(61)) and not rules.is_stale(open_session(0), T(60))


@pytest.mark.parametrize("state, code", [("ended", "SESSION_CLOSED"), ("expired", "SESSION_EXPIRED")])
def test_a_heartbeat_after_the_end_is_refused(state, code):
    with pytest.raises(Conflict) as refused:
        rules.apply_session(rules.heartbeat_transition(T(1)), open_session(0, state))
    assert refused.value.code == code


def test_ending_an_open_session_and_ending_twice():
    assert rules.apply_session(rules.END, open_session()) is rules.ENDED
    with pytest.raises(Conflict) as refused:
        rules.apply_session(rules.END, open_session(state="ended"))
    assert refused.value.code == "SESSION_CLOSED"
    assert rules.apply_session(rules.EXPIRE, open_session()) is rules.EXPIRED


# --- packages ----------------------------------------------------------------------------------------------------
def package(status, items=({"key": "i1"},)):
    return {"status": status, "items": list(items)}


@pytest.mark.parametrize("transition, status, target", [
    (rules.EDIT, "draft", rules.DRAFT), (rules.PUBLISH, "draft", rules.PUBLISHED),
    (rules.CLOSE, "published", rules.CLOSED), (rules.STUDY, "published", rules.PUBLISHED),
])
def test_allowed_package_transitions(transition, status, target):
    assert rules.apply_package(transition, package(status)) is target


@pytest.mark.parametrize("transition, status, code", [
    (rules.EDIT, "published", "PACKAGE_NOT_DRAFT"), (rules.EDIT, "closed", "PACKAGE_NOT_DRAFT"),
    (rules.PUBLISH, "published", "PACKAGE_NOT_DRAFT"), (rules.PUBLISH, "closed", "PACKAGE_NOT_DRAFT"),
    (rules.CLOSE, "draft", "PACKAGE_NOT_PUBLISHED"), (rules.CLOSE, "closed", "PACKAGE_NOT_PUBLISHED"),
    (rules.STUDY, "draft", "PACKAGE_NOT_OPEN"), (rules.STUDY, "closed", "PACKAGE_NOT_OPEN"),
])
def test_refused_package_transitions(transition, status, code):
    with pytest.raises(Conflict) as refused:
        rules.apply_package(transition, package(status))
    assert refused.value.code == code


def test_an_empty_package_cannot_be_published():
    with pytest.raises(Conflict) as refused:
        rules.apply_package(rules.PUBLISH, package("draft", items=()))
    assert refused.value.code == "PACKAGE_EMPTY"


# --- validation --------------------------------------------------------------------------------------------------
GOOD_ITEM = {"title": "学习党章", "kind": "video", "url": "https://example.org/v.mp4", "min_seconds": 120}


def test_a_valid_package_with_defaults():
    fields = rules.validate_package(" 十二月学习 ", "2026-12", "2026-12-31",
                                    [GOOD_ITEM, {"title": "文章", "item_id": "itm_1", "key": "art", "tags": ["党章"]}])
    assert fields["title"] == "十二月学习"
    first, second = fields["items"]
    assert (first["key"], first["cap_seconds"], first["item_id"]) == ("i1", 240, "")
    assert (second["key"], second["kind"], second["min_seconds"], second["tags"]) == ("art", "article", 60, ["党章"])


@pytest.mark.parametrize("month, due_on, items, code, field", [
    ("2026-13", "2026-12-31", [], "INVALID_MONTH", "month"),
    ("2026-12", "2026-11-30", [], "DUE_BEFORE_MONTH", "due_on"),
    ("2026-12", "2026-12-32", [], "INVALID_DATE", "due_on"),
    ("2026-12", "2026-12-31", "x", "INVALID_TYPE", "items"),
    ("2026-12", "2026-12-31", [{**GOOD_ITEM, "url": "ftp://x"}], "INVALID_URL", "items[0].url"),
    ("2026-12", "2026-12-31", [{**GOOD_ITEM, "item_id": "itm_1"}], "ITEM_SOURCE_REQUIRED", "items[0].item_id"),
    ("2026-12", "2026-12-31", [{**GOOD_ITEM, "url": ""}], "ITEM_SOURCE_REQUIRED", "items[0].item_id"),
    ("2026-12", "2026-12-31", [{**GOOD_ITEM, "kind": "game"}], "UNKNOWN_VALUE", "items[0].kind"),
    ("2026-12", "2026-12-31", [{**GOOD_ITEM, "min_seconds": "60"}], "INVALID_TYPE", "items[0].min_seconds"),
    ("2026-12", "2026-12-31", [{**GOOD_ITEM, "cap_seconds": 60}], "CAP_BELOW_MINIMUM", "items[0].cap_seconds"),
    ("2026-12", "2026-12-31", [{**GOOD_ITEM, "key": "A B"}], "INVALID_ITEM_KEY", "items[0].key"),
    ("2026-12", "2026-12-31", [GOOD_ITEM, {**GOOD_ITEM, "key": "i1"}], "DUPLICATE_ITEM_KEY", "items[1].key"),
    ("2026-12", "2026-12-31", [GOOD_ITEM] * 31, "TOO_MANY_ITEMS", "items"),
    ("2026-12", "2026-12-31", [{**GOOD_ITEM, "title": ""}], "REQUIRED", "items[0].title"),
])
def test_bad_packages_are_refused_naming_the_field(month, due_on, items, code, field):
    with pytest.raises(InvalidArgument) as refused:
        rules.validate_package("套餐", month, due_on, items)
    assert (refused.value.code, refused.value.field) == (code, field)


# --- progress ------------------------------------------------------------------------------------------------------
def branch(org_id, county, field="rural", category=""):
    return {"org_id": org_id, "name": org_id, "path_ids": ["city", county, org_id],
            "path_names": ["市", county + "名", org_id], "field": field, "category": category}


def test_progress_by_branch_is_ranked_by_completion_then_items():
    branches = [branch("b1", "c1"), branch("b2", "c1", "urban"), branch("b3", "c2")]
    sizes = {"b1": 4, "b2": 2, "b3": 4}
    counters = {"b1": {"started": 2, "completed": 1, "items_studied": 4},
                "b2": {"started": 1, "completed": 1, "items_studied": 2},
                "b3": {"started": 4, "completed": 1, "items_studied": 6}}
    rows = rules.progress_rows(branches, sizes, counters, 2, "branch")
    assert [(r["group_id"], r["completion_rate"], r["items_rate"], r["rank"]) for r in rows] == [
        ("b2", 50.0, 50.0, 1), ("b3", 25.0, 75.0, 2), ("b1", 25.0, 50.0, 3)]
    by_county = rules.progress_rows(branches, sizes, counters, 2, "county")
    assert [(r["group_id"], r["name"], r["members"], r["completed"], r["completion_rate"]) for r in by_county] == [
        ("c1", "c1名", 6, 2, 33.3), ("c2", "c2名", 4, 1, 25.0)]
    by_field = rules.progress_rows(branches, sizes, counters, 2, "field")
    assert {r["group_id"]: r["branches"] for r in by_field} == {"rural": 2, "urban": 1}
    assert rules.totals(rows, 2) == {"branches": 3, "members": 10, "completed": 3, "started": 7,
                                     "items_studied": 12, "completion_rate": 30.0, "items_rate": 60.0}


def test_counts_never_exceed_the_roster_and_ties_share_a_rank():
    rows = rules.progress_rows([branch("b1", "c1"), branch("b2", "c1"), branch("b3", "c1")],
                               {"b1": 1, "b2": 0}, {"b1": {"completed": 3, "started": 3, "items_studied": 9}}, 2,
                               "branch")
    assert rows[0]["completion_rate"] == 100.0 and rows[0]["items_rate"] == 100.0
    assert [(r["group_id"], r["rank"]) for r in rows[1:]] == [("b2", 2), ("b3", 2)]


# --- the branch's study ranking ------------------------------------------------------------------------------
def test_the_study_ranking_orders_by_items_then_seconds_and_shares_ties():
    roster = [{"member_id": m, "name": n} for m, n in (("m1", "张三"), ("m2", "李四"), ("m3", "王五"), ("m4", "赵六"),
                                                       ("m5", "孙七"))]
    rows = [
        {"member_id": "m1", "package_id": "p1", "seconds": 100.4, "studied_at": "x"},
        {"member_id": "m1", "package_id": "p1", "seconds": 20.0, "studied_at": None},   # time on an unfinished item
        {"member_id": "m2", "package_id": "p1", "seconds": 90, "studied_at": "x"},
        {"member_id": "m2", "package_id": "p2", "seconds": 60, "studied_at": "x"},
        {"member_id": "m3", "package_id": "p1", "seconds": 120, "studied_at": "x"},
        {"member_id": "m4", "package_id": "p1", "seconds": 120.9, "studied_at": "x"},    # ties with m3 (whole s)
        {"member_id": "m1", "package_id": "p_old", "seconds": 900, "studied_at": "x"},   # another month's package
        {"member_id": "m_gone", "package_id": "p1", "seconds": 500, "studied_at": "x"},  # no longer on the roster
    ]
    ranked = rules.study_ranking(roster, rows, ["p1", "p2"])
    assert [(e["rank"], e["member_id"], e["name"], e["items_studied"], e["seconds"]) for e in ranked] == [
        (1, "m2", "李四", 2, 150), (2, "m1", "张三", 1, 120), (2, "m3", "王五", 1, 120), (2, "m4", "赵六", 1, 120)]
    # m5 studied nothing: not listed (progress, not shame)
    assert "m5" not in {e["member_id"] for e in ranked}


def test_the_study_ranking_lists_time_without_a_finished_item_below_finished_ones():
    roster = [{"member_id": "m1", "name": "张三"}, {"member_id": "m2", "name": "李四"}]
    rows = [{"member_id": "m1", "package_id": "p1", "seconds": 40, "studied_at": None},
            {"member_id": "m2", "package_id": "p1", "seconds": 0.4, "studied_at": None}]
    assert [(e["member_id"], e["items_studied"], e["seconds"], e["rank"])
            for e in rules.study_ranking(roster, rows, ["p1"])] == [("m1", 0, 40, 1)]
