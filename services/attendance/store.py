"""Attendance storage: themes, activities (plan + roster + results), chained records, leaves,
photos and rectifications.

``records`` holds every entry of an activity's hash chain (scans, reflections, likes,
photos, written records) under natural ids, so a repeat can never be stored twice:
``<activity>:in:<member>``, ``<activity>:out:<member>``, ``<activity>:reflection:<member>``...
Subtrees are found through the ancestor fields ``a0``..``a5`` copied from the branch's path
(single-field indexes only: nx-27017 plans with nothing else).

A record's only index besides its id is the unique ``chain_key`` (``<activity>:<seq>``), which also finds
an activity's records (a range over the keys starting ``<activity>:``): every scan inserts a record, and each
index it writes is a B-tree page written back at the commit; no query asks for a member's records.

Writes that change what a process caches tell it after the commit (``on_scan_rules_changed``,
``on_schedule_changed``).
"""
from __future__ import annotations

import secrets
import uuid

from pymongo import ReturnDocument

from servicekit.errors import Conflict
from servicekit.messaging.outbox import OutboxStore
from servicekit.storage.subtree import LEVEL_FIELDS, subtree_filter
from servicekit.timestamps import stamp

from services.attendance.domain.lifecycle import APPROVED, CLOSED, PLANNING, SUBMITTED
from services.attendance.events import LEAVE_APPROVED, SOURCE
from services.attendance.meetings_store import MEETING_COLLECTIONS, MeetingRecords

SCAN_CHANGED_AT = "scan_changed_at"
SCAN_CHANGE_ID = "scan_change_id"
ISSUE_BUNDLE = 1000


def new_id(prefix: str) -> str:
    """The id of a new theme, leave, upload or rectification."""
    return f"{prefix}_{uuid.uuid4().hex}"


def scan_changed() -> dict:
    """``$set`` fields for every write that changes what a scan is judged on (status, plan, fence, roster,
    leave), so that scan desks holding the activity find it with ``activities_changed_since``. Wall time, not
    the service clock, which tests shift; the random id tells apart two writes of the same millisecond."""
    return {SCAN_CHANGED_AT: stamp(), SCAN_CHANGE_ID: secrets.token_hex(8)}


def chained_after(documents: list[dict]) -> dict[str, int]:
    """activity id -> the position its first document among ``documents`` follows (what the batch took as its head)."""
    heads: dict[str, int] = {}
    for document in documents:
        heads.setdefault(document["activity_id"], document["seq"] - 1)
    return heads


def change_mark(activity: dict) -> tuple:
    """What names the last write that changed an activity's scan rules (``scan_changed``)."""
    return activity.get(SCAN_CHANGED_AT), activity.get(SCAN_CHANGE_ID)


APPEND_MARK = "appends"          # chain_marks' one document


