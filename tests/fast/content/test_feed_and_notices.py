"""The member's feed (pushed and pinned first, higher levels first, then newest, paginated) and a notice's read
receipts: a read counted once, receipts per branch, unread members, reminders; all within the caller's reach."""
from __future__ import annotations

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from services.content import orgs
from tests.fast.content.fakes import (BRANCH, BRANCH2, BRANCH_B, CITY, CITY_ADMIN, COUNTY, COUNTY_ADMIN, FOREIGN_ADMIN,
                                      MEMBER, OTHER_COUNTY_ADMIN, OTHER_MEMBER, SECRETARY, scope)
from tests.fast.content.publishing_fakes import MemoryPublishing
from tests.fast.content.test_publishing import published

MEMBER_2 = scope("member", None, member_id="m_2", branch_id=BRANCH)
MEMBER_3 = scope("member", None, member_id="m_3", branch_id=BRANCH2)


@pytest.fixture
def memory(store):
    memory = MemoryPublishing()
    memory.wire(store)
    return memory


def ids(answer):
    return [item["id"] for item in answer["items"]]


def test_the_feed_puts_pushed_and_pinned_first_then_newest(service, memory, clock):
    city_old = published(service, CITY_ADMIN, CITY, "news", title="市委要闻")
    clock.advance(minutes=1)
    county_pushed = published(service, COUNTY_ADMIN, COUNTY, "news", title="区委重点")
    clock.advance(minutes=1)
    branch_new = published(service, SECRETARY, BRANCH, "news", title="支部动态")
    clock.advance(minutes=1)
    city_pushed = published(service, CITY_ADMIN, CITY, "notices", title="市委通知", kind="notice")
    clock.advance(minutes=1)
    other_county = published(service, OTHER_COUNTY_ADMIN, "org_county_b", "news", title="二区委要闻")
    clock.advance(minutes=1)
    branch_pinned = published(service, SECRETARY, BRANCH, "learning", title="学习资料")
    service.push_item(COUNTY_ADMIN, item_id=county_pushed["id"], pushed=True)
    service.push_item(CITY_ADMIN, item_id=city_pushed["id"], pushed=True)
    service.pin_item(SECRETARY, item_id=branch_pinned["id"], pinned_until="2026-12-07T00:00:00Z")
    feed = service.get_feed(MEMBER)
    assert ids(feed) == [city_pushed["id"], county_pushed["id"], branch_pinned["id"], branch_new["id"],
                         city_old["id"]]
    assert other_county["id"] not in ids(feed)
    assert feed["items"][0]["pushed"] and feed["items"][2]["pinned"] and feed["items"][0]["level"] == 0
    # paginated
    first = service.get_feed(MEMBER, page_size=2)
    second = service.get_feed(MEMBER, page_size=2, page_token=first["next_page_token"])
    third = service.get_feed(MEMBER, page_size=2, page_token=second["next_page_token"])
    assert ids(first) + ids(second) + ids(third) == ids(feed) and third["next_page_token"] == ""
    # the pin runs out: the item takes its place among the newest
    clock.advance(days=1)
    assert ids(service.get_feed(MEMBER))[2] == branch_pinned["id"]


def test_feed_pages_past_the_cached_heads_read_the_store(service, memory, clock):
    made = []
    for n in range(5):
        clock.advance(minutes=1)
        made.append(published(service, CITY_ADMIN, CITY, "news", title=f"要闻{n}")["id"])
    memory.published_heads = lambda org_ids: MemoryPublishing.published_heads(memory, org_ids, keep=2)
    pages, token = [], ""
    while True:
        answer = service.get_feed(MEMBER, page_size=2, page_token=token)
        pages += ids(answer)
        token = answer["next_page_token"]
        if not token:
            break
    assert pages == made[::-1]


def test_only_members_have_a_feed_and_bad_paging_is_refused(service, memory):
    with pytest.raises(PermissionDenied) as refused:
        service.get_feed(COUNTY_ADMIN)
    assert refused.value.code == "MEMBER_ONLY"
    with pytest.raises(InvalidArgument) as refused:
        service.get_feed(MEMBER, page_size=-1)
    assert refused.value.field == "page_size"
    with pytest.raises(InvalidArgument) as refused:
        service.get_feed(MEMBER, page_token="nonsense")
    assert refused.value.field == "page_token"


@pytest.fixture
def notice(service, memory):
    return published(service, CITY_ADMIN, CITY, "notices", title="关于学习的通知", kind="notice")


