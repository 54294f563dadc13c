"""Ranking tables served from memory: one per period, loaded once, then kept current.

Reading 9,000 score rows from nx-27017 takes over a second, far over the 50 ms a ranking may take, so each
process keeps the rows of the periods it has been asked about. The score consumer of the same process hands
every row it commits to its process's caches (``note_written``); rows written by other processes arrive with a
background read of the rows changed since the last one, at most every REFRESH_SECONDS.

What a ranking call needs (each period's rows in ranking order, each subtree's ``Ranked`` list, the previous
period's ranks) is derived from the tables and kept until a table's version moves, so a call copies only its
page (docs/scoring.md, "How a ranking call is served").
"""
from __future__ import annotations

import time
import weakref
from datetime import timedelta

import eventlet
from nameko.extensions import DependencyProvider

from servicekit.process.clock import WallClock
from servicekit.storage.mongo import open_store
from servicekit.timestamps import parse_stamp, stamp

from services.scoring.domain.periods import MONTH, parse_period
from services.scoring.domain.ranking import Ranked, ranking_order

REFRESH_SECONDS = 15.0
OVERLAP = timedelta(seconds=3)
ROW_FIELDS = ("branch_id", "name", "field", "category", "activity_id", "final", "tenant_id", "period", "stages",
              "breakdown", "counts", "rating_pending", "held", *(f"a{n}" for n in range(6)))


def ranking_row(doc: dict) -> dict | None:
    row = {name: doc.get(name) for name in ROW_FIELDS}
    row["id"] = doc["branch_id"]
    row["name"] = row["name"] or ""
    row["held"] = doc.get("held", True)
    period = doc.get("period") or ""
    if "-" not in period or "Q" in period:
        months = doc.get("months") or {}
        if not months:
            return None
        row["score"] = round(sum(months.values()) / len(months), 2)
        row["months"] = len(months)
        row["final"] = True
    else:
        row["score"] = doc.get("score", 0.0)
    return row


_CACHES: "weakref.WeakSet[RankingCache]" = weakref.WeakSet()


def note_written(docs: list[dict]) -> None:
    """Score rows this process has just committed: every cache of the process takes them (and reads the
    table of a month it writes to the first time, so ranking calls of that month never wait for the read)."""
    for cache in list(_CACHES):
        cache.note(docs, load_missing=True)


