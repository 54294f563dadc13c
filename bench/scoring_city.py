"""Scoring at city scale, in process on the embedded store: how fast the batch applier takes events
and how fast a ranking of 9,000 branches is served. ``python -m bench.scoring_city [branches]``.

It measures the service's own work (batch apply + score recompute, ranking from the cache), not the broker.
"""
from __future__ import annotations

import os
import secrets
import sys
import time

from servicekit.storage.embedded_mongo import EmbeddedMongo
from servicekit.storage.mongo import open_store

from services.scoring.domain.ranking import competition_ranks, with_changes
from services.scoring.ranking_cache import RankingCache
from services.scoring.store import ScoringStore
from services.scoring.usecases.score_events import ScoreApplier
from tests.support.scoring import ThemedDay

MEMBERS = 23
BATCH = 1000


def timed_apply(applier, events, label):
    started = time.perf_counter()
    for start in range(0, len(events), BATCH):
        applier.apply(events[start:start + BATCH])
    seconds = time.perf_counter() - started
    print(f"{label}: {len(events)} events in {seconds:.1f} s = {len(events) / seconds:.0f} events/s")


def main(branches: int) -> None:
    os.environ["DB_PREFIX"] = "bench" + secrets.token_hex(3)
    with EmbeddedMongo() as mongo:
        os.environ["MONGO_URI"] = mongo.uri
        store = open_store(ScoringStore, "scoring")
        applier = ScoreApplier(store)
        days = []
        for number in range(branches):
            county, town = f"county{number % 11}", f"town{number % 200}"
            branch = {"id": f"b{number}", "name": f"第{number}支部", "path_ids": ["city", county, town, f"b{number}"],
                      "field": "rural"}
            days.append(ThemedDay("t1", branch, "2026-05", [f"m{number}_{i}" for i in range(MEMBERS)]))
        timed_apply(applier, [e for day in days for e in (day.issued(), *day.planned_and_opened())], "issue+plan")
        checkins = [day.scan(member) for day in days[:1000] for member in day.members[:20]]
        timed_apply(applier, checkins, "check-ins (1,000 branches x 20)")
        closes = [day.closed({m: "present" for m in day.members}) for day in days]
        timed_apply(applier, closes, f"closing all {branches} days (final scores)")
        cache = RankingCache(store)
        started = time.perf_counter()
        cache.rows("t1:2026-05")
        print(f"ranking cache first load: {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        with_changes(competition_ranks([row for row in cache.rows("t1:2026-05") if row.get("a0") == "city"]),
                     competition_ranks(cache.rows("t1:2026-04")))
        timings_first = time.perf_counter() - started
        timings = []
        for _ in range(20):
            started = time.perf_counter()
            ranked = cache.derived(("t1:2026-05", "t1:2026-04"), ("city",), lambda: with_changes(
                competition_ranks([row for row in cache.rows("t1:2026-05") if row.get("a0") == "city"]),
                competition_ranks(cache.rows("t1:2026-04"))))
            page = ranked[:50]  # noqa: F841  what one ranking call answers
            timings.append(time.perf_counter() - started)
        timings.sort()
        print(f"first (uncached) ranking computation: {timings_first * 1000:.1f} ms")
        print(f"ranking {len(ranked)} branches from the cache: median {timings[10] * 1000:.1f} ms, "
              f"max {timings[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9000)
