"""Member points learned from attendance and content events: the points consumer's batches (``PointsApplier``),
written to the points database (points_store), run in a process of its own (``service.PointsConsumer``).

Idempotent by natural keys: ledger ids ``<activity>:<member>:<category>`` (an existing entry is skipped and
balances move only with new entries), members, branches and tenants upserted with the same fields. So a batch
may be written in several transactions: a redelivery after a crash between them finds the first ones' entries.
Content's events key their entries the same way: ``<package>:<item key>:<member>:study`` (an item of a package
studied; a link has no content item id, so the package's item key names it), ``<quiz>:<member>:quiz:<level>`` (one entry per score band reached, ``QUIZ_LEVELS``) and
``<quiz>:<member>:contest`` (a contest placing, worth ``points.contest_quantity`` times the rule's points).
Volunteer's credited hours key theirs by the hours ledger's entry: ``<entry_id>:volunteer_hours`` (entry ids are
``order:<order>:<member>`` or ``event:<event>:<member>``), worth the rule's points per hour times the hours
(``points.hours_quantity``). A 三会一课 meeting held (``meeting_held``) pays each member present at its closing
``<meeting>:<member>:meeting``.
"""
from __future__ import annotations

from servicekit.messaging.consumers import apply_idempotent
from servicekit.process.clock import WallClock
from servicekit.storage.mongo import open_store
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import stamp

from services.attendance import events as att
from services.content import events as content
from services.identity import events as identity_events
from services.volunteer import events as volunteer
from services.scoring.domain import ledger
from services.scoring.domain import points as point_rules
from services.scoring.points_store import PointsStore, points_database
from services.scoring.store import retried

ISSUED, ROSTER_FROZEN, CLOSED = att.ACTIVITY_ISSUED.name, att.ROSTER_FROZEN.name, att.ACTIVITY_CLOSED.name
CHECKOUT, REFLECTION_POSTED = att.CHECKOUT_RECORDED.name, att.REFLECTION_POSTED.name
MEETING_HELD = att.MEETING_HELD.name
TENANT_CREATED = identity_events.TENANT_CREATED.name
STUDIED, QUIZ_FINISHED, CONTEST_FINISHED = (content.ITEM_STUDIED.name, content.QUIZ_ATTEMPT_FINISHED.name,
                                            content.CONTEST_FINISHED.name)
CONTENT_EVENTS = (STUDIED, QUIZ_FINISHED, CONTEST_FINISHED)
HOURS_CREDITED = volunteer.HOURS_CREDITED.name
# events that name a member and its branch: a member met first through them is placed under that branch
MEMBER_EVENTS = (*CONTENT_EVENTS, HOURS_CREDITED)
POINTS_SUBSCRIPTIONS = [(att.SOURCE, name) for name in (ROSTER_FROZEN, CHECKOUT, REFLECTION_POSTED, CLOSED, ISSUED,
                                                         MEETING_HELD)] \
    + [(identity_events.SOURCE, TENANT_CREATED)] + [(content.SOURCE, name) for name in CONTENT_EVENTS] \
    + [(volunteer.SOURCE, HOURS_CREDITED)]
# A finished quiz pays one level of the quiz points per band reached: taking part counts, doing well counts more.
# Each level is an entry of its own, so a better later attempt tops up to its band and no level is paid twice.
QUIZ_LEVELS = {content.BAND_FAIL: 1, content.BAND_PASS: 2, content.BAND_EXCELLENT: 3}
QUIZ_LEVEL_REASONS = {1: "完成答题", 2: "答题及格", 3: "答题优秀"}
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
        self._note_event_members(events, branch_paths, session)
        self._note_meeting_members(events, branch_paths, session)
        for branch_id, fields in issued_paths.items():   # a branch moved since last month: its members follow
            store.move_branch_members(branch_id, fields, session)
        candidates, rules_by_tenant = [], {}
        for event in events:
            candidates.extend(self._awards(event, rules_by_tenant))
        store.write_entries(session, candidates, rules_by_tenant, at=stamp(self.clock.now()))

    def _note_event_members(self, events: list[dict], branch_paths: dict, session) -> None:
        """A member known so far only from content's or volunteer's events (no themed day yet) is placed under
        the branch its event names, so its ledger is found by those who manage it."""
        by_branch: dict[tuple[str, str], set[str]] = {}
        for event in events:
            if event["event_type"] in MEMBER_EVENTS and event.get("branch_id") and event.get("member_id"):
                by_branch.setdefault((event["tenant_id"], event["branch_id"]), set()).add(event["member_id"])
        if not by_branch:
            return
        unknown = {branch_id for _, branch_id in by_branch if branch_id not in branch_paths}
        if unknown:
            branch_paths.update(self.store.branch_places(unknown, session))
        for (tenant_id, branch_id), member_ids in sorted(by_branch.items()):
            self.store.note_members(tenant_id, branch_id, sorted(member_ids), branch_paths.get(branch_id, {}),
                                    session)

    def _note_meeting_members(self, events: list[dict], branch_paths: dict, session) -> None:
        """The members present at a meeting, like those of content's events: placed under the meeting's branch
        only if never placed before (the branch's known place, else the meeting's org_path)."""
        meetings = [event for event in events if event["event_type"] == MEETING_HELD
                    and event.get("present_member_ids") and event.get("tenant_id")]
        if not meetings:
            return
        unknown = {event["branch_id"] for event in meetings if event["branch_id"] not in branch_paths}
        if unknown:
            branch_paths.update(self.store.branch_places(unknown, session))
        for event in meetings:
            fields = branch_paths.get(event["branch_id"]) or \
                (ancestor_fields(event["org_path"]) if event.get("org_path") else {})
            self.store.note_members(event["tenant_id"], event["branch_id"], sorted(event["present_member_ids"]),
                                    fields, session)

    def _awards(self, event: dict, rules_by_tenant: dict) -> list[dict]:
        kind, tenant_id = event["event_type"], event.get("tenant_id")
        if kind not in (CHECKOUT, REFLECTION_POSTED, CLOSED, *MEMBER_EVENTS, MEETING_HELD) or not tenant_id:
            return []
        table = self.store.rules_of(tenant_id, rules_by_tenant)
        source = {"kind": "event", "event_id": event["event_id"], "event_type": kind}
        if kind in CONTENT_EVENTS:
            return content_awards(event, table, source)
        if kind == HOURS_CREDITED:
            return volunteer_awards(event, table, source)
        if kind == MEETING_HELD:
            return meeting_awards(event, table, source)
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


