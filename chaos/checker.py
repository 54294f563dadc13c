"""The chaos suite's checker, after Jepsen's RabbitMQ checker: every scan attempt is an operation that ended ``ok``
(acknowledged: answered OK, or OK with ``repeat``), ``fail`` (refused with a definite code) or ``info`` (unknown:
timed out, unavailable, internal error: it may or may not have been stored); the attendance records are the queue's
final contents. Then, per key (``activity:direction:member``, a record's ``_id``):

- **lost**: acknowledged to the member, not stored;
- **stored twice**: more than one record for the key, or an activity's chain with a repeated or missing ``seq``;
- **stored but refused**: stored although every attempt was refused (none acknowledged, none unknown), or although
  a well-formed attempt of the member was refused (the member was told no while the record exists);
- **answer differs**: acknowledged with a record id, ``seq`` or hash other than the stored record's;
- **recovered**: stored after only unknown answers (Jepsen's "recovered": allowed, counted).

Each violation is charged to the fault whose window (kill to ready again, plus a settling time) holds the attempt
that decided it, so the table reads per component. Pure functions over plain data: tests/unit/test_chaos_checker.py
feeds them synthetic histories.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

OK, FAIL, INFO = "ok", "fail", "info"
# answers after which the scan may or may not be stored: the member's phone tries again
INDETERMINATE = frozenset({"DEADLINE_EXCEEDED", "UNAVAILABLE", "INTERNAL", "UNKNOWN", "CANCELLED",
                           "RESOURCE_EXHAUSTED", "ABORTED"})
BETWEEN = "(no fault)"


@dataclass(frozen=True)
class Attempt:
    """One scan request as the member's phone saw it."""
    scan_id: int
    key: str                      # activity:direction:member
    sent_at: float                # epoch seconds
    code: str                     # "OK" or the gRPC code's name
    error_code: str = ""
    repeat: bool = False
    record_id: str = ""
    seq: int = 0
    hash: str = ""
    well_formed: bool = True      # False for the plan's bad scans (outside the fence, forged): refusal expected
    answered_at: float = 0.0      # epoch seconds: when the phone had its answer

    @property
    def outcome(self) -> str:
        if self.code == "OK":
            return OK
        return INFO if self.code in INDETERMINATE else FAIL


@dataclass(frozen=True)
class Window:
    """A fault: ``component`` was killed at ``start`` and answered ready again at ``end``."""
    component: str
    start: float
    end: float


@dataclass
class ScanCheck:
    lost: list[str] = field(default_factory=list)
    stored_twice: list[str] = field(default_factory=list)
    stored_but_refused: list[str] = field(default_factory=list)
    answer_differs: list[str] = field(default_factory=list)
    broken_chains: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    unknown_at_end: list[str] = field(default_factory=list)   # never decided, not stored (allowed)
    by_component: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def violations(self) -> int:
        return (len(self.lost) + len(self.stored_twice) + len(self.stored_but_refused) + len(self.answer_differs)
                + len(self.broken_chains))


def window_of(at: float, windows: list[Window], settle: float) -> str:
    """The component whose fault window (``settle`` seconds longer) holds ``at``; the latest started wins."""
    found = BETWEEN
    for window in windows:
        if window.start <= at <= window.end + settle:
            found = window.component
    return found


