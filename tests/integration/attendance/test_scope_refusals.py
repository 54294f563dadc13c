"""Every attendance operation refuses callers outside its tenant or subtree (403/404, never data)."""
from __future__ import annotations

import base64

import pytest

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from tests.support.attendance import ThemedDay, photo

pytestmark = pytest.mark.integration

PNG = base64.b64encode(photo()).decode()
JUNK_PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n<html>not a photo</html>").decode()


@pytest.fixture
def world(rpc, city, other_city, attendance_service):
    day = ThemedDay(rpc, city).prepared()
    leave = rpc.attendance.request_leave(scope=day.member_scopes[2], activity_id=day.activity["id"], reason="出差")
    item = rpc.attendance.open_rectification(scope=day.county_admin, activity_id=day.activity["id"], title="整改",
                                             due_on=day.day.isoformat())
    return day, leave, item, other_city


def calls(day, leave, item):
    activity_id, county, branch = day.activity["id"], day.city.counties[0]["id"], day.branch["id"]
    member_id = day.members[0]["id"]
    return {
        "issue_theme": dict(org_id=county, month=day.month, title="越权", due_from=day.day.isoformat(),
                            due_to=day.day.isoformat()),
        "list_themes": dict(org_id=county),
        "list_activities": dict(org_id=branch),
        "get_activity": dict(activity_id=activity_id),
        "submit_plan": dict(activity_id=activity_id, date=day.day.isoformat(), start_time="10:00", end_time="11:00",
                            venue_name="某地", venue_lat=33.0, venue_lng=107.0),
        "review_plan": dict(activity_id=activity_id, decision="approved"),
        "get_qr_code": dict(activity_id=activity_id, direction="in"),
        "set_printed_code": dict(activity_id=activity_id, allowed=True, reason="越权"),
        "list_scans": dict(activity_id=activity_id),
        "request_leave": dict(activity_id=activity_id, reason="越权"),
        "decide_leave": dict(leave_id=leave["id"], decision="approved"),
        "list_leaves": dict(activity_id=activity_id),
        "post_reflection": dict(activity_id=activity_id, text="越权"),
        "list_reflections": dict(activity_id=activity_id),
        "like_activity": dict(activity_id=activity_id),
        "add_photo": dict(activity_id=activity_id, content_type="image/png", content=PNG),
        "add_text_record": dict(activity_id=activity_id, text="越权"),
        "list_uploads": dict(activity_id=activity_id),
        "backfill_scan": dict(activity_id=activity_id, member_id=member_id, direction="in", reason="越权"),
        "open_rectification": dict(activity_id=activity_id, title="越权", due_on=day.day.isoformat()),
        "close_rectification": dict(rectification_id=item["id"], note="越权"),
        "list_rectifications": dict(org_id=county),
        "verify_chain": dict(activity_id=activity_id),
        "get_statistics": dict(org_id=county, month_from=day.month),
        "export_statistics": dict(org_id=county, month_from=day.month),
        "activity_facts": dict(org_id=county, month_from=day.month),
    }


def outsiders(day, other_city):
    other_member = other_city.member_login(other_city.add_member(other_city.branches[0][0], "外市党员"), "outsider")
    return {"other tenant's admin": other_city.admin, "other tenant's member": other_member,
            "other county's admin": day.city.county_admins[1]}


def test_every_operation_refuses_other_tenants_and_other_subtrees(rpc, world):
    day, leave, item, other_city = world
    for who, scope in outsiders(day, other_city).items():
        for method, kwargs in calls(day, leave, item).items():
            with pytest.raises((NotFound, PermissionDenied)) as refused:
                getattr(rpc.attendance, method)(scope=scope, **kwargs)
            assert refused.value.code, (who, method)
    # nothing an outsider tried changed the activity
    after = rpc.attendance.get_activity(scope=day.county_admin, activity_id=day.activity["id"])
    assert after["status"] == "approved" and after["radius_m"] == 300
    assert rpc.attendance.list_uploads(scope=day.secretary, activity_id=day.activity["id"])["uploads"] == []
    assert rpc.attendance.list_leaves(scope=day.secretary, activity_id=day.activity["id"])["leaves"][0]["state"] \
        == "pending"


