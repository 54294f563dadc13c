"""Relayed printed codes, through the real service on the real broker and store: the rotating code is the default,
the printed one only where the superior allowed it (every scan with it marked), and sign-ins with no earlier
position of the day or with a device new to the member are flagged (with the scan_flagged event)."""
from __future__ import annotations

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, Rejected
from services.attendance.domain import qrtoken
from tests.support.attendance import ThemedDay
from tests.support.identity import PASSWORD, login

pytestmark = pytest.mark.integration


@pytest.fixture
def day(rpc, city, attendance_service):
    return ThemedDay(rpc, city).prepared()


def printed(day):
    """The printed code computed with no service (what a photo of last month's poster, or a copied one, carries)."""
    return day.token("in", mode="rotating").rsplit(".", 2)[0] + ".p." + "A" * 22


def test_the_rotating_code_is_the_default_and_the_printed_one_is_refused_until_allowed(rpc, day):
    code = rpc.attendance.get_qr_code(scope=day.secretary, activity_id=day.activity["id"], direction="in")
    assert qrtoken.parse(code["token"]).step is not None and code["step_seconds"] == qrtoken.STEP_SECONDS
    for direction in ("in", "out"):
        with pytest.raises(Conflict) as refused:
            rpc.attendance.get_qr_code(scope=day.secretary, activity_id=day.activity["id"], direction=direction,
                                       mode="print")
        assert refused.value.code == "PRINTED_CODE_NOT_ALLOWED"
    assert rpc.attendance.get_activity(scope=day.secretary, activity_id=day.activity["id"])[
        "printed_code_allowed"] is False


def test_a_scan_with_a_printed_code_is_refused_while_not_allowed_and_stores_nothing(rpc, day, db):
    day.allow_printed_code()
    token = day.token("in", mode="print")                     # printed while it was allowed ...
    rpc.attendance.set_printed_code(scope=day.county_admin, activity_id=day.activity["id"], allowed=False,
                                    reason="改用投屏")          # ... then no longer
    day.at("start_at", -5)
    with pytest.raises(Rejected) as refused:
        day.scan(day.member_scopes[0], "in", token=token)
    assert (refused.value.code, refused.value.field) == ("PRINTED_CODE_NOT_ALLOWED", "token")
    assert db.records.count_documents({"activity_id": day.activity["id"]}) == 0
    assert day.scan(day.member_scopes[0], "in")["record"]["code_kind"] == "rotating"


def test_the_superior_allows_it_with_a_reason_and_every_printed_scan_is_marked(rpc, day, db):
    with pytest.raises(InvalidArgument) as no_reason:
        rpc.attendance.set_printed_code(scope=day.county_admin, activity_id=day.activity["id"], allowed=True)
    assert (no_reason.value.code, no_reason.value.field) == ("REQUIRED", "reason")
    allowed = day.allow_printed_code("村部会议室无法投屏")
    assert (allowed["printed_code_allowed"], allowed["printed_code_reason"]) == (True, "村部会议室无法投屏")
    assert allowed["printed_code_set_by"] == day.county_admin["account_id"] and allowed["printed_code_set_at"]
    log = db.activities.find_one({"_id": day.activity["id"]})["printed_code_log"]
    assert [(entry["allowed"], entry["reason"]) for entry in log] == [(True, "村部会议室无法投屏")]

    day.at("start_at", -5)
    token = day.token("in", mode="print")
    first = day.scan(day.member_scopes[0], "in", token=token)
    second = day.scan(day.member_scopes[1], "in")                         # the rotating code still works
    assert (first["record"]["code_kind"], second["record"]["code_kind"]) == ("printed", "rotating")
    assert db.records.find_one({"_id": first["record"]["id"]})["content"]["code_kind"] == "printed"
    listed = {s["member_id"]: s["code_kind"] for s in
              rpc.attendance.list_scans(scope=day.secretary, activity_id=day.activity["id"])["scans"]}
    assert listed == {day.members[0]["id"]: "printed", day.members[1]["id"]: "rotating"}
    read = rpc.attendance.get_activity(scope=day.county_admin, activity_id=day.activity["id"])
    assert read["printed_code_scans"] == 1
    assert rpc.attendance.verify_chain(scope=day.secretary, activity_id=day.activity["id"])["ok"] is True

    day.at("checkout_closes_at", 1)                                       # closed: the statistics count it
    rows = rpc.attendance.get_statistics(scope=day.county_admin, org_id=day.branch["id"], month_from=day.month,
                                         by="member")["rows"]
    assert {row["member_id"]: row["printed_code_scans"] for row in rows}[day.members[0]["id"]] == 1
    by_activity = rpc.attendance.get_statistics(scope=day.secretary, org_id=day.branch["id"], month_from=day.month,
                                                by="activity")["rows"]
    assert by_activity[0]["printed_code_scans"] == 1
    with pytest.raises(Conflict) as closed:
        rpc.attendance.set_printed_code(scope=day.county_admin, activity_id=day.activity["id"], allowed=False)
    assert closed.value.code == "ACTIVITY_CLOSED"


