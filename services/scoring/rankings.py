"""Ranking tables served from memory: one per period, loaded once, then refreshed incrementally.

Reading 9,000 score rows from nx-27017 takes ~0.6 s, far over the 50 ms a ranking may take,
so each process keeps the rows of the periods it has been asked about and, at most once a
second, a background green thread reads only the rows changed since its last read (the
single-field index on ``changed_at``). Rankings therefore lag the stored scores by about a second.
"""
from __future__ import annotations

import time
from datetime import timedelta

import eventlet
from nameko.extensions import DependencyProvider

from servicekit.events import parse_stamp, stamp, utc_now
from servicekit.mongo import open_store

from services.scoring.domain.periods import MONTH, parse_period

REFRESH_SECONDS = 1.0
OVERLAP = timedelta(seconds=3)
ROW_FIELDS = ("branch_id", "name", "field", "category", "activity_id", "final", "tenant_id", "period", "stages",
              "breakdown", "counts", "rating_pending", *(f"a{n}" for n in range(6)))


def ranking_row(doc: dict) -> dict | None:
    row = {name: doc.get(name) for name in ROW_FIELDS}
    row["id"] = doc["branch_id"]
    row["name"] = row["name"] or ""
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


class RankingCache:
    def __init__(self, store, refresh_seconds: float = REFRESH_SECONDS):
        self.store = store
        self.refresh_seconds = refresh_seconds
        self.tables: dict[str, dict[str, dict]] = {}
        self.watermark: str | None = None
        self.checked = 0.0
        self.refreshing = False
        self.versions: dict[str, int] = {}
        self.memo: dict[tuple, tuple[int, object]] = {}
        self.aggregates: dict[str, tuple[tuple, dict]] = {}

    def rows(self, period_key: str) -> list[dict]:
        tenant_id, _, period = period_key.rpartition(":")
        wanted = parse_period(period)
        if wanted.kind != MONTH:
            return self._aggregate(tenant_id, period_key, wanted.months)
        if period_key not in self.tables:
            started = stamp()
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
        return list(self.tables[period_key].values())

    def _aggregate(self, tenant_id: str, period_key: str, months: list[str]) -> list[dict]:
        """A quarter's or a year's table: each branch's mean of its final month scores, computed from the month
        tables (closing a day writes its month row only) and kept until one of those tables changes."""
        month_keys = [f"{tenant_id}:{month}" for month in months]
        month_rows = {key: self.rows(key) for key in month_keys}
        version = tuple(self.versions.get(key, 0) for key in month_keys)
        cached = self.aggregates.get(period_key)
        if cached and cached[0] == version:
            return list(cached[1].values())
        table: dict[str, dict] = {}
        for key in month_keys:                                    # later months name the branch
            for row in month_rows[key]:
                if not row.get("final"):
                    continue
                scores = {**(table.get(row["id"]) or {}).get("_scores", {}), row["period"]: row["score"]}
                table[row["id"]] = {**row, "_scores": scores}
        for row in table.values():
            scores = row.pop("_scores")
            row.update(period=period_key.rpartition(":")[2], activity_id=None, stages=None, final=True,
                       score=round(sum(scores.values()) / len(scores), 2), months=len(scores))
        self.aggregates[period_key] = (version, table)
        self.versions[period_key] = self.versions.get(period_key, 0) + 1
        return list(table.values())

    def derived(self, period_keys: tuple[str, ...], key: tuple, compute):
        """``compute()`` memoised until one of the periods' tables changes (rankings are asked far more
        often than the scores behind them change)."""
        for period_key in period_keys:
            self.rows(period_key)
        version = tuple(self.versions.get(period_key, 0) for period_key in period_keys)
        cached = self.memo.get(key)
        if cached and cached[0] == version:
            return cached[1]
        value = compute()
        if len(self.memo) > 2000:
            self.memo.clear()
        self.memo[key] = (version, value)
        return value

    def refresh_now(self) -> None:
        self.refreshing = True
        self._refresh()

    def _refresh(self) -> None:
        try:
            started = stamp()
            since = stamp(parse_stamp(self.watermark) - OVERLAP) if self.watermark else stamp(utc_now() - OVERLAP)
            for doc in self.store.score_rows_changed_since(since):
                table = self.tables.get(doc.get("period_key"))
                if table is None:
                    continue
                row = ranking_row(doc)
                if row:
                    table[row["id"]] = row
                else:
                    table.pop(doc["branch_id"], None)
                self.versions[doc["period_key"]] = self.versions.get(doc["period_key"], 0) + 1
            self.watermark = started
        finally:
            self.refreshing = False
            self.checked = time.monotonic()


class RankingsProvider(DependencyProvider):
    """One RankingCache per process, shared by its workers."""

    def setup(self):
        from services.scoring.store import ScoringStore
        self.cache = RankingCache(open_store(ScoringStore, self.container.service_name))

    def get_dependency(self, worker_ctx):
        return self.cache
