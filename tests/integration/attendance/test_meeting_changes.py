"""A planned meeting rescheduled (改期) or cancelled (取消) against the real attendance and identity services, broker
and store: the new plan moves the roster freeze and the closing and is kept in the meeting's history, and the meeting
is held at its new time; a cancelled meeting is never frozen nor closed, refuses scans with a code of its own (a
code issued before), leave and a record, is not counted in the ledger and is listed as cancelled with its reason;
both publish their event through the outbox; once sign-in may start both are refused; other tenants, other
subtrees, members and bad input change nothing. A new date or time makes the meeting's pending and approved leave
lapse (a refused one stays, a new venue changes none): the members may ask again, and a lapsed leave excuses no one
at the closing."""
from __future__ import annotations

from datetime import timedelta

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, Rejected
from servicekit.timestamps import parse_stamp, stamp
from tests.support.attendance import VENUE
from tests.support.meetings import meeting_branch
from tests.support.proofs import acting_as

pytestmark = pytest.mark.integration


@pytest.fixture
def branch(rpc, city, attendance_service):
    yield from meeting_branch(rpc, city, members=2)


@pytest.fixture
def branch_of_four(rpc, city, attendance_service):
    yield from meeting_branch(rpc, city, members=4)


def outbox_events(db, meeting_id: str, name: str) -> int:
    return sum(1 for entry in db.outbox.find({}) if meeting_id in str(entry) and name in str(entry))


def schedule_of(db, meeting_id: str) -> dict[str, str]:
    return {e["kind"]: e["due_at"] for e in db.schedule.find({"activity_id": meeting_id})}


def sweep(rpc):
    with acting_as("attendance"):
        rpc.attendance.run_sweeps()


def test_a_rescheduled_meeting_keeps_its_history_moves_its_schedule_and_is_held_at_its_new_time(rpc, branch, db):
    meeting = branch.plan("lesson")
    old_opens = meeting["checkin_opens_at"]
    later = (branch.day + timedelta(days=1)).isoformat()
    moved = branch.reschedule(date=later, start_time="15:00", end_time="16:00", venue_name="村委会会议室",
                              title="学习党章总纲", reason="与全县大会冲突")
    assert (moved["state"], moved["date"], moved["title"], moved["venue_name"]) == (
        "planned", later, "学习党章总纲", "村委会会议室")
    assert parse_stamp(moved["checkin_opens_at"]) - parse_stamp(old_opens) == timedelta(days=1, hours=1)
    [change] = moved["reschedules"]
    assert (change["by"], change["reason"]) == (branch.secretary["account_id"], "与全县大会冲突")
    assert [c["field"] for c in change["changes"]] == ["title", "date", "start_at", "end_at", "venue_name"]
    assert {"field": "date", "before": branch.day.isoformat(), "after": later} in change["changes"]
    assert schedule_of(db, meeting["id"]) == {
        "freeze": stamp(parse_stamp(moved["checkin_opens_at"]) - timedelta(minutes=10)),
        "close": moved["checkout_closes_at"]}
    assert outbox_events(db, meeting["id"], "meeting_rescheduled") == 1
    # a superior reschedules it again, with no reason: both kept, oldest first
    again = branch.reschedule(scope=branch.county_admin, date=later, start_time="16:00", end_time="17:00",
                              venue_name="村委会会议室")
    assert [c["reason"] for c in again["reschedules"]] == ["与全县大会冲突", ""]
    assert again["reschedules"][1]["by"] == branch.county_admin["account_id"]

    # the old time passes with nothing frozen (the sweep waits for the new one), then it is held at the new time
    branch.activity["plan"]["start_at"] = meeting["start_at"]
    branch.at("start_at", -10)
    assert db.activities.find_one({"_id": meeting["id"]})["roster_frozen_at"] is None
    branch.activity["plan"] = {name: again[name] for name in branch.activity["plan"]}
    held = branch.hold(present=1)
    assert (held["state"], held["attendance"]["present"]) == ("held", 1)
    assert db.meeting_ledger.find_one({"_id": branch.branch["id"]})["held"] == {"lesson": {later[:7]: 1}}


