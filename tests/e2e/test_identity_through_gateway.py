"""A new city's first day, as its admins would live it, over both protocols."""
import io
import json
import time
import urllib.request
import uuid

import pytest
from openpyxl import Workbook

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.support.identity import PASSWORD, new_unique_id_number

pytestmark = pytest.mark.e2e


@pytest.fixture
def new_city(gateway_process, operator_password):
    operator = HttpClient(gateway_process.http_url)
    operator.login("", "operator", operator_password)
    code = f"e2e-{uuid.uuid4().hex[:8]}"
    created = operator.call("CreateTenant", {"code": code, "name": "端到端市", "admin_username": "admin",
                                             "admin_password": PASSWORD})
    admin = HttpClient(gateway_process.http_url)
    admin.login(code, "admin", PASSWORD)
    root = created["root_org"]["id"]
    counties = [admin.call("CreateOrg", {"parent_id": root, "name": f"{n}区", "kind": "county"}) for n in ("东", "西")]
    branches = [admin.call("CreateOrg", {"parent_id": c["id"], "name": f"{c['name']}机关支部", "kind": "branch",
                                         "field": "government"}) for c in counties]
    for index, county in enumerate(counties):
        admin.call("CreateAccount", {"username": f"county{index}", "password": PASSWORD, "role": "org_admin",
                                     "org_id": county["id"]})
    return {"code": code, "root": root, "admin": admin, "counties": counties, "branches": branches}


