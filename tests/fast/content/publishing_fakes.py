"""Columns, items, versions, reads and the feed's heads in memory behind the fake store's publishing reads and
writes: the fast tests run the real use cases over data that behaves like the store's (guarded changes, a
read counted once, events kept with the commit that made them)."""
from __future__ import annotations

import copy

from servicekit.errors import Conflict
from servicekit.storage.subtree import ancestor_fields

from services.content.stores.publishing import DEFAULT_COLUMNS, default_column_id, default_review, head_of, read_id

METHODS = ("column", "columns_of", "ensure_default_columns", "default_column", "insert_column", "item", "items_by_ids",
           "published_items_by_ids", "items_in", "versions_of", "log_of", "create_item", "insert_published_item",
           "change_item", "has_read", "record_read", "record_reads", "read_counts_of", "readers_in_branch", "recent_reads_of",
           "record_reminder", "reminders_of", "published_heads", "published_newest", "attachments_by_ids")


class MemoryPublishing:
    def __init__(self):
        self.columns: dict[str, dict] = {}
        self.items: dict[str, dict] = {}
        self.versions: dict[str, dict] = {}
        self.log: list[dict] = []
        self.reads: dict[str, dict] = {}
        self.counts: dict[str, int] = {}
        self.reminders: list[dict] = []
        self.events: list[dict] = []
        self.postings: dict[str, str] = {}         # item id -> "replaced" | "dropped"
        self.feed_changes: list[str] = []
        self.attachments: dict[str, dict] = {}

    def wire(self, store):
        for name in METHODS:
            setattr(store, name, getattr(self, name))
        return store

    def events_of(self, name: str) -> list[dict]:
        return [event for event in self.events if event["event_type"] == name]

    # --- columns ---------------------------------------------------------------------
    def column(self, column_id):
        return copy.deepcopy(self.columns.get(column_id))

    def columns_of(self, tenant_id, org_id):
        return [copy.deepcopy(c) for c in self.columns.values() if c["org_id"] == org_id and c["tenant_id"] == tenant_id]

    def ensure_default_columns(self, tenant_id, org_path, review_required=None, at=""):
        for key, name in DEFAULT_COLUMNS.items():
            self.columns.setdefault(default_column_id(org_path[-1], key), {
                "_id": default_column_id(org_path[-1], key), "tenant_id": tenant_id, "org_id": org_path[-1],
                "org_path": list(org_path), **ancestor_fields(org_path), "key": key, "name": name,
                "org_name": f"{org_path[-1]}:{name}", "review_required": default_review(org_path, key), "created_at": at})

    def default_column(self, tenant_id, org_path, key, review_required=None, at=""):
        self.ensure_default_columns(tenant_id, org_path, None, at)
        return self.column(default_column_id(org_path[-1], key))

    def insert_column(self, column):
        if any(c["org_name"] == column["org_name"] for c in self.columns.values()):
            raise Conflict("该组织已有同名栏目", code="COLUMN_EXISTS", field="name")
        self.columns[column["_id"]] = copy.deepcopy(column)
        return column

    # --- items -----------------------------------------------------------------------
    def item(self, item_id):
        return copy.deepcopy(self.items.get(item_id))

    def items_by_ids(self, ids):
        return [copy.deepcopy(self.items[i]) for i in ids if i in self.items]

    def published_items_by_ids(self, ids):
        return [copy.deepcopy(self.items[i]) for i in ids if i in self.items and self.items[i]["status"] == "published"]

    def items_in(self, path_ids, status, kind, column_id, skip, limit):
        level, node = len(path_ids) - 1, path_ids[-1]
        found = [i for i in self.items.values() if i.get(f"a{level}") == node and (not status or i["status"] == status)
                 and (not kind or i["kind"] == kind) and (not column_id or i["column_id"] == column_id)]
        found.sort(key=lambda i: (i["updated_at"], i["_id"]), reverse=True)
        return copy.deepcopy(found[skip:skip + limit])

    def versions_of(self, item_id):
        return sorted((v for v in self.versions.values() if v["item_id"] == item_id), key=lambda v: v["version"])

    def log_of(self, item_id):
        return [row for row in self.log if row["item_id"] == item_id]

    def create_item(self, item, version, log):
        self.items[item["_id"]] = copy.deepcopy(item)
        self.versions[version["_id"]] = copy.deepcopy(version)
        self.log.append(log)
        return item

    def insert_published_item(self, item, events):
        item = {**item, **ancestor_fields(item["org_path"]), "status": "published", "generated": True}
        self.items[item["_id"]] = copy.deepcopy(item)
        self.events.extend(events)
        self.postings[item["_id"]] = "replaced"
        self.feed_changes.append(item["org_id"])
        return item

    def change_item(self, item, expected_status, fields, events, log, version=None, postings="", feed=False):
        held = self.items.get(item["_id"])
        if held is None or held["status"] != expected_status or held["version"] != item["version"]:
            raise Conflict("内容状态已变化，请刷新后重试", code="ITEM_CHANGED")
        held.update(copy.deepcopy(fields))
        self.log.append(log)
        if version is not None:
            self.versions[version["_id"]] = copy.deepcopy(version)
        if postings:
            self.postings[item["_id"]] = {"replace": "replaced", "drop": "dropped"}[postings]
        if feed:
            self.feed_changes.append(held["org_id"])
        self.events.extend(events)
        return copy.deepcopy(held)

    # --- reads -----------------------------------------------------------------------
    def has_read(self, item_id, member_id):
        return read_id(item_id, member_id) in self.reads

    def record_read(self, read, events):
        key = read_id(read["item_id"], read["member_id"])
        if key in self.reads:
            return False
        self.reads[key] = dict(read)
        counter = f"{read['item_id']}:{read['branch_id']}"
        self.counts[counter] = self.counts.get(counter, 0) + 1
        self.items[read["item_id"]]["read_count"] = self.items[read["item_id"]].get("read_count", 0) + 1
        self.events.extend(events)
        return True

    def record_reads(self, entries):
        return {(read["item_id"], read["member_id"]) for read, events in entries if self.record_read(read, events)}

    def read_counts_of(self, item_id):
        return {key.split(":", 1)[1]: count for key, count in self.counts.items() if key.split(":", 1)[0] == item_id}

    def readers_in_branch(self, item_id, branch_id):
        return {r["member_id"]: r["read_at"] for r in self.reads.values()
                if r["item_id"] == item_id and r["branch_id"] == branch_id}

    def recent_reads_of(self, member_id, limit=50):
        rows = sorted((r for r in self.reads.values() if r["member_id"] == member_id), key=lambda r: r["read_at"],
                      reverse=True)
        return rows[:limit]

    def record_reminder(self, reminder):
        self.reminders.append(reminder)
        return reminder

    def reminders_of(self, item_id):
        return [r for r in self.reminders if r["item_id"] == item_id]

    # --- the feed ----------------------------------------------------------------------
    def published_heads(self, org_ids, keep: int = 1000):
        answer = {}
        for org_id in org_ids:
            published = sorted((i for i in self.items.values() if i["org_id"] == org_id and i["status"] == "published"),
                               key=lambda i: (i["published_at"], i["_id"]), reverse=True)
            heads = {i["_id"]: head_of(i) for i in published[:keep]}
            for i in published[keep:]:
                if i.get("promoted"):
                    heads[i["_id"]] = head_of(i)
            answer[org_id] = (list(heads.values()), len(published) <= keep)
        return answer

    def published_newest(self, org_ids, limit):
        published = sorted((i for i in self.items.values() if i["org_id"] in org_ids and i["status"] == "published"),
                           key=lambda i: (i["published_at"], i["_id"]), reverse=True)
        return [head_of(i) for i in published[:limit]]

    def attachments_by_ids(self, ids):
        return [copy.deepcopy(self.attachments[i]) for i in ids if i in self.attachments]