def test_a_member_cannot_do_the_secretarys_or_the_superiors_work(rpc, world):
    day, leave, item, _ = world
    member = day.member_scopes[0]
    for method in ("submit_plan", "review_plan", "get_qr_code", "set_printed_code", "decide_leave", "add_photo",
                   "add_text_record",
                   "backfill_scan", "open_rectification", "close_rectification", "verify_chain"):
        with pytest.raises(PermissionDenied):
            getattr(rpc.attendance, method)(scope=member, **calls(day, leave, item)[method])
    for method in ("list_rectifications", "activity_facts", "issue_theme"):   # the county is not the member's
        with pytest.raises(NotFound):
            getattr(rpc.attendance, method)(scope=member, **calls(day, leave, item)[method])


def test_bad_arguments_get_a_400_with_their_own_code_and_change_nothing(rpc, world):
    day, leave, item, _ = world
    activity_id, county = day.activity["id"], day.city.counties[0]["id"]
    cases = [
        ("issue_theme", day.county_admin, dict(org_id=county, month="2026-13", title="主题", due_from="2026-12-01",
                                               due_to="2026-12-02"), "MONTH_INVALID"),
        ("issue_theme", day.county_admin, dict(org_id=county, month=day.month, title="主题",
                                               due_from=day.day.isoformat(), due_to=day.day.isoformat(),
                                               radius_m=5), "RADIUS_INVALID"),
        ("list_activities", day.county_admin, dict(org_id=county, status="finished"), "UNKNOWN_VALUE"),
        ("review_plan", day.county_admin, dict(activity_id=activity_id, decision="maybe"), "UNKNOWN_VALUE"),
        ("get_qr_code", day.secretary, dict(activity_id=activity_id, direction="sideways"), "UNKNOWN_VALUE"),
        ("get_qr_code", day.secretary, dict(activity_id=activity_id, direction="in", mode="laser"), "UNKNOWN_VALUE"),
        ("decide_leave", day.secretary, dict(leave_id=leave["id"], decision="perhaps"), "UNKNOWN_VALUE"),
        ("request_leave", day.member_scopes[0], dict(activity_id=activity_id, reason=" "), "REQUIRED"),
        ("add_photo", day.secretary, dict(activity_id=activity_id, content_type="image/gif", content=PNG),
         "UPLOAD_TYPE_UNSUPPORTED"),
        ("add_photo", day.secretary, dict(activity_id=activity_id, content_type="image/png", content="%%%"),
         "UPLOAD_INVALID"),
        ("add_photo", day.secretary, dict(activity_id=activity_id, content_type="image/png", content=JUNK_PNG),
         "NOT_AN_IMAGE"),
        ("add_text_record", day.secretary, dict(activity_id=activity_id, text="字" * 20001), "TEXT_TOO_LONG"),
        ("open_rectification", day.county_admin, dict(activity_id=activity_id, title="整改", due_on="31/12/2026"),
         "DATE_INVALID"),
        ("open_rectification", day.county_admin, dict(activity_id=activity_id, title="整改", due_on="2000-01-01"),
         "DUE_DATE_IN_PAST"),
        ("get_statistics", day.county_admin, dict(org_id=county, month_from="2026-12", month_to="2026-11"),
         "MONTH_RANGE_INVALID"),
        ("get_statistics", day.county_admin, dict(org_id=county, by="galaxy"), "UNKNOWN_VALUE"),
    ]
    for method, scope, kwargs, code in cases:
        with pytest.raises(InvalidArgument) as bad:
            getattr(rpc.attendance, method)(scope=scope, **kwargs)
        assert bad.value.code == code, (method, kwargs)
    assert rpc.attendance.list_uploads(scope=day.secretary, activity_id=activity_id)["uploads"] == []
    assert [r["id"] for r in rpc.attendance.list_rectifications(scope=day.county_admin, org_id=county)[
        "rectifications"]] == [item["id"]]
    assert rpc.attendance.list_leaves(scope=day.secretary, activity_id=activity_id)["leaves"][0]["state"] == "pending"
