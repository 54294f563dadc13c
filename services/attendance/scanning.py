"""The scan desk: judges and stores a batch of sign-in/sign-out scans in one pass.

The gateway gathers the scans that arrive within a few milliseconds into one call, so a batch costs at most
one read (the members' existing records, unless this process knows them: ``KnownRecords``), one transaction
(their records and one bundled outbox entry) and no per-scan round trip. Each scan still gets its own answer:
a counted record (for a repeat, the first one) or a rejection with its code; rejected scans are stored nowhere.
What stays in memory, and why, is in docs/performance.md, "Caches on the scan path".
"""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import Counter
from pymongo.errors import BulkWriteError, DuplicateKeyError

from servicekit.errors import InvalidArgument, Rejected, ServiceError
from servicekit.process.clock import WallClock
from servicekit.security.scope import CallerScope
from servicekit.storage.mongo import is_duplicate
from servicekit.timestamps import parse_stamp, stamp, utc_now

from services.attendance import events
from services.attendance.access import require_member
from services.attendance.chaining import ChainWriter
from services.attendance.domain import lifecycle, qrtoken, scans
from services.attendance.domain.closing import previous_months
from services.attendance.store import change_mark
from services.attendance.usecases.activities import activity_id_of
from services.attendance.views import scan_view

TOKEN_FOREIGN_MESSAGE = "该二维码不属于您可参加的活动"
ACTIVITY_TTL_SECONDS = 10.0
CHANGE_MARGIN_SECONDS = 60.0
ACTIVITY_FULL_TTL_SECONDS = 300.0
LAST_FIX_CAPACITY = 500_000
KNOWN_RECORDS_CAPACITY = 500_000
MAX_BATCH = 1000
DEVICE_HISTORY_MONTHS = 6      # how far back a member's devices are known (its branch's themed days)
# An activity closes this long after its sign-out window (usecases.sweeps); a batch's write refuses to commit a
# judgement older than this, so whichever instance judged a scan inside the window stored it before the closing
CLOSE_GRACE_SECONDS = 30.0
NO_DEVICES: frozenset[str] = frozenset()
# The themed day's dashboard and alerts read the desk's answers by outcome: a refusal's code says why members fail
SCANS = Counter("attendance_scans_total", "Scans answered by the scan desk, by outcome: recorded, repeat or the "
                "refusal's code", ["outcome"])


def record_id(activity_id: str, direction: str, member_id: str) -> str:
    return f"{activity_id}:{direction}:{member_id}"


def printed_code_allowed(activity: dict) -> bool:
    """Whether the superior allowed the printed (whole-window) code for this activity; off unless set."""
    return bool((activity.get("printed_code") or {}).get("allowed"))


def rules_of(activity: dict) -> scans.ActivityRules:
    plan = activity.get("plan") or {}
    roster = activity.get("roster") or {}
    return scans.ActivityRules(
        activity_id=activity["_id"], status=lifecycle.state_of(activity),
        venue_lat=plan["venue"]["lat"], venue_lng=plan["venue"]["lng"], radius_m=activity["radius_m"],
        checkin_opens_at=parse_stamp(plan["checkin_opens_at"]),
        checkin_closes_at=parse_stamp(plan["checkin_closes_at"]),
        end_at=parse_stamp(plan["end_at"]), checkout_closes_at=parse_stamp(plan["checkout_closes_at"]),
        roster=frozenset(roster), on_leave=frozenset(activity.get("on_leave") or {}))


@dataclass
class Pending:
    """One scan of the batch on its way through the desk."""
    index: int
    member_id: str
    tenant_id: str
    token: qrtoken.ParsedToken
    fix: scans.Fix
    activity: dict | None = None
    rules: scans.ActivityRules | None = None


