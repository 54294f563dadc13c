"""Attendance events turned into updates of the activity documents (order-independent, idempotent per event).

Sets are dicts keyed by member, upload or record id (who signed in and out: ``in.<member>: 1``); stage times
use ``$min`` so the earliest wins whatever order the queues deliver in; every update bumps ``rev``.
"""
from __future__ import annotations

from servicekit.storage.subtree import ancestor_fields

from services.attendance import events as att

# the attendance events a themed day's score is learned from (plain names: compared for every event)
ISSUED, PLAN_SUBMITTED, PLAN_REVIEWED = att.ACTIVITY_ISSUED.name, att.PLAN_SUBMITTED.name, att.PLAN_REVIEWED.name
OPENED, ROSTER_FROZEN, CLOSED = att.ACTIVITY_OPENED.name, att.ROSTER_FROZEN.name, att.ACTIVITY_CLOSED.name
CHECKIN, CHECKOUT, SCAN_FLAGGED = att.CHECKIN_RECORDED.name, att.CHECKOUT_RECORDED.name, att.SCAN_FLAGGED.name
LEAVE_DECIDED, REFLECTION_POSTED = att.LEAVE_DECIDED.name, att.REFLECTION_POSTED.name
LIKED, UPLOAD_ADDED = att.ACTIVITY_LIKED.name, att.UPLOAD_ADDED.name
RECTIFICATION_OPENED, RECTIFICATION_CLOSED = att.RECTIFICATION_OPENED.name, att.RECTIFICATION_CLOSED.name
PLAN_APPROVED, LEAVE_APPROVED, PHOTO = att.PLAN_APPROVED, att.LEAVE_APPROVED, att.UPLOAD_PHOTO

SCORE_EVENTS = (ISSUED, PLAN_SUBMITTED, PLAN_REVIEWED, OPENED, ROSTER_FROZEN, CHECKIN, CHECKOUT, SCAN_FLAGGED,
                LEAVE_DECIDED, CLOSED, REFLECTION_POSTED, LIKED, UPLOAD_ADDED, RECTIFICATION_OPENED,
                RECTIFICATION_CLOSED)
_SCORED = frozenset(SCORE_EVENTS)
# Events whose update is idempotent by keys of its own: applied twice, they leave the facts as once ($min of a
# member's scan time, $set or $max under a member, record or upload id). The score consumer neither looks up
# nor records their ids (the scans are nearly all of its events). The others keep their ids: a rejection is
# counted ($inc), and a plan or an opening applied again after a newer one would bring back the older values.
IDEMPOTENT_BY_KEYS = frozenset({CHECKIN, CHECKOUT, SCAN_FLAGGED, LIKED, REFLECTION_POSTED, UPLOAD_ADDED})


class Update:
    """Operators gathered for one document; the same path merged the way its operator means."""

    def __init__(self):
        self.ops: dict[str, dict] = {}

    def put(self, operator: str, path: str, value) -> None:
        fields = self.ops.setdefault(operator, {})
        if operator == "$min" and path in fields:
            value = min(fields[path], value)
        elif operator == "$max" and path in fields:
            value = max(fields[path], value)
        elif operator == "$inc" and path in fields:
            value = fields[path] + value
        fields[path] = value

    def document(self) -> dict:
        return self.ops


# Shown on the records for the secretary and the superior, but not counted toward the supervision list's
# MANY_FLAGS: every member is "new" on rollout and a first visit of the page at the venue has no earlier position.
WEAK_FLAGS = frozenset({"NEW_DEVICE", "NO_MOVEMENT_TODAY"})


def counts_as_flagged(flags) -> bool:
    return any(flag not in WEAK_FLAGS for flag in flags or ())


def _flags(update: Update, event: dict) -> None:
    if counts_as_flagged(event.get("flags")):
        update.put("$set", f"flagged.{event['record_id']}", 1)
    if event.get("backfilled"):
        update.put("$set", f"backfilled.{event.get('record_id') or event.get('upload_id') or event['event_id']}", 1)


