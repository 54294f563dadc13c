"""Columns, content items with their versions and log, the feed's published heads, notices' read receipts.

A mixin of ``services.content.store.ContentStore``: it declares its collections (single-field indexes
only) and its intention-named reads and writes; writes with consequences go through ``self.commit``.

- ``items``: one document per item in its current version; ``item_versions`` keeps every version
  (``<item_id>:<version>``), ``item_log`` every action (submitted, rejected with its reason, withdrawn...).
- ``columns``: default columns have the natural id ``<org_id>:<key>``, so creating them on first use by two
  callers at once inserts one.
- ``reads``: one row per (item, member) at the first open (``<item_id>:<member_id>``, a repeat cannot be
  stored twice); ``read_counts`` one counter per (item, branch) incremented in the same transaction, so the
  receipts of a city-wide notice never count rows; unread = roster - reads, nothing written at publish time.
- ``feed_marks``: a node's mark (and ``changed_at``) changes in every commit that changes what its members'
  feeds show (publish, withdraw, edit of a published item, pin, push). Each process keeps the published heads of
  the nodes it served (``published_heads``): its own commits drop the node at once; once every
  ``FEED_CHECK_SECONDS`` one query for the marks changed lately finds what other instances committed. A feed
  request reads nothing from the store: a per-node check would be a query on nearly every feed (a branch's
  members read their feed a few times a minute each). A node never published has no mark, and its (empty) heads
  are not read. The first poll reads every mark and each later one what moved, so the process knows which nodes
  have a mark without asking; the committing process reads a node's heads again right after its commit, and
  ``warm_feed_heads`` (content's timer) reads those of every node with a mark it does not hold. A morning's first
  feeds of 9,000 branches then read nothing: each read a feed made waited behind the morning's writes for the
  database's lock.
"""
from __future__ import annotations

import logging
import secrets
import threading
import time
import uuid
from datetime import timedelta

from pymongo import DESCENDING, ReturnDocument, UpdateOne
from pymongo.errors import DuplicateKeyError, PyMongoError

from servicekit.errors import Conflict
from servicekit.storage.mongo import is_duplicate
from servicekit.storage.subtree import LEVEL_FIELDS, ancestor_fields, subtree_filter
from servicekit.timestamps import stamp, utc_now

log = logging.getLogger(__name__)

PUBLISHED = "published"
FEED_CHECK_SECONDS = 1.0      # how stale another instance's publish may look in this process's feeds
FEED_HEADS = 200              # newest published items kept per node; deeper pages read the store
FEED_NODES_KEPT = 20_000
WARM_CHUNK = 100                 # nodes whose heads one step of ``warm_feed_heads`` reads
READS_BUNDLE = 500             # notice_read events per outbox entry of a batch of opens
# marks are polled from this long before the last poll: a commit's changed_at is stamped before it commits
FEED_POLL_OVERLAP_SECONDS = 30.0
# read_count as of when the node's heads were loaded: popularity for recommendations, where a count a little
# old does no harm
HEAD_FIELDS = ("org_id", "column_id", "kind", "title", "summary", "tags", "pinned_until", "pushed",
               "published_at", "author_name", "version", "org_path", "attachment_ids", "read_count")

# default columns per org node, key -> name (their review: ``default_review``)
DEFAULT_COLUMNS = {
    "news": "要闻动态",
    "notices": "通知公告",
    "learning": "学习资料",
    "role_models": "先锋榜样",
    "publicity": "公示公告",
}
SYSTEM_COLUMNS = ("role_models", "publicity")
# columns the system writes to, made on a node only at its first such item (a branch's 三会一课 records: every node
# holding an empty one would crowd the counties' and the city's column lists); unreviewed, as the system columns
ON_DEMAND_COLUMNS = {
    "meetings": "三会一课",
}


