"""Columns and items through the entry points: write, review, publish, edit with history, withdraw, pin, push;
who may do what; other tenants and counties see nothing; bad input stores nothing."""
from __future__ import annotations

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from tests.fast.content.fakes import (BRANCH, CITY, CITY_ADMIN, COUNTY, COUNTY_ADMIN, COUNTY_B, FOREIGN_ADMIN, MEMBER,
                                      OTHER_COUNTY_ADMIN, OTHER_MEMBER, SECRETARY, scope)
from tests.fast.content.publishing_fakes import MemoryPublishing

SECOND_COUNTY_ADMIN = {**scope("org_admin", COUNTY), "account_id": "acc_county_2"}


@pytest.fixture
def memory(store):
    memory = MemoryPublishing()
    memory.wire(store)
    return memory


def column_of(service, caller, org_id, key):
    return next(c for c in service.list_columns(caller, org_id=org_id)["columns"] if c["key"] == key)["id"]


def draft(service, caller=COUNTY_ADMIN, org_id=COUNTY, key="news", **fields):
    values = {"title": "学习党章心得", "body": "第一段\n第二段", "tags": ["党章"], **fields}
    return service.create_item(caller, column_id=column_of(service, caller, org_id, key), **values)


def published(service, caller=COUNTY_ADMIN, org_id=COUNTY, key="news", **fields):
    item = draft(service, caller, org_id, key, **fields)
    submitted = service.submit_item(caller, item_id=item["id"])
    if submitted["status"] == "published":
        return submitted
    reviewer = CITY_ADMIN if caller != CITY_ADMIN else SECOND_COUNTY_ADMIN
    return service.review_item(reviewer, item_id=item["id"], decision="approve")


def test_default_columns_are_made_on_first_use_review_below_the_root(service, memory):
    county = service.list_columns(COUNTY_ADMIN, org_id=COUNTY)["columns"]
    assert [c["key"] for c in county] == ["news", "notices", "learning", "role_models", "publicity"]
    assert county[0]["review_required"] is True and county[0]["name"] == "要闻动态"
    assert service.list_columns(CITY_ADMIN, org_id=CITY)["columns"][0]["review_required"] is False
    assert len(service.list_columns(COUNTY_ADMIN, org_id=COUNTY)["columns"]) == 5     # not made twice
    # a member lists the columns of its branch's path
    assert service.list_columns(MEMBER, org_id=CITY)["columns"][1]["key"] == "notices"


def test_columns_outside_the_reach_are_not_found_and_only_admins_add_them(service, memory):
    for caller, org_id in ((OTHER_COUNTY_ADMIN, COUNTY), (FOREIGN_ADMIN, COUNTY), (OTHER_MEMBER, COUNTY)):
        with pytest.raises(NotFound) as refused:
            service.list_columns(caller, org_id=org_id)
        assert refused.value.code == "ORG_NOT_FOUND"
    with pytest.raises(PermissionDenied):
        service.create_column(SECRETARY, org_id=BRANCH, name="支部动态")
    made = service.create_column(COUNTY_ADMIN, org_id=BRANCH, name="支部动态", review_required=False)
    assert made["review_required"] is False and made["org_id"] == BRANCH
    with pytest.raises(Conflict) as refused:
        service.create_column(COUNTY_ADMIN, org_id=BRANCH, name="支部动态")
    assert refused.value.code == "COLUMN_EXISTS"
    with pytest.raises(InvalidArgument) as refused:
        service.create_column(COUNTY_ADMIN, org_id=BRANCH, name="栏" * 21)
    assert refused.value.field == "name"


def test_a_county_article_is_reviewed_by_another_admin_and_published(service, memory):
    item = draft(service)
    assert (item["status"], item["version"], item["author_name"], item["summary"]) == ("draft", 1, "一区委", "第一段")
    submitted = service.submit_item(COUNTY_ADMIN, item_id=item["id"])
    assert submitted["status"] == "submitted"
    assert memory.events_of("content_submitted")[0]["item_id"] == item["id"]
    with pytest.raises(PermissionDenied) as refused:
        service.review_item(COUNTY_ADMIN, item_id=item["id"], decision="approve")
    assert refused.value.code == "SELF_REVIEW"
    approved = service.review_item(SECOND_COUNTY_ADMIN, item_id=item["id"], decision="approve")
    assert approved["status"] == "published" and approved["published_at"]
    event = memory.events_of("content_published")[0]
    assert (event["item_id"], event["org_path"], event["version"]) == (item["id"], [CITY, COUNTY], 1)
    assert memory.postings[item["id"]] == "replaced" and memory.feed_changes == [COUNTY]