class ActivityCache:
    """Activities as scans need them. Once the roster is frozen, only a leave approval or the closing
    changes what a scan is judged on, and every such write stamps the activity (``store.scan_changed``).
    So a frozen activity is read once; after ``ttl`` seconds the store is only asked whether it changed
    since it was last checked (minus ``margin``, for a write that took its stamp before a slow commit, or
    another machine's clock), and only one changed by a write this desk has not seen (``change_mark``) is
    read again. Every ``full_ttl`` seconds a frozen activity is read again whatever its stamp says (a write
    of an older version, during an upgrade, does not stamp); one not frozen yet after ``unfrozen_ttl``.
    This process's own writes make it ``forget`` an activity at once (``store.on_scan_rules_changed``)."""

    def __init__(self, store, ttl: float = ACTIVITY_TTL_SECONDS, unfrozen_ttl: float = 1.0,
                 margin: float = CHANGE_MARGIN_SECONDS, full_ttl: float = ACTIVITY_FULL_TTL_SECONDS):
        self.store, self.ttl, self.unfrozen_ttl, self.margin, self.full_ttl = store, ttl, unfrozen_ttl, margin, full_ttl
        self._items: dict[str, CachedActivity] = {}

    def get_many(self, activity_ids) -> dict[str, tuple[dict, scans.ActivityRules | None]]:
        now, wall = time.monotonic(), utc_now()
        wanted = set(activity_ids)
        due = {a for a in wanted if a not in self._items or self._items[a].check_at <= now}
        checked = {a for a in due if self._items.get(a) and self._items[a].doc.get("roster_frozen_at")
                   and now - self._items[a].read_at < self.full_ttl}
        if checked:
            since = min(self._items[a].checked_wall for a in checked) - timedelta(seconds=self.margin)
            marks = self.store.activities_changed_since(checked, stamp(since))
            changed = {a for a, mark in marks.items() if mark != change_mark(self._items[a].doc)}
            for activity_id in checked - changed:
                item = self._items[activity_id]
                item.check_at, item.checked_wall = now + self.ttl, wall
            due -= checked - changed
        if due:
            self._keep(self.store.activities_by_ids(due).values(), now, wall)
        return {a: (self._items[a].doc, self._items[a].rules) for a in wanted if a in self._items}

    def _keep(self, docs, now: float, wall: datetime) -> None:
        for doc in docs:
            rules = rules_of(doc) if doc.get("plan") and lifecycle.state_of(doc) in lifecycle.PLAN_APPROVED else None
            ttl = self.ttl if doc.get("roster_frozen_at") else self.unfrozen_ttl
            self._items[doc["_id"]] = CachedActivity(doc, rules, read_at=now, check_at=now + ttl, checked_wall=wall)

    def forget(self, activity_id: str) -> None:
        self._items.pop(activity_id, None)


@dataclass
class CachedActivity:
    doc: dict
    rules: scans.ActivityRules | None
    read_at: float          # monotonic time of the last full read
    check_at: float         # monotonic time from which the store is asked again
    checked_wall: datetime  # wall time of the last read or check (what the next check asks "since")


class KnownRecords:
    """Scan records known to be stored (this process stored or read them, every record of a chain whose head it
    read, and those other instances appended after it: ``ChainWriter.learn``; bounded, oldest forgotten first), with
    a sign-in's place and time (its ``Prior.checkin``). A record never changes once stored, so a sign-out whose
    sign-in is known needs no read of it, and a scan whose own record is not known, in a chain this process follows,
    needs none either (``ScanDesk._records_to_judge``). A record forgotten for the bound costs at most a refused
    write: its unique ``_id`` refuses a second copy, and the batch is judged again on what the store holds."""

    def __init__(self, capacity: int = KNOWN_RECORDS_CAPACITY):
        self.capacity = capacity
        self._records: dict[str, tuple | None] = {}     # record id -> (at, lat, lng) of a sign-in, else None

    def __contains__(self, record: str) -> bool:
        return record in self._records

    def checkin(self, record: str) -> dict | None:
        known = self._records.get(record)
        return None if known is None else {"at": known[0], "lat": known[1], "lng": known[2]}

    def put(self, record: str, checkin: dict | None) -> None:
        self._records[record] = None if checkin is None else (checkin["at"], checkin["lat"], checkin["lng"])
        if len(self._records) > self.capacity:
            del self._records[next(iter(self._records))]


