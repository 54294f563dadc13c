"""The store's intention-named writes against the real store: each commits its state with its events in one
transaction (nothing of a refused one is written), and tells the process's caches what it changed."""
from __future__ import annotations

import secrets

import pytest

from servicekit.errors import Conflict
from servicekit.storage.mongo import open_store
from services.attendance import events, store as store_module
from services.attendance.store import AttendanceStore, change_mark
from services.attendance.usecases.activities import new_activity

pytestmark = pytest.mark.integration

THEME = {"_id": "thm_1", "tenant_id": "t1", "month": "2026-11", "title": "学习党章", "required_actions": [],
         "due_from": "2026-11-15", "due_to": "2026-11-25", "radius_m": 300}
PLAN = {"start_at": "2026-11-20T01:00:00.000Z", "checkin_opens_at": "2026-11-20T00:30:00.000Z",
        "checkout_closes_at": "2026-11-20T04:00:00.000Z"}


def activity(branch: str, status: str = "planning") -> dict:
    doc = new_activity(THEME, {"org_id": branch, "name": branch, "path_ids": ["root", branch]},
                       "2026-11-01T00:00:00.000Z")
    return {**doc, "status": status}


def event(activity_id: str) -> dict:
    return events.PLAN_REVIEWED.build("t1", activity_id=activity_id, branch_id="b1", month="2026-11",
                                      decision="approved", reason="", reviewed_by="acc")


@pytest.fixture
def store(mongo_uri):
    store = open_store(AttendanceStore, f"attendance_writes_{secrets.token_hex(3)}", mongo_uri)
    store.changed, store.rescheduled = [], []
    store.on_scan_rules_changed(store.changed.append)
    store.on_schedule_changed(lambda: store.rescheduled.append(True))
    return store


def test_an_approval_schedules_the_freeze_and_closing_and_tells_the_caches(store):
    store.db.activities.insert_one(activity("b1", "submitted"))
    before = change_mark(store.activity("act_b1_2026-11"))
    approved = store.approve_plan("act_b1_2026-11", PLAN, 500, {"decision": "approved"}, "2026-11-02T00:00:00.000Z",
                                  [event("act_b1_2026-11")], freeze_at="2026-11-20T00:20:00.000Z")
    assert approved["status"] == "approved" and approved["radius_m"] == 500 and change_mark(approved) != before
    assert sorted((e["_id"], e["due_at"]) for e in store.db.schedule.find()) == [
        ("close:act_b1_2026-11", "2026-11-20T04:00:00.000Z"), ("freeze:act_b1_2026-11", "2026-11-20T00:20:00.000Z")]
    assert store.changed == ["act_b1_2026-11"] and store.rescheduled == [True]
    assert store.db.outbox.count_documents({}) == 1


def test_a_change_to_an_activity_that_changed_meanwhile_writes_nothing(store):
    store.db.activities.insert_one(activity("b1", "planning"))
    with pytest.raises(Conflict) as refused:
        store.approve_plan("act_b1_2026-11", PLAN, 300, {}, "2026-11-02T00:00:00.000Z", [event("act_b1_2026-11")],
                           freeze_at="2026-11-20T00:20:00.000Z")
    assert refused.value.code == "ACTIVITY_CHANGED"
    assert store.db.schedule.count_documents({}) == store.db.outbox.count_documents({}) == 0
    assert store.activity("act_b1_2026-11")["status"] == "planning"
    assert store.changed == [] and store.rescheduled == []


def test_an_approved_leave_excuses_the_member_and_tells_the_caches(store):
    store.db.activities.insert_one(activity("b1", "approved"))
    leave = {"_id": "lv_1", "activity_id": "act_b1_2026-11", "member_id": "m1", "leave_key": "act_b1_2026-11:m1",
             "state": "pending", "requested_at": "2026-11-02T00:00:00.000Z"}
    store.request_leave(leave)
    with pytest.raises(Conflict) as refused:
        store.request_leave({**leave, "_id": "lv_2"})           # one request per member and activity
    assert refused.value.code == "LEAVE_EXISTS"
    store.decide_leave(leave, {"state": "approved"}, events.LEAVE_DECIDED.build(
        "t1", activity_id="act_b1_2026-11", branch_id="b1", member_id="m1", leave_id="lv_1", decision="approved",
        decided_by="acc"))
    assert store.activity("act_b1_2026-11")["on_leave"] == {"m1": True} and store.changed == ["act_b1_2026-11"]
    with pytest.raises(Conflict) as refused:
        store.decide_leave(leave, {"state": "refused"}, {})
    assert refused.value.code == "LEAVE_ALREADY_DECIDED" and store.leave("lv_1")["state"] == "approved"