def default_review(org_path: list[str], key: str) -> bool:
    """Whether a default column reviews before publishing: below the tenant root (nobody stands above the root's
    admins), except the columns the system writes (role models, publicity)."""
    return len(org_path) > 1 and key not in SYSTEM_COLUMNS


def new_item_id() -> str:
    return f"itm_{uuid.uuid4().hex}"


def new_column_id() -> str:
    return f"col_{uuid.uuid4().hex}"


def default_column_id(org_id: str, key: str) -> str:
    return f"{org_id}:{key}"


def read_id(item_id: str, member_id: str) -> str:
    return f"{item_id}:{member_id}"


def head_of(item: dict) -> dict:
    """What a feed shows of an item (never the body)."""
    return {"_id": item["_id"], **{name: item.get(name) for name in HEAD_FIELDS}}


class PublishingRecords:
    collections: dict[str, list] = {
        "columns": ["org_id", ("org_name", {"unique": True})],
        "items": ["org_id", "status", *LEVEL_FIELDS],
        "item_versions": ["item_id"],
        "item_log": ["item_id"],
        "feed_marks": ["changed_at"],         # _id: org id
        "reads": ["member_id", "item_branch"],
        "read_counts": ["item_id"],           # _id: "<item_id>:<branch_id>"
        "reminders": ["item_id"],
    }

    # --- columns --------------------------------------------------------------------
    def column(self, column_id: str) -> dict | None:
        return self.db.columns.find_one({"_id": column_id})

    def columns_of(self, tenant_id: str, org_id: str) -> list[dict]:
        return list(self.db.columns.find({"org_id": org_id, "tenant_id": tenant_id}).sort("created_at", 1))

    def ensure_default_columns(self, tenant_id: str, org_path: list[str], review_required=None, at: str = "") -> None:
        """The node's default columns, created on first use (their natural ids make a second creation a no-op).
        Their review follows the node, never the caller (``default_review``): ``review_required`` is not used."""
        org_id = org_path[-1]
        wanted = [default_column_id(org_id, key) for key in DEFAULT_COLUMNS]
        if len(list(self.db.columns.find({"_id": {"$in": wanted}}, {"_id": 1}))) == len(wanted):
            return
        self.insert_new("columns", [
            {"_id": default_column_id(org_id, key), "tenant_id": tenant_id, "org_id": org_id,
             "org_path": list(org_path), **ancestor_fields(org_path), "key": key, "name": name,
             "org_name": f"{org_id}:{name}", "review_required": default_review(org_path, key), "created_by": "",
             "created_at": at}
            for key, name in DEFAULT_COLUMNS.items()])

    def default_column(self, tenant_id: str, org_path: list[str], key: str, review_required=None,
                       at: str = "") -> dict:
        self.ensure_default_columns(tenant_id, org_path, None, at)
        return self.column(default_column_id(org_path[-1], key))

    def on_demand_column(self, tenant_id: str, org_path: list[str], key: str, at: str = "") -> dict:
        """The node's column named as ``ON_DEMAND_COLUMNS[key]``: one its admins created under that name if any
        (names are unique per node), else the system's own ``<org_id>:<key>``, created now (two creations at once
        insert one)."""
        org_id, name = org_path[-1], ON_DEMAND_COLUMNS[key]
        found = self.db.columns.find_one({"org_name": f"{org_id}:{name}", "tenant_id": tenant_id})
        if found is not None:
            return found
        self.insert_new("columns", [
            {"_id": default_column_id(org_id, key), "tenant_id": tenant_id, "org_id": org_id,
             "org_path": list(org_path), **ancestor_fields(org_path), "key": key, "name": name,
             "org_name": f"{org_id}:{name}", "review_required": False, "created_by": "", "created_at": at}])
        return self.db.columns.find_one({"org_name": f"{org_id}:{name}", "tenant_id": tenant_id})

    def insert_column(self, column: dict) -> dict:
        try:
            self.db.columns.insert_one(column)
        except DuplicateKeyError:
            raise Conflict("该组织已有同名栏目", code="COLUMN_EXISTS", field="name") from None
        return column

    # --- items: reads ---------------------------------------------------------------
    def item(self, item_id: str) -> dict | None:
        return self.db.items.find_one({"_id": item_id}) if isinstance(item_id, str) and item_id else None

    def items_by_ids(self, ids) -> list[dict]:
        ids = [i for i in ids or () if isinstance(i, str)]
        return list(self.db.items.find({"_id": {"$in": ids}})) if ids else []

    def published_items_by_ids(self, ids) -> list[dict]:
        ids = [i for i in ids or () if isinstance(i, str)]
        if not ids:
            return []
        return [doc for doc in self.db.items.find({"_id": {"$in": ids}}) if doc.get("status") == PUBLISHED]

    def items_in(self, path_ids: list[str], status: str, kind: str, column_id: str, skip: int,
                 limit: int) -> list[dict]:
        """Items of a subtree, newest change first; filters by status, kind and column when given."""
        query = dict(subtree_filter(path_ids))
        if status:
            query["status"] = status
        for name, value in (("kind", kind), ("column_id", column_id)):
            if value:
                query[name] = value
        cursor = self.db.items.find(query, {"body": 0})
        return list(cursor.sort([("updated_at", DESCENDING), ("_id", 1)]).skip(skip).limit(limit))

    def versions_of(self, item_id: str) -> list[dict]:
        return sorted(self.db.item_versions.find({"item_id": item_id}), key=lambda row: row["version"])

    def log_of(self, item_id: str) -> list[dict]:
        return sorted(self.db.item_log.find({"item_id": item_id}), key=lambda row: (row["at"], row["_id"]))

    # --- items: writes --------------------------------------------------------------
    def create_item(self, item: dict, version: dict, log: dict) -> dict:
        def writes(session):
            self.db.items.insert_one(item, session=session)
            self.db.item_versions.insert_one(version, session=session)
            self.db.item_log.insert_one(log, session=session)
            return item
        return self.commit(writes)

    def insert_published_item(self, item: dict, events: list) -> dict:
        """A system-generated item published at once, committed with ``events`` (``write_published_item``)."""
        stored = self.commit(lambda session: self.write_published_item(item, session), events)
        self.published_items_committed([stored])
        return stored

    def write_published_item(self, item: dict, session) -> dict:
        """Write a system-generated item (role models, publicity) as published inside the caller's transaction
        (``session``): the item, its first version, its node's feed mark and its search postings, so that the
        record it was generated from commits with it. The item needs ``_id``, ``org_path``, ``column_id`` and the
        content fields (shared-shapes.md); returns it as stored. After the commit: ``published_items_committed``."""
        item = {**item, **ancestor_fields(item["org_path"]), "status": PUBLISHED, "generated": True}
        item.setdefault("version", 1)
        version = {"_id": f"{item['_id']}:{item['version']}", "item_id": item["_id"], "version": item["version"],
                   **{name: item.get(name) for name in ("title", "body", "summary", "tags", "attachment_ids")},
                   "edited_by": item.get("author_account_id", ""), "edited_at": item.get("published_at")}
        self.db.items.insert_one(item, session=session)
        self.db.item_versions.insert_one(version, session=session)
        self._changed_feed(item["org_id"], session)
        self.replace_postings(item, session=session)
        return item

    def published_items_committed(self, items: list[dict]) -> None:
        """Items of ``write_published_item`` whose transaction has committed: this process's feeds show them at
        once (other processes at their next mark check)."""
        self._feed_refresh(sorted({item["org_id"] for item in items}))

    def change_item(self, item: dict, expected_status: str, fields: dict, events: list, log: dict,
                    version: dict | None = None, postings: str = "", feed: bool = False) -> dict:
        """Set ``fields`` on the item if it is still in ``expected_status`` at the version read, append ``log``
        (and a new ``version`` row), replace or drop its search postings (``postings``: "replace" | "drop"),
        move its node's feed mark when ``feed``; the events commit with it. Conflict if it changed meanwhile."""
        def writes(session):
            changed = self.db.items.find_one_and_update(
                {"_id": item["_id"], "status": expected_status, "version": item["version"]},
                {"$set": fields}, return_document=ReturnDocument.AFTER, session=session)
            if changed is None:
                raise Conflict("内容状态已变化，请刷新后重试", code="ITEM_CHANGED")
            self.db.item_log.insert_one(log, session=session)
            if version is not None:
                self.db.item_versions.replace_one({"_id": version["_id"]}, version, upsert=True, session=session)
            if postings == "replace":
                self.replace_postings(changed, session=session)
            elif postings == "drop":
                self.drop_postings(changed["_id"], session=session)
            if feed:
                self._changed_feed(changed["org_id"], session)
            return changed
        changed = self.commit(writes, events)
        if feed:
            self._feed_refresh([changed["org_id"]])
        return changed

    # --- reads of items (已读) and reminders -------------------------------------------
    def has_read(self, item_id: str, member_id: str) -> bool:
        return self.db.reads.find_one({"_id": read_id(item_id, member_id)}, {"_id": 1}) is not None

    def record_read(self, read: dict, events: list) -> bool:
        """The member's first open of the item: its read row, the (item, branch) counter and the item's
        read_count, with ``events``. False (nothing written) when it had been read already."""
        return (read["item_id"], read["member_id"]) in self.record_reads([(read, events)])

    def record_reads(self, entries: list[tuple[dict, list]]) -> set[tuple[str, str]]:
        """The first opens among ``entries`` (read row, its events), written in one commit: the read rows, the
        (item, branch) counters and the items' read_count, with the events in one outbox entry. Answers the
        (item_id, member_id) pairs written; a pair read before (or twice in the entries) is written once."""
        fresh: dict[str, tuple[dict, list]] = {}
        for read, events in entries:
            fresh.setdefault(read_id(read["item_id"], read["member_id"]), (read, events))
        for doc in self.db.reads.find({"_id": {"$in": list(fresh)}}, {"_id": 1}):
            fresh.pop(doc["_id"], None)
        if not fresh:
            return set()
        counters: dict[str, list] = {}
        per_item: dict[str, int] = {}
        for read, _ in fresh.values():
            counter = counters.setdefault(f"{read['item_id']}:{read['branch_id']}", [read, 0])
            counter[1] += 1
            per_item[read["item_id"]] = per_item.get(read["item_id"], 0) + 1

        def writes(session):
            self.db.reads.insert_many([{**read, "_id": key, "item_branch": f"{read['item_id']}:{read['branch_id']}"}
                                       for key, (read, _) in fresh.items()], ordered=True, session=session)
            # one command for the batch's counters: its opens come from as many branches as opens, nearly
            self.db.read_counts.bulk_write([UpdateOne(
                {"_id": counter_id}, {"$inc": {"count": count}, "$setOnInsert": {
                    "item_id": read["item_id"], "branch_id": read["branch_id"], "tenant_id": read["tenant_id"]}},
                upsert=True) for counter_id, (read, count) in counters.items()], ordered=True, session=session)
            for item_id, count in per_item.items():
                self.db.items.update_one({"_id": item_id}, {"$inc": {"read_count": count}}, session=session)
        try:
            self.commit(writes, [event for _, events in fresh.values() for event in events], bundle=READS_BUNDLE)
        except Exception as error:
            if not is_duplicate(error):
                raise
            # another open of one of these members won the race: the batch's reads one by one, each counted once
            if len(fresh) == 1:
                return set()
            return {pair for entry in fresh.values() for pair in self.record_reads([entry])}
        return {(read["item_id"], read["member_id"]) for read, _ in fresh.values()}

    def read_counts_of(self, item_id: str) -> dict[str, int]:
        """{branch_id: members who have read the item}."""
        return {row["branch_id"]: row["count"] for row in self.db.read_counts.find({"item_id": item_id})}

    def readers_in_branch(self, item_id: str, branch_id: str) -> dict[str, str]:
        """{member_id: read_at} of the branch's members who have read the item."""
        return {row["member_id"]: row["read_at"]
                for row in self.db.reads.find({"item_branch": f"{item_id}:{branch_id}"},
                                              {"member_id": 1, "read_at": 1})}

    def recent_reads_of(self, member_id: str, limit: int = 50) -> list[dict]:
        rows = list(self.db.reads.find({"member_id": member_id}))
        rows.sort(key=lambda row: row["read_at"], reverse=True)
        return rows[:limit]

    def record_reminder(self, reminder: dict) -> dict:
        self.db.reminders.insert_one(reminder)
        return reminder

    def reminders_of(self, item_id: str) -> list[dict]:
        return sorted(self.db.reminders.find({"item_id": item_id}), key=lambda row: row["at"])

    # --- the feed ---------------------------------------------------------------------
    def published_heads(self, org_ids: list[str]) -> dict[str, tuple[list[dict], bool]]:
        """{org_id: (heads, complete)}: each node's promoted (pinned or pushed) published items and its
        ``FEED_HEADS`` newest, from this process's cache (``complete``: the node has no older ones)."""
        cache, lock, _ = self._feed_cache()
        self._poll_feed_marks()
        with lock:
            held = {org_id: cache.get(org_id) for org_id in org_ids}
        missing = [org_id for org_id, hit in held.items() if hit is None]
        if missing:
            # the mark before the heads: a commit between the two leaves a newer mark than the heads, which the
            # next poll drops, never the other way round. A node without a mark never published (every publish
            # moves its node's mark): its heads are known empty without a read, as are most branches' on a
            # morning when a whole city reads its feeds for the first time.
            marks = self._known_marks(missing)
            for org_id in missing:
                mark = marks.get(org_id)
                held[org_id] = (mark, *self._read_heads(org_id)) if mark else ("", [], True)
            with lock:
                if len(cache) + len(missing) > FEED_NODES_KEPT:
                    cache.clear()
                cache.update({org_id: held[org_id] for org_id in missing})
        return {org_id: (hit[1], hit[2]) for org_id, hit in held.items()}

    def _poll_feed_marks(self) -> None:
        """At most once every ``FEED_CHECK_SECONDS``: drop the cached nodes whose mark moved since the last poll
        (another instance's commits; this process's own were dropped at once)."""
        cache, lock, poll = self._feed_cache()
        now = time.monotonic()
        if now - poll["at"] < FEED_CHECK_SECONDS or not poll["lock"].acquire(blocking=False):
            return
        try:
            started = utc_now()
            query = {"changed_at": {"$gte": poll["since"]}} if poll["since"] else {}
            moved = {row["_id"]: row["mark"] for row in self.db.feed_marks.find(query, {"mark": 1})}
            with lock:
                for org_id, mark in moved.items():
                    hit = cache.get(org_id)
                    if hit is not None and hit[0] != mark:
                        del cache[org_id]
                poll["marks"].update(moved)
                poll["complete"] = True           # every mark up to this poll is known (the first one read all)
            poll["since"] = stamp(started - timedelta(seconds=FEED_POLL_OVERLAP_SECONDS))
            poll["at"] = now
        finally:
            poll["lock"].release()

    def _known_marks(self, org_ids: list[str]) -> dict[str, str]:
        """The marks of those of these nodes that have one: from the polled marks once a poll has read them all
        (a mark the poll has not seen yet is at most ``FEED_CHECK_SECONDS`` old; this process's own commits are
        read at once, ``_feed_refresh``); from the store before that."""
        _, lock, poll = self._feed_cache()
        with lock:
            if poll["complete"]:
                return {org_id: poll["marks"][org_id] for org_id in org_ids if org_id in poll["marks"]}
        return self._read_marks(org_ids)

    def _read_marks(self, org_ids: list[str]) -> dict[str, str]:
        return {row["_id"]: row["mark"] for row in self.db.feed_marks.find({"_id": {"$in": list(org_ids)}})}

    def warm_feed_heads(self) -> int:
        """Read the heads of every node with a mark that this process does not hold (at most what the cache keeps),
        off the members' requests: after a start, the first feeds of a morning find them ready. The number read."""
        cache, lock, poll = self._feed_cache()
        self._poll_feed_marks()
        with lock:
            if not poll["complete"]:
                return 0
            cold = [org_id for org_id in poll["marks"] if org_id not in cache]
            room = FEED_NODES_KEPT - len(cache)
        cold = cold[:max(0, room)]
        for start in range(0, len(cold), WARM_CHUNK):
            self.published_heads(cold[start:start + WARM_CHUNK])
        return len(cold)

    def published_newest(self, org_ids: list[str], limit: int) -> list[dict]:
        """The newest ``limit`` published heads of these nodes (the feed's pages past the cached heads)."""
        cursor = self.db.items.find({"org_id": {"$in": list(org_ids)}, "status": PUBLISHED},
                                    {name: 1 for name in HEAD_FIELDS})
        return [head_of(doc) for doc in cursor.sort([("published_at", DESCENDING), ("_id", 1)]).limit(limit)]

    def _read_heads(self, org_id: str) -> tuple[list[dict], bool]:
        projection = {name: 1 for name in (*HEAD_FIELDS, "status", "promoted")}
        newest = list(self.db.items.find({"org_id": org_id, "status": PUBLISHED}, projection)
                      .sort([("published_at", DESCENDING), ("_id", 1)]).limit(FEED_HEADS + 1))
        complete = len(newest) <= FEED_HEADS
        heads = {doc["_id"]: head_of(doc) for doc in newest[:FEED_HEADS]}
        if not complete:
            for doc in self.db.items.find({"org_id": org_id, "promoted": True}, projection):
                if doc.get("status") == PUBLISHED:
                    heads.setdefault(doc["_id"], head_of(doc))
        return list(heads.values()), complete

    def _changed_feed(self, org_id: str, session) -> None:
        self.db.feed_marks.update_one({"_id": org_id}, {"$set": {"mark": secrets.token_hex(8), "changed_at": stamp()}},
                                      upsert=True, session=session)

    def _feed_refresh(self, org_ids: list[str]) -> None:
        """After this process's own commit moved these nodes' marks: drop their cached heads and read the marks and
        heads again now, not in a member's feed. The commit stands if that read fails: the nodes are then read by
        the next feed, and a node's first mark is known at the next poll (as another instance's would be)."""
        cache, lock, poll = self._feed_cache()
        with lock:
            for org_id in org_ids:
                cache.pop(org_id, None)
        try:
            # the mark before the heads, as in ``published_heads``
            marks = self._read_marks(org_ids)
            held = {org_id: (mark, *self._read_heads(org_id)) for org_id, mark in marks.items()}
        except PyMongoError as error:
            log.warning("feed heads of %s not read after the commit: %s", ",".join(org_ids), error)
            return
        with lock:
            poll["marks"].update(marks)
            cache.update(held)

    def _feed_cache(self):
        """{org_id: (mark, heads, complete)}, its lock and the marks' poll state: one per store, that is per
        process."""
        cache = self.__dict__.get("_feed_heads")
        if cache is None:
            cache = self.__dict__.setdefault("_feed_heads", ({}, threading.Lock(),
                                                             {"at": float("-inf"), "since": "",
                                                              "lock": threading.Lock(), "marks": {},
                                                              "complete": False}))
        return cache
