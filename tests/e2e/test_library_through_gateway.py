"""Attachments and search through the gateway, over HTTP and gRPC: the raw file as the upload's body, checked by
content and deduplicated, downloaded as the file itself (counted), refused outside the reach; the member's search
finds partial words in its branch path only, and never a withdrawn item."""
from __future__ import annotations

import hashlib
import uuid

import grpc
import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.support.identity import PASSWORD, City
from tests.unit.content import sample_files as files

pytestmark = pytest.mark.e2e


@pytest.fixture
def city(rpc, operator_scope, content_service, gateway_process):
    return City(rpc, operator_scope)


def client(rpc, gateway_process, city: City, username: str) -> HttpClient:
    token = rpc.identity.login(tenant_code=city.code, username=username, password=PASSWORD)["access_token"]
    return HttpClient(gateway_process.http_url, token)


def refusal(call) -> ApiError:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value


def publish(rpc, admin: dict, org: dict, title: str, body: str = "") -> str:
    column = rpc.content.create_column(scope=admin, org_id=org["id"], name=f"检索{uuid.uuid4().hex[:6]}",
                                       review_required=False)
    item = rpc.content.create_item(scope=admin, column_id=column["id"], kind="article", title=title, body=body)
    rpc.content.submit_item(scope=admin, item_id=item["id"])
    return item["id"]


def test_attachments_over_http_and_grpc(rpc, gateway_process, city):
    branch = city.branches[0][0]
    county = client(rpc, gateway_process, city, "county1")
    other_county = client(rpc, gateway_process, city, "county2")
    city.member_login(city.add_member(branch, "王下载"), "downloader")
    member = client(rpc, gateway_process, city, "downloader")

    # HTTP: the file is the body, its Content-Type the declared type, ?filename= its name
    stored = county.request("POST", f"/v1/orgs/{branch['id']}/attachments", data=files.DOCX,
                            content_type=files.DOCX_TYPE, query={"filename": "党支部工作制度.docx"})
    assert (stored["filename"], stored["media_type"], stored["size"], stored["sha256"], stored["duplicate"]) == (
        "党支部工作制度.docx", files.DOCX_TYPE, len(files.DOCX), hashlib.sha256(files.DOCX).hexdigest(), False)
    mismatch = refusal(lambda: county.request("POST", f"/v1/orgs/{branch['id']}/attachments", data=files.PNG,
                                              content_type="application/pdf", query={"filename": "a.pdf"}))
    assert (mismatch.status, mismatch.code, mismatch.field) == (400, "ATTACHMENT_TYPE_MISMATCH", "media_type")
    html = refusal(lambda: county.request("POST", f"/v1/orgs/{branch['id']}/attachments", data=files.HTML,
                                          content_type="text/html", query={"filename": "a.html"}))
    assert html.code == "UNSUPPORTED_MEDIA_TYPE"

    with GrpcClient(gateway_process.grpc_target) as grpc_client:
        again = grpc_client.call("UploadAttachment", {"org_id": branch["id"], "media_type": files.DOCX_TYPE,
                                                      "filename": "副本.docx", "content": files.DOCX}, county.token)
        assert again["attachment_id"] == stored["attachment_id"] and again["duplicate"] is True
        refused = refusal(lambda: grpc_client.call("DownloadAttachment", {"attachment_id": stored["attachment_id"]},
                                                   other_county.token))
        assert (refused.status, refused.code) == (grpc.StatusCode.NOT_FOUND, "ATTACHMENT_NOT_FOUND")
        by_grpc = grpc_client.call("DownloadAttachment", {"attachment_id": stored["attachment_id"]}, member.token)
        assert by_grpc["downloads"] == 1

    headers, body = member.download("DownloadAttachment", {"attachment_id": stored["attachment_id"]})
    assert body == files.DOCX and headers["content-type"] == files.DOCX_TYPE
    assert headers["content-disposition"].startswith("attachment;")
    missing = refusal(lambda: other_county.download("DownloadAttachment", {"attachment_id": stored["attachment_id"]}))
    assert (missing.status, missing.code) == (404, "ATTACHMENT_NOT_FOUND")
    listed = county.call("ListAttachments", {"org_id": branch["id"]})["attachments"]
    assert [(a["attachment_id"], a["downloads"]) for a in listed] == [(stored["attachment_id"], 2)]
    denied = refusal(lambda: member.call("UploadAttachment", {"org_id": branch["id"], "media_type": "application/pdf",
                                                              "filename": "a.pdf", "content": files.PDF}))
    assert (denied.status, denied.code) == (403, "NOT_ORG_MANAGER")


def test_search_over_http_and_grpc(rpc, gateway_process, city):
    branch = city.branches[0][0]
    city.member_login(city.add_member(branch, "赵检索"), "searcher")
    member = client(rpc, gateway_process, city, "searcher")
    mine = publish(rpc, city.admin, branch, "学习党章心得", "支部党员交流学习党章的体会。")
    city_wide = publish(rpc, city.admin, city.root, "全市党员学习安排", "请各级组织认真学习党章。")
    publish(rpc, city.admin, city.branches[1][0], "党章学习（第二县）")

    answer = member.call("SearchItems", {"query": "党章"})
    assert [r["item_id"] for r in answer["results"]] == [mine, city_wide]
    assert answer["words"] == ["党章"] and answer["results"][0]["title_hit"] is True
    with GrpcClient(gateway_process.grpc_target) as grpc_client:
        over_grpc = grpc_client.call("SearchItems", {"query": "党章"}, member.token)
        assert [r["item_id"] for r in over_grpc["results"]] == [mine, city_wide]
        bad = refusal(lambda: grpc_client.call("SearchItems", {"query": "   "}, member.token))
        assert (bad.status, bad.code) == (grpc.StatusCode.INVALID_ARGUMENT, "QUERY_EMPTY")
    assert member.call("RecentSearches", {})["queries"] == ["党章"]

    rpc.content.withdraw_item(scope=city.admin, item_id=mine, reason="重新修改")
    assert [r["item_id"] for r in member.call("SearchItems", {"query": "党章心得"})["results"]] == []
    bad = refusal(lambda: member.request("GET", "/v1/content/search", query={"query": "党" * 51}))
    assert (bad.status, bad.code, bad.field) == (400, "QUERY_TOO_LONG", "query")