def test_a_freeze_changes_only_the_approved_unfrozen_activities_and_clears_their_schedule(store):
    store.db.activities.insert_many([activity("b1", "approved"), activity("b2", "closed")])
    store.db.schedule.insert_many([{"_id": f"freeze:act_{b}_2026-11", "kind": "freeze",
                                    "activity_id": f"act_{b}_2026-11", "due_at": "2026-11-20T00:20:00.000Z"}
                                   for b in ("b1", "b2")])
    roster = {"m1": {"name": "张三", "mobile": False}}
    frozen = store.freeze_rosters([(f"act_{b}_2026-11", roster, event(f"act_{b}_2026-11")) for b in ("b1", "b2")],
                                  "2026-11-20T00:20:00.000Z", ["act_b1_2026-11", "act_b2_2026-11"])
    assert frozen == ["act_b1_2026-11"] and store.changed == ["act_b1_2026-11"]
    assert store.activity("act_b1_2026-11")["roster"] == roster and store.activity("act_b2_2026-11")["roster"] is None
    assert store.db.schedule.count_documents({}) == 0
    [entry] = store.db.outbox.find()                      # one bundle, with the frozen activity's event only
    [(_, _, body, count)] = entry["messages"]
    assert count == 1 and "act_b1_2026-11" in body and "act_b2_2026-11" not in body


def test_a_freeze_read_before_a_meeting_moved_later_leaves_it_unfrozen_and_scheduled_at_its_new_time(store):
    """The sweep reads a meeting due for its freeze; a reschedule commits before the sweep's write: the freeze,
    guarded by the stored sign-in time, changes nothing, and the reschedule's new entry stays for later."""
    meeting = {**activity("b1", "approved"), "checkin_opens_at": PLAN["checkin_opens_at"]}
    store.db.activities.insert_one(meeting)
    store.db.schedule.insert_one({"_id": "freeze:act_b1_2026-11", "kind": "freeze", "activity_id": "act_b1_2026-11",
                                  "due_at": "2026-11-20T00:20:00.000Z"})
    store.reschedule_meeting(meeting, {"checkin_opens_at": "2026-11-21T00:30:00.000Z",
                                       "checkout_closes_at": "2026-11-21T04:00:00.000Z"},
                             {"at": "2026-11-19T00:00:00.000Z", "by": "acc", "reason": "", "changes": []},
                             "2026-11-21T00:20:00.000Z", event("act_b1_2026-11"))
    frozen = store.freeze_rosters([("act_b1_2026-11", {"m1": {"name": "张三", "mobile": False}}, None)],
                                  "2026-11-20T00:20:01.000Z", ["act_b1_2026-11"], opens_by="2026-11-20T00:30:01.000Z")
    assert frozen == [] and store.activity("act_b1_2026-11")["roster_frozen_at"] is None
    assert {e["_id"]: e["due_at"] for e in store.db.schedule.find()} == {
        "freeze:act_b1_2026-11": "2026-11-21T00:20:00.000Z", "close:act_b1_2026-11": "2026-11-21T04:00:00.000Z"}
    assert len(store.activity("act_b1_2026-11")["reschedules"]) == 1
    with pytest.raises(Conflict) as stale:            # a second writer still holding the old plan writes nothing
        store.cancel_meeting(meeting, {"reason": "x", "cancelled_by": "acc",
                                       "cancelled_at": "2026-11-19T00:00:00.000Z"}, event("act_b1_2026-11"))
    assert stale.value.code == "ACTIVITY_CHANGED" and store.activity("act_b1_2026-11")["status"] == "approved"