def test_once_sign_in_may_start_a_meeting_is_neither_rescheduled_nor_cancelled(rpc, branch, db):
    meeting = branch.plan("assembly")
    branch.at("checkin_opens_at", -5)              # the roster is frozen: members may scan from now on
    assert db.activities.find_one({"_id": meeting["id"]})["roster_frozen_at"]
    with pytest.raises(Conflict) as moved:
        branch.reschedule(start_time="16:00", end_time="17:00")
    with pytest.raises(Conflict) as cancelled:
        rpc.attendance.cancel_meeting(scope=branch.secretary, meeting_id=meeting["id"], reason="另行安排")
    assert moved.value.code == cancelled.value.code == "MEETING_STARTED"
    branch.at("checkout_closes_at", 1)
    assert branch.get()["state"] == "not_held"
    with pytest.raises(Conflict) as closed:
        rpc.attendance.cancel_meeting(scope=branch.secretary, meeting_id=meeting["id"], reason="另行安排")
    assert closed.value.code == "MEETING_STARTED"
    stored = db.activities.find_one({"_id": meeting["id"]})
    assert "reschedules" not in stored and stored.get("cancellation") is None


def test_a_cancelled_meeting_is_never_opened_held_or_counted_and_shows_its_reason(rpc, branch, city, db):
    meeting = branch.plan("lesson")
    branch.at("checkin_opens_at", -20)             # before the freeze: a code may already be on the screen
    token = branch.token("in")
    with pytest.raises(InvalidArgument) as no_reason:
        rpc.attendance.cancel_meeting(scope=branch.secretary, meeting_id=meeting["id"], reason="  ")
    assert (no_reason.value.code, no_reason.value.field) == ("REQUIRED", "reason")
    cancelled = rpc.attendance.cancel_meeting(scope=branch.secretary, meeting_id=meeting["id"],
                                              reason="书记外出培训，另行安排")
    assert cancelled["state"] == "cancelled"
    assert cancelled["cancellation"] == {"reason": "书记外出培训，另行安排", "cancelled_by": branch.secretary["account_id"],
                                         "cancelled_at": cancelled["cancellation"]["cancelled_at"]}
    assert schedule_of(db, meeting["id"]) == {}
    assert outbox_events(db, meeting["id"], "meeting_cancelled") == 1

    with pytest.raises(Rejected) as scan:        # the code shown before: the desk's own document says why
        branch.scan(branch.member_scopes[0], "in", token=token)
    assert scan.value.code == "MEETING_CANCELLED" and "取消" in scan.value.message
    branch.at("start_at", -5)
    for call in (lambda: rpc.attendance.get_qr_code(scope=branch.secretary, activity_id=meeting["id"],
                                                    direction="in", mode="rotating"),
                 lambda: rpc.attendance.request_leave(scope=branch.member_scopes[1], activity_id=meeting["id"],
                                                      reason="出差"),
                 lambda: branch.reschedule(start_time="16:00", end_time="17:00"),
                 lambda: rpc.attendance.cancel_meeting(scope=branch.secretary, meeting_id=meeting["id"],
                                                       reason="再取消一次")):
        with pytest.raises(Conflict) as refused:
            call()
        assert refused.value.code == "MEETING_CANCELLED"
    branch.at("checkout_closes_at", 5)
    sweep(rpc)
    stored = db.activities.find_one({"_id": meeting["id"]})
    assert (stored["status"], stored["roster_frozen_at"], stored["closed_at"]) == ("cancelled", None, None)
    with pytest.raises(Conflict) as record:
        rpc.attendance.record_meeting(scope=branch.secretary, meeting_id=meeting["id"], host="王书记",
                                      recorder="李委员", topics=["学习党章"])
    assert record.value.code == "MEETING_CANCELLED"
    assert outbox_events(db, meeting["id"], "meeting_held") == 0
    entry = db.meeting_ledger.find_one({"_id": branch.branch["id"]}) or {}
    assert not (entry.get("held") or {}).get("lesson")
    ledger = rpc.attendance.get_meeting_ledger(scope=branch.county_admin, org_id=branch.county["id"],
                                               month=branch.month, page_size=500)
    row = next(r for r in ledger["rows"] if r["branch_id"] == branch.branch["id"])
    lesson = next(item for item in row["items"] if item["type"] == "lesson")
    assert (lesson["held"], lesson["required"]) == (0, 1)
    listed = rpc.attendance.list_meetings(scope=branch.county_admin, org_id=branch.county["id"], state="cancelled")
    assert [(m["id"], m["cancellation"]["reason"]) for m in listed["meetings"]] == [(meeting["id"], "书记外出培训，另行安排")]
    assert rpc.attendance.list_meetings(scope=branch.secretary, org_id=branch.branch["id"],
                                        state="planned")["meetings"] == []
    assert branch.get(branch.member_scopes[0])["state"] == "cancelled"       # members see it too