def test_only_the_superior_may_allow_it(rpc, city, other_city, day, db):
    # the branch's own org admin: on the branch's path, but not above it, and did not issue the day
    city.rpc.identity.create_account(scope=city.admin, username=f"branchadmin{id(day) % 100000}", password=PASSWORD,
                                     role="org_admin", org_id=day.branch["id"])
    branch_admin = login(rpc, city.code, f"branchadmin{id(day) % 100000}")
    refusals = {"the branch secretary": (day.secretary, PermissionDenied),
                "the branch's own admin": (branch_admin, PermissionDenied),
                "a member": (day.member_scopes[0], PermissionDenied),
                "another county's admin": (city.county_admins[1], NotFound),
                "another tenant's admin": (other_city.admin, NotFound)}
    for who, (scope, error) in refusals.items():
        with pytest.raises(error) as refused:
            rpc.attendance.set_printed_code(scope=scope, activity_id=day.activity["id"], allowed=True, reason="越权")
        assert refused.value.code in ("NOT_SUPERIOR", "ACTIVITY_NOT_FOUND", "MEMBER_ONLY"), who
    assert "printed_code" not in db.activities.find_one({"_id": day.activity["id"]})
    # the city admin is above the branch too
    assert rpc.attendance.set_printed_code(scope=city.admin, activity_id=day.activity["id"], allowed=True,
                                           reason="市级批准")["printed_code_allowed"] is True


def test_a_sign_in_without_earlier_positions_of_the_day_is_flagged_and_published(rpc, day, db):
    day.at("start_at", -5)
    flagged = day.scan(day.member_scopes[0], "in", history=[])
    calm = day.scan(day.member_scopes[1], "in")                            # the page saw it an hour before
    assert flagged["record"]["flags"] == ["NO_MOVEMENT_TODAY"] and calm["record"]["flags"] == []
    listed = rpc.attendance.list_scans(scope=day.secretary, activity_id=day.activity["id"], flagged_only=True)
    assert [s["member_id"] for s in listed["scans"]] == [day.members[0]["id"]]
    events = [entry for entry in db.outbox.find({}) if "scan_flagged" in str(entry)]
    assert any(flagged["record"]["id"] in str(entry) and "NO_MOVEMENT_TODAY" in str(entry) for entry in events)


def test_a_sign_in_with_a_device_new_to_the_member_is_flagged_on_the_next_day(rpc, city, attendance_service):
    first = ThemedDay(rpc, city, county=1).prepared()
    first.at("start_at", -5)
    member, other = first.member_scopes[0], first.member_scopes[1]
    first.scan(member, "in", device_id="phone-of-member-0")
    first.scan(other, "in", device_id="phone-of-member-1")
    first.at("checkout_closes_at", 1)                                     # closing keeps each member's devices

    later = ThemedDay.following(first)
    later.at("start_at", -5)
    new = later.scan(member, "in", device_id="somebody-elses-phone")
    known = later.scan(other, "in", device_id="PHONE-OF-MEMBER-1")
    assert new["record"]["flags"] == ["NEW_DEVICE"] and known["record"]["flags"] == []
