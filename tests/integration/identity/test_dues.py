"""Party dues through the identity service on the real broker and store: a branch sets standards, records and imports
payments; receipts, the member's own view, arrears and the totals of every level follow; strangers are refused."""
from __future__ import annotations

import base64
import io
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from services.identity.domain import dues
from tests.support.identity import PASSWORD, login, member_fields

pytestmark = pytest.mark.integration
CHINA = timezone(timedelta(hours=8))


def month(back: int) -> str:
    return dues.shift(datetime.now(CHINA).strftime("%Y-%m"), -back)


def csv_file(*lines: str) -> str:
    text = "交易流水号,党员编号,姓名,缴费月份,金额（元）,交易日期\n" + "\n".join(lines) + "\n"
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def branch_world(rpc, city):
    branch = city.branches[0][0]
    rpc.identity.create_account(scope=city.admin, username="dues-sec", password=PASSWORD, role="branch_secretary",
                                org_id=branch["id"])
    secretary = login(rpc, city.code, "dues-sec")
    first = city.add_member(branch, "党费甲")
    second = city.add_member(branch, "党费乙")
    me = city.member_login(first, "dues-me")
    return city, branch, secretary, first, second, me


def test_a_payment_gets_a_receipt_and_the_totals_of_every_level_follow(rpc, branch_world):
    city, branch, secretary, first, second, me = branch_world
    standard = rpc.identity.set_dues_standard(scope=secretary, member_id=first["id"], category="employed",
                                              income_fen=600_000, from_month=month(2))
    assert (standard["amount_fen"], standard["from_month"]) == (9_000, month(2))
    paid = rpc.identity.record_dues_payment(scope=secretary, member_id=first["id"], months=[month(2), month(1)],
                                            amount_fen=18_000, payment_method="transfer", bank_txn_id="TX-I-1")
    again = rpc.identity.record_dues_payment(scope=secretary, member_id=first["id"], months=[month(2), month(1)],
                                             amount_fen=18_000, payment_method="transfer", bank_txn_id="TX-I-1")
    assert again["id"] == paid["id"] and again["receipt_no"] == paid["receipt_no"]
    with pytest.raises(Conflict) as refused:
        rpc.identity.record_dues_payment(scope=secretary, member_id=first["id"], months=[month(1)], amount_fen=9_000)
    assert refused.value.code == "MONTH_ALREADY_PAID"

    receipt = rpc.identity.get_dues_receipt(scope=me, receipt_no=paid["receipt_no"])
    assert (receipt["member_name"], receipt["amount_yuan"], receipt["tenant_name"]) == ("党费甲", "180.00", "测试市")
    mine = rpc.identity.get_my_dues(scope=me)
    assert mine["paid_months"] == [month(2), month(1)] and mine["owed_months"] == [] and not mine["current_paid"]
    assert [payment["receipt_no"] for payment in mine["payments"]] == [paid["receipt_no"]]

    for org in (branch, city.committees[0], city.counties[0], city.root):
        totals = rpc.identity.get_dues_totals(scope=city.admin, org_id=org["id"], month=month(1))["total"]
        assert (totals["paid_fen"], totals["paid_members"], totals["standard_fen"], totals["members_with_standard"]) \
            == (9_000, 1, 9_000, 1), org["name"]
    county = rpc.identity.get_dues_totals(scope=city.county_admins[0], org_id=city.counties[0]["id"], month=month(1))
    assert [(row["name"], row["paid_fen"]) for row in county["children"]] == [("第1镇党委", 9_000)]
    listed = rpc.identity.list_dues_payments(scope=city.county_admins[0], org_id=city.counties[0]["id"])
    assert [payment["receipt_no"] for payment in listed["payments"]] == [paid["receipt_no"]]

    workbook = rpc.identity.export_dues_totals(scope=city.county_admins[0], org_id=city.counties[0]["id"],
                                               month_from=month(2), month_to=month(1))
    sheet = load_workbook(io.BytesIO(base64.b64decode(workbook["content"]))).active
    rows = [row for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "月份" and (month(1), "第1县", 90.0, 1, 90.0, 1) in rows


def test_the_branch_sees_arrears_and_strangers_see_nothing(rpc, branch_world, other_city):
    city, branch, secretary, first, second, me = branch_world
    rpc.identity.set_dues_standard(scope=secretary, member_id=second["id"], category="student", from_month=month(7))
    rpc.identity.set_dues_standard(scope=secretary, member_id=first["id"], category="retired", income_fen=400_000,
                                   from_month="")
    listed = rpc.identity.list_branch_dues(scope=secretary, org_id=branch["id"], arrears_only=True)
    assert [row["name"] for row in listed["members"]] == ["党费乙"]
    owing = listed["members"][0]
    assert owing["owed_months"] == [month(back) for back in range(7, 0, -1)]
    assert (owing["owed_fen"], owing["unpaid_streak"], owing["flagged"]) == (140, 7, True)
    whole = rpc.identity.list_branch_dues(scope=secretary, org_id=branch["id"])
    assert {row["name"]: row["amount_fen"] for row in whole["members"]} == {"党费甲": 2_000, "党费乙": 20}

    strangers = [city.county_admins[1], other_city.admin, me]
    for stranger in strangers:
        with pytest.raises((NotFound, PermissionDenied)):
            rpc.identity.list_branch_dues(scope=stranger, org_id=branch["id"])
        with pytest.raises(NotFound):
            rpc.identity.set_dues_standard(scope=stranger, member_id=second["id"], category="student")
        with pytest.raises(NotFound):
            rpc.identity.record_dues_payment(scope=stranger, member_id=second["id"], months=[month(1)],
                                             amount_fen=20)
    with pytest.raises(InvalidArgument) as refused:
        rpc.identity.list_branch_dues(scope=city.admin, org_id=city.counties[0]["id"])
    assert refused.value.code == "NOT_A_BRANCH"


def test_a_standard_follows_its_member_transferred_or_removed_and_payments_stay_with_the_branch_that_collected(
        rpc, branch_world):
    city, branch, secretary, first, second, me = branch_world
    rpc.identity.set_dues_standard(scope=secretary, member_id=first["id"], category="employed", income_fen=600_000,
                                   from_month=month(2))
    rpc.identity.set_dues_standard(scope=secretary, member_id=second["id"], category="student", from_month=month(2))
    rpc.identity.record_dues_payment(scope=secretary, member_id=first["id"], months=[month(1)], amount_fen=9_000)
    other_county, sibling = city.branches[1][0], city.branches[0][1]

    def totals(org: dict) -> tuple:
        total = rpc.identity.get_dues_totals(scope=city.admin, org_id=org["id"], month=month(1))["total"]
        return total["paid_fen"], total["paid_members"], total["standard_fen"], total["members_with_standard"]

    def transferred(member: dict, target: dict, receiving: dict) -> None:
        transfer = rpc.identity.request_transfer(scope=city.admin, member_id=member["id"], to_branch_id=target["id"])
        assert rpc.identity.accept_transfer(scope=receiving, transfer_id=transfer["id"])["state"] == "accepted"

    # to another county: the standard leaves the branch, its committee and county, joins the other side; the city
    # keeps both; the month paid stays with the branch that collected it
    transferred(first, other_county, city.county_admins[1])
    assert totals(branch) == totals(city.committees[0]) == totals(city.counties[0]) == (9_000, 1, 20, 1)
    assert totals(other_county) == totals(city.committees[1]) == totals(city.counties[1]) == (0, 0, 9_000, 1)
    assert totals(city.root) == (9_000, 1, 9_020, 2)
    # to a sibling branch: only the two branches move
    transferred(second, sibling, city.county_admins[0])
    assert (totals(branch), totals(sibling)) == ((9_000, 1, 0, 0), (0, 0, 20, 1))
    assert totals(city.committees[0]) == totals(city.counties[0]) == (9_000, 1, 20, 1)
    # a standard changed after the transfer moves the new branch's totals by the difference, the old one's not at all
    rpc.identity.set_dues_standard(scope=city.county_admins[1], member_id=first["id"], category="employed",
                                   income_fen=400_000, from_month=month(0))
    assert totals(other_county) == (0, 0, 4_000, 1) and totals(branch) == (9_000, 1, 0, 0)
    assert totals(city.root) == (9_000, 1, 4_020, 2)
    assert rpc.identity.get_my_dues(scope=me)["paid_months"] == [month(1)]
    # a member removed takes its standard out of every level's totals
    rpc.identity.remove_member(scope=city.admin, member_id=second["id"])
    assert totals(sibling) == (0, 0, 0, 0) and totals(city.counties[0]) == (9_000, 1, 0, 0)
    assert totals(city.root) == (9_000, 1, 4_000, 1)


def test_a_statement_with_a_bad_row_imports_nothing_and_the_same_statement_twice_is_stored_once(rpc, branch_world):
    city, branch, secretary, first, second, me = branch_world
    for member in (first, second):
        rpc.identity.set_dues_standard(scope=secretary, member_id=member["id"], category="student",
                                       from_month=month(3))
    today = datetime.now(CHINA).date().isoformat()
    good = [f"TX-S-1,{first['id']},党费甲,{month(3)}至{month(2)},0.40,{today}",
            f"TX-S-2,{second['id']},党费乙,{month(3)},0.20,{today}"]
    with pytest.raises(InvalidArgument) as refused:
        rpc.identity.import_dues_payments(scope=secretary, org_id=branch["id"], format="csv", content=csv_file(
            *good, f"TX-S-3,{second['id']},党费乙,{month(2)},0.30,{today}"))
    assert refused.value.code == "IMPORT_REJECTED"
    assert [(d["line"], d["field"], d["reason"]) for d in refused.value.details] == [(4, "amount", "AMOUNT_MISMATCH")]
    assert rpc.identity.list_dues_payments(scope=secretary, org_id=branch["id"])["payments"] == []

    imported = rpc.identity.import_dues_payments(scope=secretary, org_id=branch["id"], format="csv",
                                                 content=csv_file(*good))
    assert (imported["imported"], imported["skipped"], imported["amount_fen"]) == (2, 0, 60)
    again = rpc.identity.import_dues_payments(scope=secretary, org_id=branch["id"], format="csv",
                                              content=csv_file(*good))
    assert (again["imported"], again["skipped"]) == (0, 2)
    payments = rpc.identity.list_dues_payments(scope=secretary, org_id=branch["id"])["payments"]
    assert sorted(p["bank_txn_id"] for p in payments) == ["TX-S-1", "TX-S-2"]
    assert {p["source"] for p in payments} == {"bank_import"}
    # a member of another county is not found from this branch, even by its own id
    stranger = rpc.identity.create_member(scope=city.admin, **member_fields(city.branches[1][0]["id"], "外县党员"))
    with pytest.raises(InvalidArgument) as refused:
        rpc.identity.import_dues_payments(scope=secretary, org_id=branch["id"], format="csv", content=csv_file(
            f"TX-S-9,{stranger['id']},外县党员,{month(1)},0.20,{today}"))
    assert refused.value.details[0]["reason"] == "MEMBER_UNKNOWN"