def apply_event(update: Update, event: dict) -> None:
    kind = event["event_type"]
    update.put("$set", "tenant_id", event.get("tenant_id"))
    update.put("$set", "branch_id", event["branch_id"])
    update.put("$inc", "rev", 1)
    if event.get("month"):
        update.put("$set", "month", event["month"])
        update.put("$set", "month_key", f"{event.get('tenant_id')}:{event['month']}")
    if kind == ISSUED:
        for name in ("branch_name", "field", "category", "title", "due_from", "due_to", "theme_id"):
            update.put("$set", name, event.get(name) or "")
        for name, value in ancestor_fields(event.get("org_path")).items():
            update.put("$set", name, value)
        update.put("$set", "level", len(event.get("org_path") or []) - 1)
        update.put("$min", "stages.issued", event["occurred_at"])
    elif kind == PLAN_SUBMITTED:
        update.put("$min", "stages.submitted", event["occurred_at"])
        update.put("$max", "outside_due_window", bool(event.get("outside_due_window")))
        update.put("$set", "plan", {"date": event.get("date"), "start_at": event.get("start_at"),
                                    "end_at": event.get("end_at")})
    elif kind == PLAN_REVIEWED:
        if event.get("decision") == PLAN_APPROVED:
            update.put("$min", "stages.approved", event["occurred_at"])
        else:
            update.put("$inc", "rejections", 1)
            update.put("$set", "last_rejection", event.get("reason") or "")
    elif kind == OPENED:
        update.put("$min", "stages.approved", event["occurred_at"])
        update.put("$set", "start_at", event.get("start_at"))
        update.put("$set", "end_at", event.get("end_at"))
    elif kind == ROSTER_FROZEN:
        update.put("$set", "roster", {member: 1 for member in event.get("member_ids") or []})
        update.put("$set", "mobile", {member: 1 for member in event.get("mobile_member_ids") or []})
        update.put("$set", "roster_known", True)
        update.put("$min", "stages.held", event["occurred_at"])
    elif kind == CHECKIN or kind == CHECKOUT:
        # who scanned, not when (attendance's records keep the time): a member's entry is 1, not a 24-character
        # stamp, and the activity's document, rewritten whole for every scan, is a fifth smaller for it
        update.put("$set", f"{'in' if kind == CHECKIN else 'out'}.{event['member_id']}", 1)
        update.put("$min", "stages.held", event["occurred_at"])
        _flags(update, event)
    elif kind == SCAN_FLAGGED:
        if counts_as_flagged(event.get("flags")):
            update.put("$set", f"flagged.{event['record_id']}", 1)
    elif kind == LEAVE_DECIDED:
        if event.get("decision") == LEAVE_APPROVED:
            update.put("$set", f"exc.{event['member_id']}", 1)
    elif kind == CLOSED:
        update.put("$set", "statuses", event.get("statuses") or {})
        update.put("$set", "totals", event.get("totals") or {})
        update.put("$set", "closed_at", event.get("closed_at"))
        for name, value in ancestor_fields(event.get("org_path")).items():
            update.put("$set", name, value)
        update.put("$min", "stages.closed", event.get("closed_at") or event["occurred_at"])
    elif kind == REFLECTION_POSTED:
        update.put("$max", f"refl.{event['member_id']}", int(event.get("length") or 0))
    elif kind == LIKED:
        update.put("$set", f"liked.{event['member_id']}", bool(event.get("mobile")))
    elif kind == UPLOAD_ADDED:
        if event.get("kind") == PHOTO:
            update.put("$set", f"photos.{event['upload_id']}", event.get("content_hash") or "")
        else:
            update.put("$set", f"texts.{event['upload_id']}", int(event.get("size") or 0))
        if event.get("backfilled"):
            update.put("$set", f"backfilled.{event['upload_id']}", 1)
    elif kind == RECTIFICATION_OPENED:
        update.put("$set", f"rect_opened.{event['rectification_id']}", event.get("due_on") or "")
    elif kind == RECTIFICATION_CLOSED:
        update.put("$set", f"rect_closed.{event['rectification_id']}", 1)


def updates_for(events: list[dict]) -> dict[str, dict]:
    """activity_id -> one update document gathering every event of the batch about it."""
    updates: dict[str, Update] = {}
    for event in events:
        if event.get("event_type") in _SCORED and event.get("activity_id"):
            apply_event(updates.setdefault(event["activity_id"], Update()), event)
    return {activity_id: update.document() for activity_id, update in updates.items()}


def _compare_missing(current, value, pick):
    return value if current is None else pick(current, value)


def applied(doc: dict, update: dict) -> dict:
    """The document as the store will hold it after ``update`` ($set, $min, $max, $inc on paths at most two
    deep, as ``Update`` builds them): lets a batch compute the new score and write it with the facts at once."""
    result = {key: (dict(value) if isinstance(value, dict) else value) for key, value in doc.items()}
    for operator, fields in update.items():
        for path, value in fields.items():
            head, _, leaf = path.partition(".")
            if leaf:
                target = result.get(head)
                if not isinstance(target, dict):
                    target = result[head] = {}
                key = leaf
            else:
                target, key = result, head
            current = target.get(key)
            if operator == "$set":
                target[key] = value
            elif operator == "$min":
                target[key] = _compare_missing(current, value, min)
            elif operator == "$max":
                target[key] = _compare_missing(current, value, max)
            elif operator == "$inc":
                target[key] = (current or 0) + value
            else:
                raise ValueError(f"unsupported update operator {operator}")
    return result
