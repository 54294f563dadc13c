"""Attachments and search in the real content process: published through publishing's commits (which write the
postings), searched within each caller's reach, withdrawn items gone; attachments deduplicated, counted and
refused outside the reach."""
from __future__ import annotations

import base64
import uuid

import pytest

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from tests.unit.content import sample_files as files


def publish(rpc, admin: dict, org: dict, title: str, body: str = "") -> str:
    column = rpc.content.create_column(scope=admin, org_id=org["id"], name=f"检索{uuid.uuid4().hex[:6]}",
                                       review_required=False)
    item = rpc.content.create_item(scope=admin, column_id=column["id"], kind="article", title=title, body=body)
    rpc.content.submit_item(scope=admin, item_id=item["id"])
    return item["id"]


def found(rpc, scope: dict, query: str) -> list[str]:
    return [result["item_id"] for result in rpc.content.search_items(scope=scope, query=query)["results"]]


@pytest.fixture
def member(rpc, city):
    return city.member_login(city.add_member(city.branches[0][0], "李学习"), f"m{uuid.uuid4().hex[:6]}")


def test_search_finds_partial_words_within_reach_and_forgets_withdrawn_items(rpc, city, other_city, member):
    mine = publish(rpc, city.admin, city.branches[0][0], "学习党章心得", "支部党员交流学习体会。")
    county = publish(rpc, city.admin, city.counties[0], "读书班通知", "请各支部交流学习党章的体会。")
    sibling = publish(rpc, city.admin, city.branches[0][1], "党章知识问答")
    other_county = publish(rpc, city.admin, city.counties[1], "第二县党章学习")
    foreign = publish(rpc, other_city.admin, other_city.branches[0][0], "外市党章学习")

    assert found(rpc, member, "党章") == [mine, county]               # title match first, then the body match
    assert set(found(rpc, city.county_admins[0], "党章")) == {mine, county, sibling}
    assert set(found(rpc, city.county_admins[1], "党章")) == {other_county}
    assert set(found(rpc, city.admin, "党章")) == {mine, county, sibling, other_county}
    assert found(rpc, other_city.admin, "党章") == [foreign]
    assert rpc.content.recent_searches(scope=member)["queries"] == ["党章"]

    rpc.content.withdraw_item(scope=city.admin, item_id=mine, reason="内容有误")
    assert found(rpc, member, "党章") == [county]
    with pytest.raises(InvalidArgument) as refused:
        rpc.content.search_items(scope=member, query="  ")
    assert refused.value.code == "QUERY_EMPTY"


def test_attachments_dedup_count_downloads_and_stay_in_reach(rpc, city, member):
    branch = city.branches[0][0]
    content = base64.b64encode(files.PDF).decode()
    first = rpc.content.upload_attachment(scope=city.county_admins[0], org_id=branch["id"],
                                          media_type="application/pdf", filename="学习材料.pdf", content=content)
    again = rpc.content.upload_attachment(scope=city.county_admins[0], org_id=branch["id"],
                                          media_type="application/octet-stream", filename="副本.pdf", content=content)
    assert again["attachment_id"] == first["attachment_id"] and again["duplicate"] is True
    listed = rpc.content.list_attachments(scope=city.admin, org_id=city.counties[0]["id"])["attachments"]
    assert [a["attachment_id"] for a in listed] == [first["attachment_id"]]

    with pytest.raises(InvalidArgument) as refused:
        rpc.content.upload_attachment(scope=city.county_admins[0], org_id=branch["id"], media_type="application/pdf",
                                      filename="照片.pdf", content=base64.b64encode(files.PNG).decode())
    assert refused.value.code == "ATTACHMENT_TYPE_MISMATCH"
    assert len(rpc.content.list_attachments(scope=city.admin, org_id=branch["id"])["attachments"]) == 1

    downloaded = rpc.content.download_attachment(scope=member, attachment_id=first["attachment_id"])
    assert base64.b64decode(downloaded["content"]) == files.PDF and downloaded["downloads"] == 1
    assert rpc.content.download_attachment(scope=city.admin, attachment_id=first["attachment_id"])["downloads"] == 2

    with pytest.raises(NotFound) as outside:
        rpc.content.download_attachment(scope=city.county_admins[1], attachment_id=first["attachment_id"])
    with pytest.raises(NotFound) as missing:
        rpc.content.download_attachment(scope=city.county_admins[1], attachment_id="att_missing")
    assert outside.value.code == missing.value.code == "ATTACHMENT_NOT_FOUND"
    with pytest.raises(NotFound):
        rpc.content.upload_attachment(scope=city.county_admins[1], org_id=branch["id"], media_type="application/pdf",
                                      filename="a.pdf", content=content)
    with pytest.raises(PermissionDenied):
        rpc.content.upload_attachment(scope=member, org_id=branch["id"], media_type="application/pdf",
                                      filename="a.pdf", content=content)
    assert rpc.content.list_attachments(scope=city.admin, org_id=branch["id"])["attachments"][0]["downloads"] == 2


def test_a_large_file_is_stored_in_chunks_and_comes_back_whole(rpc, city):
    data = b"%PDF-1.7\n" + bytes(range(256)) * (3 * 4096 + 17)     # ~3 MiB: several chunks
    stored = rpc.content.upload_attachment(scope=city.admin, org_id=city.root["id"], media_type="application/pdf",
                                           filename="大文件.pdf", content=base64.b64encode(data).decode())
    back = rpc.content.download_attachment(scope=city.admin, attachment_id=stored["attachment_id"])
    assert base64.b64decode(back["content"]) == data and back["size"] == len(data)
