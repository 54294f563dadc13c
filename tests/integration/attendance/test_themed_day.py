"""A themed party day from issue to closing, on the real broker and store."""
from __future__ import annotations

from datetime import timedelta

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, Rejected
from tests.support.attendance import ThemedDay, photo, png_declaring

pytestmark = pytest.mark.integration


@pytest.fixture
def day(rpc, city, attendance_service):
    return ThemedDay(rpc, city).prepared()


def test_issuing_creates_one_planning_activity_per_branch_of_the_subtree(rpc, city, attendance_service):
    themed = ThemedDay(rpc, city)
    issued = themed.issue()
    assert issued["activities_created"] == 2                      # the county's two branches
    assert issued["theme"]["radius_m"] == 300
    assert len(issued["theme"]["required_actions"]) == 6
    listed = rpc.attendance.list_activities(scope=city.admin, org_id=city.root["id"], month=themed.month)
    assert {a["branch_id"] for a in listed["activities"]} == {b["id"] for b in city.branches[0]}
    assert {a["status"] for a in listed["activities"]} == {"planning"}
    with pytest.raises(Conflict) as again:
        themed.issue()
    assert again.value.code == "THEME_ALREADY_ISSUED"


def test_a_county_admin_cannot_issue_to_another_county_nor_a_member_issue_at_all(rpc, city, attendance_service):
    themed = ThemedDay(rpc, city)
    with pytest.raises(NotFound):
        rpc.attendance.issue_theme(scope=city.county_admins[0], org_id=city.counties[1]["id"], month=themed.month,
                                   title="主题", due_from=themed.day.isoformat(), due_to=themed.day.isoformat())
    with pytest.raises((PermissionDenied, NotFound)):
        rpc.attendance.issue_theme(scope=themed.member_scopes[0], org_id=themed.branch["id"], month=themed.month,
                                   title="主题", due_from=themed.day.isoformat(), due_to=themed.day.isoformat())


def test_plan_review_rejects_with_a_reason_then_approves(rpc, city, attendance_service):
    themed = ThemedDay(rpc, city)
    themed.issue()
    submitted = themed.submit()
    assert submitted["status"] == "submitted" and submitted["plan"]["outside_due_window"] is False
    with pytest.raises(InvalidArgument) as no_reason:
        rpc.attendance.review_plan(scope=themed.county_admin, activity_id=themed.activity["id"], decision="rejected")
    assert no_reason.value.code == "REQUIRED"
    with pytest.raises(PermissionDenied):
        rpc.attendance.review_plan(scope=themed.secretary, activity_id=themed.activity["id"], decision="approved")
    rejected = rpc.attendance.review_plan(scope=themed.county_admin, activity_id=themed.activity["id"],
                                          decision="rejected", reason="缺少自选动作说明")
    assert rejected["status"] == "planning" and rejected["review"]["reason"] == "缺少自选动作说明"
    outside = themed.submit(date=(themed.day + timedelta(days=5)).isoformat())
    assert outside["plan"]["outside_due_window"] is True            # flagged for the reviewer, not refused
    approved = themed.approve(radius_m=500)
    assert approved["status"] == "approved" and approved["radius_m"] == 500


def test_a_plan_in_the_past_or_with_a_bad_venue_is_refused_and_nothing_is_stored(rpc, city, attendance_service):
    themed = ThemedDay(rpc, city)
    themed.issue()
    with pytest.raises(InvalidArgument) as bad_venue:
        themed.submit(venue_lat=123.0)
    assert bad_venue.value.code == "COORDINATES_INVALID"
    with pytest.raises(InvalidArgument) as past:
        themed.submit(date="2020-01-01")
    assert past.value.code == "PLAN_IN_PAST"
    assert rpc.attendance.get_activity(scope=themed.secretary, activity_id=themed.activity["id"])["status"] == "planning"