class LastFixes:
    """Each member's last fix seen by this process (bounded), for the impossible-speed flag."""

    def __init__(self, capacity: int = LAST_FIX_CAPACITY):
        self.capacity = capacity
        self._fixes: OrderedDict[str, tuple] = OrderedDict()

    def get(self, member_id: str):
        return self._fixes.get(member_id)

    def put(self, member_id: str, fix: scans.Fix) -> None:
        self._fixes[member_id] = (fix.taken_at, fix.lat, fix.lng)
        self._fixes.move_to_end(member_id)
        if len(self._fixes) > self.capacity:
            self._fixes.popitem(last=False)


class DeviceBook:
    """Which members used each device, per activity, kept in memory: loaded the first time a scan needs it
    (every activity of a batch at once, by the ids of its roster's records), then updated with what this
    process stores and with what other instances appended to the chains it writes (``note``: a batch's write
    reads them, ``AttendanceStore.appended_since``). Records never change, so nothing else is re-read. Where
    several instances take one activity's scans, a scan is judged on the other instances' records up to this
    process's previous write to that activity: ``SHARED_DEVICE`` is an advisory flag for the secretary, never a
    refusal. A device's members are a tuple, not a set: a tuple of strings is untracked by the garbage
    collector, and a city's books hold some 160,000 of them."""

    PROJECTION = {"activity_id": 1, "device_key": 1, "member_id": 1}

    def __init__(self, store, history_months: int = DEVICE_HISTORY_MONTHS):
        self.store, self.history_months = store, history_months
        self._books: dict[str, tuple[float, dict[str, tuple[str, ...]], set[str]]] = {}  # id -> (read at, book, seen)
        # activity id -> {member id: device keys of the branch's earlier themed days}: closed days do not change,
        # so it is read once per activity (one read for all the activities a batch loads), never refreshed
        self._history: dict[str, dict[str, tuple[str, ...]]] = {}

    def users(self, activities: dict[str, dict], empty=frozenset()) -> dict[str, dict[str, tuple[str, ...]]]:
        """activity id -> {device key: its members' ids}, for the activities given (id -> activity document). A book
        not loaded yet of an activity in ``empty`` (no records at all, by the chain head this process knows:
        ``ChainWriter.empty_chains``) starts empty without a read: what another instance stored meanwhile is
        learned at this process's first write there, like any other append."""
        now = time.monotonic()
        self.warm_history(list(activities.values()))      # read at the roster freeze where this process froze it
        for activity_id in empty:
            self._books.setdefault(activity_id, (now, {}, set()))
        stale = [activity for activity_id, activity in activities.items() if activity_id not in self._books]
        if stale:
            for activity in stale:
                _, book, seen = self._books.get(activity["_id"], (0.0, {}, set()))
                self._books[activity["_id"]] = (now, book, seen)
            ids = [record for activity in stale for record in self._unseen_ids(activity)]
            for start in range(0, len(ids), 2000):
                for record in self.store.records_by_ids(ids[start:start + 2000], self.PROJECTION).values():
                    self._learn(record["activity_id"], record["_id"], self._compared(record), record["member_id"])
        return {activity_id: self._books[activity_id][1] for activity_id in activities}

    def _read_history(self, activities: list[dict]) -> None:
        """The devices each member used on its branch's themed days of the previous ``history_months`` months, as
        their closing kept them (``member_devices`` of a closed activity): one read of small projections."""
        earlier = {activity["_id"]: [activity_id_of(activity["branch_id"], month)
                                     for month in previous_months(activity.get("month") or  # a meeting: its date's
                                                                  (activity.get("meeting_date") or "")[:7],
                                                                  self.history_months)]
                   if activity.get("branch_id") else [] for activity in activities}
        wanted = [activity_id for ids in earlier.values() for activity_id in ids]
        found = self.store.member_devices_of(wanted) if wanted else {}
        for activity_id, ids in earlier.items():
            devices: dict[str, set[str]] = {}
            for earlier_id in ids:
                for member_id, keys in (found.get(earlier_id) or {}).items():
                    devices.setdefault(member_id, set()).update(keys)
            self._history[activity_id] = {member_id: tuple(keys) for member_id, keys in devices.items()}

    def warm_history(self, activities: list[dict]) -> None:
        """Read the device history of activities whose rosters were just frozen, before their first scan."""
        unread = [activity for activity in activities if activity["_id"] not in self._history]
        if unread:
            self._read_history(unread)

    def member_devices(self, activity_id: str, member_id: str) -> frozenset[str]:
        """The device keys (compared form) the member used on its branch's earlier themed days."""
        known = (self._history.get(activity_id) or {}).get(member_id)
        return frozenset(known) if known else NO_DEVICES

    def _unseen_ids(self, activity: dict) -> list[str]:
        seen = self._books[activity["_id"]][2]
        ids = (record_id(activity["_id"], direction, member_id) for member_id in (activity.get("roster") or {})
               for direction in qrtoken.DIRECTIONS)
        return [record for record in ids if record not in seen]

    @staticmethod
    def _compared(record: dict) -> str | None:
        """A stored record's device key in the compared form (``scans.device_key``): records stored before device
        ids were compared so hold the id as the phone sent it."""
        key, prefix = record.get("device_key"), record["activity_id"] + ":"
        if not key or not key.startswith(prefix):
            return key
        return prefix + scans.device_key(key[len(prefix):])

    def forget(self, activity_ids) -> None:
        for activity_id in set(activity_ids):
            self._books.pop(activity_id, None)
            self._history.pop(activity_id, None)

    def note(self, activity_id: str, record: str, device_key: str, member_id: str) -> None:
        """A record this process stored (the activity's book, when loaded, learns it at once)."""
        if activity_id in self._books:
            self._learn(activity_id, record, device_key, member_id)

    def _learn(self, activity_id: str, record: str, device_key: str | None, member_id: str) -> None:
        _, book, seen = self._books[activity_id]
        seen.add(record)
        if device_key:
            members = book.get(device_key, ())
            if member_id not in members:
                book[device_key] = (*members, member_id)


