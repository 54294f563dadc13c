"""The publishing store against the embedded store: the feed's cached heads are dropped by the process's own
commits at once and seen from another process at its next mark check; a read is counted once however often
it is recorded; a generated item is published with its events and its search postings."""
from __future__ import annotations

import secrets

import pytest

from pymongo.collection import Collection
from pymongo.errors import AutoReconnect

from servicekit.storage.mongo import open_store
from servicekit.storage.subtree import ancestor_fields
from services.content import events
from services.content.store import ContentStore
from services.content.stores import publishing

pytestmark = pytest.mark.integration
PATH = ["c1", "d1", "b1"]


@pytest.fixture
def stores(mongo_uri):
    name = f"content_pub_{secrets.token_hex(3)}"
    return open_store(ContentStore, name, mongo_uri), open_store(ContentStore, name, mongo_uri)


def generated(store, title, org_path=PATH, published_at="2026-12-06T08:00:00.000Z", **extra):
    item = {"_id": publishing.new_item_id(), "tenant_id": "t1", "org_id": org_path[-1], "org_path": list(org_path),
            "column_id": f"{org_path[-1]}:news", "kind": "notice", "title": title, "body": "学习党章", "summary": "",
            "tags": ["党章"], "attachment_ids": [], "pinned_until": None, "pushed": False, "promoted": False,
            "published_at": published_at, "author_name": "", "read_count": 0, "created_at": published_at,
            "updated_at": published_at, **extra}
    event = events.CONTENT_PUBLISHED.build("t1", published_at, item_id=item["_id"], org_id=item["org_id"],
                                           org_path=item["org_path"], kind="notice", title=title, version=1,
                                           pushed=False, published_by="")
    return store.insert_published_item(item, [event])


def heads(store, org_id="b1"):
    return [head["title"] for head in store.published_heads([org_id])[org_id][0]]


def test_own_commits_show_at_once_another_process_at_its_next_check(stores, monkeypatch):
    one, two = stores
    monkeypatch.setattr(publishing, "FEED_CHECK_SECONDS", 60.0)
    assert heads(one) == [] and heads(two) == []
    generated(one, "第一条")
    assert heads(one) == ["第一条"]
    assert heads(two) == []                     # not checked again yet: still the cached heads
    monkeypatch.setattr(publishing, "FEED_CHECK_SECONDS", 0.0)
    assert heads(two) == ["第一条"]
    item = one.item(one.published_heads(["b1"])["b1"][0][0]["_id"])
    assert one.published_items_by_ids([item["_id"], "itm_none"])[0]["generated"] is True
    assert one.db.postings.count_documents({"item_id": item["_id"]}) > 0
    assert one.db.outbox.count_documents({}) >= 1


def test_a_node_with_more_than_the_cached_heads_keeps_its_promoted_ones(stores, monkeypatch):
    one, _two = stores
    monkeypatch.setattr(publishing, "FEED_HEADS", 2)
    generated(one, "置顶旧闻", published_at="2026-12-01T00:00:00.000Z", promoted=True,
              pinned_until="2026-12-31T00:00:00.000Z")
    for day in (2, 3, 4):
        generated(one, f"新闻{day}", published_at=f"2026-12-0{day}T00:00:00.000Z")
    held, complete = one.published_heads(["b1"])["b1"]
    assert complete is False and [h["title"] for h in held] == ["新闻4", "新闻3", "置顶旧闻"]
    assert [h["title"] for h in one.published_newest(["b1", "d1"], 10)] == ["新闻4", "新闻3", "新闻2", "置顶旧闻"]


def test_a_read_is_counted_once(stores):
    one, two = stores
    item = generated(one, "通知")
    read = {"item_id": item["_id"], "member_id": "m1", "branch_id": "b1", "tenant_id": "t1", "tags": ["党章"],
            "kind": "notice", "read_at": "2026-12-06T09:00:00.000Z"}
    assert one.record_read(read, []) is True
    assert two.record_read(read, []) is False
    assert one.record_read({**read, "member_id": "m2"}, []) is True
    assert one.read_counts_of(item["_id"]) == {"b1": 2}
    assert set(one.readers_in_branch(item["_id"], "b1")) == {"m1", "m2"}
    assert one.item(item["_id"])["read_count"] == 2
    assert [r["item_id"] for r in one.recent_reads_of("m1")] == [item["_id"]]


