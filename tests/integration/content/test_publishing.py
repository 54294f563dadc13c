"""Columns, review, publishing, the feed and a notice's read receipts in the real content process, with identity
answering paths and rosters, on the real broker and the embedded store."""
from __future__ import annotations

import uuid

import pytest

from servicekit.errors import Conflict, NotFound, PermissionDenied


def column(rpc, caller, org_id, key):
    return next(c["id"] for c in rpc.content.list_columns(scope=caller, org_id=org_id)["columns"] if c["key"] == key)


@pytest.fixture
def people(rpc, city):
    branch = city.branches[0][0]
    members = [city.add_member(branch, name) for name in ("张一", "张二", "张三")]
    other = city.add_member(city.branches[0][1], "李四")
    far = city.add_member(city.branches[1][0], "王五")
    tag = uuid.uuid4().hex[:6]
    logins = [city.member_login(m, f"m{n}-{tag}") for n, m in enumerate(members)]
    return {"branch": branch, "members": members, "logins": logins,
            "other": city.member_login(other, f"o-{tag}"), "far": city.member_login(far, f"f-{tag}")}


def test_review_publish_feed_edit_withdraw(rpc, city, other_city, people):
    county, member = city.counties[0], people["logins"][0]
    county_admin, other_county_admin = city.county_admins
    draft = rpc.content.create_item(scope=county_admin, column_id=column(rpc, county_admin, county["id"], "news"),
                                    title="学习党章心得", body="交流体会", tags=["党章"])
    with pytest.raises(PermissionDenied):
        rpc.content.create_item(scope=member, column_id=draft["column_id"], title="成员不能发布")
    assert rpc.content.submit_item(scope=county_admin, item_id=draft["id"])["status"] == "submitted"
    for outsider in (other_county_admin, other_city.admin, people["far"]):
        with pytest.raises(NotFound) as refused:
            rpc.content.get_item(scope=outsider, item_id=draft["id"])
        assert refused.value.code == "ITEM_NOT_FOUND"
    with pytest.raises(PermissionDenied):
        rpc.content.review_item(scope=county_admin, item_id=draft["id"], decision="approve")
    published = rpc.content.review_item(scope=city.admin, item_id=draft["id"], decision="approve")
    assert published["status"] == "published"

    city_notice = rpc.content.create_item(scope=city.admin, column_id=column(rpc, city.admin, city.root["id"],
                                                                             "notices"),
                                          kind="notice", title="市委通知", body="请各支部学习。")
    rpc.content.submit_item(scope=city.admin, item_id=city_notice["id"])     # the root's columns: no review
    rpc.content.push_item(scope=city.admin, item_id=city_notice["id"], pushed=True)
    feed = [item["id"] for item in rpc.content.get_feed(scope=member)["items"]]
    assert feed[:2] == [city_notice["id"], published["id"]]
    assert published["id"] not in [i["id"] for i in rpc.content.get_feed(scope=people["far"])["items"]]

    edited = rpc.content.update_item(scope=county_admin, item_id=published["id"], body="改过的体会")
    assert edited["version"] == 2
    history = rpc.content.item_history(scope=county_admin, item_id=published["id"])
    assert [v["version"] for v in history["versions"]] == [1, 2]
    rpc.content.withdraw_item(scope=county_admin, item_id=published["id"], reason="过时")
    assert published["id"] not in [i["id"] for i in rpc.content.get_feed(scope=member)["items"]]
    with pytest.raises(Conflict):
        rpc.content.withdraw_item(scope=county_admin, item_id=published["id"], reason="过时")
    listed = rpc.content.list_items(scope=county_admin, org_id=county["id"], status="withdrawn")
    assert [i["id"] for i in listed["items"]] == [published["id"]]


def test_notice_receipts_count_each_member_once(rpc, city, people):
    notice = rpc.content.create_item(scope=city.admin, column_id=column(rpc, city.admin, city.root["id"], "notices"),
                                     kind="notice", title="关于学习的通知")
    rpc.content.submit_item(scope=city.admin, item_id=notice["id"])
    first, second, _third = people["logins"]
    for caller in (first, second, first, people["other"]):
        assert rpc.content.get_item(scope=caller, item_id=notice["id"])["read"] is True
    receipts = rpc.content.notice_receipts(scope=city.county_admins[0], item_id=notice["id"])
    rows = {row["branch_id"]: (row["read"], row["expected"]) for row in receipts["branches"]}
    assert rows == {people["branch"]["id"]: (2, 3), city.branches[0][1]["id"]: (1, 1)}
    assert (receipts["read"], receipts["expected"]) == (3, 4)
    branch = rpc.content.notice_branch_receipts(scope=city.admin, item_id=notice["id"],
                                                branch_id=people["branch"]["id"])
    assert [m["name"] for m in branch["unread"]] == ["张三"]
    assert rpc.content.remind_unread(scope=city.admin, item_id=notice["id"])["reminded"] == 2
    with pytest.raises(NotFound):
        rpc.content.notice_branch_receipts(scope=city.county_admins[1], item_id=notice["id"],
                                           branch_id=people["branch"]["id"])
