"""A branch has a score only for a day it held: rankings, bulletins, grades and aggregates use real scores only."""
from __future__ import annotations

from datetime import datetime, timezone

from servicekit.process.clock import FixedClock
from services.scoring.domain import supervision
from services.scoring.domain.ranking import Ranked, with_changes
from services.scoring.ranking_cache import RankingCache
from services.scoring.store import score_row_of, scored_fields

NOW = "2026-06-20T08:00:00.000Z"
ISSUED = {"issued": "2026-06-01T00:00:00.000Z"}


def activity(branch: str, month: str = "2026-06", **facts) -> dict:
    """An activity document as the score consumer keeps it: issued (stages), plus whatever facts are given."""
    doc = {"_id": f"act-{branch}-{month}", "tenant_id": "t", "branch_id": branch, "branch_name": f"{branch}支部",
           "month": month, "a0": "city", "a1": "county", "a2": branch, "stages": dict(ISSUED), "rev": 1, **facts}
    doc.update(scored_fields(doc, NOW))
    return doc


def held_day(branch: str, attending: int, month: str = "2026-06") -> dict:
    """Four members of whom ``attending`` came and signed out; closed."""
    members = [f"{branch}-m{n}" for n in range(4)]
    statuses = {member: "present" if n < attending else "absent" for n, member in enumerate(members)}
    return activity(branch, month, roster={m: 1 for m in members}, roster_known=True, statuses=statuses,
                    stages={**ISSUED, "held": f"{month}-15T01:00:00.000Z", "closed": f"{month}-15T04:00:00.000Z"})


def test_a_day_only_issued_has_no_score_where_it_used_to_score_89():
    doc = activity("b1")
    assert doc["held"] is False and doc["score"] == 0.0 and doc["breakdown"] == {} and doc["rates"] == {}
    planned = activity("b2", stages={**ISSUED, "submitted": "t", "approved": "t"})
    assert planned["held"] is False and planned["score"] == 0.0


def test_a_day_is_held_once_its_roster_is_frozen_or_a_member_scanned():
    frozen = activity("b1", roster={"m1": 1}, roster_known=True, stages={**ISSUED, "held": "t"})
    # nobody came: sign-in 0, comments 0, no mobile members (like full), the pending rating 4
    assert frozen["held"] is True and frozen["breakdown"]["signin"] == 0.0 and frozen["score"] == 14.0
    scanned = activity("b2", **{"in": {"m1": 1}, "out": {"m1": 1}}, stages={**ISSUED, "held": "t"})
    assert scanned["held"] is True and scanned["breakdown"]["signin"] == 70.0


def test_a_row_stored_before_held_existed_is_read_without_its_empty_score():
    old = {**activity("b1"), "score": 89.0, "breakdown": {"signin": 70.0}}
    old.pop("held")
    row = score_row_of(old)
    assert row["held"] is False and row["score"] == 0.0 and row["breakdown"] == {}


def ranked_rows(docs: list[dict]) -> list[dict]:
    rows = [score_row_of(doc) for doc in docs]
    return [{**row, "id": row["branch_id"]} for row in rows]


def test_the_one_branch_that_held_its_day_ranks_first_and_the_others_follow_unranked():
    """The reported case: 26 branches only issued, one held its day and scored low."""
    docs = [activity(f"b{n:02d}") for n in range(26)] + [held_day("held", 1)]
    ranked = Ranked.of(ranked_rows(docs))
    page = ranked.page(0, len(ranked))
    assert page[0]["id"] == "held" and page[0]["rank"] == 1 and page[0]["score"] < 60
    assert [row["rank"] for row in page[1:]] == [0] * 26
    assert all(not row["held"] and row["score"] == 0.0 for row in page[1:])
    assert ranked.ranks_by_id() == {"held": 1}
    report = supervision.bulletin(page)
    assert [row["id"] for row in report["best"]] == ["held"] and report["weakest"] == []
    assert report["branches"] == 1 and report["not_held"] == 26 and report["average"] == page[0]["score"]
    assert supervision.graded(page[0]) == "不合格" and supervision.graded(page[1]) == ""


def test_rows_not_held_come_after_every_real_score_even_zero_and_have_no_rank_change():
    rows = [{"id": "a", "score": 0.0}, {"id": "b", "score": 0.0, "held": False}, {"id": "c", "score": 75.0},
            {"id": "d", "score": 89.0, "held": False}]
    ranked = Ranked.of(rows)
    assert [(row["id"], row["rank"]) for row in ranked.page(0, 9)] == [("c", 1), ("a", 2), ("b", 0), ("d", 0)]
    previous = {"a": 1, "b": 2, "c": 3}
    assert [(row["id"], row["previous_rank"], row["rank_change"]) for row in ranked.page(0, 9, previous)] == \
        [("c", 3, 2), ("a", 1, -1), ("b", 2, 0), ("d", 0, 0)]
    assert [row["rank_change"] for row in with_changes(ranked.page(0, 9), [{"id": "d", "rank": 1}])] == [0, 0, 0, 0]


def test_the_weakest_are_the_weakest_real_scores():
    rows = [{"id": f"s{n}", "score": 100.0 - n} for n in range(25)] + \
        [{"id": f"n{n}", "score": 0.0, "held": False} for n in range(5)]
    report = supervision.bulletin(Ranked.of(rows).page(0, 30))
    assert [row["id"] for row in report["weakest"]][:2] == ["s24", "s23"] and len(report["weakest"]) == 10
    assert report["branches"] == 25 and report["not_held"] == 5


class Rows:
    def __init__(self, docs):
        self.docs = docs

    def score_rows(self, period_key):
        return [doc for doc in self.docs if doc["period_key"] == period_key]


def month_row(branch: str, month: str, score: float, held: bool = True, final: bool = True) -> dict:
    return {"branch_id": branch, "name": branch, "period": month, "period_key": f"t:{month}", "score": score,
            "held": held, "final": final and held, "a0": "city"}


def quarter(this_month: str, *docs) -> list[tuple]:
    clock = FixedClock(datetime(int(this_month[:4]), int(this_month[5:]), 15, tzinfo=timezone.utc))
    cache = RankingCache(Rows(list(docs)), refresh_seconds=3600, clock=clock)
    ranked = cache.ranked("t:2026-Q2", 0, "city")
    return [(row["id"], row["rank"], row["score"], row["months"], row["held"], row["final"])
            for row in ranked.page(0, 99)]


def test_a_month_over_without_its_day_held_counts_0_in_the_quarter():
    docs = (month_row("b1", "2026-04", 90.0), month_row("b1", "2026-05", 0.0, held=False),
            month_row("b2", "2026-04", 80.0), month_row("b3", "2026-05", 0.0, held=False),
            month_row("b1", "2026-06", 0.0, held=False), month_row("b4", "2026-06", 70.0, final=False))
    # in June: b1's May counts 0 (over), its June not yet; b3 and b4 have no final score yet
    assert quarter("2026-06", *docs) == [("b2", 1, 80.0, 1, True, True), ("b1", 2, 45.0, 2, True, True),
                                         ("b3", 0, 0.0, 1, False, False), ("b4", 0, 0.0, 0, False, False)]
    # after the quarter: b1's June counts 0 too, and the rows without a score are final
    assert quarter("2026-07", *docs) == [("b2", 1, 80.0, 1, True, True), ("b1", 2, 30.0, 3, True, True),
                                         ("b3", 0, 0.0, 1, False, True), ("b4", 0, 0.0, 0, False, True)]