def test_a_change_guarded_by_status_and_version(stores):
    one, _two = stores
    item = generated(one, "通知")
    log = {"_id": "log_1", "item_id": item["_id"], "action": "withdrawn", "by": "a", "at": "x", "reason": "r",
           "version": 1, "until": ""}
    withdrawn = one.change_item(item, "published", {"status": "withdrawn"}, [], log, postings="drop", feed=True)
    assert withdrawn["status"] == "withdrawn" and heads(one) == []
    assert one.db.postings.count_documents({"item_id": item["_id"]}) == 0
    with pytest.raises(Exception) as refused:
        one.change_item(item, "published", {"status": "withdrawn"}, [], {**log, "_id": "log_2"})
    assert getattr(refused.value, "code", "") == "ITEM_CHANGED"
    assert ancestor_fields(PATH)["a2"] == one.item(item["_id"])["a2"]


def test_default_columns_review_by_level_whatever_the_first_caller_asks(stores):
    one, _two = stores
    assert one.default_column("t1", PATH, "publicity", False, "2026-12-06T08:00:00.000Z")["review_required"] is False
    review = {c["key"]: c["review_required"] for c in one.columns_of("t1", "b1")}
    assert review == {"news": True, "notices": True, "learning": True, "role_models": False, "publicity": False}
    one.ensure_default_columns("t1", ["c1"], True, "2026-12-06T08:00:00.000Z")
    assert not any(c["review_required"] for c in one.columns_of("t1", "c1"))


def test_a_batch_of_first_reads_is_one_commit_each_pair_counted_once(stores):
    one, two = stores
    item = generated(one, "通知")
    read = {"item_id": item["_id"], "member_id": "m1", "branch_id": "b1", "tenant_id": "t1", "tags": ["党章"],
            "kind": "notice", "read_at": "2026-12-06T09:00:00.000Z"}
    assert one.record_read(read, []) is True
    notice = events.NOTICE_READ.build("t1", read["read_at"], item_id=item["_id"], member_id="m2", branch_id="b2",
                                      read_at=read["read_at"])
    outbox_before = one.db.outbox.count_documents({})
    batch = [(read, []), ({**read, "member_id": "m2", "branch_id": "b2"}, [notice]),
             ({**read, "member_id": "m2", "branch_id": "b2"}, [notice]), ({**read, "member_id": "m3"}, [])]
    assert two.record_reads(batch) == {(item["_id"], "m2"), (item["_id"], "m3")}
    assert one.read_counts_of(item["_id"]) == {"b1": 2, "b2": 1}
    assert one.item(item["_id"])["read_count"] == 3
    assert one.db.outbox.count_documents({}) == outbox_before + 1        # the batch's events in one entry
    assert two.record_reads(batch) == set()


def test_another_process_publishing_is_seen_at_the_next_poll_of_the_marks(stores, monkeypatch):
    one, two = stores
    monkeypatch.setattr(publishing, "FEED_CHECK_SECONDS", 0.0)
    generated(one, "第一条")
    assert heads(two) == ["第一条"]
    generated(one, "第二条", published_at="2026-12-06T09:00:00.000Z")
    generated(one, "县里一条", org_path=["c1", "d1"])
    assert heads(two) == ["第二条", "第一条"] and heads(two, "d1") == ["县里一条"]
    monkeypatch.setattr(publishing, "FEED_CHECK_SECONDS", 3600.0)
    generated(one, "第三条", published_at="2026-12-06T10:00:00.000Z")
    assert heads(two) == ["第二条", "第一条"]              # polled within the hour already: still the cached heads
    assert heads(one) == ["第三条", "第二条", "第一条"]     # the writer's own commit shows at once


def test_a_node_that_never_published_is_not_read(stores, monkeypatch):
    """Every publish moves its node's mark, so a node without one has no heads to read (most branches, on a
    morning when the whole city opens its feed for the first time); once it publishes, it is read."""
    one, two = stores
    generated(one, "支部一条")
    read = []
    original = ContentStore._read_heads
    monkeypatch.setattr(ContentStore, "_read_heads",
                        lambda self, org_id: (self is two and read.append(org_id)) or original(self, org_id))
    monkeypatch.setattr(publishing, "FEED_CHECK_SECONDS", 0.0)
    answer = two.published_heads(["c1", "d1", "b1"])
    assert read == ["b1"]
    assert answer["c1"] == ([], True) and answer["d1"] == ([], True)
    assert [head["title"] for head in answer["b1"][0]] == ["支部一条"]
    generated(one, "县里一条", org_path=["c1", "d1"])
    assert heads(two, "d1") == ["县里一条"] and read == ["b1", "d1"]


