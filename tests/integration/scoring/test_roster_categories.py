"""A mobile member who comes on site, run through the real attendance service: attendance's totals and
scoring's counts (live and final) agree, and reconcile finds no difference."""
import pytest

from servicekit.errors import NotFound
from tests.support.attendance import ThemedDay as AttendanceDay
from tests.support.scoring import wait_for

pytestmark = pytest.mark.integration
FIGURES = ("roster", "on_site_expected", "present", "incomplete", "excused", "mobile", "mobile_liked")


def test_a_mobile_member_who_comes_on_site_is_counted_alike_by_attendance_and_scoring(rpc, city,
                                                                                      attendance_service):
    day = AttendanceDay(rpc, city, members=2, mobile=2).prepared()       # issued to county 0: its two branches
    activity_id = day.activity["id"]
    came, online = day.mobile_scopes
    try:
        day.at("start_at", -5)
        day.scan(day.member_scopes[0], "in")
        day.scan(came, "in")                                             # the mobile member comes, never signs out
        for scope in (came, online):
            rpc.attendance.like_activity(scope=scope, activity_id=activity_id)
        day.at("end_at", 1)
        day.scan(day.member_scopes[0], "out")

        def live_scored():
            try:
                score = rpc.scoring.get_branch_score(scope=city.admin, activity_id=activity_id)
            except NotFound:
                return None
            counts = score["counts"]
            return score if counts.get("present") == 1 and counts.get("mobile_liked") == 1 else None
        live = wait_for(live_scored)
        answer = rpc.scoring.reconcile(scope=city.admin, org_id=day.branch["id"], period=day.month)
        assert answer["checked"] == 1 and answer["differences"] == []
        day.at("checkout_closes_at", 1)                                  # closes the day
    finally:
        rpc.attendance.set_clock_offset(seconds=0)
    totals = rpc.attendance.get_activity(scope=day.secretary, activity_id=activity_id)["totals"]
    assert {name: totals[name] for name in FIGURES} == {
        "roster": 4, "on_site_expected": 3, "present": 1, "incomplete": 1, "excused": 0, "mobile": 1,
        "mobile_liked": 1}                                 # the one who came is on site; only the other's like counts
    assert {name: live["counts"][name] for name in FIGURES} == {name: totals[name] for name in FIGURES}

    def final_scored():
        score = rpc.scoring.get_branch_score(scope=city.admin, activity_id=activity_id)
        return score if score["final"] else None
    final = wait_for(final_scored)
    assert {name: final["counts"][name] for name in FIGURES} == {name: totals[name] for name in FIGURES}
    assert final["score"] == live["score"] and final["rates"]["signin"] == 0.5     # (1 + ½) of 3 on site
    [row] = rpc.attendance.get_statistics(scope=city.admin, org_id=day.branch["id"], month_from=day.month,
                                          by="activity")["rows"]
    assert row["attendance_rate"] == round(1 / 3, 4)                              # 1 present of the same 3
    answer = rpc.scoring.reconcile(scope=city.admin, org_id=day.branch["id"], period=day.month)
    assert answer["checked"] == 1 and answer["differences"] == []