def test_other_tenants_subtrees_members_and_bad_input_change_nothing(rpc, branch, city, other_city, db):
    meeting = branch.plan("lesson")
    before = db.activities.find_one({"_id": meeting["id"]})
    fields = {"meeting_id": meeting["id"], "date": meeting["date"], "start_time": "16:00", "end_time": "17:00",
              "venue_name": "会议室", "venue_lat": VENUE[0], "venue_lng": VENUE[1]}
    for scope, error, code in ((branch.member_scopes[0], PermissionDenied, "NOT_BRANCH_SECRETARY"),
                               (city.county_admins[1], NotFound, "MEETING_NOT_FOUND"),
                               (other_city.admin, NotFound, "MEETING_NOT_FOUND")):
        with pytest.raises(error) as moved:
            rpc.attendance.reschedule_meeting(scope=scope, **fields)
        with pytest.raises(error) as cancelled:
            rpc.attendance.cancel_meeting(scope=scope, meeting_id=meeting["id"], reason="越权")
        assert moved.value.code == cancelled.value.code == code
    bad = [({"date": "2020-01-01"}, "PLAN_IN_PAST"), ({"end_time": "15:00"}, "TIME_RANGE_INVALID"),
           ({"venue_lat": "33.1"}, "INVALID_TYPE"), ({"venue_crs": "mars"}, "VENUE_CRS_INVALID"),
           ({"title": "长" * 101}, "TOO_LONG"), ({"reason": "长" * 501}, "TOO_LONG"),
           ({"start_time": "14:00", "end_time": "15:30", "venue_name": "党员活动室"}, "NOTHING_CHANGED")]
    for overrides, code in bad:
        with pytest.raises(InvalidArgument) as refused:
            rpc.attendance.reschedule_meeting(scope=branch.secretary, **{**fields, **overrides})
        assert refused.value.code == code, overrides
    with pytest.raises(InvalidArgument) as long_reason:
        rpc.attendance.cancel_meeting(scope=branch.secretary, meeting_id=meeting["id"], reason="长" * 501)
    assert long_reason.value.code == "TOO_LONG"
    with pytest.raises(NotFound):               # a themed day's id is no meeting
        rpc.attendance.cancel_meeting(scope=branch.secretary, meeting_id=f"act_{branch.branch['id']}_{branch.month}",
                                      reason="另行安排")
    assert db.activities.find_one({"_id": meeting["id"]}) == before
    assert outbox_events(db, meeting["id"], "meeting_rescheduled") == outbox_events(db, meeting["id"],
                                                                                    "meeting_cancelled") == 0