def test_reject_needs_a_reason_and_an_edit_makes_a_draft_again(service, memory):
    item = draft(service)
    service.submit_item(COUNTY_ADMIN, item_id=item["id"])
    with pytest.raises(InvalidArgument) as refused:
        service.review_item(CITY_ADMIN, item_id=item["id"], decision="reject", reason=" ")
    assert refused.value.field == "reason"
    with pytest.raises(InvalidArgument) as refused:
        service.review_item(CITY_ADMIN, item_id=item["id"], decision="maybe")
    assert refused.value.field == "decision"
    assert memory.items[item["id"]]["status"] == "submitted"
    rejected = service.review_item(CITY_ADMIN, item_id=item["id"], decision="reject", reason="标题不准确")
    assert (rejected["status"], rejected["review_reason"]) == ("rejected", "标题不准确")
    assert memory.events_of("content_rejected")[0]["reason"] == "标题不准确"
    edited = service.update_item(COUNTY_ADMIN, item_id=item["id"], title="学习党章的体会")
    assert (edited["status"], edited["version"]) == ("draft", 1)
    with pytest.raises(Conflict) as refused:
        service.review_item(CITY_ADMIN, item_id=item["id"], decision="approve")
    assert refused.value.code == "ITEM_NOT_SUBMITTED"


def test_a_column_without_review_publishes_directly_and_a_reviewed_one_never_does(service, memory):
    item = draft(service, CITY_ADMIN, CITY, "notices", kind="notice")
    assert service.submit_item(CITY_ADMIN, item_id=item["id"])["status"] == "published"
    column = service.create_column(COUNTY_ADMIN, org_id=BRANCH, name="支部动态", review_required=False)
    own = service.create_item(SECRETARY, column_id=column["id"], title="支部学习安排")
    assert service.submit_item(SECRETARY, item_id=own["id"])["status"] == "published"
    reviewed = draft(service, SECRETARY, BRANCH, "news")
    assert service.submit_item(SECRETARY, item_id=reviewed["id"])["status"] == "submitted"
    with pytest.raises(PermissionDenied) as refused:      # a secretary is no admin: it cannot review
        service.review_item(SECRETARY, item_id=reviewed["id"], decision="approve")
    assert refused.value.code == "NOT_ORG_ADMIN"


def test_editing_a_published_item_keeps_every_version(service, memory):
    item = published(service)
    edited = service.update_item(COUNTY_ADMIN, item_id=item["id"], body="改过的正文", tags=["党史"])
    assert (edited["status"], edited["version"], edited["tags"]) == ("published", 2, ["党史"])
    assert edited["title"] == "学习党章心得"
    history = service.item_history(COUNTY_ADMIN, item_id=item["id"])
    assert [(v["version"], v["body"]) for v in history["versions"]] == [(1, "第一段\n第二段"), (2, "改过的正文")]
    assert [row["action"] for row in history["log"]] == ["created", "submitted", "approved", "edited"]
    assert memory.events_of("content_published")[-1]["version"] == 2
    with pytest.raises(InvalidArgument) as refused:
        service.update_item(COUNTY_ADMIN, item_id=item["id"])
    assert refused.value.code == "NOTHING_TO_CHANGE"


def test_withdrawal_is_recorded_and_hides_the_item_from_members(service, memory):
    item = published(service)
    assert service.get_item(MEMBER, item_id=item["id"])["status"] == "published"
    with pytest.raises(InvalidArgument):
        service.withdraw_item(COUNTY_ADMIN, item_id=item["id"], reason="")
    withdrawn = service.withdraw_item(COUNTY_ADMIN, item_id=item["id"], reason="内容已过时")
    assert (withdrawn["status"], withdrawn["withdrawal_reason"]) == ("withdrawn", "内容已过时")
    assert memory.postings[item["id"]] == "dropped"
    assert service.item_history(COUNTY_ADMIN, item_id=item["id"])["log"][-1]["by"] == COUNTY_ADMIN["account_id"]
    with pytest.raises(NotFound) as refused:
        service.get_item(MEMBER, item_id=item["id"])
    assert refused.value.code == "ITEM_NOT_FOUND"
    with pytest.raises(Conflict) as refused:
        service.withdraw_item(COUNTY_ADMIN, item_id=item["id"], reason="again")
    assert refused.value.code == "ITEM_NOT_PUBLISHED"


@pytest.mark.parametrize("caller", [OTHER_COUNTY_ADMIN, FOREIGN_ADMIN, OTHER_MEMBER])
def test_outside_the_reach_an_item_is_not_found_like_an_unknown_id(service, memory, caller):
    item = published(service)
    pending = draft(service)
    for item_id in (item["id"], pending["id"], "itm_nothing"):
        with pytest.raises(NotFound) as refused:
            service.get_item(caller, item_id=item_id)
        assert (refused.value.code, refused.value.field) == ("ITEM_NOT_FOUND", "item_id")
    for call in (lambda: service.withdraw_item(caller, item_id=item["id"], reason="x"),
                 lambda: service.review_item(caller, item_id=pending["id"], decision="approve"),
                 lambda: service.item_history(caller, item_id=item["id"])):
        with pytest.raises(NotFound):
            call()


