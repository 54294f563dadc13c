"""The chaos suite's checker (chaos.checker) against synthetic histories: it must be able to fail.

The suite itself (``python -m chaos``) runs minutes and is not part of the test run; these prove that what it
reports as 0 would not be 0 if a scan were lost, stored twice or stored after being refused.
"""
from __future__ import annotations

from chaos import checker
from chaos.checker import Attempt, Window

A = "act1"


def record(member: str, seq: int, direction: str = "in") -> dict:
    kind = "checkin" if direction == "in" else "checkout"
    return {"_id": f"{A}:{direction}:{member}", "activity_id": A, "kind": kind, "member_id": member, "seq": seq,
            "hash": f"h{seq}"}


def acked(member: str, seq: int, at: float = 10.0, direction: str = "in", repeat: bool = False) -> Attempt:
    return Attempt(seq, f"{A}:{direction}:{member}", at, "OK", "", repeat, f"{A}:{direction}:{member}", seq, f"h{seq}")


def test_a_clean_history_passes_with_unknown_answers_recovered():
    attempts = [acked("m1", 1), acked("m1", 1, at=11.0, repeat=True),
                Attempt(2, f"{A}:in:m2", 12.0, "UNAVAILABLE"),                  # undecided, then stored: recovered
                Attempt(3, f"{A}:in:m3", 13.0, "DEADLINE_EXCEEDED"),            # undecided, never stored: allowed
                Attempt(4, f"{A}:in:m4", 14.0, "FAILED_PRECONDITION", "TOKEN_FORGED", well_formed=False)]
    result = checker.check_scans(attempts, [record("m1", 1), record("m2", 2)], [])
    assert result.violations == 0
    assert result.recovered == [f"{A}:in:m2"] and result.unknown_at_end == [f"{A}:in:m3"]


def test_an_acknowledged_scan_that_is_not_stored_is_lost_and_charged_to_the_fault_it_was_sent_in():
    attempts = [acked("m1", 1, at=10.0), acked("m2", 2, at=21.0)]
    windows = [Window("store-main", 20.0, 25.0)]
    result = checker.check_scans(attempts, [record("m1", 1)], windows)
    assert result.lost == [f"{A}:in:m2"] and result.violations == 1
    assert result.by_component["store-main"]["lost"] == 1
    assert result.by_component[checker.BETWEEN]["lost"] == 0
    assert "store-main" in checker.scan_table(result, {"store-main": {"ready_seconds": [5.0]}})


def test_a_scan_stored_twice_is_found_by_key_and_by_the_chain():
    twice = [record("m1", 1), {**record("m1", 2), "_id": "other-id"}]
    result = checker.check_scans([acked("m1", 1)], twice, [])
    assert result.stored_twice == [f"{A}:in:m1"]
    # the same member's scan chained twice under one record id shows as a repeated seq
    result = checker.check_scans([acked("m1", 1), acked("m2", 2)], [record("m1", 1), record("m2", 1)], [])
    assert result.broken_chains == [A] and result.violations >= 1


def test_a_scan_refused_to_the_member_but_stored_is_found():
    refused_only = [Attempt(1, f"{A}:in:m1", 10.0, "FAILED_PRECONDITION", "OUTSIDE_FENCE", well_formed=False)]
    result = checker.check_scans(refused_only, [record("m1", 1)], [Window("attendance", 9.0, 12.0)])
    assert result.stored_but_refused == [f"{A}:in:m1"]
    assert result.by_component["attendance"]["stored_but_refused"] == 1
    # a well-formed scan refused while its record exists (told no after an unknown answer that was stored)
    told_no = [Attempt(1, f"{A}:in:m2", 10.0, "UNAVAILABLE"),
               Attempt(1, f"{A}:in:m2", 11.0, "FAILED_PRECONDITION", "CHECKIN_CLOSED")]
    assert checker.check_scans(told_no, [record("m2", 1)], []).stored_but_refused == [f"{A}:in:m2"]
    # refused from outside the fence, then acknowledged from the venue: as it should be
    fence_then_ok = [Attempt(1, f"{A}:in:m3", 10.0, "FAILED_PRECONDITION", "OUTSIDE_FENCE", well_formed=False),
                     acked("m3", 1, at=11.0)]
    assert checker.check_scans(fence_then_ok, [record("m3", 1)], []).violations == 0


