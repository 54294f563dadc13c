"""Rankings ranked on demand (domain.ranking.Ranked) and kept by the ranking cache per table version."""
from __future__ import annotations

import random

import pytest

from services.scoring.domain.ranking import Ranked, competition_ranks, with_changes
from services.scoring.ranking_cache import RankingCache

MAY, APRIL, QUARTER = "t:2026-05", "t:2026-04", "t:2026-Q2"


def copying_ranks(rows: list[dict]) -> list[dict]:
    """The ranking as it was computed before Ranked: sort, then walk the rows sharing ranks of equal scores."""
    ordered = sorted(rows, key=lambda row: (-row["score"], row.get("name", ""), row["id"]))
    ranked, previous_score, previous_rank = [], None, 0
    for position, row in enumerate(ordered, start=1):
        rank = previous_rank if row["score"] == previous_score else position
        ranked.append({**row, "rank": rank})
        previous_score, previous_rank = row["score"], rank
    return ranked


def city(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [{"id": f"b{n}", "name": rng.choice("甲乙丙丁"), "score": rng.choice([60.0, 70.5, 70.5, 80, 95.25, 0.0])}
            for n in range(count)]


@pytest.mark.parametrize("seed", range(5))
def test_ranked_pages_equal_the_copying_ranking_with_changes(seed):
    current, previous = city(300, seed), city(280, seed + 100)
    expected = with_changes(copying_ranks(current), copying_ranks(previous))
    ranked, before = Ranked.of(current), Ranked.of(previous).ranks_by_id()
    assert ranked.page(0, len(ranked), before) == expected
    assert ranked.page(50, 51, before) == expected[50:101]
    assert ranked.page(290, 51, before) == expected[290:] and ranked.page(300, 51, before) == []
    assert competition_ranks(current) == copying_ranks(current)


def test_ranked_shares_ranks_and_skips_places():
    ranked = Ranked.of([{"id": "a", "name": "甲", "score": 90}, {"id": "b", "name": "乙", "score": 95},
                        {"id": "c", "name": "丙", "score": 90}, {"id": "d", "name": "丁", "score": 80}])
    assert [(row["id"], row["rank"]) for row in ranked.page(0, 10)] == [("b", 1), ("c", 2), ("a", 2), ("d", 4)]
    assert ranked.ranks_by_id() == {"b": 1, "c": 2, "a": 2, "d": 4}


class Rows:
    """A store's score rows: the cache reads a period's rows once, then takes committed rows (note)."""

    def __init__(self, docs: list[dict]):
        self.docs, self.reads = docs, 0

    def score_rows(self, period_key):
        self.reads += 1
        return [doc for doc in self.docs if doc["period_key"] == period_key]


def row(branch: str, period_key: str, score: float, county: str = "c1", field: str = "rural", final=True) -> dict:
    return {"branch_id": branch, "name": branch, "period": period_key.split(":")[1], "period_key": period_key,
            "score": score, "final": final, "field": field, "a0": "city", "a1": county, "a2": branch}


def cache_of(*docs) -> RankingCache:
    return RankingCache(Rows(list(docs)), refresh_seconds=3600)


def ranks(ranked: Ranked, previous: dict | None = None) -> list[tuple]:
    return [(r["id"], r["rank"], r.get("previous_rank")) for r in ranked.page(0, len(ranked), previous)]


def test_a_ranking_is_kept_while_its_table_is_unchanged_and_recomputed_when_a_row_changes():
    cache = cache_of(row("b1", MAY, 70), row("b2", MAY, 80), row("b3", MAY, 90, county="c2"))
    first = cache.ranked(MAY, 0, "city")
    assert ranks(first) == [("b3", 1, None), ("b2", 2, None), ("b1", 3, None)]
    assert cache.ranked(MAY, 0, "city") is first                         # served from memory
    cache.note([row("b2", MAY, 80)])                                     # the same row again: nothing moved
    assert cache.ranked(MAY, 0, "city") is first
    cache.note([row("b1", MAY, 95)])
    again = cache.ranked(MAY, 0, "city")
    assert again is not first and ranks(again) == [("b1", 1, None), ("b3", 2, None), ("b2", 3, None)]
    cache.note([row("b4", MAY, 90)])                                     # a new branch ties with b3
    assert ranks(cache.ranked(MAY, 0, "city")) == [("b1", 1, None), ("b3", 2, None), ("b4", 2, None),
                                                   ("b2", 4, None)]
    assert cache.store.reads == 1


def test_subtree_field_and_category_rankings_are_kept_apart():
    cache = cache_of(row("b1", MAY, 70), row("b2", MAY, 80, field="school"), row("b3", MAY, 90, county="c2"))
    assert ranks(cache.ranked(MAY, 1, "c1")) == [("b2", 1, None), ("b1", 2, None)]
    assert ranks(cache.ranked(MAY, 0, "city", field="rural")) == [("b3", 1, None), ("b1", 2, None)]
    assert ranks(cache.ranked(MAY, 1, "c1", field="rural")) == [("b1", 1, None)]
    assert len(cache.ranked(MAY, 0, "city", category="street")) == 0
    cache.note([row("b1", MAY, 85)])
    assert ranks(cache.ranked(MAY, 1, "c1")) == [("b1", 1, None), ("b2", 2, None)]


def test_previous_ranks_follow_the_previous_month_only():
    cache = cache_of(row("b1", MAY, 70), row("b2", MAY, 80), row("b1", APRIL, 90), row("b2", APRIL, 60))
    current, before = cache.ranked(MAY, 0, "city"), cache.ranks(APRIL, 0, "city")
    assert ranks(current, before) == [("b2", 1, 2), ("b1", 2, 1)]
    cache.note([row("b2", APRIL, 99)])                                   # a late rating of April
    assert cache.ranked(MAY, 0, "city") is current                       # May's ranking is kept
    assert cache.ranks(APRIL, 0, "city") == {"b2": 1, "b1": 2}


def test_a_quarter_ranking_moves_when_a_month_row_becomes_final():
    cache = cache_of(row("b1", "t:2026-04", 70), row("b2", "t:2026-04", 80), row("b1", MAY, 90, final=False))
    first = cache.ranked(QUARTER, 0, "city")
    assert [(r["id"], r["score"]) for r in first.page(0, 9)] == [("b2", 80), ("b1", 70)]
    assert cache.ranked(QUARTER, 0, "city") is first
    cache.note([row("b1", MAY, 100)])                                    # May closes: b1's mean is 85
    assert [(r["id"], r["score"], r["months"]) for r in cache.ranked(QUARTER, 0, "city").page(0, 9)] == \
        [("b1", 85.0, 2), ("b2", 80.0, 1)]


def test_a_month_written_in_this_process_is_loaded_then_so_its_first_ranking_reads_nothing():
    store = Rows([row("b1", MAY, 70), row("b2", MAY, 80)])
    cache = RankingCache(store, refresh_seconds=3600)
    cache.note([row("b2", MAY, 85)])                      # another process's write (the refresh): not read
    assert store.reads == 0 and MAY not in cache.tables
    cache.note([row("b2", MAY, 85)], load_missing=True)   # the consumer hands over what it just committed
    assert store.reads == 1
    assert ranks(cache.ranked(MAY, 0, "city")) == [("b2", 1, None), ("b1", 2, None)]
    assert store.reads == 1