def test_members_neither_write_nor_review_nor_see_drafts(service, memory):
    with pytest.raises(PermissionDenied):
        service.create_item(MEMBER, column_id=column_of(service, COUNTY_ADMIN, COUNTY, "news"), title="t")
    item = published(service)
    for call in (lambda: service.review_item(MEMBER, item_id=item["id"], decision="approve"),
                 lambda: service.push_item(MEMBER, item_id=item["id"], pushed=True),
                 lambda: service.withdraw_item(MEMBER, item_id=item["id"], reason="x")):
        with pytest.raises(PermissionDenied):
            call()
    with pytest.raises(NotFound):
        service.get_item(MEMBER, item_id=draft(service)["id"])


@pytest.mark.parametrize("fields, field", [
    ({"title": ""}, "title"), ({"title": "t", "kind": "poem"}, "kind"), ({"title": "t", "tags": [""]}, "tags"),
    ({"title": "t", "attachment_ids": ["att_missing"]}, "attachment_ids"),
])
def test_bad_input_is_refused_and_nothing_is_stored(service, memory, fields, field):
    column_id = column_of(service, COUNTY_ADMIN, COUNTY, "news")
    with pytest.raises(InvalidArgument) as refused:
        service.create_item(COUNTY_ADMIN, column_id=column_id, **fields)
    assert refused.value.field == field
    assert memory.items == {}


def test_an_unknown_or_foreign_column_is_not_found(service, memory):
    column_id = column_of(service, COUNTY_ADMIN, COUNTY, "news")
    for caller, cid in ((COUNTY_ADMIN, "col_nothing"), (OTHER_COUNTY_ADMIN, column_id), (FOREIGN_ADMIN, column_id)):
        with pytest.raises(NotFound) as refused:
            service.create_item(caller, column_id=cid, title="t")
        assert refused.value.code == "COLUMN_NOT_FOUND"


def test_pin_and_push_change_the_feed_and_are_checked(service, memory):
    item = published(service)
    pinned = service.pin_item(COUNTY_ADMIN, item_id=item["id"], pinned_until="2026-12-20T00:00:00Z")
    assert pinned["pinned_until"] == "2026-12-20T00:00:00.000Z"
    with pytest.raises(InvalidArgument) as refused:
        service.pin_item(COUNTY_ADMIN, item_id=item["id"], pinned_until="2026-01-01T00:00:00Z")
    assert refused.value.code == "PIN_IN_PAST"
    with pytest.raises(PermissionDenied):           # pushing is an admin's
        service.push_item(SECRETARY, item_id=published(service, SECRETARY, BRANCH, "news")["id"], pushed=True)
    assert service.push_item(COUNTY_ADMIN, item_id=item["id"])["pushed"] is True
    with pytest.raises(Conflict):
        service.pin_item(COUNTY_ADMIN, item_id=draft(service)["id"], pinned_until="2026-12-20T00:00:00Z")
    assert service.pin_item(COUNTY_ADMIN, item_id=item["id"], pinned_until="")["pinned_until"] == ""


def test_the_managed_list_by_status(service, memory):
    first, second = draft(service), published(service)
    listed = service.list_items(COUNTY_ADMIN, org_id=COUNTY, status="draft")
    assert [i["id"] for i in listed["items"]] == [first["id"]] and "body" not in listed["items"][0]
    assert len(service.list_items(CITY_ADMIN, org_id=CITY)["items"]) == 2
    assert service.list_items(COUNTY_ADMIN, org_id=COUNTY, status="published")["items"][0]["id"] == second["id"]
    with pytest.raises(InvalidArgument):
        service.list_items(COUNTY_ADMIN, org_id=COUNTY, status="lost")
    with pytest.raises(NotFound):
        service.list_items(OTHER_COUNTY_ADMIN, org_id=COUNTY)
    with pytest.raises(PermissionDenied):
        service.list_items(MEMBER, org_id=BRANCH)


def test_generated_items_are_published_at_once_in_the_default_column(service, memory):
    made = service.publishing.generated_item("ten_1", [CITY, COUNTY_B], "publicity",
                                             {"title": "发展党员公示", "body": "拟发展对象：张三"}, [])
    assert made["status"] == "published" and made["generated"] is True
    assert made["column_id"] == f"{COUNTY_B}:publicity"
    assert memory.events_of("content_published")[0]["item_id"] == made["_id"]


def test_default_columns_review_by_level_whoever_makes_them_first(service, memory):
    service.publishing.generated_item("ten_1", [CITY, COUNTY], "role_models", {"title": "每月一星"}, [])
    review = {c["key"]: c["review_required"] for c in service.list_columns(COUNTY_ADMIN, org_id=COUNTY)["columns"]}
    assert review == {"news": True, "notices": True, "learning": True, "role_models": False, "publicity": False}