def test_a_repeat_read_counts_once(service, memory, notice):
    first = service.get_item(MEMBER, item_id=notice["id"])
    again = service.get_item(MEMBER, item_id=notice["id"])
    assert first["read"] is True and again["read_count"] == 1
    assert len(memory.events_of("notice_read")) == 1
    assert memory.events_of("notice_read")[0]["member_id"] == "m_1"
    # an admin opening it reads nothing
    service.get_item(CITY_ADMIN, item_id=notice["id"])
    assert memory.items[notice["id"]]["read_count"] == 1
    # an article's open is a read row too, without a notice_read event
    article = published(service, CITY_ADMIN, CITY, "news", title="文章")
    service.get_item(MEMBER, item_id=article["id"])
    assert len(memory.events_of("notice_read")) == 1
    assert {r["item_id"] for r in memory.recent_reads_of("m_1")} == {notice["id"], article["id"]}


def test_a_batch_of_opens_answers_each_as_its_single_call(service, memory, notice):
    """The gateway's batch: every member's open answered on its own, the first reads counted once each, a foreign
    caller refused alone."""
    answers = service.get_items([{"scope": MEMBER, "item_id": notice["id"]},
                                 {"scope": MEMBER_2, "item_id": notice["id"]},
                                 {"scope": MEMBER, "item_id": notice["id"]},
                                 {"scope": OTHER_MEMBER, "item_id": "itm_none"},
                                 {"scope": FOREIGN_ADMIN, "item_id": notice["id"]}])
    assert [a["result"]["read"] for a in answers[:3]] == [True, True, True]
    assert [a["error"]["code"] for a in answers[3:]] == ["ITEM_NOT_FOUND", "ITEM_NOT_FOUND"]
    assert memory.items[notice["id"]]["read_count"] == 2
    assert sorted(e["member_id"] for e in memory.events_of("notice_read")) == ["m_1", "m_2"]
    again = service.get_items([{"scope": MEMBER_2, "item_id": notice["id"]}])
    assert again[0]["result"]["read_count"] == 2 and len(memory.events_of("notice_read")) == 2


def test_receipts_per_branch_after_reads_by_several_members(service, memory, notice, identity):
    for caller in (MEMBER, MEMBER_2, MEMBER_3, MEMBER):
        service.get_item(caller, item_id=notice["id"])
    identity.asked.clear()
    city = service.notice_receipts(CITY_ADMIN, item_id=notice["id"])
    assert (city["org_id"], city["read"], city["expected"], city["unread"]) == (CITY, 3, 5, 2)
    # the counts come from the rosters' sizes: no member's name crosses for them
    assert [name for name, _ in identity.asked if name.startswith("branch_roster")] == ["branch_roster_sizes"]
    rows = {row["branch_id"]: (row["read"], row["expected"]) for row in city["branches"]}
    assert rows == {BRANCH: (2, 3), BRANCH2: (1, 1), BRANCH_B: (0, 1)}
    # the county admin sees its own subtree's branches of the city's notice
    county = service.notice_receipts(COUNTY_ADMIN, item_id=notice["id"])
    assert county["org_id"] == COUNTY and {row["branch_id"] for row in county["branches"]} == {BRANCH, BRANCH2}
    branch = service.notice_branch_receipts(SECRETARY, item_id=notice["id"], branch_id=BRANCH)
    assert [m["member_id"] for m in branch["read"]] == ["m_1", "m_2"]
    assert [m["member_id"] for m in branch["unread"]] == ["m_secretary"] and branch["expected"] == 3
    page = service.notice_receipts(CITY_ADMIN, item_id=notice["id"], page_size=2)
    assert len(page["branches"]) == 2 and page["next_page_token"]


def test_receipts_ask_identity_for_the_rosters_in_chunks(service, memory, notice, identity, monkeypatch):
    """A city's 9,000 branches in one call took identity longer than the peer timeout: they go in chunks."""
    service.get_item(MEMBER, item_id=notice["id"])
    whole = service.notice_receipts(CITY_ADMIN, item_id=notice["id"])
    monkeypatch.setattr(orgs, "ROSTER_CHUNK", 2)
    service.org_paths.forget()                  # the sizes just asked are kept a minute
    identity.asked.clear()
    chunked = service.notice_receipts(CITY_ADMIN, item_id=notice["id"])
    assert chunked == whole and (chunked["read"], chunked["expected"]) == (1, 5)
    asked = [ids.split(",") for name, ids in identity.asked if name == "branch_roster_sizes"]
    assert sorted(branch for ids in asked for branch in ids) == sorted([BRANCH, BRANCH2, BRANCH_B])
    assert [len(ids) for ids in asked] == [2, 1]


