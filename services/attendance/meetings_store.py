"""The meetings' part of the attendance store (三会一课): a meeting is an activity document (``meeting_type`` set), so
its sign-in, leave, photos and closing are the activities' own writes; this mixin adds the tenant's meeting
settings, the reschedule (which makes the meeting's leave lapse when it moves its time) and cancellation, and the
compliance ledger's aggregate.

``meeting_ledger`` holds one document per branch (``_id`` the branch id) with its ancestor fields, what identity
said of it (``full_members``, ``groups``, ``facts_at``) and how many meetings it held per type and month
(``held.<type>.<YYYY-MM>``, incremented in the closing's transaction). A ledger of any subtree reads these documents
only, never the meetings.
"""
from __future__ import annotations

from pymongo import ReturnDocument, UpdateOne

from servicekit.errors import Conflict
from servicekit.storage.subtree import LEVEL_FIELDS, ancestor_fields, subtree_filter

from services.attendance.domain.leaves import LAPSING
from services.attendance.domain.lifecycle import APPROVED, CANCELLED, CLOSED

MEETING_COLLECTIONS = {
    "meeting_settings": [],                 # _id: the tenant id
    "meeting_ledger": ["tenant_id", *LEVEL_FIELDS],
}


class MeetingRecords:
    """Mixed into ``AttendanceStore`` (one database, one outbox)."""

    # --- settings -------------------------------------------------------------------------------------------
    def meeting_settings(self, tenant_id: str) -> dict | None:
        return self.db.meeting_settings.find_one({"_id": tenant_id})

    def set_meeting_settings(self, tenant_id: str, settings: dict, by: str, now: str) -> None:
        self.db.meeting_settings.replace_one({"_id": tenant_id}, {"_id": tenant_id, **settings, "updated_by": by,
                                                                  "updated_at": now}, upsert=True)

    # --- meetings -------------------------------------------------------------------------------------------
    def plan_meeting(self, meeting: dict, events: list[dict], freeze_at: str) -> dict:
        """The planned meeting (an approved activity of its own kind) with its roster freeze and closing
        scheduled, as an approved themed day's."""
        def writes(session):
            self.db.activities.insert_one(meeting, session=session)
            self._schedule(session, meeting["_id"], freeze_at, meeting["checkout_closes_at"])
        self.commit(writes, events, duplicate=("MEETING_EXISTS", "该会议已存在"))
        self._schedule_changed()
        return meeting

    def reschedule_meeting(self, meeting: dict, fields: dict, change: dict, freeze_at: str, event: dict,
                           lapse: dict | None = None) -> dict:
        """The meeting's new plan (``fields``: plan, title and the fields copied from the plan) with ``change``
        appended to its history and its roster freeze and closing moved, if it is still approved, not frozen and
        as it was read (its sign-in time): else a Conflict, nothing written. ``lapse`` (a new time:
        ``domain.leaves.lapse``): every pending or approved leave of the meeting takes these fields and the state it
        lapsed from (``lapsed_from``), and no member is excused any more, in the same transaction."""
        from services.attendance.store import scan_changed     # the store module imports this mixin
        condition = {"_id": meeting["_id"], **self._still_planned(meeting)}
        # ``on_leave`` holds the members of approved leave only, and every one of them lapses
        excused = {} if lapse is None else {"on_leave": {}}

        def writes(session):
            # the history is set whole: nx-27017 stores a document ``$push``ed into an array as JSON text
            before = self.db.activities.find_one(condition, {"reschedules": 1}, session=session)
            changed = None if before is None else self.db.activities.find_one_and_update(
                condition, {"$set": {**fields, "reschedules": [*(before.get("reschedules") or []), change],
                                     **excused, **scan_changed()}},
                return_document=ReturnDocument.AFTER, session=session)
            if changed is None:
                raise Conflict("会议状态已变化，请刷新后重试", code="ACTIVITY_CHANGED")
            if lapse is not None:
                for state in LAPSING:
                    self.db.leaves.update_many({"activity_id": meeting["_id"], "state": state},
                                               {"$set": {**lapse, "lapsed_from": state}}, session=session)
            self._schedule(session, meeting["_id"], freeze_at, fields["checkout_closes_at"], moved=True)
            return changed
        changed = self.commit(writes, [event])
        self._rules_changed([meeting["_id"]])
        self._schedule_changed()
        return changed

    def cancel_meeting(self, meeting: dict, cancellation: dict, event: dict) -> dict:
        """The meeting cancelled and taken off the schedule (never frozen nor closed), if it is still approved, not
        frozen and as it was read: else a Conflict, nothing written."""
        def unschedule(session):
            for kind in ("freeze", "close"):
                self._unschedule(session, kind, [meeting["_id"]])
        changed = self._change_activity(meeting["_id"], self._still_planned(meeting), {
            "status": CANCELLED.value, "cancellation": cancellation, "updated_at": cancellation["cancelled_at"]},
            [event], also=unschedule)
        self._schedule_changed()
        return changed

    @staticmethod
    def _still_planned(meeting: dict) -> dict:
        return {"status": APPROVED.value, "roster_frozen_at": None, "checkin_opens_at": meeting["checkin_opens_at"]}

    def meetings_in(self, path_ids: list[str], query: dict, skip: int = 0, limit: int = 0) -> list[dict]:
        cursor = self.db.activities.find({**subtree_filter(path_ids), "meeting_type": {"$exists": True}, **query},
                                         {"roster": 0, "member_devices": 0})
        return list(cursor.sort([("meeting_date", -1), ("_id", 1)]).skip(skip).limit(limit))

    def record_meeting(self, meeting_id: str, record: dict, event: dict) -> dict:
        """The record of a held meeting, once: a second record (or a concurrent one) is a Conflict."""
        def writes(session):
            changed = self.db.activities.find_one_and_update(
                {"_id": meeting_id, "status": CLOSED.value, "meeting_held": True, "meeting_record": None},
                {"$set": {"meeting_record": record, "updated_at": record["recorded_at"]}},
                return_document=ReturnDocument.AFTER, session=session)
            if changed is None:
                raise Conflict("该会议已有记录或状态已变化，请刷新后重试", code="MEETING_ALREADY_RECORDED")
            return changed
        return self.commit(writes, [event])

    def count_held(self, session, meeting: dict, month: str) -> None:
        """Inside the closing's transaction: the branch's ledger counts one more meeting of its type that month."""
        self.db.meeting_ledger.update_one(
            {"_id": meeting["branch_id"]},
            {"$inc": {f"held.{meeting['meeting_type']}.{month}": 1},
             "$set": {"tenant_id": meeting["tenant_id"], "org_path": meeting["org_path"],
                      **ancestor_fields(meeting["org_path"])}},
            upsert=True, session=session)

    # --- the ledger's aggregate -----------------------------------------------------------------------------
    def ledger_entries(self, path_ids: list[str]) -> dict[str, dict]:
        """{branch_id: its ledger document} of the branches of a subtree that have one."""
        return {doc["_id"]: doc for doc in self.db.meeting_ledger.find(subtree_filter(path_ids))}

    def keep_branch_facts(self, tenant_id: str, facts: dict[str, dict], paths: dict[str, list[str]],
                          now: str) -> None:
        """What identity said of these branches (full members, party groups), kept until it is stale: one
        transaction of bulk writes, so a city's cold ledger syncs the store once, not once a branch."""
        writes = [UpdateOne({"_id": branch_id}, {"$set": {
            "tenant_id": tenant_id, "org_path": paths.get(branch_id) or [branch_id],
            **ancestor_fields(paths.get(branch_id) or [branch_id]), "full_members": int(found.get("full_members", 0)),
            "groups": int(found.get("groups", 0)), "facts_at": now}}, upsert=True)
            for branch_id, found in facts.items()]

        def work(session):
            for start in range(0, len(writes), 1000):
                self.db.meeting_ledger.bulk_write(writes[start:start + 1000], ordered=False, session=session)
        if writes:
            self.run_transaction(work)
