"""Work the clock triggers: freezing rosters when sign-in opens, closing activities when
the sign-out window ends. Both run every second in every instance and are idempotent: each
activity changes state with a conditional update, and only the instance whose update
matched publishes the event.
"""
from __future__ import annotations

import logging

from servicekit.events import stamp

from services.attendance import events
from services.attendance.domain import closing

log = logging.getLogger(__name__)
CHUNK = 500


def freeze_due_rosters(store, identity, now) -> int:
    """Freeze the roster of every approved activity whose sign-in has opened: the branch's
    party members at that moment (its mobile members included, flagged)."""
    due = store.due_for_roster(stamp(now), CHUNK)
    if not due:
        return 0
    by_tenant: dict[str, list[dict]] = {}
    for activity in due:
        by_tenant.setdefault(activity["tenant_id"], []).append(activity)
    frozen = 0
    for tenant_id, activities in by_tenant.items():
        rosters = identity.branch_rosters(tenant_id=tenant_id,
                                          branch_ids=sorted({a["branch_id"] for a in activities}))
        outbox = []

        def writes(session):
            nonlocal frozen
            for activity in activities:
                members = rosters.get(activity["branch_id"], [])
                roster = {m["member_id"]: {"name": m["name"], "mobile": bool(m["mobile"])} for m in members}
                updated = store.update_activity(activity["_id"], {"status": "approved", "roster_frozen_at": None},
                                                {"$set": {"roster": roster, "roster_frozen_at": stamp(now)}},
                                                session=session)
                if updated is None:
                    continue
                frozen += 1
                mobile = sorted(m for m, entry in roster.items() if entry["mobile"])
                outbox.append(events.ROSTER_FROZEN.build(
                    tenant_id, activity_id=activity["_id"], branch_id=activity["branch_id"],
                    month=activity["month"], roster_size=len(roster), on_site_expected=len(roster) - len(mobile),
                    mobile_count=len(mobile), member_ids=sorted(roster), mobile_member_ids=mobile))
        store.commit(writes, outbox, bundle=True)
    return frozen


def activity_result(activity: dict, records: list[dict]) -> tuple[dict, dict, dict | None]:
    """(statuses, totals, chain head) of an activity from its chained records."""
    roster = {member_id: bool(entry.get("mobile")) for member_id, entry in (activity.get("roster") or {}).items()}
    checked_in = {r["member_id"] for r in records if r.get("kind") == "checkin"}
    checked_out = {r["member_id"] for r in records if r.get("kind") == "checkout"}
    reflections = sum(1 for r in records if r.get("kind") == "reflection")
    photos = sum(1 for r in records if r.get("kind") == "photo")
    text_chars = sum(r.get("size", 0) for r in records if r.get("kind") == "text")
    liked = {r["member_id"] for r in records if r.get("kind") == "like"}
    statuses = closing.final_statuses(roster, set(activity.get("on_leave") or {}), checked_in, checked_out)
    totals = closing.totals(statuses, roster, liked, reflections, photos, text_chars)
    last = max(records, key=lambda r: r["seq"], default=None)
    head = {"seq": last["seq"], "hash": last["hash"]} if last else None
    return statuses, totals, head


RESULT_PROJECTION = {"activity_id": 1, "kind": 1, "member_id": 1, "seq": 1, "hash": 1, "size": 1}


def close_due_activities(store, chain, now) -> int:
    """Close every approved activity whose sign-out window has ended: final statuses, totals,
    the sealed chain head and an activity_closed event each."""
    due = store.due_for_closing(stamp(now), CHUNK)
    if not due:
        return 0
    records_by_activity: dict[str, list[dict]] = {a["_id"]: [] for a in due}
    with chain.lock:  # no record is appended while heads are sealed
        for record in store.records_of_many(list(records_by_activity), RESULT_PROJECTION):
            records_by_activity[record["activity_id"]].append(record)
        outbox, closed = [], 0

        def writes(session):
            nonlocal closed
            for activity in due:
                statuses, totals, head = activity_result(activity, records_by_activity[activity["_id"]])
                updated = store.update_activity(
                    activity["_id"], {"status": "approved"},
                    {"$set": {"status": "closed", "statuses": statuses, "totals": totals, "chain_head": head,
                              "closed_at": stamp(now)}}, session=session)
                if updated is None:
                    continue
                closed += 1
                outbox.append(events.ACTIVITY_CLOSED.build(
                    activity["tenant_id"], activity_id=activity["_id"], branch_id=activity["branch_id"],
                    month=activity["month"], org_path=activity["org_path"], closed_at=stamp(now), totals=totals,
                    statuses=statuses, chain_head=head))
        store.commit(writes, outbox, bundle=True)
    return closed
