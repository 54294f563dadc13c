"""三会一课 against the real attendance and identity services, broker and store: a meeting planned by the secretary is
held with the themed day's QR sign-in (the same scan rules), closes as held, counts in its branch's ledger
aggregate, publishes meeting_held and meeting_recorded (and none of the themed day's events), is recorded once, late
records are back-filled with who and why; what a branch owes follows identity's full members and party groups; bad
input and other subtrees change nothing."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, Rejected
from servicekit.timestamps import parse_stamp
from tests.support.meetings import meeting_branch
from tests.support.proofs import acting_as

pytestmark = pytest.mark.integration


@pytest.fixture
def branch(rpc, city, attendance_service):
    yield from meeting_branch(rpc, city, members=3)


def outbox_types(db, meeting_id: str) -> list[str]:
    found = []
    for entry in db.outbox.find({}):
        text = str(entry)
        if meeting_id in text:
            found += [name for name in ("meeting_held", "meeting_recorded", "checkin_recorded", "checkout_recorded",
                                        "roster_frozen", "activity_closed", "leave_decided", "scan_flagged")
                      if f"'{name}'" in text or f'\\"{name}\\"' in text or f'"{name}"' in text]
    return found


def ledger_row(rpc, scope, org_id, month, branch_id):
    ledger = rpc.attendance.get_meeting_ledger(scope=scope, org_id=org_id, month=month, page_size=500)
    return ledger, next(row for row in ledger["rows"] if row["branch_id"] == branch_id)


def test_a_lesson_held_with_qr_sign_in_is_counted_recorded_and_published(rpc, branch, db):
    meeting = branch.plan("lesson")
    assert (meeting["state"], meeting["type_label"], meeting["radius_m"]) == ("planned", "党课", 300)
    # a themed-day listing never shows it
    assert all(a["id"] != meeting["id"] for a in
               rpc.attendance.list_activities(scope=branch.secretary, org_id=branch.branch["id"])["activities"])
    with pytest.raises(Conflict) as early:
        rpc.attendance.record_meeting(scope=branch.secretary, meeting_id=meeting["id"], host="王书记",
                                      recorder="李委员", topics=["学习党章"])
    assert early.value.code == "MEETING_NOT_HELD"
    # leave before the start, decided by the secretary: the themed day's operations, the meeting's id
    leave = rpc.attendance.request_leave(scope=branch.member_scopes[1], activity_id=meeting["id"], reason="出差")
    rpc.attendance.decide_leave(scope=branch.secretary, leave_id=leave["id"], decision="approved")

    branch.at("start_at", -10)
    with pytest.raises(Rejected) as far:            # the same fence as the themed day
        branch.scan(branch.member_scopes[0], "in", distance_m=400)
    assert far.value.code == "OUTSIDE_FENCE"
    signed = branch.scan(branch.member_scopes[0], "in", mock_location=True)
    assert signed["record"]["flags"] == ["MOCK_LOCATION"]            # and the same anti-fraud flags
    branch.at("start_at", 15)
    with pytest.raises(Rejected) as late:
        branch.scan(branch.member_scopes[2], "in")
    assert late.value.code == "CHECKIN_LATE"
    branch.at("end_at", 2)
    branch.scan(branch.member_scopes[0], "out")
    branch.at("checkout_closes_at", 1)

    held = branch.get()
    assert held["state"] == "held"
    assert held["attendance"] == {"expected": 3, "present": 1, "excused": 1, "absent": 1}
    assert branch.get(branch.member_scopes[0])["my_status"] == "present"
    month = meeting["date"][:7]
    entry = db.meeting_ledger.find_one({"_id": branch.branch["id"]})
    assert entry["held"] == {"lesson": {month: 1}}

    recorded = rpc.attendance.record_meeting(scope=branch.secretary, meeting_id=meeting["id"], host="王书记",
                                             recorder="李委员", topics=["学习新修订的党章", " "],
                                             resolutions=["每月集中学习一次"], minutes="书记领学党章总纲。")
    assert recorded["state"] == "recorded"
    record = recorded["record"]
    assert (record["host"], record["topics"], record["backfilled"]) == ("王书记", ["学习新修订的党章"], False)
    assert record["recorded_by"] == branch.secretary["account_id"]
    with pytest.raises(Conflict) as again:
        rpc.attendance.record_meeting(scope=branch.secretary, meeting_id=meeting["id"], host="王书记",
                                      recorder="李委员", topics=["再记一次"])
    assert again.value.code == "MEETING_ALREADY_RECORDED"

    types = outbox_types(db, meeting["id"])
    assert types.count("meeting_held") == 1 and types.count("meeting_recorded") == 1
    assert not {"checkin_recorded", "checkout_recorded", "roster_frozen", "activity_closed", "leave_decided",
                "scan_flagged"} & set(types), types

    ledger, row = ledger_row(rpc, branch.county_admin, branch.county["id"], month, branch.branch["id"])
    lesson = next(item for item in row["items"] if item["type"] == "lesson")
    assert (lesson["held"], lesson["required"], lesson["state"]) == (1, 1, "ok")
    assert {item["type"] for item in row["items"]} == {"assembly", "lesson", "life"}   # 3 full members, no groups
    assert ledger["branches"] == 2


def test_a_meeting_no_one_signed_in_to_is_not_held_and_not_counted(rpc, branch, db):
    meeting = branch.plan("assembly")
    branch.at("checkout_closes_at", 1)
    assert branch.get()["state"] == "not_held"
    assert db.meeting_ledger.find_one({"_id": branch.branch["id"], "held": {"$exists": True}}) is None
    assert "meeting_held" not in outbox_types(db, meeting["id"])
    with pytest.raises(Conflict) as refused:
        rpc.attendance.record_meeting(scope=branch.secretary, meeting_id=meeting["id"], host="王书记",
                                      recorder="李委员", topics=["学习党章"])
    assert refused.value.code == "MEETING_NOT_HELD"


def test_a_record_entered_after_the_configured_days_is_back_filled_with_who_and_why(rpc, branch, city):
    rpc.attendance.set_meeting_settings(scope=city.admin, backfill_after_days=2)
    branch.plan("life")
    branch.hold(present=2)
    held_on = parse_stamp(branch.meeting["start_at"])
    offset = (held_on + timedelta(days=4) - datetime.now(timezone.utc)).total_seconds()
    rpc.attendance.set_clock_offset(seconds=offset)
    fields = {"meeting_id": branch.meeting["id"], "host": "王书记", "recorder": "李委员", "topics": ["对照检查"]}
    with pytest.raises(InvalidArgument) as missing:
        rpc.attendance.record_meeting(scope=branch.secretary, **fields)
    assert (missing.value.code, missing.value.field) == ("BACKFILL_REASON_REQUIRED", "backfill_reason")
    assert branch.get()["state"] == "held"                         # nothing written
    recorded = rpc.attendance.record_meeting(scope=branch.secretary, backfill_reason="记录人外出培训", **fields)
    assert (recorded["record"]["backfilled"], recorded["record"]["backfill_reason"]) == (True, "记录人外出培训")
    assert recorded["record"]["recorded_by"] == branch.secretary["account_id"]
    listed = rpc.attendance.list_meetings(scope=branch.county_admin, org_id=branch.county["id"], state="recorded")
    assert [m["id"] for m in listed["meetings"]] == [branch.meeting["id"]]


def test_committee_and_group_meetings_are_owed_only_by_branches_that_have_them(rpc, branch, city):
    with pytest.raises(InvalidArgument) as no_committee:
        branch.plan("committee")
    assert no_committee.value.code == "NO_BRANCH_COMMITTEE"
    with pytest.raises(InvalidArgument) as no_groups:
        branch.plan("group")
    assert no_groups.value.code == "NO_PARTY_GROUPS"
    for index in range(4):                                 # 3 + 4 = 7 full members: a committee
        city.add_member(branch.branch, f"委员{index}")
    rpc.identity.create_org(scope=city.admin, parent_id=branch.branch["id"], name="第一党小组", kind="group")
    assert branch.plan("committee")["meeting_type"] == "committee"
    assert branch.plan("group")["meeting_type"] == "group"
    _, row = ledger_row(rpc, branch.county_admin, branch.county["id"], branch.month, branch.branch["id"])
    assert {item["type"] for item in row["items"]} == {"assembly", "committee", "group", "lesson", "life"}
    # a smaller committee threshold for the tenant makes the neighbour owe one with 3 full members
    neighbour = city.branches[0][1]
    for index in range(3):
        city.add_member(neighbour, f"邻支部党员{index}")
    rpc.attendance.set_meeting_settings(scope=city.admin, committee_min_full_members=3,
                                        frequencies={"lesson": "monthly"})
    settings = rpc.attendance.get_meeting_settings(scope=branch.secretary)
    assert (settings["committee_min_full_members"], settings["frequencies"]["lesson"]) == (3, "monthly")
    # the facts are kept for hours; a planned meeting refreshes its branch's
    rpc.attendance.plan_meeting(scope=city.admin, branch_id=neighbour["id"], meeting_type="committee",
                                date=branch.day.isoformat(), start_time="16:00", end_time="17:00",
                                venue_name="会议室", venue_lat=33.0676, venue_lng=107.0238)
    _, row = ledger_row(rpc, branch.county_admin, branch.county["id"], branch.month, neighbour["id"])
    assert "committee" in {item["type"] for item in row["items"]}
    lesson = next(item for item in row["items"] if item["type"] == "lesson")
    assert lesson["period"] == branch.month


def test_bad_input_and_other_subtrees_change_nothing(rpc, branch, city, other_city, db):
    before = db.activities.count_documents({"meeting_type": {"$exists": True}})
    bad = [({"meeting_type": "lecture"}, "MEETING_TYPE_INVALID"), ({"date": "2020-01-01"}, "PLAN_IN_PAST"),
           ({"end_time": "13:00"}, "TIME_RANGE_INVALID"), ({"venue_lat": "33.1"}, "INVALID_TYPE"),
           ({"venue_crs": "mars"}, "VENUE_CRS_INVALID"), ({"title": "长" * 101}, "TOO_LONG")]
    for overrides, code in bad:
        with pytest.raises(InvalidArgument) as refused:
            branch.plan(**overrides)
        assert refused.value.code == code, overrides
    with pytest.raises(InvalidArgument) as committee:
        rpc.attendance.plan_meeting(scope=city.admin, branch_id=branch.county["id"], meeting_type="lesson",
                                    date=branch.day.isoformat(), start_time="14:00", end_time="15:00",
                                    venue_name="会议室", venue_lat=33.0, venue_lng=107.0)
    assert committee.value.code == "NOT_A_BRANCH"
    for scope, error, code in ((branch.member_scopes[0], PermissionDenied, "NOT_BRANCH_SECRETARY"),
                               (city.county_admins[1], NotFound, "ORG_NOT_FOUND"),
                               (other_city.admin, NotFound, "ORG_NOT_FOUND")):
        with pytest.raises(error) as refused:
            rpc.attendance.plan_meeting(scope=scope, branch_id=branch.branch["id"], meeting_type="lesson",
                                        date=branch.day.isoformat(), start_time="14:00", end_time="15:00",
                                        venue_name="会议室", venue_lat=33.0, venue_lng=107.0)
        assert refused.value.code == code
    assert db.activities.count_documents({"meeting_type": {"$exists": True}}) == before
    meeting = branch.plan("lesson")
    for scope in (city.county_admins[1], other_city.admin):
        with pytest.raises(NotFound) as hidden:
            rpc.attendance.get_meeting(scope=scope, meeting_id=meeting["id"])
        assert hidden.value.code == "MEETING_NOT_FOUND"
    with pytest.raises(NotFound):           # a themed day's id is no meeting
        rpc.attendance.get_meeting(scope=branch.secretary, meeting_id=f"act_{branch.branch['id']}_{branch.month}")
    with pytest.raises(PermissionDenied) as member:
        rpc.attendance.get_meeting_ledger(scope=branch.member_scopes[0], org_id=branch.branch["id"])
    assert member.value.code == "NOT_ORG_MANAGER"
    with pytest.raises(PermissionDenied) as not_city:
        rpc.attendance.set_meeting_settings(scope=branch.county_admin, backfill_after_days=9)
    assert not_city.value.code == "NOT_CITY_ADMIN"
    with pytest.raises(InvalidArgument) as weekly:
        rpc.attendance.set_meeting_settings(scope=city.admin, frequencies={"lesson": "weekly"})
    assert weekly.value.code == "FREQUENCY_INVALID"
    assert db.meeting_settings.find_one({"_id": city.tenant_id}) is None
    with acting_as("attendance"):
        rpc.attendance.run_sweeps()