class StaleJudgement(Exception):
    """A batch's write found its judgement older than ``CLOSE_GRACE_SECONDS``: the batch is judged again."""


class StoredMeanwhile(Exception):
    """A batch's write found one of its records appended by another instance since its judgement: nothing is
    inserted (on nx-27017 a failed insert's rows are seen by other connections until the rollback), and the batch is
    judged again reading its records."""


def count_outcomes(answers: list[dict | None]) -> dict[str, int]:
    """Add a batch's answers to ``attendance_scans_total`` (one increment per outcome: a batch holds up to 1,000)."""
    counts: dict[str, int] = {}
    for answer in answers:
        if answer is None:
            continue
        if "error" in answer:
            outcome = answer["error"].get("code") or "?"
        else:
            outcome = "repeat" if answer["result"].get("repeat") else "recorded"
        counts[outcome] = counts.get(outcome, 0) + 1
    for outcome, count in counts.items():
        SCANS.labels(outcome).inc(count)
    return counts


class ScanDesk:
    def __init__(self, store, chain: ChainWriter, clock: WallClock, tenant_key, monotonic=time.monotonic):
        self.store, self.chain, self.clock, self.monotonic = store, chain, clock, monotonic
        self.tenant_key = tenant_key          # tenant_id -> HMAC key
        self.activities = ActivityCache(store)
        self.devices = DeviceBook(store)
        self.last_fixes = LastFixes()
        self.known = KnownRecords()
        chain.learn = self.learn_records      # every record the chain writer reads of a chain is known here

    def learn_records(self, records: list[dict]) -> None:
        """Records read from the store (immutable facts): known, and in their activities' loaded device books."""
        for record in records:
            self.known.put(record["_id"], self._checkin_prior(record) if record.get("kind") == "checkin" else None)
            self.devices.note(record["activity_id"], record["_id"], DeviceBook._compared(record),
                              record.get("member_id"))

    def record(self, items: list[dict]) -> list[dict]:
        """Answers in order: ``{"result": ScanResult}`` or ``{"error": error body}`` per item."""
        if not isinstance(items, list) or len(items) > MAX_BATCH:
            raise InvalidArgument(f"a batch holds 1-{MAX_BATCH} scans", code="BATCH_INVALID")
        answers: list[dict | None] = [None] * len(items)
        now = self.clock.now()
        pending = []
        for index, item in enumerate(items):
            try:
                pending.append(self._parse(index, item, now))
            except ServiceError as error:
                answers[index] = {"error": error.to_dict()}
        self._attach_activities(pending, answers)
        pending = [p for p in pending if answers[p.index] is None]
        for attempt in range(3):
            try:
                with self.chain.lock:
                    self._judge_and_store(pending, answers, now, trust_known=attempt == 0)
                break
            except StaleJudgement:
                if attempt == 2:
                    raise
                now = self.clock.now()
                for p in pending:
                    answers[p.index] = None
            except (DuplicateKeyError, BulkWriteError, StoredMeanwhile) as error:
                # another process stored a record or chain position first: reload and judge again
                if not (isinstance(error, StoredMeanwhile) or is_duplicate(error)) or attempt == 2:
                    raise
                self.chain.forget(p.activity["_id"] for p in pending)
                for p in pending:
                    answers[p.index] = None
        count_outcomes(answers)
        return answers

    # --- steps --------------------------------------------------------------------
    def _parse(self, index: int, item: dict, now) -> Pending:
        if not isinstance(item, dict):
            raise InvalidArgument("malformed scan", code="SCAN_INVALID")
        caller = CallerScope.from_dict(item.get("scope"))
        member_id = require_member(caller)
        tenant_id = caller.require_tenant()
        token_text = item.get("token")
        if not isinstance(token_text, str) or not token_text:
            raise InvalidArgument("缺少二维码内容", code="TOKEN_MISSING", field="token")
        try:
            token = qrtoken.parse(token_text)
        except qrtoken.TokenRejected as rejected:
            raise Rejected(rejected.message, code=rejected.code, field="token") from None
        fix = scans.parse_fix(item.get("fix"), now)
        return Pending(index, member_id, tenant_id, token, fix)

    def _attach_activities(self, pending: list[Pending], answers: list) -> None:
        found = self.activities.get_many({p.token.activity_id for p in pending})
        for p in pending:
            activity, rules = found.get(p.token.activity_id, (None, None))
            if activity is None or activity["tenant_id"] != p.tenant_id:
                answers[p.index] = {"error": Rejected(TOKEN_FOREIGN_MESSAGE, code="TOKEN_FOREIGN",
                                                      field="token").to_dict()}
                continue
            try:
                qrtoken.verify(self.tenant_key(p.tenant_id), p.token, self.clock.now())
            except qrtoken.TokenRejected as rejected:
                answers[p.index] = {"error": Rejected(rejected.message, code=rejected.code,
                                                      field="token").to_dict()}
                continue
            if p.token.step is None and not printed_code_allowed(activity):
                answers[p.index] = {"error": Rejected(qrtoken.TOKEN_MESSAGES["PRINTED_CODE_NOT_ALLOWED"],
                                                      code="PRINTED_CODE_NOT_ALLOWED", field="token").to_dict()}
                continue
            if rules is None:       # the document the cache holds says why (a cancelled meeting): no read
                code = scans.not_open_code(lifecycle.state_of(activity))
                answers[p.index] = {"error": Rejected(scans.rejection_message(code, 0), code=code).to_dict()}
                continue
            p.activity, p.rules = activity, rules

    def _judge_and_store(self, pending: list[Pending], answers: list, now, trust_known: bool = True) -> None:
        """``trust_known``: read only the records ``self.known`` cannot answer for (see ``KnownRecords``);
        otherwise read each scan's records, as after another process stored one of them first."""
        judged_at = self.monotonic()
        stored, asked = self._records_to_judge(pending, trust_known)
        activities = {p.activity["_id"]: p.activity for p in pending}
        books = self.devices.users(activities, empty=self.chain.empty_chains(activities))
        new_records, outbox, batch_repeats, unasked = [], [], [], []
        at = stamp(now)                                 # the batch's records share their time, events theirs
        for p in pending:
            activity_id, direction = p.activity["_id"], p.token.direction
            checkin_id = record_id(activity_id, qrtoken.CHECKIN, p.member_id)
            prior = scans.Prior(
                same_direction=stored.get(record_id(activity_id, direction, p.member_id)),
                checkin=self._checkin_prior(stored.get(checkin_id)) or self.known.checkin(checkin_id),
                device_members=frozenset(books[activity_id].get(self._device_key(p), ())),
                last_fix=self.last_fixes.get(p.member_id),
                member_devices=self.devices.member_devices(activity_id, p.member_id))
            verdict = scans.judge(p.rules, p.member_id, direction, p.fix, now, prior)
            self.last_fixes.put(p.member_id, p.fix)
            if verdict.repeat:
                if "seq" in prior.same_direction:
                    answers[p.index] = self._repeat_answer(prior.same_direction)
                else:                                    # counted earlier in this very batch
                    batch_repeats.append((p.index, prior.same_direction))
                continue
            if not verdict.accepted:
                answers[p.index] = {"error": Rejected(
                    scans.rejection_message(verdict.code, p.rules.radius_m, verdict.distance_m), code=verdict.code,
                    details=scans.rejection_details(verdict, p.rules.radius_m)).to_dict()}
                own = record_id(activity_id, direction, p.member_id)
                if own not in asked:                     # not read: another instance may have stored it since
                    unasked.append((p.index, own))
                continue
            document, content = self._record(p, verdict, at)
            stored[document["_id"]] = document          # a second scan in this batch is a repeat
            self.devices.note(activity_id, document["_id"], document["device_key"], p.member_id)
            new_records.append((p, document, content, verdict))
        if unasked:        # a refusal is the answer only when the scan's record is not stored: else it is a repeat
            found = self.store.records_by_ids([own for _, own in unasked])
            for index, own in unasked:
                if own in found:
                    self.learn_records([found[own]])
                    answers[index] = self._repeat_answer(found[own])
        if not new_records:
            return
        documents = self.chain.links([(document, content) for _, document, content, _ in new_records])
        occurred = stamp()
        for p, document, _, verdict in new_records:
            outbox += self._events(p, document, verdict, occurred)

        relinked = False

        def before_insert(appended: dict[str, list[dict]]) -> None:
            """In the write's transaction: a judgement too old to be stored before a closing is made again; where
            other instances appended to these chains, learn their records (immutable facts) and chain this
            batch's after them, with its events' positions to match (again on a run of the transaction again,
            which puts ``outbox`` back as it was)."""
            nonlocal relinked
            if self.monotonic() - judged_at > CLOSE_GRACE_SECONDS:
                raise StaleJudgement()
            if appended:
                ours = {document["_id"] for document in documents}
                if any(doc["_id"] in ours for docs in appended.values() for doc in docs):
                    self.chain.relink(documents, appended)   # learn them, then write nothing
                    raise StoredMeanwhile()
                self.chain.relink(documents, appended)      # which learns them (``learn_records``)
                relinked = True
            if relinked:
                outbox[:] = [event for p, document, _, verdict in new_records
                             for event in self._events(p, document, verdict, occurred)]

        try:
            self.store.record_scans(documents, outbox, before_insert=before_insert, writer=self.chain)
        except Exception:
            self.chain.forget(doc["activity_id"] for doc in documents)
            self.devices.forget(doc["activity_id"] for doc in documents)
            raise
        for p, document, _, verdict in new_records:
            self.known.put(document["_id"], self._checkin_prior(document) if document["kind"] == "checkin" else None)
            message = "签到成功" if p.token.direction == qrtoken.CHECKIN else "签退成功"
            answers[p.index] = {"result": {"record": scan_view(document), "repeat": False, "message": message}}
        for index, document in batch_repeats:
            answers[index] = self._repeat_answer(document)

    def _records_to_judge(self, pending: list[Pending], trust_known: bool) -> tuple[dict[str, dict], set[str]]:
        """The stored records the batch is judged on: each scan's own record (a repeat) and its sign-in. A
        sign-in this process knows is not read. A scan's own record is read when known (for the repeat's answer)
        and when this process does not follow its chain; in a chain it follows (it knows the head and every record
        up to it: ``ChainWriter.learn``), a record it does not know is not stored up to that head, and the write's
        transaction sees any stored after it (``AttendanceStore.appended_since``: its unique ``_id`` then refuses
        the batch's copy, and the batch is judged again reading everything); a scan refused without its own record
        read is looked up before the refusal is answered. Returns the records found and the ids asked for."""
        wanted = set()
        for p in pending:
            own = record_id(p.activity["_id"], p.token.direction, p.member_id)
            checkin = record_id(p.activity["_id"], qrtoken.CHECKIN, p.member_id)
            if own in self.known or not trust_known or not self.chain.follows(p.activity["_id"]):
                wanted.add(own)                          # a repeat answers with the stored record
            if p.token.direction == qrtoken.CHECKOUT and (not trust_known or checkin not in self.known):
                wanted.add(checkin)
        stored = self.store.records_by_ids(wanted) if wanted else {}
        for record in stored.values():
            self.known.put(record["_id"], self._checkin_prior(record) if record.get("kind") == "checkin" else None)
        return stored, wanted

    @staticmethod
    def _repeat_answer(record: dict) -> dict:
        return {"result": {"record": scan_view(record), "repeat": True, "message": "已记录，无需重复扫码"}}

    # --- pieces -------------------------------------------------------------------
    @staticmethod
    def _device_key(p: Pending) -> str:
        return f"{p.token.activity_id}:{p.fix.device_key}"

    @staticmethod
    def _checkin_prior(record: dict | None) -> dict | None:
        if record is None:
            return None
        content = record["content"]
        return {"lat": content["lat"], "lng": content["lng"], "at": parse_stamp(content["taken_at"])}

    def _record(self, p: Pending, verdict: scans.Verdict, at: str) -> tuple[dict, dict]:
        activity_id, direction = p.activity["_id"], p.token.direction
        content = {"kind": "checkin" if direction == qrtoken.CHECKIN else "checkout",
                   "activity_id": activity_id, "member_id": p.member_id, "direction": direction, "at": at,
                   "lat": p.fix.lat, "lng": p.fix.lng, "accuracy_m": p.fix.accuracy_m,
                   "mock_location": p.fix.mock_location, "device_id": p.fix.device_id,
                   "taken_at": stamp(p.fix.taken_at), "distance_m": round(verdict.distance_m or 0.0, 1),
                   "flags": list(verdict.flags), "code_kind": qrtoken.code_kind(p.token), "backfilled": None}
        document = {"_id": record_id(activity_id, direction, p.member_id), "activity_id": activity_id,
                    "tenant_id": p.tenant_id, "kind": content["kind"], "member_id": p.member_id,
                    "device_key": self._device_key(p), "flags": list(verdict.flags), "at": content["at"],
                    "code_kind": content["code_kind"], "content": content}
        return document, content

    @staticmethod
    def _events(p: Pending, document: dict, verdict: scans.Verdict, occurred: str) -> list[dict]:
        activity = p.activity
        if "meeting_type" in activity:     # a meeting's scans publish nothing (meetings.themed_day_events)
            return []
        spec = events.CHECKIN_RECORDED if p.token.direction == qrtoken.CHECKIN else events.CHECKOUT_RECORDED
        built = [spec.build(activity["tenant_id"], occurred, activity_id=activity["_id"], branch_id=activity["branch_id"],
                            member_id=p.member_id, record_id=document["_id"], at=document["at"],
                            distance_m=document["content"]["distance_m"], flags=list(verdict.flags),
                            seq=document["seq"], hash=document["hash"], backfilled=False)]
        if verdict.flags:
            built.append(events.SCAN_FLAGGED.build(activity["tenant_id"], occurred, activity_id=activity["_id"],
                                                   branch_id=activity["branch_id"], member_id=p.member_id,
                                                   record_id=document["_id"], direction=p.token.direction,
                                                   flags=list(verdict.flags)))
        return built