class RankingCache:
    def __init__(self, store, refresh_seconds: float = REFRESH_SECONDS, clock=None):
        _CACHES.add(self)
        self.store = store
        self.refresh_seconds = refresh_seconds
        self.clock = clock or WallClock()
        self.tables: dict[str, dict[str, dict]] = {}
        self.watermark: str | None = None
        self.checked = 0.0
        self.refreshing = False
        self.versions: dict[str, int] = {}
        self.memo: dict[tuple, tuple[int, object]] = {}
        self.aggregates: dict[str, tuple[tuple, dict]] = {}

    def this_month(self) -> str:
        """The current month (China's): before it is over, a day not held in it does not count 0 yet."""
        return self.clock.today().isoformat()[:7]

    def rows(self, period_key: str) -> list[dict]:
        return list(self._table(period_key).values())

    def _table(self, period_key: str) -> dict[str, dict]:
        """The period's rows by branch id, loaded on first use and kept current (not to be changed by callers)."""
        tenant_id, _, period = period_key.rpartition(":")
        wanted = parse_period(period)
        if wanted.kind != MONTH:
            return self._aggregate(tenant_id, period_key, wanted.months)
        if period_key not in self.tables:
            started = stamp(self.clock.now())
            table = {}
            for doc in self.store.score_rows(period_key):
                row = ranking_row(doc)
                if row:
                    table[row["id"]] = row
            self.tables[period_key] = table
            self.versions[period_key] = self.versions.get(period_key, 0) + 1
            if self.watermark is None:
                self.watermark, self.checked = started, time.monotonic()
        elif time.monotonic() - self.checked > self.refresh_seconds and not self.refreshing:
            self.refreshing = True
            self.checked = time.monotonic()
            eventlet.spawn_n(self._refresh)
        return self.tables[period_key]

    def _aggregate(self, tenant_id: str, period_key: str, months: list[str]) -> dict[str, dict]:
        """A quarter's or a year's table: each branch's mean of its final month scores, a month that is over
        without its day held counting 0, computed from the month tables (closing a day writes its month row
        only) and kept until one of those tables changes or a month ends. A branch with no final score in the
        period is a row not held (score 0, after the scored ones)."""
        month_keys = [f"{tenant_id}:{month}" for month in months]
        month_rows = {key: self._table(key).values() for key in month_keys}
        current = self.this_month()
        version = (*(self.versions.get(key, 0) for key in month_keys), current)
        cached = self.aggregates.get(period_key)
        if cached and cached[0] == version:
            return cached[1]
        table: dict[str, dict] = {}
        for key in month_keys:                                    # later months name the branch
            for row in month_rows[key]:
                scores = dict((table.get(row["id"]) or {}).get("_scores", {}))
                held = dict((table.get(row["id"]) or {}).get("_held", {}))
                if row.get("held", True):
                    if row.get("final"):
                        scores[row["period"]], held[row["period"]] = row["score"], True
                elif row["period"] < current:                     # the month is over: not held counts 0
                    scores[row["period"]] = 0.0
                table[row["id"]] = {**row, "_scores": scores, "_held": held}
        for row in table.values():
            scores, held = row.pop("_scores"), row.pop("_held")
            row.update(period=period_key.rpartition(":")[2], activity_id=None, stages=None, held=bool(held),
                       final=bool(held) or months[-1] < current, months=len(scores),
                       score=round(sum(scores.values()) / len(scores), 2) if held else 0.0)
        self.aggregates[period_key] = (version, table)
        self.versions[period_key] = self.versions.get(period_key, 0) + 1
        return table

    def derived(self, period_keys: tuple[str, ...], key: tuple, compute):
        """``compute()`` memoised until one of the periods' tables changes (rankings are asked far more
        often than the scores behind them change)."""
        for period_key in period_keys:
            self._table(period_key)                                # loaded, and refreshed when due
        # a month ending changes what a day not held counts and whether its row is final
        version = (*(self.versions.get(period_key, 0) for period_key in period_keys), self.this_month())
        cached = self.memo.get(key)
        if cached and cached[0] == version:
            return cached[1]
        value = compute()
        if len(self.memo) > 2000:
            self.memo.clear()
        self.memo[key] = (version, value)
        return value

    def ordered(self, period_key: str) -> list[dict]:
        """The period's rows in ranking order, sorted once per version of its table."""
        return self.derived((period_key,), ("ordered", period_key),
                            lambda: sorted(self._table(period_key).values(), key=ranking_order))

    def ranked(self, period_key: str, level: int, org_id: str, field: str = "", category: str = "") -> Ranked:
        """The competition ranking of the subtree under ``org_id`` (at depth ``level``), optionally of one field or
        category, kept until the period's table changes: a call after that ranks a city's 9,000 rows in a few ms
        (filtering the ordered table keeps its order), every other call costs nothing."""
        def compute() -> Ranked:
            return Ranked([row for row in self.ordered(period_key) if row.get(f"a{level}") == org_id
                           and (not field or row.get("field") == field)
                           and (not category or row.get("category") == category)])
        return self.derived((period_key,), ("ranked", period_key, level, org_id, field, category), compute)

    def ranks(self, period_key: str, level: int, org_id: str, field: str = "", category: str = "") -> dict:
        """Branch id → rank in that ranking (what the next period's rank changes are computed against)."""
        return self.derived((period_key,), ("ranks", period_key, level, org_id, field, category),
                            lambda: self.ranked(period_key, level, org_id, field, category).ranks_by_id())

    def note(self, docs, load_missing: bool = False) -> None:
        """Take score rows (as stored, committed) into the loaded tables; a table's version moves only if a row
        changed. ``load_missing``: read the table of a period not loaded yet (it holds the rows just committed)
        instead of skipping its rows."""
        changed = set()
        for doc in docs:
            period_key = doc.get("period_key")
            if period_key not in self.tables:
                if not (period_key and load_missing):
                    continue
                self._table(period_key)
            table = self.tables[period_key]
            row = ranking_row(doc)
            if row is None:
                if table.pop(doc["branch_id"], None) is not None:
                    changed.add(doc["period_key"])
            elif table.get(row["id"]) != row:
                table[row["id"]] = row
                changed.add(doc["period_key"])
        for period_key in changed:
            self.versions[period_key] = self.versions.get(period_key, 0) + 1

    def refresh_now(self) -> None:
        self.refreshing = True
        self._refresh()

    def _refresh(self) -> None:
        try:
            started = stamp(self.clock.now())
            since = stamp(parse_stamp(self.watermark or started) - OVERLAP)
            self.note(self.store.score_rows_changed_since(since))
            self.watermark = started
        finally:
            self.refreshing = False
            self.checked = time.monotonic()


class RankingsProvider(DependencyProvider):
    """One RankingCache per process, shared by its workers."""

    def setup(self):
        from services.scoring.store import ScoringStore
        self.cache = RankingCache(open_store(ScoringStore, self.container.service_name), clock=WallClock())

    def get_dependency(self, worker_ctx):
        return self.cache