def member_xlsx(rows):
    book = Workbook()
    sheet = book.active
    sheet.append(["所在支部", "姓名", "性别", "出生日期", "身份证号", "手机号", "学历", "政治面貌",
                  "入党日期", "转正日期", "流动党员"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_the_city_admin_works_through_http_and_grpc_alike(new_city, gateway_process):
    admin = new_city["admin"]
    over_http = admin.call("ListSubtree", {"org_id": new_city["root"], "page_size": 100})
    with GrpcClient(gateway_process.grpc_target, token=admin.token) as grpc_client:
        over_grpc = grpc_client.call("ListSubtree", {"org_id": new_city["root"], "page_size": 100})
    assert [org["id"] for org in over_http["orgs"]] == [org["id"] for org in over_grpc["orgs"]]
    assert len(over_http["orgs"]) == 5


def test_members_imported_from_xlsx_then_transferred_between_counties(new_city, gateway_process):
    admin = new_city["admin"]
    east, west = new_city["branches"]
    numbers = [new_unique_id_number(__import__("datetime").date(1980, 3, 3)) for _ in range(2)]
    births = [f"{n[6:10]}-{n[10:12]}-{n[12:14]}" for n in numbers]
    content = member_xlsx([[f"{new_city['counties'][0]['name']}/{east['name']}", "孙一", "男", births[0], numbers[0],
                            "13700000001", "本科", "正式党员", "2005-07-01", "2006-07-01", "否"],
                           [east["id"], "孙二", "男", births[1], numbers[1], "13700000002", "硕士", "正式党员",
                            "2006-07-01", "2007-07-01", "是"]])
    answer = admin.call("ImportMembers", {"org_id": new_city["root"], "format": "xlsx", "content": content})
    assert answer["imported"] == 2
    members = admin.call("ListMembers", {"org_id": east["id"]})["members"]
    assert sorted(m["name"] for m in members) == ["孙一", "孙二"]
    moving = next(m for m in members if m["name"] == "孙一")
    east_admin, west_admin = HttpClient(gateway_process.http_url), HttpClient(gateway_process.http_url)
    east_admin.login(new_city["code"], "county0", PASSWORD)
    west_admin.login(new_city["code"], "county1", PASSWORD)
    transfer = east_admin.call("RequestTransfer", {"member_id": moving["id"], "to_branch_id": west["id"],
                                                   "reason": "工作调动"})
    with GrpcClient(gateway_process.grpc_target, token=west_admin.token) as grpc_client:
        pending = grpc_client.call("ListTransfers", {"org_id": new_city["counties"][1]["id"], "side": "incoming",
                                                     "state": "pending"})
        assert [t["id"] for t in pending["transfers"]] == [transfer["id"]]
        grpc_client.call("AcceptTransfer", {"transfer_id": transfer["id"]})
    assert west_admin.call("GetMember", {"member_id": moving["id"]})["branch_id"] == west["id"]
    with pytest.raises(ApiError) as error:
        east_admin.call("GetMember", {"member_id": moving["id"]})
    assert error.value.status == 404 and error.value.code == "MEMBER_NOT_FOUND"


def test_a_county_admin_cannot_see_another_county_on_either_protocol(new_city, gateway_process):
    east_admin = HttpClient(gateway_process.http_url)
    east_admin.login(new_city["code"], "county0", PASSWORD)
    west_county = new_city["counties"][1]["id"]
    with pytest.raises(ApiError) as error:
        east_admin.call("GetOrg", {"org_id": west_county})
    assert (error.value.status, error.value.code) == (404, "ORG_NOT_FOUND")
    with GrpcClient(gateway_process.grpc_target, token=east_admin.token) as grpc_client:
        with pytest.raises(ApiError) as grpc_error:
            grpc_client.call("ListSubtree", {"org_id": west_county})
    assert grpc_error.value.code == "ORG_NOT_FOUND"


def test_a_bad_import_is_refused_with_every_bad_line_and_stores_nothing(new_city):
    admin = new_city["admin"]
    east = new_city["branches"][0]
    content = member_xlsx([[east["id"], "坏一", "男", "1980-01-01", "123", "13700000001", "本科", "正式党员",
                            "2005-07-01", "2006-07-01", "否"],
                           ["没有这个支部", "坏二", "男", "1980-01-01", "110101198001010010", "1", "本科", "正式党员",
                            "2005-07-01", "2006-07-01", "否"]])
    with pytest.raises(ApiError) as error:
        admin.call("ImportMembers", {"org_id": new_city["root"], "format": "xlsx", "content": content})
    assert error.value.status == 400 and error.value.code == "IMPORT_REJECTED"
    assert {(d["line"], d["field"]) for d in error.value.details} >= {(2, "id_number"), (3, "branch_ref"),
                                                                      (3, "phone")}
    assert admin.call("ListMembers", {"org_id": east["id"]})["members"] == []


def test_malformed_requests_get_a_clear_code_and_change_nothing(new_city, gateway_process):
    admin = new_city["admin"]
    url = gateway_process.http_url + "/v1/orgs"
    for body, code in [(b"{not json", "MALFORMED_JSON"),
                       (json.dumps({"parent_id": new_city["root"], "name": "x", "kind": "county", "extra": 1}).encode(),
                        "UNKNOWN_FIELD"),
                       (json.dumps({"parent_id": new_city["root"], "name": 7, "kind": "county"}).encode(),
                        "INVALID_TYPE")]:
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Authorization": f"Bearer {admin.token}", "Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=10)
        assert error.value.code == 400 and json.loads(error.value.read())["error"]["code"] == code
    with pytest.raises(ApiError) as error:
        admin.call("ListSubtree", {"org_id": new_city["root"], "page_size": 100000})
    assert error.value.code == "PAGE_SIZE_TOO_LARGE"
    assert len(admin.call("ListSubtree", {"org_id": new_city["root"]})["orgs"]) == 5


def test_metrics_and_api_documents_are_served_on_the_admin_port_only(new_city, gateway_process):
    new_city["admin"].call("GetMe", {})
    metrics = urllib.request.urlopen(gateway_process.admin_url + "/metrics", timeout=5).read().decode()
    assert "gateway_request_seconds" in metrics and 'operation="GetMe"' in metrics
    spec = json.loads(urllib.request.urlopen(gateway_process.admin_url + "/openapi.json", timeout=5).read())
    assert "/v1/orgs/{org_id}/member-imports" in spec["paths"]
    for path in ("/metrics", "/openapi.json", "/docs"):
        with pytest.raises(urllib.error.HTTPError) as public:
            urllib.request.urlopen(gateway_process.http_url + path, timeout=5)
        assert public.value.code == 404


def test_the_operator_resets_a_lost_tenant_admin_password_over_http_and_grpc(new_city, gateway_process,
                                                                             operator_password):
    operator = HttpClient(gateway_process.http_url)
    operator.login("", "operator", operator_password)
    code = new_city["code"]
    answer = operator.request("POST", f"/v1/tenants/{code}/admin:reset-password", {"username": "admin"})
    generated = answer["generated_password"]
    assert answer["account"]["username"] == "admin" and generated
    HttpClient(gateway_process.http_url).login(code, "admin", generated)
    with pytest.raises(ApiError) as old:
        HttpClient(gateway_process.http_url).login(code, "admin", PASSWORD)
    assert old.value.code == "LOGIN_FAILED"

    with pytest.raises(ApiError) as weak:
        operator.request("POST", f"/v1/tenants/{code}/admin:reset-password", {"username": "admin", "password": "weak"})
    assert (weak.value.status, weak.value.code, weak.value.field) == (400, "PASSWORD_TOO_WEAK", "password")
    with pytest.raises(ApiError) as not_admin:
        operator.call("ResetTenantAdminPassword", {"tenant_code": code, "username": "county0", "password": PASSWORD})
    assert (not_admin.value.status, not_admin.value.code) == (403, "NOT_TENANT_ADMIN")
    # the reset ended the admin's sessions: its old token is refused (TOKEN_REVOKED); logged in anew, it is no operator
    deadline = time.monotonic() + 10                    # each gateway learns of it within its poll (2 s)
    while True:
        try:
            new_city["admin"].call("GetMe", {})
        except ApiError as revoked:
            assert (revoked.status, revoked.code) == (401, "TOKEN_REVOKED")
            break
        assert time.monotonic() < deadline, "the reset admin's old token still answered"
        time.sleep(0.2)
    admin_again = HttpClient(gateway_process.http_url)
    admin_again.login(code, "admin", generated)
    for caller, status, error_code in ((admin_again, 403, "OPERATOR_ONLY"),
                                       (HttpClient(gateway_process.http_url), 401, "TOKEN_MISSING")):
        with pytest.raises(ApiError) as refused:
            caller.call("ResetTenantAdminPassword", {"tenant_code": code, "username": "admin", "password": PASSWORD})
        assert (refused.value.status, refused.value.code) == (status, error_code)
    HttpClient(gateway_process.http_url).login(code, "admin", generated)

    with GrpcClient(gateway_process.grpc_target, token=operator.token) as grpc_client:
        answer = grpc_client.call("ResetTenantAdminPassword", {"tenant_code": code, "username": "admin",
                                                               "password": PASSWORD})
        with pytest.raises(ApiError) as unknown:
            grpc_client.call("ResetTenantAdminPassword", {"tenant_code": "no-such-city", "username": "admin"})
    assert answer["generated_password"] == "" and unknown.value.code == "TENANT_NOT_FOUND"
    HttpClient(gateway_process.http_url).login(code, "admin", PASSWORD)


def test_accounts_are_listed_within_the_callers_subtree_over_http_and_grpc(new_city, gateway_process):
    admin = new_city["admin"]
    east_branch, west_branch = new_city["branches"]
    for name, branch in (("east-sec", east_branch), ("west-sec", west_branch)):
        admin.call("CreateAccount", {"username": name, "password": PASSWORD, "role": "branch_secretary",
                                     "org_id": branch["id"]})
    everyone = admin.call("ListAccounts", {"org_id": new_city["root"], "page_size": 500})
    assert {row["username"] for row in everyone["accounts"]} == {"admin", "county0", "county1", "east-sec", "west-sec"}
    assert everyone["next_page_token"] == ""

    # over plain HTTP: the path and query of the operation table, rows without anything secret
    request = urllib.request.Request(
        f"{gateway_process.http_url}/v1/orgs/{new_city['counties'][0]['id']}/accounts?role=branch_secretary",
        headers={"Authorization": f"Bearer {admin.token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    assert [row["username"] for row in body["accounts"]] == ["east-sec"]
    row = body["accounts"][0]
    assert set(row) == {"id", "username", "roles", "member_id", "member_name", "created_at", "disabled"}
    assert row["roles"] == [{"role": "branch_secretary", "org_id": east_branch["id"], "org_name": east_branch["name"]}]

    # a county admin over gRPC: its county's accounts, paged, never the other county's
    east_admin = HttpClient(gateway_process.http_url)
    east_admin.login(new_city["code"], "county0", PASSWORD)
    with GrpcClient(gateway_process.grpc_target, token=east_admin.token) as grpc_client:
        first = grpc_client.call("ListAccounts", {"org_id": new_city["counties"][0]["id"], "page_size": 1})
        second = grpc_client.call("ListAccounts", {"org_id": new_city["counties"][0]["id"], "page_size": 1,
                                                   "page_token": first["next_page_token"]})
        assert second["next_page_token"] == ""
        assert {r["username"] for r in first["accounts"] + second["accounts"]} == {"county0", "east-sec"}
        with pytest.raises(ApiError) as refused:
            grpc_client.call("ListAccounts", {"org_id": new_city["counties"][1]["id"]})
        assert refused.value.code == "ORG_NOT_FOUND"
        with pytest.raises(ApiError) as refused:
            grpc_client.call("ListAccounts", {"org_id": new_city["counties"][0]["id"], "role": "operator"})
        assert refused.value.code == "UNKNOWN_VALUE"
    with pytest.raises(ApiError) as refused:
        east_admin.call("ListAccounts", {"org_id": new_city["root"]})
    assert (refused.value.status, refused.value.code) == (404, "ORG_NOT_FOUND")
    with pytest.raises(ApiError) as refused:
        east_admin.call("ListAccounts", {"org_id": new_city["counties"][0]["id"], "role": "admin"})
    assert (refused.value.status, refused.value.code) == (400, "UNKNOWN_VALUE")

    # a secretary sees its branch; a member of the branch may not list it
    number = new_unique_id_number(__import__("datetime").date(1985, 6, 1))
    member = admin.call("CreateMember", {"branch_id": east_branch["id"], "name": "钱七", "gender": "male",
                                         "birth_date": f"{number[6:10]}-{number[10:12]}-{number[12:14]}",
                                         "id_number": number, "phone": "13700000009", "status": "full",
                                         "status_dates": {"applicant": "2010-01-01", "probationary": "2012-07-01",
                                                          "full": "2013-07-01"}})
    admin.call("CreateAccount", {"username": "east-member", "password": PASSWORD, "role": "member",
                                 "member_id": member["id"]})
    secretary = HttpClient(gateway_process.http_url)
    secretary.login(new_city["code"], "east-sec", PASSWORD)
    rows = secretary.call("ListAccounts", {"org_id": east_branch["id"]})["accounts"]
    assert {(r["username"], r["member_name"]) for r in rows} == {("east-sec", ""), ("east-member", "钱七")}
    member_client = HttpClient(gateway_process.http_url)
    member_client.login(new_city["code"], "east-member", PASSWORD)
    with pytest.raises(ApiError) as refused:
        member_client.call("ListAccounts", {"org_id": east_branch["id"]})
    assert (refused.value.status, refused.value.code) == (403, "NOT_ORG_MANAGER")
