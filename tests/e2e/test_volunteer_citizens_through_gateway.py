"""Citizens (群众) through the gateway, over HTTP and gRPC: one registers with its phone and logs in with it; a taken
phone and bad input are refused; a flood of registrations from one address is throttled; a citizen's token reaches
its own orders and GetMe only — every other operation answers 403 CITIZEN_NOT_ALLOWED before any service call."""
from __future__ import annotations

import grpc
import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.support.identity import PASSWORD, City
from tests.support.volunteer import forwarded_address, order_fields, post_json, register_citizen, unique_phone

pytestmark = pytest.mark.e2e


@pytest.fixture
def city(rpc, operator_scope, volunteer_service, gateway_process) -> City:
    return City(rpc, operator_scope)


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value


def test_a_citizen_registers_and_logs_in_with_its_phone_over_http(city, gateway_process):
    phone = unique_phone()
    registered = register_citizen(gateway_process.http_url, city.code, f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}",
                                  "王阿姨")
    assert registered == {"account_id": registered["account_id"], "phone_masked": f"{phone[:3]}****{phone[-4:]}",
                          "name": "王阿姨"}
    citizen = HttpClient(gateway_process.http_url)
    logged_in = citizen.login(city.code, phone, PASSWORD)
    assert logged_in["account"]["roles"] == [{"role": "citizen", "org_id": ""}]
    me = citizen.call("GetMe")
    assert (me["account"]["id"], me["account"]["name"], me["account"]["username"]) == (
        registered["account_id"], "王阿姨", phone)
    assert "member" not in me and me["orgs"] == []

    taken = refusal(lambda: register_citizen(gateway_process.http_url, city.code, phone, "冒名者"))
    assert (taken.status, taken.code, taken.field) == (409, "PHONE_TAKEN", "phone")
    for bad_phone, bad_name, code, field in (("1390000111", "王阿姨", "PHONE_INVALID", "phone"),
                                             (unique_phone(), "", "REQUIRED", "name")):
        bad = refusal(lambda bad_phone=bad_phone, bad_name=bad_name: register_citizen(
            gateway_process.http_url, city.code, bad_phone, bad_name))
        assert (bad.status, bad.code, bad.field) == (400, code, field)
    weak_phone = unique_phone()
    status, answer, _ = post_json(gateway_process.http_url, "/v1/citizens", {
        "tenant_code": city.code, "phone": weak_phone, "password": "12345678", "name": "王阿姨"},
        {"X-Forwarded-For": forwarded_address()})
    assert (status, answer["error"]["code"]) == (400, "PASSWORD_TOO_WEAK")
    never = refusal(lambda: HttpClient(gateway_process.http_url).login(city.code, weak_phone, "12345678"))
    assert never.code == "LOGIN_FAILED"            # nothing was stored


def test_a_citizen_registers_over_grpc(city, gateway_process):
    phone = unique_phone()
    with GrpcClient(gateway_process.grpc_target) as stub:
        registered = stub.call("RegisterCitizen", {"tenant_code": city.code, "phone": phone, "password": PASSWORD,
                                                   "name": "李大爷"})
        assert registered["name"] == "李大爷"
        taken = refusal(lambda: stub.call("RegisterCitizen", {"tenant_code": city.code, "phone": phone,
                                                              "password": PASSWORD, "name": "李大爷"}))
        assert (taken.status, taken.code) == (grpc.StatusCode.FAILED_PRECONDITION, "PHONE_TAKEN")
        unknown = refusal(lambda: stub.call("RegisterCitizen", {"tenant_code": "no-such-city", "phone": unique_phone(),
                                                                "password": PASSWORD, "name": "李大爷"}))
        assert (unknown.status, unknown.code) == (grpc.StatusCode.NOT_FOUND, "TENANT_NOT_FOUND")
        token = stub.login(city.code, phone, PASSWORD)["access_token"]
        assert stub.call("GetMe", {}, token)["account"]["name"] == "李大爷"