def content_awards(event: dict, table: dict, source: dict) -> list[dict]:
    """The entries a content event earns under the tenant's rules (none for a category the rules pay nothing)."""
    kind, tenant_id, member_id = event["event_type"], event["tenant_id"], event.get("member_id")
    if not member_id:
        return []
    if kind == STUDIED:
        points = ledger.rule_points(table, "study")
        return [] if not points else [ledger.entry(
            f"{event['package_id']}:{event.get('item_key') or event['item_id']}:{member_id}:study", tenant_id,
            member_id, "study", points,
            "完成学习", source, event.get("studied_at") or event["occurred_at"])]
    if kind == QUIZ_FINISHED:
        points = ledger.rule_points(table, "quiz")
        at = event.get("finished_at") or event["occurred_at"]
        return [] if not points else [ledger.entry(
            f"{event['quiz_id']}:{member_id}:quiz:{level}", tenant_id, member_id, "quiz", points,
            QUIZ_LEVEL_REASONS[level], source, at) for level in range(1, QUIZ_LEVELS.get(event.get("band"), 0) + 1)]
    quantity = point_rules.contest_quantity(event.get("rank"), event.get("participants"))
    points = ledger.rule_points(table, "contest", quantity)
    return [] if not points else [ledger.entry(
        f"{event['quiz_id']}:{member_id}:contest", tenant_id, member_id, "contest", points,
        f"知识竞赛第 {event['rank']} 名", source, event["occurred_at"])]


def volunteer_awards(event: dict, table: dict, source: dict) -> list[dict]:
    """Credited volunteer hours earn the volunteer_hours points per hour times the hours, to the hundredth
    (``points.hours_quantity``): 1 h 40 min at 1 point an hour is 1.67 points. One entry per hours-ledger entry
    (``<entry_id>:volunteer_hours``), so a replayed or redelivered credit pays nothing more; it counts on the day
    the hours were credited (the citizen's confirmation, not the service), where the daily cap applies."""
    member_id, quantity = event.get("member_id"), point_rules.hours_quantity(event.get("hours"))
    points = ledger.rule_points(table, "volunteer_hours", quantity) if member_id and event.get("entry_id") else None
    points = round(points, 2) if points else 0
    if not points:
        return []
    label = "志愿服务" if event.get("source_kind") == volunteer.SOURCE_ORDER else "志愿活动"
    return [ledger.entry(f"{event['entry_id']}:volunteer_hours", event["tenant_id"], member_id, "volunteer_hours",
                         points, f"{label} {quantity:g} 小时", source,
                         event.get("credited_at") or event["occurred_at"])]


def meeting_awards(event: dict, table: dict, source: dict) -> list[dict]:
    """A held meeting's points: one ``meeting`` entry per member present at its closing (signed in and out; not
    incomplete, excused or absent, as for a themed day's attendance), keyed ``<meeting>:<member>:meeting`` so a
    replay or redelivery pays nothing more. Credited on the day of the closing, like a themed day's."""
    points = ledger.rule_points(table, "meeting")
    if not points:
        return []
    label = att.MEETING_TYPE_LABELS.get(event.get("meeting_type"), "三会一课")
    at = event["occurred_at"]
    return [ledger.entry(f"{event['meeting_id']}:{member_id}:meeting", event["tenant_id"], member_id, "meeting",
                         points, f"参加{label}", source, at)
            for member_id in sorted(set(event.get("present_member_ids") or ()))]


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
        size = max(1, len(event.get("statuses") or ()), len(event.get("member_ids") or ()),
                   len(event.get("present_member_ids") or ()))
        if part and weight + size > most_entries:
            parts.append(part)
            part, weight = [], 0
        part.append(event)
        weight += size
    return parts + [part] if part else parts
