"""Attendance storage: themes, activities (plan + roster + results), chained records, leaves,
photos, rectifications and the test clock.

``records`` holds every entry of an activity's hash chain (scans, reflections, likes,
photos, written records) under natural ids, so a repeat can never be stored twice:
``<activity>:in:<member>``, ``<activity>:out:<member>``, ``<activity>:reflection:<member>``...
Subtrees are found through the ancestor fields ``a0``..``a5`` copied from the branch's path
(single-field indexes only: nx-27017 plans with nothing else).

A record's only index besides its id is the unique ``chain_key`` (``<activity>:<seq>``), which also finds
an activity's records (a range over the keys starting ``<activity>:``): every scan inserts a record, and
each index it writes is a B-tree page touched at a random place and written back at the commit (indexes on
``activity_id`` and ``member_id`` as well cost nx-27017 a fifth more per insert, and no query asked for a
member's records).
"""
from __future__ import annotations

import secrets

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError

from servicekit.errors import Conflict
from servicekit.timestamps import stamp
from servicekit.storage.mongo import is_duplicate
from servicekit.messaging.outbox import OutboxStore, add_events, note_committed
from servicekit.storage.subtree import LEVEL_FIELDS, subtree_filter

from services.attendance.events import SOURCE

SCAN_CHANGED_AT = "scan_changed_at"
SCAN_CHANGE_ID = "scan_change_id"


def scan_changed() -> dict:
    """``$set`` fields for every write that changes what a scan is judged on (status, plan, fence, roster,
    leave): the wall time of the change, so that scan desks holding the activity in memory find it with
    ``AttendanceStore.activities_changed_since`` instead of re-reading every activity they hold. Wall time,
    not the service clock, which tests and benchmarks shift. The random ``scan_change_id`` names the write,
    so a desk that already holds the activity as this write left it knows it has nothing to read again (a
    stamp alone may be shared by two writes in one millisecond)."""
    return {SCAN_CHANGED_AT: stamp(), SCAN_CHANGE_ID: secrets.token_hex(8)}


def change_mark(activity: dict) -> tuple:
    """What names the last write that changed an activity's scan rules (``scan_changed``)."""
    return activity.get(SCAN_CHANGED_AT), activity.get(SCAN_CHANGE_ID)