def test_registrations_from_one_address_are_throttled_with_retry_after(city, gateway_process):
    address = forwarded_address()
    answers = [post_json(gateway_process.http_url, "/v1/citizens",
                         {"tenant_code": city.code, "phone": unique_phone(), "password": PASSWORD, "name": "测试"},
                         {"X-Forwarded-For": address}) for _ in range(21)]
    assert [status for status, _, _ in answers] == [200] * 20 + [429]
    status, body, headers = answers[-1]
    assert body["error"]["code"] == "TOO_MANY_ATTEMPTS" and int(headers["retry-after"]) >= 1
    # another address registers at once
    assert register_citizen(gateway_process.http_url, city.code, unique_phone(), address=forwarded_address())


# a sample request for each operation a citizen tries and may not call (ids are made up: never looked up)
FORBIDDEN = {
    "ListOrders": {"org_id": "org_x"},
    "ReviewOrder": {"order_id": "ord_x", "decision": "approve"},
    "DispatchOrder": {"order_id": "ord_x", "mode": "claim", "volunteers_needed": 1},
    "ClaimOrder": {"order_id": "ord_x"},
    "CheckInService": {"order_id": "ord_x", "lat": 34.26, "lng": 108.94, "accuracy_m": 5.0},
    "ListClaimableOrders": {},
    "GetMyHours": {},
    "ReportToCommunity": {"community_id": "org_x"},
    "CreateTeam": {"org_id": "org_x", "name": "队"},
    "GetVolunteerStatistics": {"org_id": "org_x"},
    "UpdateVolunteerSettings": {"review_hours": 1},
    "GetVolunteerSettings": {},
    "ListSubtree": {"org_id": "org_x"},
    "ListMembers": {"org_id": "org_x"},
    "GetFeed": {},
    "RecordScan": {"token": "v1.x"},
    "WriteLetter": {"to_kind": "branch", "subject": "x", "body": "y"},
}


def test_a_citizens_token_reaches_only_its_own_operations(city, gateway_process):
    phone = unique_phone()
    register_citizen(gateway_process.http_url, city.code, phone)
    citizen = HttpClient(gateway_process.http_url)
    citizen.login(city.code, phone, PASSWORD)
    with GrpcClient(gateway_process.grpc_target) as stub:
        for rpc, request in FORBIDDEN.items():
            over_http = refusal(lambda rpc=rpc, request=request: citizen.call(rpc, request))
            assert (over_http.status, over_http.code) == (403, "CITIZEN_NOT_ALLOWED"), rpc
            assert over_http.message == "群众账号无权使用此功能"
            over_grpc = refusal(lambda rpc=rpc, request=request: stub.call(rpc, request, citizen.token))
            assert (over_grpc.status, over_grpc.code) == (grpc.StatusCode.PERMISSION_DENIED, "CITIZEN_NOT_ALLOWED")
    # its own: GetMe, its orders (an unknown community is the service's answer, not the guard's)
    assert citizen.call("GetMe")["account"]["username"] == phone
    assert citizen.call("ListMyOrders")["orders"] == []
    unknown = refusal(lambda: citizen.call("PlaceOrder", order_fields("org_nowhere")))
    assert (unknown.status, unknown.code) == (404, "ORG_NOT_FOUND")
    missing = refusal(lambda: citizen.call("GetOrder", {"order_id": "ord_nowhere"}))
    assert (missing.status, missing.code) == (404, "ORDER_NOT_FOUND")


def test_staff_and_members_cannot_place_a_citizens_order(city, gateway_process):
    admin = HttpClient(gateway_process.http_url)
    admin.login(city.code, "city-admin", PASSWORD)
    refused = refusal(lambda: admin.call("PlaceOrder", order_fields(city.root["id"])))
    assert (refused.status, refused.code) == (403, "CITIZEN_ONLY")
    assert refusal(lambda: admin.call("ListMyOrders")).code == "CITIZEN_ONLY"