class AttendanceStore(MeetingRecords, OutboxStore):
    source = SOURCE
    collections = {
        "themes": ["tenant_id", "org_id"],
        "activities": [("branch_month", {"unique": True}), "theme_id", "branch_id", "month", "status",
                       "checkin_opens_at", "checkout_closes_at", *LEVEL_FIELDS],
        "records": [("chain_key", {"unique": True})],
        "chain_marks": [],      # _id "appends": moved by every chained append, with the process that moved it
        "schedule": ["kind", "due_at"],   # _id "<kind>:<activity>": roster freezes and closings still to do
        "leaves": [("leave_key", {"unique": True}), "activity_id"],
        "photos": [],
        "rectifications": ["activity_id", "state", *LEVEL_FIELDS],
        **MEETING_COLLECTIONS,
    }
    retired_indexes = {"records": ["activity_id", "member_id"]}

    def __init__(self, db):
        super().__init__(db)
        self._rules_listeners: list = []       # called with an activity id after its scan rules changed
        self._schedule_listeners: list = []    # called after freezes and closings were scheduled

    # --- who hears of writes (the process's caches) ------------------------------
    def on_scan_rules_changed(self, listener) -> None:
        """Call ``listener(activity_id)`` after every commit that changed what that activity's scans are
        judged on (the scan desk's activity cache forgets it)."""
        self._rules_listeners.append(listener)

    def on_schedule_changed(self, listener) -> None:
        """Call ``listener()`` after a commit that scheduled roster freezes and closings."""
        self._schedule_listeners.append(listener)

    def _rules_changed(self, activity_ids) -> None:
        for activity_id in activity_ids:
            for listener in self._rules_listeners:
                listener(activity_id)

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
        ``since`` (a stamp): the store answers the marks only, never the large documents (rosters)."""
        query = {"_id": {"$in": list(activity_ids)}, SCAN_CHANGED_AT: {"$gte": since}}
        return {doc["_id"]: change_mark(doc) for doc in self.db.activities.find(
            query, {SCAN_CHANGED_AT: 1, SCAN_CHANGE_ID: 1})}

    def member_devices_of(self, activity_ids: list[str]) -> dict[str, dict[str, list[str]]]:
        """``{activity_id: {member_id: device keys}}`` of these activities that closed with ``member_devices``
        (the scan desk's device history; only that field is read)."""
        found = {}
        for start in range(0, len(activity_ids), 1000):
            cursor = self.db.activities.find({"_id": {"$in": activity_ids[start:start + 1000]}}, {"member_devices": 1})
            found.update({doc["_id"]: doc["member_devices"] for doc in cursor if doc.get("member_devices")})
        return found

    def set_printed_code(self, activity_id: str, setting: dict, now: str) -> dict:
        """The activity's printed-code setting (``{allowed, reason, by, at}``), its change appended to
        ``printed_code_log``, if the activity has not closed; scan desks learn it as a change of scan rules."""
        def writes(session):
            # the log is set whole: nx-27017 stores a document ``$push``ed into an array as JSON text
            before = self.db.activities.find_one({"_id": activity_id}, {"status": 1, "printed_code_log": 1},
                                                 session=session)
            changed = None
            if before is not None and before.get("status") != CLOSED.value:
                changed = self.db.activities.find_one_and_update(
                    {"_id": activity_id, "status": before["status"]},
                    {"$set": {"printed_code": setting, "printed_code_log": [*before.get("printed_code_log", []),
                                                                            setting],
                              "updated_at": now, **scan_changed()}},
                    return_document=ReturnDocument.AFTER, session=session)
            if changed is None and before is not None and before.get("status") == CLOSED.value:
                raise Conflict("活动已结束，不能再更改签到码设置", code="ACTIVITY_CLOSED")
            if changed is None:
                raise Conflict("活动状态已变化，请刷新后重试", code="ACTIVITY_CHANGED")
            return changed
        changed = self.commit(writes, [])
        self._rules_changed([activity_id])
        return changed

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

    def issue_theme(self, theme: dict, activities: list[dict], events: list[dict]) -> None:
        """The theme and its branches' activities. Their events go in bundles of ``ISSUE_BUNDLE``, so a city's
        issue is a few messages, none too large."""
        def writes(session):
            self.db.themes.insert_one(theme, session=session)
            self.db.activities.insert_many(activities, ordered=True, session=session)
        self.commit(writes, events, bundle=ISSUE_BUNDLE, duplicate=("THEME_ALREADY_ISSUED", "这些支部本月的主题党日已下发"))

    def submit_plan(self, activity: dict, plan: dict, submitted_by: str, now: str, event: dict) -> dict:
        """The plan, (re)submitted for review, if the activity is still as it was read."""
        return self._change_activity(activity["_id"], {"status": activity["status"]}, {
            "plan": plan, "status": SUBMITTED.value, "submitted_by": submitted_by, "submitted_at": now,
            "updated_at": now}, [event])

    def reject_plan(self, activity_id: str, review: dict, now: str, event: dict) -> dict:
        return self._change_activity(activity_id, {"status": SUBMITTED.value}, {
            "status": PLANNING.value, "review": review, "updated_at": now}, [event])

    def approve_plan(self, activity_id: str, plan: dict, radius_m: int, review: dict, now: str, events: list[dict],
                     freeze_at: str) -> dict:
        """The approved plan, with its roster freeze (at ``freeze_at``) and its closing scheduled."""
        approved = self._change_activity(activity_id, {"status": SUBMITTED.value}, {
            "status": APPROVED.value, "review": review, "plan": plan, "radius_m": radius_m,
            "checkin_opens_at": plan["checkin_opens_at"], "checkout_closes_at": plan["checkout_closes_at"],
            "updated_at": now}, events,
            also=lambda session: self._schedule(session, activity_id, freeze_at, plan["checkout_closes_at"]))
        self._schedule_changed()
        return approved

    def _change_activity(self, activity_id: str, expected: dict, fields: dict, events: list[dict],
                         also=None) -> dict:
        """Set ``fields`` (and run ``also(session)``) if the activity still matches ``expected``, with the
        events; the updated document. Conflict if it changed meanwhile."""
        def writes(session):
            changed = self.db.activities.find_one_and_update(
                {"_id": activity_id, **expected}, {"$set": {**fields, **scan_changed()}},
                return_document=ReturnDocument.AFTER, session=session)
            if changed is None:
                raise Conflict("活动状态已变化，请刷新后重试", code="ACTIVITY_CHANGED")
            if also:
                also(session)
            return changed
        changed = self.commit(writes, events)
        self._rules_changed([activity_id])
        return changed

    def freeze_rosters(self, rosters: list[tuple[str, dict, dict]], frozen_at: str, due_ids: list[str],
                       opens_by: str | None = None) -> list[str]:
        """Freeze each ``(activity id, roster, roster_frozen event)`` whose activity is still approved and not
        frozen (and, given ``opens_by``, whose stored sign-in opens by then: a meeting rescheduled since the sweep
        read it waits for its new time), and take ``due_ids``' freezes due by ``frozen_at`` off the schedule (done,
        or no longer waiting; a freeze a reschedule moved later stays). The ids frozen."""
        frozen, events = [], []
        expected = {"status": APPROVED.value, "roster_frozen_at": None}
        if opens_by:
            expected["checkin_opens_at"] = {"$lte": opens_by}

        def writes(session):
            for activity_id, roster, event in rosters:
                updated = self.db.activities.update_one(
                    {"_id": activity_id, **expected},
                    {"$set": {"roster": roster, "roster_frozen_at": frozen_at, **scan_changed()}}, session=session)
                if updated.matched_count == 1:
                    frozen.append(activity_id)
                    if event is not None:       # a meeting's freeze publishes nothing
                        events.append(event)
            self._unschedule(session, "freeze", due_ids, due_by=frozen_at)
        self.commit(writes, events, bundle=True)
        self._rules_changed(frozen)
        return frozen

    def close_activities(self, results: list[tuple[str, dict, dict]], closed_at: str, due_ids: list[str],
                         held: dict[str, tuple[dict, str]] | None = None) -> list[str]:
        """Close each ``(activity id, {statuses, totals, chain_head}, activity_closed event)`` whose activity is
        still approved, and take ``due_ids``' closings off the schedule. ``held``: the meetings among them that
        were held, ``{id: (meeting, YYYY-MM)}``, counted in their branch's ledger. The ids closed."""
        closed, events, held = [], [], held or {}

        def writes(session):
            for activity_id, result, event in results:
                updated = self.db.activities.update_one(
                    {"_id": activity_id, "status": APPROVED.value},
                    {"$set": {"status": CLOSED.value, **result, "closed_at": closed_at, **scan_changed()}},
                    session=session)
                if updated.matched_count == 1:
                    closed.append(activity_id)
                    if event is not None:
                        events.append(event)
                    if activity_id in held:
                        self.count_held(session, *held[activity_id])
            self._unschedule(session, "close", due_ids)
        self.commit(writes, events, bundle=True)
        self._rules_changed(closed)
        return closed

    # --- the schedule of roster freezes and closings ---------------------------
    def schedule_entries(self, due_by: str) -> list[dict]:
        """The roster freezes and closings still to do that are due by ``due_by`` (a stamp)."""
        return list(self.db.schedule.find({"due_at": {"$lte": due_by}}, {"kind": 1, "activity_id": 1, "due_at": 1}))

    def _schedule(self, session, activity_id: str, freeze_at: str, close_at: str, moved: bool = False) -> None:
        """Put the activity's roster freeze and closing on the schedule (``moved``: replacing its entries)."""
        entries = [{"_id": f"{kind}:{activity_id}", "kind": kind, "activity_id": activity_id, "due_at": due}
                   for kind, due in (("freeze", freeze_at), ("close", close_at))]
        if not moved:
            self.db.schedule.insert_many(entries, session=session)
            return
        for entry in entries:
            self.db.schedule.replace_one({"_id": entry["_id"]}, entry, upsert=True, session=session)

    def _schedule_changed(self) -> None:
        """Tell the listeners (the sweeper's timer) after a commit that changed the schedule."""
        for listener in self._schedule_listeners:
            listener()

    def _unschedule(self, session, kind: str, activity_ids: list[str], due_by: str | None = None) -> None:
        due = {"due_at": {"$lte": due_by}} if due_by else {}
        for start in range(0, len(activity_ids), 1000):
            ids = [f"{kind}:{activity_id}" for activity_id in activity_ids[start:start + 1000]]
            self.db.schedule.delete_many({"_id": {"$in": ids}, **due}, session=session)

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

    def chain_head(self, activity_id: str, learn=None) -> tuple[int, str] | None:
        """The last link's seq and hash; ``learn(records)``: also hands over the records read (``APPENDED``'s fields)."""
        docs = self._chain(activity_id, self.APPENDED if learn is not None else {"seq": 1, "hash": 1})
        if learn is not None and docs:
            learn(docs)
        last = max(docs, key=lambda doc: doc["seq"], default=None)
        return (last["seq"], last["hash"]) if last else None

    def record_scans(self, documents: list[dict], events: list[dict], before_insert=None, writer=None) -> None:
        """A scan batch's new records, chained, and its events in one bundle. ``before_insert(appended)``: called in
        the transaction, before the insert, with the records other processes appended since the heads the batch was
        chained after (``appended_since``), by activity (empty: none); it chains those documents again and rebuilds
        ``events`` in place, or raises to write nothing. Inside the transaction the answer holds until the commit
        (nx-27017 runs one transaction per database at a time across processes; on MongoDB a concurrent append
        conflicts and the transaction runs again, asking again). The unique ``chain_key`` stays the guarantee."""
        def writes(session):
            if before_insert is not None:
                # the mark as ``writer``'s (the chain writer's) last append left it: no one else appended since
                ours = writer is not None and writer.last_mark is not None and self.db.chain_marks.find_one(
                    {"_id": APPEND_MARK}, session=session) == {"_id": APPEND_MARK, "n": writer.last_mark,
                                                               "by": writer.mark_token}
                before_insert({} if ours else self.appended_since(chained_after(documents), session))
            self.db.records.insert_many(documents, ordered=True, session=session)
            self._move_append_mark(session, writer)
        self.commit(writes, events, bundle=True)

    def _move_append_mark(self, session, writer=None) -> None:
        """Every chained append moves the mark in its transaction, naming this process; the next batch's write reads
        one document by ``_id`` to know whether another process appended since (``$in`` on ``chain_key``, which
        ``appended_since`` needs, is a scan of every record on nx-27017). On MongoDB two appends at once conflict
        on the mark, and one runs again."""
        if writer is not None:
            writer.last_mark = None             # unknown until this commit's mark is read back
        mark = self.db.chain_marks.find_one_and_update(
            {"_id": APPEND_MARK}, {"$inc": {"n": 1}, "$set": {"by": writer.mark_token if writer else "-"}},
            upsert=True, return_document=ReturnDocument.AFTER, session=session)
        if writer is not None:          # a rolled-back commit leaves a mark the store does not hold: checked in full
            writer.last_mark = mark["n"]

    # the whole content (a sign-in's place and time; nx-27017 does not project dotted fields)
    APPENDED = {"seq": 1, "hash": 1, "activity_id": 1, "member_id": 1, "device_key": 1, "kind": 1, "content": 1}

    def appended_since(self, heads: dict[str, int], session=None, step: int = 4) -> dict[str, list[dict]]:
        """activity id -> the records stored after the given positions, in order: read by their chain keys
        (``<activity>:<seq>``, unique), one read for all the activities per round: the next position first (with one
        instance, nothing is found), then ``step`` at a time where it was taken; a chain has no gaps, so a free
        position ends an activity's."""
        found: dict[str, list[dict]] = {}
        asking, width = dict(heads), 1
        while asking:
            keys = [f"{activity_id}:{seq + n}" for activity_id, seq in asking.items() for n in range(1, width + 1)]
            got: dict[str, list[dict]] = {}
            for doc in self.db.records.find({"chain_key": {"$in": keys}}, self.APPENDED, session=session):
                got.setdefault(doc["activity_id"], []).append(doc)
            more = {}
            for activity_id, docs in got.items():
                docs.sort(key=lambda doc: doc["seq"])
                found.setdefault(activity_id, []).extend(docs)
                if len(docs) == width:
                    more[activity_id] = asking[activity_id] + width
            asking, width = more, step
        return found

    def post_reflection(self, record: dict, events: list[dict]) -> None:
        self._add_record(record, events, {"$inc": {"counts.reflections": 1}}, ("REFLECTION_EXISTS", "您已发表过心得体会"))

    def like_activity(self, record: dict, events: list[dict], mobile: bool) -> None:
        self._add_record(record, events, {"$set": {f"liked.{record['member_id']}": mobile}}, ("LIKE_EXISTS", "已点赞"))

    def add_upload(self, record: dict, events: list[dict], photo: dict | None = None) -> None:
        """A photo (its record and ``photo``, the stored bytes) or a written record, counted on the activity."""
        counter = {"$inc": {"counts.photos": 1}} if photo else {"$inc": {"counts.text_chars": record["size"]}}
        self._add_record(record, events, counter, ("UPLOAD_EXISTS", "重复上传"), photo=photo)

    def backfill_scan(self, record: dict, events: list[dict], statuses: dict, totals: dict, now: str) -> None:
        """A back-filled scan, with the closed activity's results and sealed head recomputed to include it."""
        results = {"$set": {"statuses": statuses, "totals": totals,
                            "chain_head": {"seq": record["seq"], "hash": record["hash"]}, "updated_at": now}}
        self._add_record(record, events, results, ("RECORD_EXISTS", "该记录已存在"))

    def _add_record(self, record: dict, events: list[dict], activity_change: dict, duplicate: tuple[str, str],
                    photo: dict | None = None) -> None:
        """One chained record and the change it makes to its activity's own figures; ``duplicate``: the
        Conflict when the record exists."""
        def writes(session):
            self.db.records.insert_many([record], session=session)
            self._move_append_mark(session)
            if photo is not None:
                self.db.photos.insert_one(photo, session=session)
            self.db.activities.update_one({"_id": record["activity_id"]}, activity_change, session=session)
        self.commit(writes, events, duplicate=duplicate)

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

    def leave_of(self, activity_id: str, member_id: str) -> dict | None:
        return self.db.leaves.find_one({"leave_key": f"{activity_id}:{member_id}"})

    def request_leave(self, leave: dict, activity: dict | None = None, existing: dict | None = None) -> None:
        """A new request, or one asked again after a refusal or a lapse (the same id, replaced whole). Given the
        ``activity`` and the ``existing`` request as the caller read them: written only while the activity's times
        are still those (a reschedule in between made the leave asked for the old time lapse: ACTIVITY_CHANGED) and
        the member's request is still as read (LEAVE_EXISTS); otherwise nothing is written."""
        def writes(session):
            if activity is not None and self.db.activities.find_one(
                    {"_id": activity["_id"], "checkin_opens_at": activity.get("checkin_opens_at"),
                     "checkout_closes_at": activity.get("checkout_closes_at")}, {"_id": 1}, session=session) is None:
                raise Conflict("活动时间已变化，请刷新后重试", code="ACTIVITY_CHANGED")
            current = self.db.leaves.find_one({"leave_key": leave["leave_key"]}, {"state": 1}, session=session)
            if (current and current.get("state")) != (existing and existing.get("state")):
                raise Conflict("您已提交过请假申请", code="LEAVE_EXISTS")
            self.db.leaves.replace_one({"_id": leave["_id"]}, leave, upsert=True, session=session)
        self.commit(writes, duplicate=("LEAVE_EXISTS", "您已提交过请假申请"))

    def decide_leave(self, leave: dict, changes: dict, event: dict | None) -> None:
        """The decision on a pending request; an approval excuses the member from the activity's scans. (A
        meeting's decision publishes no event.)"""
        def writes(session):
            done = self.db.leaves.update_one({"_id": leave["_id"], "state": "pending"}, {"$set": changes},
                                             session=session)
            if done.matched_count != 1:
                raise Conflict("该请假申请已处理", code="LEAVE_ALREADY_DECIDED")
            if changes["state"] == LEAVE_APPROVED:
                self.db.activities.update_one({"_id": leave["activity_id"]},
                                              {"$set": {f"on_leave.{leave['member_id']}": True, **scan_changed()}},
                                              session=session)
        self.commit(writes, [event] if event else [])
        self._rules_changed([leave["activity_id"]])

    # --- rectifications -----------------------------------------------------------
    def rectification(self, rectification_id: str) -> dict | None:
        return self.db.rectifications.find_one({"_id": rectification_id})

    def rectifications_in(self, path_ids: list[str], query: dict, skip: int, limit: int) -> list[dict]:
        cursor = self.db.rectifications.find({**subtree_filter(path_ids), **query})
        return list(cursor.sort([("due_on", 1), ("_id", 1)]).skip(skip).limit(limit))

    def open_rectification(self, item: dict, event: dict) -> None:
        self.commit(lambda session: self.db.rectifications.insert_one(item, session=session), [event])

    def close_rectification(self, rectification_id: str, changes: dict, event: dict) -> None:
        def writes(session):
            done = self.db.rectifications.update_one({"_id": rectification_id, "state": "open"},
                                                     {"$set": changes}, session=session)
            if done.matched_count != 1:
                raise Conflict("该整改事项已关闭", code="RECTIFICATION_CLOSED")
        self.commit(writes, [event])