class AttendanceStore(OutboxStore):
    source = SOURCE
    collections = {
        "themes": ["tenant_id", "org_id"],
        "activities": [("branch_month", {"unique": True}), "theme_id", "branch_id", "month", "status",
                       "checkin_opens_at", "checkout_closes_at", *LEVEL_FIELDS],
        "records": [("chain_key", {"unique": True})],
        "schedule": ["kind", "due_at"],   # _id "<kind>:<activity>": roster freezes and closings still to do
        "leaves": [("leave_key", {"unique": True}), "activity_id"],
        "photos": [],
        "rectifications": ["activity_id", "state", *LEVEL_FIELDS],
        "clock": [],
    }
    retired_indexes = {"records": ["activity_id", "member_id"]}

    # --- writing with events -------------------------------------------------
    def commit(self, writes, events: list[dict], bundle: bool = False) -> None:
        """Run ``writes(session)`` and store ``events`` in the outbox, all in one transaction; then hand the
        entries to this process's relay (``note_committed``)."""
        with self.transaction() as session:
            writes(session)
            entries = add_events(self.db, events, SOURCE, session=session, bundle=bundle)
        note_committed(self.db, entries)

    def commit_or_conflict(self, writes, events: list[dict], code: str, message: str) -> None:
        try:
            self.commit(writes, events)
        except (DuplicateKeyError, BulkWriteError) as error:
            if is_duplicate(error):
                raise Conflict(message, code=code) from error
            raise

    # --- themes and activities -----------------------------------------------
    def theme(self, theme_id: str) -> dict | None:
        return self.db.themes.find_one({"_id": theme_id})

    def themes_of(self, tenant_id: str, org_ids: list[str], skip: int, limit: int) -> list[dict]:
        cursor = self.db.themes.find({"tenant_id": tenant_id, "org_id": {"$in": org_ids}})
        return list(cursor.sort("issued_at", -1).skip(skip).limit(limit))

    def activity(self, activity_id: str) -> dict | None:
        return self.db.activities.find_one({"_id": activity_id})

    def activities_by_ids(self, activity_ids) -> dict[str, dict]:
        return {doc["_id"]: doc for doc in self.db.activities.find({"_id": {"$in": list(activity_ids)}})}

    def activities_changed_since(self, activity_ids, since: str) -> dict[str, tuple]:
        """``{activity_id: change mark}`` for those of these activities whose scan rules changed at or after
        ``since`` (a stamp); a mark is ``change_mark(document)``. The condition is evaluated by the store
        itself, so an unchanged activity is not sent, and only the mark of a changed one is: on nx-27017 a
        check costs a quarter of reading the document, whose roster makes it large."""
        query = {"_id": {"$in": list(activity_ids)}, SCAN_CHANGED_AT: {"$gte": since}}
        return {doc["_id"]: change_mark(doc) for doc in self.db.activities.find(
            query, {SCAN_CHANGED_AT: 1, SCAN_CHANGE_ID: 1})}

    def existing_ids(self, activity_ids: list[str]) -> set[str]:
        found = set()
        for start in range(0, len(activity_ids), 1000):
            cursor = self.db.activities.find({"_id": {"$in": activity_ids[start:start + 1000]}}, {"_id": 1})
            found.update(doc["_id"] for doc in cursor)
        return found

    def activities_in(self, path_ids: list[str], query: dict, skip: int = 0, limit: int = 0,
                      projection: dict | None = None) -> list[dict]:
        cursor = self.db.activities.find({**subtree_filter(path_ids), **query}, projection)
        return list(cursor.sort([("month", -1), ("_id", 1)]).skip(skip).limit(limit))

    def update_activity(self, activity_id: str, expected: dict, changes: dict, session=None) -> dict | None:
        """Apply ``changes`` if the activity still matches ``expected``; the updated document or None."""
        changes = {**changes, "$set": {**changes.get("$set", {}), **scan_changed()}}
        return self.db.activities.find_one_and_update({"_id": activity_id, **expected}, changes,
                                                      return_document=ReturnDocument.AFTER, session=session)

    # --- the schedule of roster freezes and closings ---------------------------
    def schedule_entries(self, due_by: str) -> list[dict]:
        """The roster freezes and closings still to do that are due by ``due_by`` (a stamp)."""
        return list(self.db.schedule.find({"due_at": {"$lte": due_by}}, {"kind": 1, "activity_id": 1, "due_at": 1}))

    def schedule(self, session, activity: dict, plan: dict, freeze_at: str) -> None:
        entries = [{"_id": f"{kind}:{activity['_id']}", "kind": kind, "activity_id": activity["_id"], "due_at": due}
                   for kind, due in (("freeze", freeze_at), ("close", plan["checkout_closes_at"]))]
        self.db.schedule.insert_many(entries, session=session)

    def unschedule(self, session, kind: str, activity_ids: list[str]) -> None:
        for start in range(0, len(activity_ids), 1000):
            ids = [f"{kind}:{activity_id}" for activity_id in activity_ids[start:start + 1000]]
            self.db.schedule.delete_many({"_id": {"$in": ids}}, session=session)

    # --- chained records -------------------------------------------------------
    def records_by_ids(self, record_ids, projection: dict | None = None) -> dict[str, dict]:
        return {doc["_id"]: doc for doc in self.db.records.find({"_id": {"$in": list(record_ids)}}, projection)}

    def _chain(self, activity_id: str, projection: dict | None = None) -> list[dict]:
        """An activity's records, in no order: the range of chain keys ``<activity>:...`` (``;`` follows ``:``),
        kept only where the activity is this one (an id that merely starts with it is another's)."""
        if projection is not None and any(projection.values()):
            projection = {**projection, "activity_id": 1}
        docs = self.db.records.find({"chain_key": {"$gte": f"{activity_id}:", "$lt": f"{activity_id};"}},
                                    projection)
        return [doc for doc in docs if doc.get("activity_id") == activity_id]

    def records_of(self, activity_id: str, kinds: tuple[str, ...] = (), projection: dict | None = None) -> list[dict]:
        found = [doc for doc in self._chain(activity_id, projection) if not kinds or doc.get("kind") in kinds]
        return sorted(found, key=lambda doc: doc.get("seq", 0))

    def records_of_many(self, activity_ids: list[str], projection: dict | None = None) -> list[dict]:
        """Every record of these activities: one indexed range query each."""
        found = []
        for activity_id in activity_ids:
            found += self._chain(activity_id, projection)
        return found

    def chain_head(self, activity_id: str) -> tuple[int, str] | None:
        last = max(self._chain(activity_id, {"seq": 1, "hash": 1}), key=lambda doc: doc["seq"], default=None)
        return (last["seq"], last["hash"]) if last else None

    # --- photos -------------------------------------------------------------------
    def photo(self, upload_id: str, size: str) -> dict | None:
        """A stored photo with the bytes of ``size`` only ("full": the upload, "thumb": its thumbnail, absent for
        photos stored before thumbnails were made)."""
        fields = ("content", "content_type", "content_hash") if size == "full" else ("thumb", "thumb_hash")
        return self.db.photos.find_one({"_id": upload_id}, {"activity_id": 1, **{field: 1 for field in fields}})

    def keep_thumbnail(self, upload_id: str, content: bytes, content_hash: str) -> None:
        """Store a thumbnail made on demand, unless another request stored one first (theirs stays)."""
        self.db.photos.update_one({"_id": upload_id, "thumb": {"$exists": False}},
                                  {"$set": {"thumb": content, "thumb_hash": content_hash}})

    # --- leaves -----------------------------------------------------------------
    def leave(self, leave_id: str) -> dict | None:
        return self.db.leaves.find_one({"_id": leave_id})

    def leaves_of(self, activity_id: str) -> list[dict]:
        return sorted(self.db.leaves.find({"activity_id": activity_id}), key=lambda doc: doc["requested_at"])

    # --- rectifications -----------------------------------------------------------
    def rectification(self, rectification_id: str) -> dict | None:
        return self.db.rectifications.find_one({"_id": rectification_id})

    def rectifications_in(self, path_ids: list[str], query: dict, skip: int, limit: int) -> list[dict]:
        cursor = self.db.rectifications.find({**subtree_filter(path_ids), **query})
        return list(cursor.sort([("due_on", 1), ("_id", 1)]).skip(skip).limit(limit))

    # --- the test clock ---------------------------------------------------------
    def clock_offset(self) -> float:
        doc = self.db.clock.find_one({"_id": "offset"})
        return float(doc["seconds"]) if doc else 0.0

    def set_clock_offset(self, seconds: float) -> None:
        self.db.clock.update_one({"_id": "offset"}, {"$set": {"seconds": float(seconds)}}, upsert=True)
