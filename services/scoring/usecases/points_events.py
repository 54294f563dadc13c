"""Member points learned from attendance events: the points consumer's batches (``PointsApplier``), written to
the points database (points_store), run in a process of its own (``service.PointsConsumer``).

Idempotent by natural keys: ledger ids ``<activity>:<member>:<category>`` (an existing entry is skipped and
balances move only with new entries), members, branches and tenants upserted with the same fields. So a batch
may be written in several transactions: a redelivery after a crash between them finds the first ones' entries.
"""
from __future__ import annotations

from servicekit.messaging.consumers import apply_idempotent
from servicekit.process.clock import WallClock
from servicekit.storage.mongo import open_store
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import stamp

from services.attendance import events as att
from services.identity import events as identity_events
from services.scoring.domain import ledger
from services.scoring.points_store import PointsStore, points_database
from services.scoring.store import retried

ISSUED, ROSTER_FROZEN, CLOSED = att.ACTIVITY_ISSUED.name, att.ROSTER_FROZEN.name, att.ACTIVITY_CLOSED.name
CHECKOUT, REFLECTION_POSTED = att.CHECKOUT_RECORDED.name, att.REFLECTION_POSTED.name
TENANT_CREATED = identity_events.TENANT_CREATED.name
POINTS_SUBSCRIPTIONS = [(att.SOURCE, name) for name in (ROSTER_FROZEN, CHECKOUT, REFLECTION_POSTED, CLOSED, ISSUED)] \
    + [(identity_events.SOURCE, TENANT_CREATED)]
MAX_ENTRIES_PER_TRANSACTION = 2000


class PointsApplier:
    consumer = "points"

    def __init__(self, store: PointsStore, clock=None):
        self.store = store
        self.clock = clock or WallClock()

    @classmethod
    def for_container(cls, container) -> "PointsApplier":
        return cls(open_store(PointsStore, points_database(container.service_name)))

    def apply(self, events: list[dict]) -> None:
        for part in transaction_parts([event for event in events if has_points_work(event)]):
            retried(lambda part=part: apply_idempotent(self.store, self.consumer, part, self._effect))

    def _effect(self, session, events: list[dict]) -> None:
        store = self.store
        # Paths come with activity_issued/activity_closed (remembered per branch); roster_frozen members
        # take their branch's.
        issued_paths = {event["branch_id"]: ancestor_fields(event["org_path"]) for event in events
                        if event["event_type"] == ISSUED and event.get("org_path")}
        branch_paths = dict(issued_paths)
        branch_paths.update({event["branch_id"]: ancestor_fields(event["org_path"]) for event in events
                             if event["event_type"] == CLOSED and event.get("org_path")})
        if branch_paths:
            store.place_branches(branch_paths, session)
        roster_branches = {event["branch_id"] for event in events
                           if event["event_type"] == ROSTER_FROZEN and event["branch_id"] not in branch_paths}
        if roster_branches:
            branch_paths.update(store.branch_places(roster_branches, session))
        for event in events:
            if event["event_type"] == TENANT_CREATED:
                store.set_tenant_root(event["tenant_id"], event["root_org_id"], session)
            elif event["event_type"] == ISSUED and event.get("org_path"):
                store.note_tenant_root(event["tenant_id"], event["org_path"][0], session)
        for event in events:
            if event["event_type"] == ROSTER_FROZEN:
                store.place_members(event["tenant_id"], event["branch_id"], event.get("member_ids") or [],
                                    branch_paths.get(event["branch_id"], {}), session)
        for branch_id, fields in issued_paths.items():   # a branch moved since last month: its members follow
            store.move_branch_members(branch_id, fields, session)
        candidates, rules_by_tenant = [], {}
        for event in events:
            candidates.extend(self._awards(event, rules_by_tenant))
        store.write_entries(session, candidates, rules_by_tenant, at=stamp(self.clock.now()))

    def _awards(self, event: dict, rules_by_tenant: dict) -> list[dict]:
        kind, tenant_id = event["event_type"], event.get("tenant_id")
        if kind not in (CHECKOUT, REFLECTION_POSTED, CLOSED) or not tenant_id:
            return []
        table = self.store.rules_of(tenant_id, rules_by_tenant)
        source = {"kind": "event", "event_id": event["event_id"], "event_type": kind}
        at = event.get("at") or event["occurred_at"]
        if kind == CHECKOUT:            # back-filled after the closing (has_points_work)
            points = ledger.rule_points(table, "attendance")
            return [] if not points else [attendance_entry(event["activity_id"], event["member_id"], tenant_id,
                                                           points, source, at)]
        if kind == REFLECTION_POSTED:
            points = ledger.rule_points(table, "reflection")
            return [] if not points else [ledger.entry(
                f"{event['activity_id']}:{event['member_id']}:reflection", tenant_id, event["member_id"],
                "reflection", points, "发表心得体会", source, at)]
        # the closing: each present member's attendance (参加主题党日) and each absent member's deduction
        at = event.get("closed_at") or at
        statuses = sorted((event.get("statuses") or {}).items())
        attendance, absence = ledger.rule_points(table, "attendance"), ledger.rule_points(table, "absence")
        entries = []
        for member_id, status in statuses:
            if status == att.PRESENT and attendance:
                entries.append(attendance_entry(event["activity_id"], member_id, tenant_id, attendance, source, at))
            elif status == att.ABSENT and absence:
                entries.append(ledger.entry(f"{event['activity_id']}:{member_id}:absence", tenant_id, member_id,
                                            "absence", absence, "主题党日缺勤", source, at))
        return entries


def attendance_entry(activity_id: str, member_id: str, tenant_id: str, points: float, source: dict, at: str) -> dict:
    """A member's points for taking part in a themed day: one entry per activity and member, whichever event
    brings it (the closing, or a sign-out back-filled after it)."""
    return ledger.entry(f"{activity_id}:{member_id}:attendance", tenant_id, member_id, "attendance", points,
                        "参加主题党日", source, at)


def has_points_work(event: dict) -> bool:
    """A sign-out earns its points at the closing, which names every member present, so the sign-outs are
    skipped while they pour in (their entries and balances were the largest share of a sign-out's store CPU at
    a city's peak); only a sign-out back-filled after the closing is credited on its own."""
    return event.get("event_type") != CHECKOUT or bool(event.get("backfilled"))


def transaction_parts(events: list[dict], most_entries: int | None = None) -> list[list[dict]]:
    """The events in order, cut into parts of about ``most_entries`` (``MAX_ENTRIES_PER_TRANSACTION``) ledger entries
    or members at most (a closing counts its roster, a roster its members; one event is never cut): a batch of a
    thousand closings would otherwise be one transaction of 20,000 entries, holding the points database for
    seconds."""
    most_entries = most_entries or MAX_ENTRIES_PER_TRANSACTION
    parts, part, weight = [], [], 0
    for event in events:
        size = max(1, len(event.get("statuses") or ()), len(event.get("member_ids") or ()))
        if part and weight + size > most_entries:
            parts.append(part)
            part, weight = [], 0
        part.append(event)
        weight += size
    return parts + [part] if part else parts