def test_receipts_viewed_again_within_a_minute_ask_identity_no_sizes(service, notice, identity):
    service.get_item(MEMBER, item_id=notice["id"])
    first = service.notice_receipts(CITY_ADMIN, item_id=notice["id"])
    identity.asked.clear()
    again = service.notice_receipts(CITY_ADMIN, item_id=notice["id"])
    county = service.notice_receipts(COUNTY_ADMIN, item_id=notice["id"])
    assert again == first and county["read"] == 1
    assert [name for name, _ in identity.asked if name.startswith("branch_roster")] == []


def test_reminding_the_unread_is_recorded(service, memory, notice, identity):
    service.get_item(MEMBER, item_id=notice["id"])
    one = service.remind_unread(SECRETARY, item_id=notice["id"], branch_id=BRANCH)
    assert (one["reminded"], one["org_id"]) == (2, BRANCH)
    identity.asked.clear()
    every = service.remind_unread(CITY_ADMIN, item_id=notice["id"])
    assert every["reminded"] == 4 and every["org_id"] == CITY
    assert [name for name, _ in identity.asked if name.startswith("branch_roster")] == ["branch_roster_sizes"]
    assert [(r["by"], r["count"]) for r in memory.reminders_of(notice["id"])] == [
        (SECRETARY["account_id"], 2), (CITY_ADMIN["account_id"], 4)]


def test_receipts_are_the_managers_within_their_subtree(service, memory, notice):
    with pytest.raises(PermissionDenied):
        service.notice_receipts(MEMBER, item_id=notice["id"])
    with pytest.raises(NotFound) as refused:          # a branch of another county
        service.notice_branch_receipts(COUNTY_ADMIN, item_id=notice["id"], branch_id=BRANCH_B)
    assert refused.value.code == "BRANCH_NOT_FOUND"
    with pytest.raises(NotFound) as refused:
        service.notice_receipts(FOREIGN_ADMIN, item_id=notice["id"])
    assert refused.value.code == "ITEM_NOT_FOUND"
    county_notice = published(service, COUNTY_ADMIN, COUNTY, "notices", title="区委通知", kind="notice")
    with pytest.raises(NotFound) as refused:
        service.notice_receipts(OTHER_COUNTY_ADMIN, item_id=county_notice["id"])
    assert refused.value.code == "ITEM_NOT_FOUND"
    article = published(service, CITY_ADMIN, CITY, "news", title="文章")
    with pytest.raises(Conflict) as refused:
        service.notice_receipts(CITY_ADMIN, item_id=article["id"])
    assert refused.value.code == "NOT_A_NOTICE"
    with pytest.raises(InvalidArgument):
        service.notice_branch_receipts(CITY_ADMIN, item_id=notice["id"], branch_id="")
    with pytest.raises(NotFound):
        service.remind_unread(OTHER_MEMBER, item_id=county_notice["id"])


def test_managers_list_the_notices_reaching_their_node(service, memory, notice, clock):
    clock.advance(minutes=1)
    own = published(service, SECRETARY, BRANCH, "notices", title="支部通知", kind="notice")
    published(service, SECRETARY, BRANCH, "news", title="不是通知")
    listed = service.list_notices(SECRETARY, org_id=BRANCH)["notices"]
    assert {row["id"] for row in listed} == {notice["id"], own["id"]}
    assert {row["id"] for row in service.list_notices(CITY_ADMIN, org_id=CITY)["notices"]} == {notice["id"], own["id"]}
    assert [row["id"] for row in service.list_notices(SECRETARY, org_id=BRANCH)["notices"]][0] == own["id"]
    with pytest.raises(NotFound):
        service.list_notices(OTHER_COUNTY_ADMIN, org_id=BRANCH)
    with pytest.raises(PermissionDenied):
        service.list_notices(MEMBER, org_id=BRANCH)


def test_a_batch_of_feeds_loads_its_members_nodes_at_once(service, memory, store):
    """Before the feeds are answered, the nodes of every member path already known are loaded in one call (one
    read of their marks on a cold cache); a member whose path is not known yet is left to its own request."""
    published(service, CITY_ADMIN, CITY, "news", title="市委要闻")
    service.get_feed(MEMBER)
    service.get_feed(OTHER_MEMBER)                       # these two members' paths are cached now
    asked = []
    store.published_heads = lambda org_ids: asked.append(list(org_ids)) or memory.published_heads(org_ids)
    answers = service.get_feeds([{"scope": MEMBER}, {"scope": OTHER_MEMBER}, {"scope": MEMBER_3},
                                 {"scope": FOREIGN_ADMIN}])
    assert asked[0] == [CITY, COUNTY, BRANCH, "org_county_b", BRANCH_B]
    assert [[item["title"] for item in answer["result"]["items"]] for answer in answers[:3]] == [["市委要闻"]] * 3
    assert answers[3]["error"]["code"] == "MEMBER_ONLY"