def test_sign_in_inside_the_fence_counts_once_and_is_refused_outside_late_and_for_others(rpc, day):
    member, other = day.member_scopes[0], day.member_scopes[1]
    with pytest.raises(Rejected) as early:
        day.scan(member, "in")
    assert early.value.code == "ACTIVITY_NOT_OPEN"                  # roster not frozen: sign-in not open
    day.at("start_at", -5)
    first = day.scan(member, "in", distance_m=120)
    assert first["repeat"] is False and first["record"]["member_id"] == member["member_id"]
    assert 100 < first["record"]["distance_m"] < 140
    again = day.scan(member, "in", distance_m=10)
    assert again["repeat"] is True and again["record"]["id"] == first["record"]["id"]
    with pytest.raises(Rejected) as far:
        day.scan(other, "in", distance_m=400)
    assert far.value.code == "OUTSIDE_FENCE"
    with pytest.raises(Rejected) as poor:
        day.scan(other, "in", accuracy_m=500)
    assert poor.value.code == "ACCURACY_TOO_POOR"
    with pytest.raises(Rejected) as early_out:
        day.scan(member, "out")
    assert early_out.value.code == "CHECKOUT_EARLY"
    day.at("start_at", 11)                                          # grace is 10 minutes
    with pytest.raises(Rejected) as late:
        day.scan(other, "in")
    assert late.value.code == "CHECKIN_LATE"
    scans = rpc_scans(day, day.secretary)
    assert [s["member_id"] for s in scans] == [member["member_id"]]  # refused scans are stored nowhere


def rpc_scans(day, scope):
    return day.rpc.attendance.list_scans(scope=scope, activity_id=day.activity["id"])["scans"]


def test_tokens_forged_foreign_or_expired_are_refused(rpc, city, day):
    day.at("start_at", -5)
    member = day.member_scopes[0]
    token = day.token("in")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(Rejected) as bad:
        day.scan(member, "in", token=forged)
    assert bad.value.code == "TOKEN_FORGED"
    rotating = day.token("in", mode="rotating")
    day.at("start_at", -3)                                          # four 30-second steps later
    with pytest.raises(Rejected) as expired:
        day.scan(member, "in", token=rotating)
    assert expired.value.code == "TOKEN_EXPIRED"
    assert day.scan(member, "in", token=day.token("in", mode="rotating"))["repeat"] is False


def test_sign_out_needs_a_sign_in_and_closing_gives_every_member_one_status(rpc, day):
    present, incomplete, absent = day.member_scopes
    day.at("start_at", -10)
    day.scan(present, "in")
    day.scan(incomplete, "in")
    day.at("end_at", 5)
    with pytest.raises(Rejected) as needs_in:
        day.scan(absent, "out")
    assert needs_in.value.code == "CHECKIN_REQUIRED"
    day.scan(present, "out")
    reflection = rpc.attendance.post_reflection(scope=present, activity_id=day.activity["id"],
                                                text="重温入党誓词，深受教育。")
    assert reflection["member_id"] == present["member_id"]
    with pytest.raises(Conflict):
        rpc.attendance.post_reflection(scope=incomplete, activity_id=day.activity["id"], text="未签退")
    liked = rpc.attendance.like_activity(scope=day.mobile_scopes[0], activity_id=day.activity["id"])
    assert liked["likes"] == 1 and liked["repeat"] is False
    day.at("checkout_closes_at", 1)
    closed = rpc.attendance.get_activity(scope=day.secretary, activity_id=day.activity["id"])
    assert closed["status"] == "closed"
    assert closed["totals"] == {**closed["totals"], "roster": 4, "on_site_expected": 3, "present": 1,
                                "incomplete": 1, "absent": 1, "mobile": 1, "mobile_liked": 1, "reflections": 1}
    mine = rpc.attendance.get_activity(scope=absent, activity_id=day.activity["id"])
    assert mine["my_status"] == "absent"
    assert rpc.attendance.verify_chain(scope=day.county_admin, activity_id=day.activity["id"])["ok"] is True


def test_tampering_with_a_stored_record_is_detected(rpc, day, mongo_uri):
    import pymongo
    from servicekit.process.config import database_name

    member = day.member_scopes[0]
    day.at("start_at", -5)
    record = day.scan(member, "in")["record"]
    day.scan(day.member_scopes[1], "in")
    db = pymongo.MongoClient(mongo_uri)[database_name("attendance")]
    db.records.update_one({"_id": record["id"]}, {"$set": {"content.at": "2000-01-01T00:00:00.000Z"}})
    report = rpc.attendance.verify_chain(scope=day.secretary, activity_id=day.activity["id"])
    assert report["ok"] is False
    assert {"seq": record["seq"], "problem": "changed"} in [{k: p[k] for k in ("seq", "problem")}
                                                            for p in report["problems"]]