def test_a_new_time_lapses_the_leave_in_the_reschedules_transaction_and_a_stale_writer_writes_nothing(store):
    """Pending and approved leave lapse with the reschedule that moves the meeting's time, in its transaction: a
    reschedule, a decision or a request read before another write changes nothing."""
    meeting = {**activity("b1", "approved"), "checkin_opens_at": PLAN["checkin_opens_at"],
               "checkout_closes_at": PLAN["checkout_closes_at"], "on_leave": {"m1": True}}
    store.db.activities.insert_one(meeting)
    asked = {"m1": "approved", "m2": "pending", "m3": "refused"}
    store.db.leaves.insert_many([{"_id": f"lv_{m}", "activity_id": "act_b1_2026-11", "member_id": m,
                                  "leave_key": f"act_b1_2026-11:{m}", "state": state, "reason": "出差",
                                  "requested_at": "2026-11-02T00:00:00.000Z"} for m, state in asked.items()])
    moved = {"checkin_opens_at": "2026-11-20T02:30:00.000Z", "checkout_closes_at": "2026-11-20T06:00:00.000Z"}
    change = {"at": "2026-11-19T00:00:00.000Z", "by": "acc", "reason": "",
              "changes": [{"field": "start_at", "before": "x", "after": "y"}]}
    lapse = {"state": "lapsed", "lapsed_at": "2026-11-19T00:00:00.000Z", "lapsed_reason": "会议已改期"}

    def states() -> dict[str, str]:
        return {leave["member_id"]: leave["state"] for leave in store.db.leaves.find({})}

    stale = {**meeting, "checkin_opens_at": "2026-11-19T00:30:00.000Z"}     # read before another reschedule
    with pytest.raises(Conflict) as lost:
        store.reschedule_meeting(stale, moved, change, "2026-11-20T02:20:00.000Z", event("act_b1_2026-11"),
                                 lapse=lapse)
    assert lost.value.code == "ACTIVITY_CHANGED" and states() == asked
    assert store.activity("act_b1_2026-11")["on_leave"] == {"m1": True} and store.db.outbox.count_documents({}) == 0

    pending = store.leave("lv_m2")
    store.reschedule_meeting(meeting, moved, change, "2026-11-20T02:20:00.000Z", event("act_b1_2026-11"), lapse=lapse)
    assert states() == {"m1": "lapsed", "m2": "lapsed", "m3": "refused"}
    assert {k: store.leave("lv_m1")[k] for k in ("lapsed_at", "lapsed_reason", "lapsed_from")} == {
        "lapsed_at": "2026-11-19T00:00:00.000Z", "lapsed_reason": "会议已改期", "lapsed_from": "approved"}
    assert store.leave("lv_m2")["lapsed_from"] == "pending" and "lapsed_at" not in store.leave("lv_m3")
    assert store.activity("act_b1_2026-11")["on_leave"] == {} and store.changed == ["act_b1_2026-11"]

    with pytest.raises(Conflict) as late:          # the secretary's approval read the request before it lapsed
        store.decide_leave(pending, {"state": "approved"}, None)
    assert late.value.code == "LEAVE_ALREADY_DECIDED" and store.activity("act_b1_2026-11")["on_leave"] == {}
    again = {**pending, "reason": "周四仍在外地", "requested_at": "2026-11-19T01:00:00.000Z"}
    with pytest.raises(Conflict) as old_time:      # asked against the meeting as it was before the reschedule
        store.request_leave(again, meeting, store.leave("lv_m2"))
    assert old_time.value.code == "ACTIVITY_CHANGED" and store.leave("lv_m2")["state"] == "lapsed"
    lapsed = store.leave("lv_m2")
    store.request_leave(again, store.activity("act_b1_2026-11"), lapsed)
    assert store.leave("lv_m2") == again                # replaced whole: the lapse is the meeting's history now
    with pytest.raises(Conflict) as twice:         # a second request that read the lapsed one too
        store.request_leave({**again, "reason": "再请一次"}, store.activity("act_b1_2026-11"), lapsed)
    assert twice.value.code == "LEAVE_EXISTS" and store.leave("lv_m2")["reason"] == "周四仍在外地"


def test_a_theme_issues_its_events_in_bundles_and_only_once(store, monkeypatch):
    monkeypatch.setattr(store_module, "ISSUE_BUNDLE", 2)
    activities = [activity(f"b{n}") for n in range(5)]
    issued = [events.ACTIVITY_ISSUED.build(
        "t1", activity_id=a["_id"], theme_id="thm_1", branch_id=a["branch_id"], branch_name="", org_path=[],
        field="", category="", month="2026-11", title="", due_from="", due_to="", issued_by="acc") for a in activities]
    store.issue_theme({"_id": "thm_1", "tenant_id": "t1", "org_id": "root"}, activities, issued)
    bundles = sorted(entry["messages"][0][3] for entry in store.db.outbox.find())
    assert bundles == [1, 2, 2] and store.db.activities.count_documents({}) == 5
    with pytest.raises(Conflict) as refused:
        store.issue_theme({"_id": "thm_2", "tenant_id": "t1", "org_id": "root"}, activities[:1], issued[:1])
    assert refused.value.code == "THEME_ALREADY_ISSUED"
    assert store.db.themes.count_documents({}) == 1 and store.db.outbox.count_documents({}) == 3