def test_a_new_time_makes_pending_and_approved_leave_lapse_and_the_members_may_ask_again(rpc, branch_of_four, db):
    branch = branch_of_four
    meeting = branch.plan("lesson")
    present, approved, pending, refused = branch.member_scopes
    ask = {scope["member_id"]: rpc.attendance.request_leave(scope=scope, activity_id=meeting["id"], reason="周二出差")
           for scope in (approved, pending, refused)}
    rpc.attendance.decide_leave(scope=branch.secretary, leave_id=ask[approved["member_id"]]["id"],
                                decision="approved", note="同意")
    rpc.attendance.decide_leave(scope=branch.secretary, leave_id=ask[refused["member_id"]]["id"], decision="refused")

    def leaves() -> dict[str, dict]:
        listed = rpc.attendance.list_leaves(scope=branch.secretary, activity_id=meeting["id"])["leaves"]
        return {leave["member_id"]: leave for leave in listed}

    def states() -> dict[str, str]:
        return {member_id: leave["state"] for member_id, leave in leaves().items()}

    asked = {approved["member_id"]: "approved", pending["member_id"]: "pending", refused["member_id"]: "refused"}
    # only the venue changes: the leave was asked for this time, and stays
    branch.reschedule(venue_name="村委会会议室")
    assert states() == asked
    assert db.activities.find_one({"_id": meeting["id"]})["on_leave"] == {approved["member_id"]: True}

    moved = branch.reschedule(start_time="16:00", end_time="17:00", venue_name="村委会会议室", reason="与全县大会冲突")
    at = moved["reschedules"][-1]["at"]
    now = leaves()
    assert states() == {**asked, approved["member_id"]: "lapsed", pending["member_id"]: "lapsed"}
    was_approved, was_pending, still_refused = (now[s["member_id"]] for s in (approved, pending, refused))
    assert (was_approved["lapsed_at"], was_approved["lapsed_reason"], was_approved["lapsed_from"]) == (
        at, "会议已改期", "approved")
    assert (was_approved["decision_note"], was_approved["decided_by"]) == ("同意", branch.secretary["account_id"])
    assert (was_pending["lapsed_from"], was_pending["lapsed_at"]) == ("pending", at)
    assert (still_refused["lapsed_at"], still_refused["lapsed_reason"]) == ("", "")
    assert db.activities.find_one({"_id": meeting["id"]})["on_leave"] == {}        # no one excused any more
    mine = rpc.attendance.list_leaves(scope=approved, activity_id=meeting["id"])["leaves"]
    assert [(leave["state"], leave["lapsed_reason"]) for leave in mine] == [("lapsed", "会议已改期")]
    assert outbox_events(db, meeting["id"], "meeting_rescheduled") == 2             # the lapse has no event of its own
    assert outbox_events(db, meeting["id"], "leave_decided") == 0

    with pytest.raises(Conflict) as decided:       # a lapsed request is not decided any more
        rpc.attendance.decide_leave(scope=branch.secretary, leave_id=was_pending["id"], decision="approved")
    assert decided.value.code == "LEAVE_ALREADY_DECIDED" and "已失效" in decided.value.message
    # the pending member still cannot come at the new time and asks again: the same request, replaced
    again = rpc.attendance.request_leave(scope=pending, activity_id=meeting["id"], reason="周四仍在外地")
    assert (again["id"], again["state"], again["reason"], again["lapsed_at"]) == (
        was_pending["id"], "pending", "周四仍在外地", "")
    with pytest.raises(Conflict) as twice:
        rpc.attendance.request_leave(scope=pending, activity_id=meeting["id"], reason="再请一次")
    assert twice.value.code == "LEAVE_EXISTS"
    rpc.attendance.decide_leave(scope=branch.secretary, leave_id=again["id"], decision="approved")

    # held at the new time: the lapsed member who did not come is absent, not excused
    held = branch.hold(present=1)
    assert held["attendance"] == {"expected": 4, "present": 1, "excused": 1, "absent": 2}
    assert branch.get(approved)["my_status"] == "absent"
    assert branch.get(pending)["my_status"] == "excused"