def check_scans(attempts: list[Attempt], records: list[dict], windows: list[Window], settle: float = 2.0
                ) -> ScanCheck:
    """``records``: every attendance record of the day (``_id``, ``activity_id``, ``kind``, ``member_id``, ``seq``,
    ``hash``); sign-ins and sign-outs are ``checkin``/``checkout``, keyed ``activity:in|out:member``."""
    result = ScanCheck()
    by_key: dict[str, list[Attempt]] = defaultdict(list)
    for attempt in sorted(attempts, key=lambda a: a.sent_at):
        by_key[attempt.key].append(attempt)
        counts = result.by_component[window_of(attempt.sent_at, windows, settle)]
        counts["attempts"] += 1
        counts[attempt.outcome] += 1
    stored: dict[str, list[dict]] = defaultdict(list)
    chains: dict[str, list[int]] = defaultdict(list)
    for record in records:
        chains[record.get("activity_id", "")].append(record.get("seq"))
        kind = {"checkin": "in", "checkout": "out"}.get(record.get("kind"))
        if kind:
            stored[f"{record['activity_id']}:{kind}:{record['member_id']}"].append(record)
    for activity_id, seqs in chains.items():
        if sorted(seqs, key=lambda s: (s is None, s)) != list(range(1, len(seqs) + 1)):
            result.broken_chains.append(activity_id)

    def charge(what: str, key: str, attempt: Attempt | None) -> None:
        getattr(result, what).append(key)
        at = attempt.sent_at if attempt else 0.0
        result.by_component[window_of(at, windows, settle) if attempt else BETWEEN][what] += 1

    for key in sorted(set(by_key) | set(stored)):
        tried, kept = by_key.get(key, []), stored.get(key, [])
        acked = [a for a in tried if a.outcome == OK]
        unknown = [a for a in tried if a.outcome == INFO]
        refused = [a for a in tried if a.outcome == FAIL]
        if acked and not kept:
            charge("lost", key, acked[0])
        if len(kept) > 1:
            charge("stored_twice", key, tried[0] if tried else None)
        if kept:
            refused_good = [a for a in refused if a.well_formed]
            if refused_good or (not acked and not unknown):
                charge("stored_but_refused", key, (refused_good or refused or [None])[0])
            elif not acked:
                result.recovered.append(key)
            record = kept[0]
            differing = [a for a in acked if (a.record_id, a.seq, a.hash) != (record["_id"], record.get("seq"),
                                                                              record.get("hash"))]
            if differing:
                charge("answer_differs", key, differing[0])
        elif unknown and not acked:
            result.unknown_at_end.append(key)
    return result


# ------------------------------------------------------------------ events, scores, points
@dataclass
class EventCheck:
    scores_checked: int = 0
    score_lost: list[str] = field(default_factory=list)       # a count below the recomputation: an event not applied
    score_twice: list[str] = field(default_factory=list)      # above it: an event applied twice
    score_other: list[str] = field(default_factory=list)      # the score alone, or a missing activity
    points_expected: int = 0
    points_lost: list[str] = field(default_factory=list)      # ledger entries the final statuses call for, missing
    points_extra: list[str] = field(default_factory=list)     # entries nothing calls for
    balances_wrong: list[str] = field(default_factory=list)   # a balance other than the sum of its entries
    statuses_wrong: list[str] = field(default_factory=list)   # a final status other than the stored records imply
    outbox_pending: int = 0
    dead_letters: int = 0

    @property
    def violations(self) -> int:
        return (len(self.score_lost) + len(self.score_twice) + len(self.score_other) + len(self.points_lost)
                + len(self.points_extra) + len(self.balances_wrong) + len(self.statuses_wrong)
                + self.outbox_pending + self.dead_letters)


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def check_scores(differences: list[dict], checked: int, result: EventCheck) -> None:
    """``differences``: scoring's reconcile answer (each score and raw count against its recomputation from
    attendance's records)."""
    result.scores_checked = checked
    for found in differences:
        live, recomputed = _number(found.get("live")), _number(found.get("recomputed"))
        label = f"{found.get('activity_id')}:{found.get('field')}"
        if str(found.get("field", "")).startswith("counts.") and live is not None and recomputed is not None:
            (result.score_lost if live < recomputed else result.score_twice).append(label)
        else:
            result.score_other.append(label)


def expected_statuses(roster: dict[str, bool], stored_keys: set[str], activity_id: str) -> dict[str, str]:
    """What a closed activity's statuses must be, from its stored records: present with a sign-in and a sign-out,
    incomplete with a sign-in only, absent with none; a mobile member (流动党员) stays mobile. Members on leave are not
    part of the chaos day."""
    statuses = {}
    for member_id, mobile in roster.items():
        if mobile:
            statuses[member_id] = "mobile"
            continue
        signed_in = f"{activity_id}:in:{member_id}" in stored_keys
        signed_out = f"{activity_id}:out:{member_id}" in stored_keys
        statuses[member_id] = "present" if signed_in and signed_out else "incomplete" if signed_in else "absent"
    return statuses


def check_points(statuses: dict[str, dict[str, str]], ledger: list[dict], balances: list[dict],
                 result: EventCheck) -> None:
    """``statuses``: each closed activity's final statuses. With the default rules a present member earns
    ``<activity>:<member>:attendance`` and an absent one ``<activity>:<member>:absence``; every balance is the sum
    of its member's entries of the cycle."""
    expected = set()
    for activity_id, by_member in statuses.items():
        for member_id, status in by_member.items():
            if status == "present":
                expected.add(f"{activity_id}:{member_id}:attendance")
            elif status == "absent":
                expected.add(f"{activity_id}:{member_id}:absence")
    result.points_expected = len(expected)
    written = {entry["_id"] for entry in ledger if entry.get("category") in ("attendance", "absence")}
    result.points_lost.extend(sorted(expected - written))
    result.points_extra.extend(sorted(written - expected))
    sums: Counter = Counter()
    for entry in ledger:
        sums[f"{entry['member_id']}:{entry['cycle']}"] += entry.get("points", 0)
    for balance in balances:
        if abs(balance.get("total", 0) - sums.get(balance["_id"], 0)) > 1e-6:
            result.balances_wrong.append(balance["_id"])
    missing = set(sums) - {balance["_id"] for balance in balances}
    result.balances_wrong.extend(sorted(key for key in missing if sums[key]))


