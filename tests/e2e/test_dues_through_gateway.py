"""Party dues as a new city would use them, through the gateway over HTTP and gRPC: the branch sets standards and
imports a bank statement (a bad row stores nothing), arrears appear for the members who owe, the county reads its
totals and downloads them, the member reads its own dues and prints a receipt."""
from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import Workbook, load_workbook

from gateway.client import ApiError, GrpcClient, HttpClient
from servicekit.spreadsheets import XLSX_MEDIA_TYPE
from services.identity.domain import dues
from tests.support.identity import PASSWORD, member_fields

pytestmark = pytest.mark.e2e
CHINA = timezone(timedelta(hours=8))


def month(back: int) -> str:
    return dues.shift(datetime.now(CHINA).strftime("%Y-%m"), -back)


def statement(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["交易流水号", "身份证号", "姓名", "缴费月份", "金额（元）", "交易日期"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def dues_city(gateway_process, operator_password):
    url = gateway_process.http_url
    operator = HttpClient(url)
    operator.login("", "operator", operator_password)
    code = f"dues-{uuid.uuid4().hex[:8]}"
    created = operator.call("CreateTenant", {"code": code, "name": "党费市", "admin_username": "admin",
                                             "admin_password": PASSWORD})
    admin = HttpClient(url)
    admin.login(code, "admin", PASSWORD)
    county = admin.call("CreateOrg", {"parent_id": created["root_org"]["id"], "name": "东区", "kind": "county"})
    branch = admin.call("CreateOrg", {"parent_id": county["id"], "name": "东区机关支部", "kind": "branch"})
    admin.call("CreateAccount", {"username": "county", "password": PASSWORD, "role": "org_admin",
                                 "org_id": county["id"]})
    admin.call("CreateAccount", {"username": "secretary", "password": PASSWORD, "role": "branch_secretary",
                                 "org_id": branch["id"]})
    numbers, members = [], []
    for name in ("周一", "周二"):
        fields = member_fields(branch["id"], name)
        numbers.append(fields["id_number"])
        members.append(admin.call("CreateMember", fields))
    admin.call("CreateAccount", {"username": "zhouyi", "password": PASSWORD, "role": "member",
                                 "member_id": members[0]["id"]})
    clients = {}
    for username in ("county", "secretary", "zhouyi"):
        clients[f"{username}_client"] = HttpClient(url)
        clients[f"{username}_client"].login(code, username, PASSWORD)
    return {"admin": admin, "county": county, "branch": branch, "members": members, "numbers": numbers, **clients}


def test_a_branchs_dues_from_standards_to_the_countys_download(dues_city, gateway_process):
    secretary, branch = dues_city["secretary_client"], dues_city["branch"]
    first, second = dues_city["members"]
    secretary.call("SetDuesStandard", {"member_id": first["id"], "category": "employed", "income_fen": 450_000,
                                       "from_month": month(7)})
    with GrpcClient(gateway_process.grpc_target, token=secretary.token) as grpc_client:
        grpc_client.call("SetDuesStandard", {"member_id": second["id"], "category": "student",
                                             "from_month": month(1)})
    today = datetime.now(CHINA).date()
    good = [["B-1", dues_city["numbers"][0], "周一", f"{month(7)}至{month(6)}", 90, today],
            ["B-2", dues_city["numbers"][1], "周二", month(1), 0.2, today]]
    with pytest.raises(ApiError) as refused:
        secretary.call("ImportDuesPayments", {"org_id": branch["id"], "format": "xlsx", "content": statement(
            [*good, ["B-3", dues_city["numbers"][1], "周三", month(0), 0.2, today]])})
    assert refused.value.status == 400 and refused.value.code == "IMPORT_REJECTED"
    assert [(d["line"], d["field"], d["reason"]) for d in refused.value.details] == [(4, "name", "NAME_MISMATCH")]
    assert secretary.call("ListDuesPayments", {"org_id": branch["id"]})["payments"] == []

    imported = secretary.call("ImportDuesPayments", {"org_id": branch["id"], "format": "xlsx",
                                                     "content": statement(good)})
    assert (imported["imported"], imported["amount_fen"]) == (2, 9_020)
    arrears = secretary.call("ListBranchDues", {"org_id": branch["id"], "arrears_only": True})
    assert [(row["name"], row["owed_months"], row["flagged"]) for row in arrears["members"]] == [
        ("周一", [month(back) for back in range(5, 0, -1)], False)]       # five months owed: not yet flagged

    mine = dues_city["zhouyi_client"].call("GetMyDues")
    assert mine["amount_fen"] == 4_500 and mine["paid_months"] == [month(7), month(6)]
    receipt = dues_city["zhouyi_client"].call("GetDuesReceipt", {"receipt_no": mine["payments"][0]["receipt_no"]})
    assert (receipt["amount_yuan"], receipt["bank_txn_id"], receipt["tenant_name"]) == ("90.00", "B-1", "党费市")
    with pytest.raises(ApiError) as refused:
        dues_city["zhouyi_client"].call("ListBranchDues", {"org_id": branch["id"]})
    assert refused.value.status == 403 and refused.value.code == "NOT_ORG_MANAGER"

    county = dues_city["county_client"]
    totals = county.call("GetDuesTotals", {"org_id": dues_city["county"]["id"], "month": month(1)})
    # 64-bit sums: strings in JSON (proto3's mapping)
    assert (totals["total"]["paid_fen"], totals["total"]["standard_fen"]) == ("20", "4520")
    assert [(row["name"], row["paid_members"]) for row in totals["children"]] == [("东区机关支部", 1)]
    headers, body = county.download("ExportDuesTotals", {"org_id": dues_city["county"]["id"],
                                                         "month_from": month(7), "month_to": month(1)})
    assert headers["content-type"] == XLSX_MEDIA_TYPE
    rows = list(load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))
    assert (month(7), "东区", 45.0, 1, 45.2, 2) in rows and len(rows) == 1 + 7 * 2


def test_bad_dues_input_is_refused_with_its_field(dues_city):
    secretary, first = dues_city["secretary_client"], dues_city["members"][0]
    for request, code, field in [
        ({"member_id": first["id"], "category": "employed", "income_fen": 0}, "INCOME_INVALID", "income_fen"),
        ({"member_id": first["id"], "category": "老板"}, "UNKNOWN_VALUE", "category"),
        ({"member_id": first["id"], "category": "student", "from_month": "2026-13"}, "MONTH_INVALID", "from_month"),
    ]:
        with pytest.raises(ApiError) as refused:
            secretary.call("SetDuesStandard", request)
        assert (refused.value.status, refused.value.code, refused.value.field) == (400, code, field)
    with pytest.raises(ApiError) as refused:
        secretary.call("RecordDuesPayment", {"member_id": first["id"], "months": [month(0)], "amount_fen": 20})
    assert (refused.value.status, refused.value.code) == (400, "NO_STANDARD")
    with pytest.raises(ApiError) as refused:
        dues_city["county_client"].call("SetDuesRules", {"brackets": [], "fixed": [], "arrears_flag_months": 6})
    assert (refused.value.status, refused.value.code) == (403, "NOT_CITY_ADMIN")
    assert dues_city["secretary_client"].call("GetDuesRules")["is_default"] is True