def test_an_acknowledgement_that_names_another_record_differs():
    wrong = Attempt(1, f"{A}:in:m1", 10.0, "OK", "", False, f"{A}:in:m1", 1, "not-the-hash")
    assert checker.check_scans([wrong], [record("m1", 1)], []).answer_differs == [f"{A}:in:m1"]


def test_scores_and_points_against_their_recomputation():
    events = checker.EventCheck()
    checker.check_scores([{"activity_id": A, "field": "counts.present", "live": "3", "recomputed": "4"},
                          {"activity_id": "a2", "field": "counts.present", "live": "5", "recomputed": "4"},
                          {"activity_id": "a3", "field": "score", "live": "80", "recomputed": "81"}], 3, events)
    assert (events.score_lost, events.score_twice, events.score_other) == ([f"{A}:counts.present"],
                                                                            ["a2:counts.present"], ["a3:score"])
    statuses = checker.expected_statuses({"m1": False, "m2": False, "m3": False, "m4": True},
                                         {f"{A}:in:m1", f"{A}:out:m1", f"{A}:in:m2"}, A)
    assert statuses == {"m1": "present", "m2": "incomplete", "m3": "absent", "m4": "mobile"}
    points = checker.EventCheck()
    ledger = [{"_id": f"{A}:m1:attendance", "member_id": "m1", "cycle": "2026", "points": 5, "category": "attendance"}]
    balances = [{"_id": "m1:2026", "total": 10}]                    # applied twice
    checker.check_points({A: statuses}, ledger, balances, points)
    assert points.points_lost == [f"{A}:m3:absence"] and points.balances_wrong == ["m1:2026"]
    assert points.violations == 2
    clean = checker.EventCheck()
    checker.check_points({A: statuses}, ledger + [{"_id": f"{A}:m3:absence", "member_id": "m3", "cycle": "2026",
                                                   "points": -5, "category": "absence"}],
                         [{"_id": "m1:2026", "total": 5}, {"_id": "m3:2026", "total": -5}], clean)
    assert clean.violations == 0


def test_points_of_other_categories_are_not_extra_but_count_in_the_balance():
    # the chaos run holds themed days only; a 三会一课 meeting's entry is nothing its statuses call for or forbid
    statuses = {"m1": "present"}
    ledger = [{"_id": f"{A}:m1:attendance", "member_id": "m1", "cycle": "2026", "points": 5, "category": "attendance"},
              {"_id": "mt1:m1:meeting", "member_id": "m1", "cycle": "2026", "points": 3, "category": "meeting"}]
    clean = checker.EventCheck()
    checker.check_points({A: statuses}, ledger, [{"_id": "m1:2026", "total": 8}], clean)
    assert clean.violations == 0 and clean.points_expected == 1
    short = checker.EventCheck()
    checker.check_points({A: statuses}, ledger, [{"_id": "m1:2026", "total": 5}], short)
    assert short.points_extra == [] and short.balances_wrong == ["m1:2026"]


def test_consumers_back_counts_the_slow_and_the_never():
    table = checker.consumers_back([{"score consumer": 3.0, "gateway": 1.0}, {"score consumer": 45.0,
                                                                             "gateway": None}], 30.0)
    assert table["score consumer"]["worst"] == 45.0 and table["score consumer"]["missed"] == 1
    assert table["gateway"]["never"] == 1 and table["gateway"]["missed"] == 1
    assert "score consumer" in checker.consumer_table(table, 30.0)
