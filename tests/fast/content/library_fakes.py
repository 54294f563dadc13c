"""An in-memory index, items and attachments behind the fake store's library reads and writes: the fast tests of
search and attachments run the real use cases over data that behaves like the store's."""
from __future__ import annotations

import copy

from servicekit.storage.subtree import ancestor_fields

from services.content.domain.search import item_postings
from tests.fast.content.fakes import PATHS, tenant_of


def item(item_id: str, org_id: str, title: str, body: str = "", published_at: str = "2026-12-01T00:00:00.000Z",
         status: str = "published") -> dict:
    path = PATHS[org_id]
    return {"_id": item_id, "tenant_id": tenant_of(org_id), "org_id": org_id, "org_path": list(path),
            **ancestor_fields(path), "column_id": f"col_{org_id}", "kind": "article", "title": title, "body": body,
            "status": status, "published_at": published_at}


class MemoryLibrary:
    """What the library's store methods would hold; ``wire(store)`` points a MagicMock store's methods here."""

    def __init__(self):
        self.items: dict[str, dict] = {}
        self.postings: dict[str, dict] = {}
        self.searches: list[dict] = []
        self.attachments: dict[str, dict] = {}
        self.chunks: dict[str, bytes] = {}

    def wire(self, store):
        for name in ("replace_postings", "drop_postings", "postings_of_term", "postings_among", "record_search",
                     "recent_searches_of", "published_items_by_ids", "attachment", "attachments_by_ids",
                     "attachments_under", "store_attachment", "count_download", "attachment_bytes"):
            setattr(store, name, getattr(self, name))
        return store

    def publish(self, *items: dict) -> None:
        for doc in items:
            self.items[doc["_id"]] = doc
            self.replace_postings(doc)

    def withdraw(self, item_id: str) -> None:
        self.items[item_id]["status"] = "withdrawn"
        self.drop_postings(item_id)

    # --- the index -------------------------------------------------------------------
    def replace_postings(self, item, session=None):
        self.drop_postings(item["_id"])
        for term, in_title in item_postings(item["title"], item["body"]).items():
            self.postings[f"{term}|{item['_id']}"] = {
                "term": term, "item_id": item["_id"], "tenant_id": item["tenant_id"], "org_id": item["org_id"],
                "in_title": in_title, "published_at": item.get("published_at"), **ancestor_fields(item["org_path"])}
        return len(self.postings)

    def drop_postings(self, item_id, session=None):
        for key in [key for key, row in self.postings.items() if row["item_id"] == item_id]:
            del self.postings[key]

    def postings_of_term(self, term, tenant_id, limit=0):
        rows = [dict(row) for row in self.postings.values() if row["term"] == term and row["tenant_id"] == tenant_id]
        return rows[:limit] if limit else rows

    def postings_among(self, term, item_ids):
        return {item_id: self.postings[f"{term}|{item_id}"]["in_title"] for item_id in item_ids
                if f"{term}|{item_id}" in self.postings}

    def published_items_by_ids(self, ids):
        return [copy.deepcopy(self.items[i]) for i in ids if i in self.items and self.items[i]["status"] == "published"]

    def record_search(self, search):
        self.searches.append(dict(search))

    def recent_searches_of(self, member_id, limit=20):
        mine = [s for s in self.searches if s["member_id"] == member_id]
        return sorted(mine, key=lambda s: s["at"], reverse=True)[:limit]

    # --- attachments -------------------------------------------------------------------
    def attachment(self, attachment_id):
        return copy.deepcopy(self.attachments.get(attachment_id))

    def attachments_by_ids(self, ids):
        return [copy.deepcopy(self.attachments[i]) for i in ids if i in self.attachments]

    def attachments_under(self, path_ids, tenant_id, skip, limit):
        level = f"a{len(path_ids) - 1}"
        docs = [d for d in self.attachments.values() if d.get(level) == path_ids[-1] and d["tenant_id"] == tenant_id]
        docs.sort(key=lambda d: (d["uploaded_at"], d["_id"]), reverse=True)
        return copy.deepcopy(docs[skip:skip + limit])

    def store_attachment(self, attachment, content):
        if attachment["_id"] in self.attachments:
            return copy.deepcopy(self.attachments[attachment["_id"]]), False
        self.attachments[attachment["_id"]] = copy.deepcopy(attachment)
        self.chunks[attachment["_id"]] = bytes(content)
        return copy.deepcopy(attachment), True

    def count_download(self, attachment_id):
        if attachment_id not in self.attachments:
            return None
        self.attachments[attachment_id]["downloads"] += 1
        return copy.deepcopy(self.attachments[attachment_id])

    def attachment_bytes(self, attachment_id):
        return self.chunks.get(attachment_id, b"")
