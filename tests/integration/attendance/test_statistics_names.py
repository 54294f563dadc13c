"""Statistics by member carry each member's name and branch for those who may see them, and no one else."""
from __future__ import annotations

import base64
import io

import pytest
from openpyxl import load_workbook

from servicekit.errors import NotFound, PermissionDenied
from tests.support.attendance import ThemedDay

pytestmark = pytest.mark.integration

BRANCH_NAME = '=HYPERLINK("mailto:boss@example.com", "点此查看")'
MEMBER_NAME = '=HYPERLINK("mailto:x", "点")'


@pytest.fixture
def closed_day(rpc, city, attendance_service):
    rpc.identity.update_org(scope=city.admin, org_id=city.branches[0][0]["id"], name=BRANCH_NAME)
    day = ThemedDay(rpc, city)
    day.members.append(city.add_member(day.branch, MEMBER_NAME))
    day.prepared()
    day.at("start_at", -5)
    day.scan(day.member_scopes[0], "in")
    day.at("end_at", 1)
    day.scan(day.member_scopes[0], "out")
    day.at("checkout_closes_at", 1)
    return day


def test_an_admin_gets_every_members_name_and_branch(rpc, closed_day):
    day = closed_day
    rows = rpc.attendance.get_statistics(scope=day.city.admin, org_id=day.city.root["id"], month_from=day.month,
                                         by="member")["rows"]
    expected = {m["id"]: m["name"] for m in day.members + day.mobile_members}
    assert {row["member_id"]: row["member_name"] for row in rows} == expected
    assert {(row["branch_id"], row["branch_name"]) for row in rows} == {(day.branch["id"], BRANCH_NAME)}
    first = next(row for row in rows if row["member_id"] == day.members[0]["id"])
    assert (first["member_name"], first["present"]) == ("党员0", 1)
    county = rpc.attendance.get_statistics(scope=day.county_admin, org_id=day.county["id"], month_from=day.month,
                                           by="member")["rows"]
    assert {row["member_id"]: row["member_name"] for row in county} == expected


def test_a_member_sees_only_their_own_name_and_one_without_a_themed_day_theirs_from_identity(rpc, city, closed_day):
    day = closed_day
    own = rpc.attendance.get_statistics(scope=day.member_scopes[1], org_id=day.branch["id"], month_from=day.month,
                                        by="member")["rows"]
    assert [(r["member_id"], r["member_name"], r["branch_name"], r["absent"]) for r in own] == \
        [(day.members[1]["id"], "党员1", BRANCH_NAME, 1)]
    elsewhere = city.branches[0][1]                                 # issued, never planned: no roster
    newcomer = city.member_login(city.add_member(elsewhere, "新党员"), "newcomer")
    rows = rpc.attendance.get_statistics(scope=newcomer, org_id=elsewhere["id"], month_from=day.month,
                                         by="member")["rows"]
    assert [(r["member_id"], r["member_name"], r["branch_id"], r["branch_name"], r["activities"]) for r in rows] == \
        [(newcomer["member_id"], "新党员", elsewhere["id"], elsewhere["name"], 0)]


def test_callers_outside_the_subtree_get_no_names(rpc, closed_day, other_city):
    day = closed_day
    for scope in (day.city.county_admins[1], other_city.admin):
        for method in ("get_statistics", "export_statistics"):
            kwargs = {"by": "member"} if method == "get_statistics" else {}
            with pytest.raises((NotFound, PermissionDenied)):
                getattr(rpc.attendance, method)(scope=scope, org_id=day.county["id"], month_from=day.month, **kwargs)
    with pytest.raises(NotFound):                                    # a member of the branch: not the county
        rpc.attendance.get_statistics(scope=day.member_scopes[0], org_id=day.county["id"], month_from=day.month,
                                      by="member")


def test_the_export_names_members_and_writes_hostile_names_as_text(rpc, closed_day):
    day = closed_day
    exported = rpc.attendance.export_statistics(scope=day.county_admin, org_id=day.county["id"], month_from=day.month)
    book = load_workbook(io.BytesIO(base64.b64decode(exported["content"])))
    rows = list(book["按党员"].iter_rows())
    header = [cell.value for cell in rows[0]]
    assert header[:4] == ["党员编号", "党员姓名", "支部编号", "支部名称"]
    by_id = {row[0].value: row for row in rows[1:]}
    hostile = by_id[day.members[-1]["id"]]
    assert (hostile[1].value, hostile[1].data_type) == (MEMBER_NAME, "s")
    assert (hostile[3].value, hostile[3].data_type) == (BRANCH_NAME, "s")
    activity_rows = list(book["按活动"].iter_rows())
    column = [cell.value for cell in activity_rows[0]].index("支部名称")
    branch_cells = [row[column] for row in activity_rows[1:]]
    assert BRANCH_NAME in {cell.value for cell in branch_cells}
    assert {cell.data_type for cell in branch_cells} == {"s"}