def test_once_the_marks_are_polled_a_cold_node_asks_the_store_nothing(stores, monkeypatch):
    """The first poll reads every mark: afterwards a node never published is known empty without a query, a node
    another process published is read once its mark is polled, and this process's own publish shows at once."""
    one, two = stores
    generated(one, "支部一条")
    monkeypatch.setattr(publishing, "FEED_CHECK_SECONDS", 3600.0)
    assert heads(two) == ["支部一条"]                     # the first poll: every mark
    asked = []
    original = Collection.find
    monkeypatch.setattr(Collection, "find", lambda self, *args, **kwargs: asked.append(self.name)
                        or original(self, *args, **kwargs))
    answer = two.published_heads(["c1", "d1", "b2", "b3"])
    assert asked == [] and all(answer[org_id] == ([], True) for org_id in answer)
    generated(one, "县里一条", org_path=["c1", "d1"])
    assert heads(two, "d1") == []                        # not polled yet: another process's publish waits for it
    monkeypatch.setattr(publishing, "FEED_CHECK_SECONDS", 0.0)
    assert heads(two, "d1") == ["县里一条"]
    monkeypatch.setattr(publishing, "FEED_CHECK_SECONDS", 3600.0)
    generated(two, "新支部一条", org_path=["c1", "d1", "b3"])
    assert heads(two, "b3") == ["新支部一条"]              # its own commit: at once, before any poll


def test_heads_are_read_off_the_members_requests(stores, monkeypatch):
    """The writer reads a node's heads again right after its own commit, and ``warm_feed_heads`` reads every node
    with a mark that a process does not hold: afterwards feeds on those nodes ask the store nothing. A read that
    fails after the commit leaves the commit standing."""
    one, two = stores
    generated(one, "支部一条")
    generated(one, "县里一条", org_path=["c1", "d1"])
    monkeypatch.setattr(publishing, "FEED_CHECK_SECONDS", 3600.0)
    assert one.warm_feed_heads() == 0                    # the writer read them after its commits
    assert two.warm_feed_heads() == 2 and two.warm_feed_heads() == 0
    asked = []
    original = Collection.find
    monkeypatch.setattr(Collection, "find", lambda self, *args, **kwargs: asked.append(self.name)
                        or original(self, *args, **kwargs))
    for store in (one, two):
        answer = store.published_heads(["c1", "d1", "b1"])
        assert [[head["title"] for head in answer[org_id][0]] for org_id in ("c1", "d1", "b1")] == \
            [[], ["县里一条"], ["支部一条"]]
    assert asked == []


def test_a_failed_read_after_the_commit_leaves_the_publish_standing(stores, monkeypatch):
    one, two = stores
    def unavailable(self, org_id):
        raise AutoReconnect("store away")
    monkeypatch.setattr(ContentStore, "_read_heads", unavailable)
    item = generated(one, "支部一条")                     # answered, though the heads were not read again
    monkeypatch.undo()
    assert one.item(item["_id"])["status"] == "published"
    monkeypatch.setattr(publishing, "FEED_CHECK_SECONDS", 0.0)
    assert heads(one) == ["支部一条"] and heads(two) == ["支部一条"]


def test_the_meetings_column_is_made_once_on_demand_or_is_the_branchs_own_of_that_name(stores):
    one, two = stores
    assert one.db.columns.count_documents({"org_id": "b1"}) == 0
    made = one.on_demand_column("t1", PATH, "meetings", "2026-12-06T08:00:00.000Z")
    again = two.on_demand_column("t1", PATH, "meetings")
    assert (made["_id"], made["name"], made["review_required"], made["a0"], made["org_path"]) == \
        ("b1:meetings", "三会一课", False, "c1", PATH)
    assert again["_id"] == made["_id"] and one.db.columns.count_documents({"org_id": "b1"}) == 1
    # a branch whose admins named a column 三会一课 keeps its records there; no second column of that name is made
    own = one.insert_column({"_id": "col_own", "tenant_id": "t1", "org_id": "b2", "org_path": ["c1", "d1", "b2"],
                             "key": "", "name": "三会一课", "org_name": "b2:三会一课", "review_required": True,
                             "created_by": "acc", "created_at": ""})
    assert one.on_demand_column("t1", ["c1", "d1", "b2"], "meetings")["_id"] == own["_id"]
    assert one.db.columns.count_documents({"org_id": "b2"}) == 1