def test_approved_leave_makes_a_member_excused_and_refuses_their_scan(rpc, day, mongo_uri):
    import pymongo
    from servicekit.process.config import database_name
    from servicekit.timestamps import stamp

    def scan_changed_at():      # what other instances' scan desks check for (services.attendance.store)
        return pymongo.MongoClient(mongo_uri)[database_name("attendance")].activities.find_one(
            {"_id": day.activity["id"]})["scan_changed_at"]

    member = day.member_scopes[2]
    leave = rpc.attendance.request_leave(scope=member, activity_id=day.activity["id"], reason="出差")
    with pytest.raises(PermissionDenied):
        rpc.attendance.decide_leave(scope=day.member_scopes[0], leave_id=leave["id"], decision="approved")
    before_decision = stamp()
    decided = rpc.attendance.decide_leave(scope=day.secretary, leave_id=leave["id"], decision="approved")
    assert decided["state"] == "approved" and scan_changed_at() >= before_decision
    day.at("start_at", -5)
    with pytest.raises(Rejected) as on_leave:
        day.scan(member, "in")
    assert on_leave.value.code == "ON_LEAVE"
    before_closing = stamp()
    day.at("checkout_closes_at", 1)
    assert rpc.attendance.get_activity(scope=member, activity_id=day.activity["id"])["my_status"] == "excused"
    assert scan_changed_at() >= before_closing


def test_suspicious_scans_are_counted_and_flagged(rpc, day):
    day.at("start_at", -5)
    first = day.scan(day.member_scopes[0], "in", device_id="shared-phone")
    second = day.scan(day.member_scopes[1], "in", device_id="shared-phone", mock_location=True)
    assert first["record"]["flags"] == []
    assert second["record"]["flags"] == ["MOCK_LOCATION", "SHARED_DEVICE"]
    flagged = rpc.attendance.list_scans(scope=day.secretary, activity_id=day.activity["id"], flagged_only=True)
    assert [s["member_id"] for s in flagged["scans"]] == [day.member_scopes[1]["member_id"]]


def test_members_of_other_branches_and_tenants_cannot_see_or_scan(rpc, day, other_city):
    other_branch_member = day.city.member_login(day.city.add_member(day.city.branches[1][0], "外县党员"), "outsider")
    with pytest.raises(NotFound):
        rpc.attendance.get_activity(scope=other_branch_member, activity_id=day.activity["id"])
    with pytest.raises(NotFound):
        rpc.attendance.get_activity(scope=day.city.county_admins[1], activity_id=day.activity["id"])
    with pytest.raises(NotFound):
        rpc.attendance.get_activity(scope=other_city.admin, activity_id=day.activity["id"])
    day.at("start_at", -5)
    with pytest.raises(Rejected) as not_on_roster:
        day.scan(other_branch_member, "in")
    assert not_on_roster.value.code == "NOT_ON_ROSTER"
    foreign_member = other_city.member_login(other_city.add_member(other_city.branches[0][0], "外市党员"), "foreign")
    with pytest.raises(Rejected) as foreign:
        day.scan(foreign_member, "in")
    assert foreign.value.code == "TOKEN_FOREIGN"
    with pytest.raises(PermissionDenied) as admin_scan:
        day.scan(other_city.admin, "in")
    assert admin_scan.value.code == "MEMBER_ONLY"


def test_malformed_scans_get_a_clear_error_and_store_nothing(rpc, day):
    day.at("start_at", -5)
    member = day.member_scopes[0]
    cases = [({"lat": 91.0}, "COORDINATES_INVALID"), ({"accuracy_m": -1}, "ACCURACY_INVALID"),
             ({"taken_at": "1970-01-01T00:00:00Z"}, "FIX_TIME_INVALID"), ({"device_id": ""}, "DEVICE_ID_INVALID")]
    for overrides, code in cases:
        with pytest.raises(InvalidArgument) as bad:
            day.scan(member, "in", **overrides)
        assert bad.value.code == code
    with pytest.raises(InvalidArgument) as missing:
        rpc.attendance.record_scan(scope=member, token=day.token("in"), fix={"lat": 33.0})
    assert missing.value.code == "FIX_MISSING_FIELD"
    assert rpc_scans(day, day.secretary) == []


