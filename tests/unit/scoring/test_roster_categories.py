"""One themed day counted by attendance (closing totals, statistics) and by scoring (live, final, reconcile)
gives the same figures and denominators: the roster categories are defined once, in servicekit.roster."""
from __future__ import annotations

import pytest

from services.attendance.domain import closing, stats
from services.scoring.domain import score as scoring

FIGURES = ("roster", "on_site_expected", "present", "incomplete", "excused", "mobile", "mobile_liked")


def regulars(count: int, prefix: str = "r") -> dict[str, bool]:
    return {f"{prefix}{n}": False for n in range(count)}


# roster (member -> mobile), approved leave, sign-ins, sign-outs, likes
CASES = {
    "a mobile member who came signs in but not out": (
        {**regulars(38), "m1": True, "m2": True}, set(), {"r0", "r1", "m1"}, {"r0", "r1"}, {"m1", "m2"}),
    "a mobile member who came signs in and out": (
        {**regulars(3), "m1": True}, set(), {"r0", "m1"}, {"r0", "m1"}, {"m1"}),
    "a mobile member on leave": (
        {**regulars(3), "m1": True, "m2": True}, {"m1"}, {"r0"}, {"r0"}, {"m1", "m2"}),
    "a member on leave who came anyway": (
        regulars(4), {"r0", "r1"}, {"r0"}, {"r0"}, set()),
    "nobody came": (
        {**regulars(2), "m1": True}, set(), set(), set(), set()),
    "everyone excused": (
        regulars(3), {"r0", "r1", "r2"}, set(), set(), set()),
    "only mobile members, one came": (
        {"m1": True, "m2": True}, set(), {"m2"}, {"m2"}, {"m1", "m2"}),
    "scans and leave of members not on the roster": (
        {**regulars(2), "m1": True}, {"outsider"}, {"r0", "outsider"}, {"r0", "outsider"}, {"outsider", "m1"}),
}


def attendance_side(roster, on_leave, checked_in, checked_out, liked):
    statuses = closing.final_statuses(roster, on_leave, checked_in, checked_out)
    totals = closing.totals(statuses, liked, 0, 0, 0)
    [row] = stats.by_activity([{"activity_id": "a", "branch_id": "b", "branch_name": "支部", "month": "2026-11",
                                "status": "closed", "totals": totals, "statuses": statuses}])
    return statuses, totals, row


def scoring_sides(roster, on_leave, checked_in, checked_out, liked, statuses):
    mobile = {member for member, flag in roster.items() if flag}
    live = scoring.facts_from_live(set(roster), mobile, checked_in, checked_out, on_leave, liked, set(), 0, 0, 0,
                                   None)
    final = scoring.facts_from_statuses(statuses, liked, set(), 0, 0, 0, None)
    record = scoring.facts_from_record({"roster_frozen": True, "member_ids": sorted(roster),
                                        "mobile_member_ids": sorted(mobile), "checked_in": sorted(checked_in),
                                        "checked_out": sorted(checked_out), "excused": sorted(on_leave),
                                        "liked": sorted(liked)}, None)
    return {"live": live, "final": final, "reconcile": record}


@pytest.mark.parametrize("case", list(CASES))
def test_attendance_totals_equal_scoring_denominators(case):
    roster, on_leave, checked_in, checked_out, liked = CASES[case]
    statuses, totals, row = attendance_side(*CASES[case])
    # attendance's own reading of its totals: the rate's denominator, the mobile members, who may comment
    expected = {"signin": totals["present"] + totals["incomplete"] + totals["absent"], "like": totals["mobile"],
                "comments": totals["roster"] - totals["excused"]}
    for name, facts in scoring_sides(roster, on_leave, checked_in, checked_out, liked, statuses).items():
        assert {figure: getattr(facts, figure) for figure in FIGURES} == \
            {figure: totals[figure] for figure in FIGURES}, name
        assert scoring.denominators(facts) == expected, name
    assert row["attendance_rate"] == stats.rate(totals["present"], expected["signin"])


def test_a_mobile_member_who_comes_is_on_site_for_the_day_and_her_like_no_longer_applies():
    roster, on_leave, checked_in, checked_out, liked = CASES["a mobile member who came signs in but not out"]
    statuses, totals, _ = attendance_side(roster, on_leave, checked_in, checked_out, liked)
    assert statuses["m1"] == "incomplete" and statuses["m2"] == "mobile"
    assert totals["on_site_expected"] == 39 and totals["incomplete"] == 1 and totals["mobile"] == 1
    assert totals["mobile_liked"] == 1                                  # m2's like; m1's no longer applies
    live = scoring_sides(roster, on_leave, checked_in, checked_out, liked, statuses)["live"]
    result = scoring.score(live)
    assert scoring.denominators(live) == {"signin": 39, "like": 1, "comments": 40}
    assert result["breakdown"]["like"] == 10.0                          # m2, online, liked: 1 of 1
    assert result["rates"]["signin"] == round((2 + 0.5) / 39, 4)        # m1 counts half, like any member


def test_the_live_score_and_the_final_score_of_a_mobile_member_who_came_agree():
    roster, on_leave, checked_in, checked_out, liked = CASES["a mobile member who came signs in but not out"]
    statuses, _, _ = attendance_side(roster, on_leave, checked_in, checked_out, liked)
    sides = scoring_sides(roster, on_leave, checked_in, checked_out, liked, statuses)
    assert scoring.score(sides["live"]) == scoring.score(sides["final"]) == scoring.score(sides["reconcile"])