# ------------------------------------------------------------------ consumers back after the broker
def consumers_back(returns: list[dict], target: float) -> dict[str, dict]:
    """``returns``: per broker restart, seconds from the broker answering again to each consumer being back
    (None: not back within the wait). Per consumer: cycles, worst and mean, and how many missed ``target``."""
    table: dict[str, dict] = {}
    for one in returns:
        for consumer, seconds in one.items():
            row = table.setdefault(consumer, {"cycles": 0, "worst": 0.0, "total": 0.0, "missed": 0, "never": 0})
            row["cycles"] += 1
            if seconds is None:
                row["never"] += 1
                row["missed"] += 1
                continue
            row["worst"] = max(row["worst"], seconds)
            row["total"] += seconds
            row["missed"] += seconds > target
    for row in table.values():
        counted = row["cycles"] - row["never"]
        row["mean"] = row["total"] / counted if counted else float("nan")
    return table


# ------------------------------------------------------------------ the printed table
SCAN_COLUMNS = (("attempts", "attempts"), ("ok", "acked"), ("fail", "refused"), ("info", "unknown"),
                ("lost", "lost"), ("stored_twice", "twice"), ("stored_but_refused", "stored+refused"),
                ("answer_differs", "differs"))


def scan_table(scans: ScanCheck, faults: dict[str, dict]) -> str:
    """One row per component: its kill cycles, how long it took to answer ready again, the scans sent while it was
    down or settling and what became of them."""
    head = f"{'component':<16}{'kills':>6}{'ready max s':>12}{'ready mean s':>13}" + "".join(
        f"{title:>{max(9, len(title) + 2)}}" for _, title in SCAN_COLUMNS)
    lines = [head, "-" * len(head)]
    names = list(faults) + [BETWEEN]
    total = Counter()
    for name in names:
        counts = scans.by_component.get(name, Counter())
        total.update(counts)
        fault = faults.get(name, {})
        ready = fault.get("ready_seconds") or []
        lines.append(f"{name:<16}{len(ready) if fault else '':>6}"
                     f"{(f'{max(ready):.1f}' if ready else ''):>12}"
                     f"{(f'{sum(ready) / len(ready):.1f}' if ready else ''):>13}"
                     + "".join(f"{counts.get(column, 0):>{max(9, len(title) + 2)},}" for column, title in SCAN_COLUMNS))
    lines.append(f"{'total':<16}{'':>6}{'':>12}{'':>13}"
                 + "".join(f"{total.get(column, 0):>{max(9, len(title) + 2)},}" for column, title in SCAN_COLUMNS))
    return "\n".join(lines)


def consumer_table(back: dict[str, dict], target: float) -> str:
    head = f"{'consumer':<28}{'broker returns':>15}{'worst s':>9}{'mean s':>8}{f'> {target:g} s':>9}{'never':>7}"
    lines = [head, "-" * len(head)]
    for name, row in back.items():
        lines.append(f"{name:<28}{row['cycles']:>15}{row['worst']:>9.1f}{row['mean']:>8.1f}{row['missed']:>9}"
                     f"{row['never']:>7}")
    return "\n".join(lines)


def event_lines(events: EventCheck) -> str:
    return "\n".join([
        f"scores: {events.scores_checked} activities recomputed from attendance's records; counts below the "
        f"recomputation (events lost): {len(events.score_lost)}; above it (applied twice): {len(events.score_twice)}; "
        f"other differences: {len(events.score_other)}",
        f"points: {events.points_expected:,} ledger entries called for by the final statuses; missing (lost): "
        f"{len(events.points_lost)}; not called for (extra or twice): {len(events.points_extra)}; balances other "
        f"than the sum of their entries: {len(events.balances_wrong)}",
        f"final statuses other than the stored records imply: {len(events.statuses_wrong)}",
        f"events still in an outbox: {events.outbox_pending}; dead letters: {events.dead_letters}",
    ])