@pytest.mark.parametrize("fix, code, field", [
    ({"lat": "33.0677"}, "INVALID_TYPE", "lat"), ({"lat": True}, "INVALID_TYPE", "lat"),
    ({"lng": [107.02]}, "INVALID_TYPE", "lng"), ({"accuracy_m": "12"}, "INVALID_TYPE", "accuracy_m"),
    ({"lat": None}, "FIX_MISSING_FIELD", "lat"),
])
def test_a_fix_whose_numbers_are_not_numbers_is_refused_by_the_service_itself(rpc, day, fix, code, field):
    """What a caller reaching the service without the gateway (which refuses them first) gets: never a position."""
    day.at("start_at", -5)
    with pytest.raises(InvalidArgument) as refused:
        day.scan(day.member_scopes[0], "in", **fix)
    assert (refused.value.code, refused.value.field) == (code, field)
    answers = rpc.attendance.record_scans(items=[{"scope": day.member_scopes[1], "token": day.token("in"),
                                                  "fix": day.fix(**fix)}])
    assert (answers[0]["error"]["code"], answers[0]["error"]["field"]) == (code, field)
    assert rpc_scans(day, day.secretary) == []


def test_one_device_under_another_case_or_width_is_one_shared_device(rpc, day, mongo_uri):
    import pymongo
    from servicekit.process.config import database_name

    day.at("start_at", -5)
    first = day.scan(day.member_scopes[0], "in", device_id="dev-shared-1")
    second = day.scan(day.member_scopes[1], "in", device_id="DEV-SHARED-1")
    third = day.scan(day.member_scopes[2], "in", device_id="  ＤＥＶ－ＳＨＡＲＥＤ－１ ")
    assert first["record"]["flags"] == []
    assert second["record"]["flags"] == ["SHARED_DEVICE"] and third["record"]["flags"] == ["SHARED_DEVICE"]
    db = pymongo.MongoClient(mongo_uri)[database_name("attendance")]
    stored = db.records.find_one({"_id": third["record"]["id"]})
    assert stored["content"]["device_id"] == "ＤＥＶ－ＳＨＡＲＥＤ－１"          # kept as the phone sent it
    assert day.scan(day.mobile_scopes[0], "in", device_id="DEV-SHARED-2")["record"]["flags"] == []


