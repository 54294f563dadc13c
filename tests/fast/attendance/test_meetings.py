"""三会一课's use cases through the service's entry points with a fake store and identity: who may plan, what a planned
meeting is (an approved activity of its own kind with its schedule, no event), and the ledger computed from the
branches' aggregates alone (never the meetings)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from servicekit.errors import InvalidArgument, PermissionDenied
from servicekit.timestamps import stamp
from tests.fast.attendance.fakes import MEMBER, NOW, PATH, SECRETARY, SUPERIOR

BRANCH = {"id": "b1", "tenant_id": "t1", "kind": "branch", "name": "第一支部", "path_ids": PATH, "field": "rural"}
FIELDS = {"branch_id": "b1", "meeting_type": "lesson", "date": "2026-11-20", "start_time": "14:00", "end_time": "15:00",
          "venue_name": "党员活动室", "venue_lat": 33.0676, "venue_lng": 107.0238}


@pytest.fixture
def meetings_world(store, identity):
    identity.get_org.side_effect = lambda scope, org_id: BRANCH if org_id == "b1" else {
        "id": org_id, "tenant_id": "t1", "kind": "county", "path_ids": PATH[:PATH.index(org_id) + 1]}
    identity.branch_meeting_facts.side_effect = lambda tenant_id, branch_ids: {
        b: {"full_members": 3, "groups": 0} for b in branch_ids}
    store.meeting_settings.return_value = None
    store.plan_meeting.side_effect = lambda meeting, events, freeze_at: meeting
    return store


def test_the_secretary_plans_an_approved_activity_of_the_meeting_kind_with_no_event(service, meetings_world):
    meeting = service.plan_meeting(scope=SECRETARY, **FIELDS)
    stored, events, freeze_at = meetings_world.plan_meeting.call_args.args
    assert events == []
    assert (stored["status"], stored["meeting_type"], stored["month"], stored["branch_id"]) == (
        "approved", "lesson", "", "b1")
    assert stored["_id"].startswith("mtg_") and stored["branch_month"] == f"b1:{stored['_id']}"
    assert freeze_at == stamp(NOW.replace(day=20, hour=5, minute=20))     # 14:00 Beijing − 40 min, in UTC
    assert (meeting["state"], meeting["title"], meeting["type_label"]) == ("planned", "党课", "党课")
    kept = meetings_world.keep_branch_facts.call_args.args
    assert kept[1] == {"b1": {"full_members": 3, "groups": 0}}


@pytest.mark.parametrize("scope, error, code", [(MEMBER, PermissionDenied, "NOT_BRANCH_SECRETARY")])
def test_a_member_may_not_plan(service, meetings_world, scope, error, code):
    with pytest.raises(error) as refused:
        service.plan_meeting(scope=scope, **FIELDS)
    assert refused.value.code == code
    meetings_world.plan_meeting.assert_not_called()


def test_a_committee_meeting_needs_a_committee(service, meetings_world):
    with pytest.raises(InvalidArgument) as refused:
        service.plan_meeting(scope=SUPERIOR, **{**FIELDS, "meeting_type": "committee"})
    assert (refused.value.code, refused.value.field) == ("NO_BRANCH_COMMITTEE", "meeting_type")
    meetings_world.plan_meeting.assert_not_called()


def test_the_ledger_reads_the_branches_aggregates_never_the_meetings(service, meetings_world, identity):
    branches = [{"org_id": f"b{i}", "name": f"第{i}支部", "path_ids": ["root", "county", f"b{i}"],
                 "field": "rural" if i % 2 else "school"} for i in range(1, 5)]
    identity.branches_under.return_value = {"branches": branches}
    fresh = stamp(NOW - timedelta(hours=1))
    meetings_world.ledger_entries.return_value = {
        "b1": {"held": {"lesson": {"2026-11": 1}, "assembly": {"2026-10": 1}}, "full_members": 2, "groups": 0,
               "facts_at": fresh},
        "b2": {"held": {}, "full_members": 9, "groups": 1, "facts_at": fresh},
    }
    ledger = service.get_meeting_ledger(scope=SUPERIOR, org_id="county", month="2026-11")
    meetings_world.meetings_in.assert_not_called()
    meetings_world.ledger_entries.assert_called_once_with(["root", "county"])
    # b3 and b4 had no facts: identity is asked for them only, in one call
    identity.branch_meeting_facts.assert_called_once_with(tenant_id="t1", branch_ids=["b3", "b4"])
    rows = {row["branch_id"]: row for row in ledger["rows"]}
    b1 = {item["type"]: item["state"] for item in rows["b1"]["items"]}
    assert b1 == {"assembly": "ok", "lesson": "ok", "life": "yellow"}       # 2026 more than half gone
    assert {item["type"] for item in rows["b2"]["items"]} == {"assembly", "committee", "group", "lesson", "life"}
    # on 1 November 2026 (the fake clock): November's committee and group meetings are pending, Q4 not half gone
    assert {item["type"]: item["state"] for item in rows["b2"]["items"]}["committee"] == "pending"
    assert (ledger["branches"], ledger["behind"]) == (4, 4)
    assert {f["field"]: (f["branches"], f["behind"]) for f in ledger["by_field"]} == {"rural": (2, 2),
                                                                                     "school": (2, 2)}
    behind = service.get_meeting_ledger(scope=SUPERIOR, org_id="county", month="2026-11", state="ok")
    assert behind["rows"] == [] and behind["branches"] == 4


def test_bad_ledger_arguments_are_refused(service, meetings_world, identity):
    identity.branches_under.return_value = {"branches": []}
    for fields, code in (({"month": "2026-13"}, "MONTH_INVALID"), ({"state": "green"}, "UNKNOWN_VALUE"),
                         ({"page_size": -1}, "PAGE_SIZE_INVALID")):
        with pytest.raises(InvalidArgument) as refused:
            service.get_meeting_ledger(scope=SUPERIOR, org_id="county", **fields)
        assert refused.value.code == code
