"""The community store against the embedded store: a role model or a publicity commits in one transaction with its
generated items (published, indexed for search, in the feed) and its events; a failure anywhere in that commit
leaves none of them."""
from __future__ import annotations

import secrets

import pytest

from servicekit.errors import Conflict
from servicekit.storage.mongo import open_store
from services.content import events
from services.content.store import ContentStore
from services.content.usecases.community import item_spec

pytestmark = pytest.mark.integration
AT = "2026-12-06T08:00:00.000Z"
BRANCH_PATH, COUNTY_PATH = ["c1", "d1", "b1"], ["c1", "d1"]


@pytest.fixture
def store(mongo_uri):
    return open_store(ContentStore, f"content_comm_{secrets.token_hex(3)}", mongo_uri)


def generated(record_id: str, org_path: list[str], title: str) -> dict:
    spec = item_spec(record_id, org_path, "role_models", "article", title, "学习党章，带头服务群众。", ["先锋榜样"])
    return {"_id": spec["_id"], "tenant_id": "t1", "org_id": org_path[-1], "org_path": org_path,
            "column_id": f"{org_path[-1]}:role_models", "kind": "article", "title": title, "body": spec["body"],
            "summary": "", "tags": spec["tags"], "attachment_ids": [], "version": 1, "pinned_until": None,
            "pushed": False, "promoted": False, "published_at": AT, "author_account_id": "system:content",
            "author_name": "", "read_count": 0, "created_at": AT, "updated_at": AT}


def role_model(record_id: str = "rm_b1_monthly_star_2026-11") -> tuple[dict, list[dict], list[dict]]:
    items = [generated(record_id, BRANCH_PATH, "每月一星：张三"), generated(record_id, COUNTY_PATH, "每月一星：张三")]
    record = {"_id": record_id, "tenant_id": "t1", "branch_id": "b1", "kind": "monthly_star", "period": "2026-11",
              "member_id": "m1", "published": True, "items": [{"_id": item["_id"]} for item in items]}
    named = events.ROLE_MODEL_NAMED.build("t1", AT, role_model_id=record_id, branch_id="b1", member_id="m1",
                                          kind="monthly_star", period="2026-11", named_by="acc_1")
    published = [events.CONTENT_PUBLISHED.build("t1", AT, item_id=item["_id"], org_id=item["org_id"],
                                                org_path=item["org_path"], kind="article", title=item["title"],
                                                version=1, pushed=False, published_by="system:content")
                 for item in items]
    return record, items, [named, *published]


def outbox_types(store) -> list[str]:
    return sorted(entry["routing_key"] for entry in store.db.outbox.find({}))


def test_a_role_model_commits_with_its_published_items_and_events(store):
    record, items, batch = role_model()
    store.name_role_model(record, items, batch)
    assert store.role_model(record["_id"])["member_id"] == "m1"
    stored = store.published_items_by_ids([item["_id"] for item in items])
    assert sorted((item["org_id"], item["status"], item["generated"]) for item in stored) == \
        [("b1", "published", True), ("d1", "published", True)]
    assert [head["title"] for head in store.published_heads(["b1"])["b1"][0]] == ["每月一星：张三"]
    assert store.db.postings.count_documents({"item_id": items[0]["_id"]}) > 0
    assert outbox_types(store) == ["content_published", "content_published",
                                   "role_model_named"]

    with pytest.raises(Conflict) as refused:          # the branch's one of that period exists: nothing more stored
        store.name_role_model(*role_model())
    assert refused.value.code == "ROLE_MODEL_EXISTS"
    assert len(outbox_types(store)) == 3 and store.db.items.count_documents({}) == 2


def test_a_failure_while_writing_an_item_leaves_no_record_no_item_and_no_event(store, monkeypatch):
    record, items, batch = role_model()
    write = ContentStore.write_published_item

    def failing_second(self, item, session):
        if item["_id"] == items[1]["_id"]:
            raise RuntimeError("the store went away")
        return write(self, item, session)
    monkeypatch.setattr(ContentStore, "write_published_item", failing_second)
    with pytest.raises(RuntimeError):
        store.name_role_model(record, items, batch)
    assert store.role_model(record["_id"]) is None
    assert store.db.items.count_documents({}) == 0 and store.db.postings.count_documents({}) == 0
    assert outbox_types(store) == []

    monkeypatch.setattr(ContentStore, "write_published_item", write)
    store.name_role_model(record, items, batch)        # done again, it all commits
    assert store.db.items.count_documents({}) == 2 and len(outbox_types(store)) == 3


def test_a_publicity_opens_once_with_its_notice(store):
    publicity_id = "pub_evt_1"
    [item] = [generated(publicity_id, COUNTY_PATH, "关于李四同志拟确定为发展对象的公示")]
    publicity = {"_id": publicity_id, "tenant_id": "t1", "state": "open", "org_id": "d1", "published": True,
                 "items": [{"_id": item["_id"]}]}
    opened = events.PUBLICITY_OPENED.build("t1", AT, publicity_id=publicity_id, member_id="m2", branch_id="b1",
                                           org_id="d1", step="development_target", opens_on="2026-12-06",
                                           closes_on="2026-12-11")
    assert store.open_publicity(publicity, [item], [opened]) is True
    assert store.publicity(publicity_id)["state"] == "open" and store.item(item["_id"])["status"] == "published"
    assert store.open_publicity(publicity, [item], [opened]) is False       # a replayed event: nothing written
    assert outbox_types(store) == ["publicity_opened"] and store.db.items.count_documents({}) == 1