def test_only_a_real_image_is_stored_and_counted_as_a_photo(rpc, day, mongo_uri):
    import base64

    import pymongo
    from servicekit.process.config import database_name

    db = pymongo.MongoClient(mongo_uri)[database_name("attendance")]
    activity_id = day.activity["id"]

    def add(content: bytes, content_type: str = "image/png") -> dict:
        return rpc.attendance.add_photo(scope=day.secretary, activity_id=activity_id, content_type=content_type,
                                        content=base64.b64encode(content).decode())
    junk = [(b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script></html>", "image/png", "NOT_AN_IMAGE"),
            (b"\x89PNG\r\n\x1a\n" + b"0" * 8, "image/png", "NOT_AN_IMAGE"),
            (b"\xff\xd8\xff\xe0" + b"1" * 64, "image/jpeg", "NOT_AN_IMAGE"),
            (photo("PNG", (16, 16)), "image/png", "IMAGE_TOO_SMALL"),
            (png_declaring(10000, 4001), "image/png", "IMAGE_TOO_LARGE")]
    for content, content_type, code in junk * 2:                  # six and more fakes fill nothing
        with pytest.raises(InvalidArgument) as refused:
            add(content, content_type)
        assert (refused.value.code, refused.value.field) == (code, "photo")
    assert rpc.attendance.list_uploads(scope=day.secretary, activity_id=activity_id)["uploads"] == []
    assert db.photos.count_documents({"activity_id": activity_id}) == 0
    assert db.activities.find_one({"_id": activity_id})["counts"]["photos"] == 0
    for image_format, content_type in (("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")):
        assert add(photo(image_format, (640, 480)), content_type)["kind"] == "photo"
    assert db.photos.count_documents({"activity_id": activity_id}) == 3
    assert db.activities.find_one({"_id": activity_id})["counts"]["photos"] == 3


def test_a_batch_answers_each_scan_on_its_own(rpc, day):
    day.at("start_at", -5)
    token = day.token("in")
    items = [{"scope": day.member_scopes[0], "token": token, "fix": day.fix()},
             {"scope": day.member_scopes[1], "token": token, "fix": day.fix(400)},
             {"scope": day.member_scopes[0], "token": token, "fix": day.fix()},
             {"scope": day.member_scopes[2], "token": "v1.x", "fix": day.fix()}]
    answers = rpc.attendance.record_scans(items=items)
    assert answers[0]["result"]["repeat"] is False
    assert answers[1]["error"]["code"] == "OUTSIDE_FENCE"
    assert answers[2]["result"]["repeat"] is True
    assert answers[2]["result"]["record"]["id"] == answers[0]["result"]["record"]["id"]
    assert answers[3]["error"]["code"] == "TOKEN_FORGED"


def test_backfill_after_closing_is_marked_and_uploads_are_checked(rpc, day):
    import base64

    day.at("start_at", -5)
    day.scan(day.member_scopes[0], "in")
    png = photo()
    uploaded = rpc.attendance.add_photo(scope=day.secretary, activity_id=day.activity["id"], content_type="image/png",
                                        content=base64.b64encode(png).decode())
    assert uploaded["size"] == len(png) and uploaded["backfilled"] is False
    with pytest.raises(InvalidArgument) as mismatch:
        rpc.attendance.add_photo(scope=day.secretary, activity_id=day.activity["id"], content_type="image/jpeg",
                                 content=base64.b64encode(png).decode())
    assert mismatch.value.code == "UPLOAD_TYPE_MISMATCH"
    day.at("checkout_closes_at", 1)
    with pytest.raises(InvalidArgument):
        rpc.attendance.add_text_record(scope=day.secretary, activity_id=day.activity["id"], text="会议记录")
    text = rpc.attendance.add_text_record(scope=day.secretary, activity_id=day.activity["id"], text="会议记录",
                                          backfill_reason="现场网络中断")
    assert text["backfilled"] is True and text["backfill_reason"] == "现场网络中断"
    with pytest.raises(PermissionDenied):
        rpc.attendance.backfill_scan(scope=day.secretary, activity_id=day.activity["id"],
                                     member_id=day.members[1]["id"], direction="in", reason="手机没电")
    backfilled = rpc.attendance.backfill_scan(scope=day.county_admin, activity_id=day.activity["id"],
                                              member_id=day.members[1]["id"], direction="in", reason="手机没电")
    assert backfilled["backfilled"] is True and backfilled["backfilled_by"]
    activity = rpc.attendance.get_activity(scope=day.county_admin, activity_id=day.activity["id"])
    assert activity["totals"]["incomplete"] == 2
    assert rpc.attendance.verify_chain(scope=day.county_admin, activity_id=day.activity["id"])["ok"] is True


def test_rectifications_and_statistics_of_a_subtree(rpc, day):
    opened = rpc.attendance.open_rectification(scope=day.county_admin, activity_id=day.activity["id"],
                                               title="补充会议记录", due_on=(day.day.isoformat()))
    with pytest.raises(NotFound):
        rpc.attendance.open_rectification(scope=day.city.county_admins[1], activity_id=day.activity["id"],
                                          title="越权", due_on=day.day.isoformat())
    listed = rpc.attendance.list_rectifications(scope=day.city.admin, org_id=day.city.root["id"], state="open")
    assert [r["id"] for r in listed["rectifications"]] == [opened["id"]]
    closed = rpc.attendance.close_rectification(scope=day.county_admin, rectification_id=opened["id"], note="已补充")
    assert closed["state"] == "closed"
    day.at("start_at", -5)
    day.scan(day.member_scopes[0], "in")
    day.at("end_at", 1)
    day.scan(day.member_scopes[0], "out")
    day.at("checkout_closes_at", 1)
    rows = rpc.attendance.get_statistics(scope=day.city.admin, org_id=day.city.root["id"], month_from=day.month,
                                         by="branch")["rows"]
    mine = next(r for r in rows if r["branch_id"] == day.branch["id"])
    assert (mine["present"], mine["absent"]) == (1, 2)
    own = rpc.attendance.get_statistics(scope=day.member_scopes[0], org_id=day.branch["id"], month_from=day.month,
                                        by="member")["rows"]
    assert [r["member_id"] for r in own] == [day.member_scopes[0]["member_id"]]
    exported = rpc.attendance.export_statistics(scope=day.county_admin, org_id=day.city.counties[0]["id"],
                                                month_from=day.month)
    assert exported["filename"].endswith(".xlsx") and len(exported["content"]) > 100
