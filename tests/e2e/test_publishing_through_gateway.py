"""Columns, review and publishing, the member's feed and a notice's read receipts through the gateway, over HTTP
and gRPC: the paths of the operation table, refusals with their codes and statuses, another county and another
tenant answered NOT_FOUND."""
from __future__ import annotations

import grpc
import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.support.identity import PASSWORD, City

pytestmark = pytest.mark.e2e


@pytest.fixture
def city(rpc, operator_scope, content_service, gateway_process):
    return City(rpc, operator_scope)


@pytest.fixture
def other_city(rpc, operator_scope, content_service, gateway_process):
    return City(rpc, operator_scope)


def client(rpc, gateway_process, city: City, username: str) -> HttpClient:
    token = rpc.identity.login(tenant_code=city.code, username=username, password=PASSWORD)["access_token"]
    return HttpClient(gateway_process.http_url, token)


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value


def column_id(http: HttpClient, org_id: str, key: str) -> str:
    columns = http.request("GET", f"/v1/orgs/{org_id}/columns")["columns"]
    return next(c["id"] for c in columns if c["key"] == key)


def test_review_publish_and_feed_over_http_and_grpc(rpc, gateway_process, city, other_city):
    county_org, branch = city.counties[0], city.branches[0][0]
    county, other_county = client(rpc, gateway_process, city, "county1"), client(rpc, gateway_process, city, "county2")
    admin = client(rpc, gateway_process, city, "city-admin")
    foreign = client(rpc, gateway_process, other_city, "city-admin")
    city.member_login(city.add_member(branch, "赵读者"), "reader")
    member = client(rpc, gateway_process, city, "reader")

    draft = county.request("POST", "/v1/items", body={"column_id": column_id(county, county_org["id"], "news"),
                                                      "title": "学习党章心得", "body": "第一段\n第二段",
                                                      "tags": ["党章"]})
    assert (draft["status"], draft["version"], draft["summary"]) == ("draft", 1, "第一段")
    bad = refusal(lambda: county.request("POST", "/v1/items", body={"column_id": draft["column_id"], "title": ""}))
    assert (bad.status, bad.code, bad.field) == (400, "REQUIRED", "title")
    denied = refusal(lambda: member.request("POST", "/v1/items", body={"column_id": draft["column_id"], "title": "t"}))
    assert denied.status == 403
    assert county.request("POST", f"/v1/items/{draft['id']}:submit", body={})["status"] == "submitted"
    for outsider in (other_county, foreign):
        missing = refusal(lambda: outsider.request("GET", f"/v1/items/{draft['id']}"))
        assert (missing.status, missing.code) == (404, "ITEM_NOT_FOUND")
    own = refusal(lambda: county.request("POST", f"/v1/items/{draft['id']}:review", body={"decision": "approve"}))
    assert (own.status, own.code) == (403, "SELF_REVIEW")

    with GrpcClient(gateway_process.grpc_target) as rpc_client:
        reject = refusal(lambda: rpc_client.call("ReviewItem", {"item_id": draft["id"], "decision": "reject"},
                                                 admin.token))
        assert (reject.status, reject.field) == (grpc.StatusCode.INVALID_ARGUMENT, "reason")
        approved = rpc_client.call("ReviewItem", {"item_id": draft["id"], "decision": "approve"}, admin.token)
        assert approved["status"] == "published"
        far = refusal(lambda: rpc_client.call("GetItem", {"item_id": draft["id"]}, foreign.token))
        assert (far.status, far.code) == (grpc.StatusCode.NOT_FOUND, "ITEM_NOT_FOUND")
        by_grpc = rpc_client.call("GetFeed", {}, member.token)

    notice = admin.request("POST", "/v1/items", body={"column_id": column_id(admin, city.root["id"], "notices"),
                                                       "kind": "notice", "title": "市委通知"})
    admin.request("POST", f"/v1/items/{notice['id']}:submit", body={})
    admin.request("POST", f"/v1/items/{notice['id']}:push", body={"pushed": True})
    feed = member.request("GET", "/v1/feed", query={"page_size": 10})
    assert [i["id"] for i in feed["items"]][:2] == [notice["id"], draft["id"]]
    assert feed["items"][0]["pushed"] is True and [i["id"] for i in by_grpc["items"]] == [draft["id"]]

    edited = county.request("PATCH", f"/v1/items/{draft['id']}", body={"body": "改过的正文", "tags": ["党章"]})
    assert edited["version"] == 2
    history = county.request("GET", f"/v1/items/{draft['id']}/history")
    assert [row["action"] for row in history["log"]] == ["created", "submitted", "approved", "edited"]
    county.request("POST", f"/v1/items/{draft['id']}:withdraw", body={"reason": "已过时"})
    assert draft["id"] not in [i["id"] for i in member.request("GET", "/v1/feed")["items"]]
    listed = county.request("GET", f"/v1/orgs/{county_org['id']}/items", query={"status": "withdrawn"})
    assert [i["id"] for i in listed["items"]] == [draft["id"]]


def test_notice_receipts_over_http_and_grpc(rpc, gateway_process, city):
    branch = city.branches[0][0]
    admin = client(rpc, gateway_process, city, "city-admin")
    readers = []
    for n, name in enumerate(("钱一", "钱二", "钱三")):
        city.member_login(city.add_member(branch, name), f"r{n}")
        readers.append(client(rpc, gateway_process, city, f"r{n}"))
    notice = admin.request("POST", "/v1/items", body={"column_id": column_id(admin, city.root["id"], "notices"),
                                                       "kind": "notice", "title": "关于学习的通知"})
    admin.request("POST", f"/v1/items/{notice['id']}:submit", body={})
    for reader in (readers[0], readers[1], readers[0]):
        assert reader.request("GET", f"/v1/items/{notice['id']}")["read"] is True
    receipts = admin.request("GET", f"/v1/items/{notice['id']}/receipts")
    assert (receipts["read"], receipts["expected"]) == (2, 3)
    with GrpcClient(gateway_process.grpc_target) as rpc_client:
        one = rpc_client.call("GetBranchReceipts", {"item_id": notice["id"], "branch_id": branch["id"]}, admin.token)
        member_denied = refusal(lambda: rpc_client.call("GetReceipts", {"item_id": notice["id"]}, readers[0].token))
    assert [m["name"] for m in one["unread"]] == ["钱三"] and len(one["read"]) == 2
    assert member_denied.status == grpc.StatusCode.PERMISSION_DENIED
    reminded = admin.request("POST", f"/v1/items/{notice['id']}:remind", body={"branch_id": branch["id"]})
    assert reminded["reminded"] == 1
    county = client(rpc, gateway_process, city, "county2")
    outside = refusal(lambda: county.request("GET", f"/v1/items/{notice['id']}/receipts/{branch['id']}"))
    assert (outside.status, outside.code) == (404, "BRANCH_NOT_FOUND")
    assert notice["id"] in [n["id"] for n in admin.request("GET", f"/v1/orgs/{branch['id']}/notices")["notices"]]
