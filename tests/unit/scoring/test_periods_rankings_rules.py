import pytest

from servicekit.errors import InvalidArgument
from services.scoring.domain import points, supervision
from services.scoring.domain.periods import cycle_of, enclosing, month_range, parse_month, parse_period
from services.scoring.domain.progress import progress, stage_of
from services.scoring.domain.ranking import chart, competition_ranks, with_changes
from services.scoring.domain.facts_updates import applied, updates_for
from tests.support.scoring import ThemedDay


def test_periods_parse_with_their_months_and_predecessors():
    assert parse_period("2026-01").previous().key == "2025-12"
    assert parse_period("2026-Q1").previous().key == "2025-Q4"
    assert parse_period("2026-Q2").months == ["2026-04", "2026-05", "2026-06"]
    assert parse_period("2026").previous().key == "2025" and len(parse_period("2026").months) == 12
    assert enclosing("2026-08") == ["2026-Q3", "2026"]
    assert month_range("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]


@pytest.mark.parametrize("bad", ["2026-00", "2026-13", "2026-Q0", "1999", "abc", "", 2026])
def test_unknown_periods_are_refused(bad):
    with pytest.raises(InvalidArgument) as refused:
        parse_period(bad)
    assert refused.value.code in ("PERIOD_INVALID", "INVALID_TYPE")


def test_a_quarter_is_not_a_month():
    with pytest.raises(InvalidArgument) as refused:
        parse_month("2026-Q1")
    assert refused.value.code == "MONTH_INVALID"


def test_cycles_are_calendar_or_academic_years():
    assert cycle_of("2026-08-31", "academic") == "2025-2026" and cycle_of("2026-09-01", "academic") == "2026-2027"
    assert cycle_of("2026-09-01", "calendar") == "2026"


def test_competition_ranking_shares_ranks_and_skips_places():
    rows = [{"id": i, "name": n, "score": s} for i, n, s in (("a", "甲", 90), ("b", "乙", 95), ("c", "丙", 90),
                                                              ("d", "丁", 80))]
    ranked = competition_ranks(rows)
    assert [(row["id"], row["rank"]) for row in ranked] == [("b", 1), ("c", 2), ("a", 2), ("d", 4)] or \
        [row["rank"] for row in ranked] == [1, 2, 2, 4]
    changed = with_changes(ranked, [{"id": "d", "rank": 1}, {"id": "b", "rank": 3}])
    assert {row["id"]: row["rank_change"] for row in changed} == {"b": 2, "c": 0, "a": 0, "d": -3}
    assert chart(ranked)["values"] == [95, 90, 90, 80]


def test_stages_move_forward_whatever_order_they_arrive_in():
    assert stage_of({"issued": "t1", "closed": "t5"}) == "closed"
    rows = [{"field": "rural", "stages": {"issued": "t"}}, {"field": "rural", "stages": {"issued": "t", "held": "t"}},
            {"field": "school", "stages": {"closed": "t"}}]
    by_field = {group["group"]: group for group in progress(rows, "field")}
    assert by_field["rural"]["counts"] == {"issued": 2, "submitted": 1, "approved": 1, "held": 1, "closed": 0}
    assert by_field["school"]["shares"]["approved"] == 1.0


def test_supervision_reasons():
    base = {"stages": {"closed": "t"}, "score": 90.0, "counts": {"flags": 0, "roster": 30}}
    assert supervision.supervision_reasons(base, True) == []
    assert supervision.supervision_reasons({**base, "stages": {}}, True) == ["NOT_HELD"]
    assert supervision.supervision_reasons({**base, "stages": {}}, False) == []
    assert supervision.supervision_reasons({**base, "score": 50.0, "closed_late": True}, True) == ["LATE", "LOW_SCORE"]
    assert supervision.supervision_reasons({**base, "counts": {"flags": 3, "roster": 30}}, True) == ["MANY_FLAGS"]
    assert supervision.grade(91) == "优秀" and supervision.grade(59.99) == "不合格"


def test_the_bulletin_takes_the_20_best_and_the_10_weakest():
    ranked = [{"id": str(i), "score": 100 - i} for i in range(30)]
    report = supervision.bulletin(ranked)
    assert len(report["best"]) == 20 and report["weakest"][0]["id"] == "29" and len(report["weakest"]) == 10


def test_the_default_rules_are_valid_and_bad_tables_list_every_problem():
    assert points.validate_rules(points.default_rules()) == points.default_rules()
    bad = {"cycle": "weekly", "threshold": "x", "rules": [{"category": "dancing", "points": 1000},
                                                            {"category": "absence", "points": 5}],
           "negative_list": [{"code": "A", "name": "a", "points": 3}], "extra": 1}
    with pytest.raises(InvalidArgument) as refused:
        points.validate_rules(bad)
    reasons = {problem["reason"] for problem in refused.value.details}
    assert refused.value.code == "RULES_INVALID"
    assert {"UNKNOWN_FIELD", "UNKNOWN_CYCLE", "NOT_A_NUMBER", "UNKNOWN_CATEGORY", "OUT_OF_RANGE", "MUST_DEDUCT"} <= reasons


def test_caps_limit_awards_but_never_deductions():
    rule = {"daily_cap": 10, "cycle_cap": 12}
    assert points.capped(5, 8, 0, rule) == 2
    assert points.capped(5, 0, 11, rule) == 1
    assert points.capped(-5, 100, 100, rule) == -5
    assert points.below_threshold([{"member_id": "a", "total": 3}, {"member_id": "b", "total": 30}], 10) == \
        [{"member_id": "a", "total": 3}]


def test_a_batch_of_events_becomes_one_update_per_activity():
    branch = {"id": "b1", "name": "一支部", "path_ids": ["c", "b1"]}
    day = ThemedDay("t", branch, "2026-05", ["m1", "m2"])
    first, second = day.scan("m1"), day.scan("m1")
    updates = updates_for([day.issued(), first, second, day.scan("m1", "out", flags=["MOCK_LOCATION"])])
    [update] = updates.values()
    assert update["$inc"]["rev"] == 4 and update["$set"]["a1"] == "b1"
    assert update["$set"]["in.m1"] == 1 and update["$set"]["out.m1"] == 1 and "stages.held" in update["$min"]
    assert any(path.startswith("flagged.") for path in update["$set"])


def test_only_strong_flags_count_toward_the_supervision_lists_flagged_sign_ins():
    branch = {"id": "b1", "name": "一支部", "path_ids": ["c", "b1"]}
    day = ThemedDay("t", branch, "2026-05", ["m1", "m2", "m3"])
    weak = [day.scan("m1", flags=["NO_MOVEMENT_TODAY"]), day.scan("m2", flags=["NEW_DEVICE", "NO_MOVEMENT_TODAY"])]
    [update] = updates_for([day.issued(), *weak]).values()
    assert not any(path.startswith("flagged.") for path in update["$set"])
    assert update["$set"]["in.m1"] == 1 and update["$set"]["in.m2"] == 1       # the sign-ins count as ever
    mixed = day.scan("m3", flags=["NO_MOVEMENT_TODAY", "IMPOSSIBLE_SPEED"])
    [update] = updates_for([day.issued(), mixed]).values()
    assert f"flagged.{mixed['record_id']}" in update["$set"]


def test_an_update_applied_in_memory_gives_what_the_store_will_hold():
    before = {"_id": "a1", "rev": 2, "stages": {"issued": "2026-05-01T00:00:00Z", "held": "2026-05-20T09:00:00Z"},
              "in": {"m1": "2026-05-20T08:55:00Z"}, "rejections": 1}
    update = {"$set": {"flagged.r9": 1, "tenant_id": "t"}, "$inc": {"rev": 3, "rejections": 1},
              "$min": {"in.m1": "2026-05-20T08:50:00Z", "in.m2": "2026-05-20T08:58:00Z",
                       "stages.held": "2026-05-20T09:30:00Z"},
              "$max": {"refl.m1": 120, "outside_due_window": True}}
    after = applied(before, update)
    assert after["rev"] == 5 and after["rejections"] == 2 and after["tenant_id"] == "t"
    assert after["in"] == {"m1": "2026-05-20T08:50:00Z", "m2": "2026-05-20T08:58:00Z"}
    assert after["stages"] == {"issued": "2026-05-01T00:00:00Z", "held": "2026-05-20T09:00:00Z"}
    assert after["flagged"] == {"r9": 1} and after["refl"] == {"m1": 120} and after["outside_due_window"] is True
    assert before["in"] == {"m1": "2026-05-20T08:55:00Z"} and before["rev"] == 2    # the read document is untouched
    with pytest.raises(ValueError):
        applied(before, {"$push": {"x": 1}})


def test_a_ranking_table_takes_committed_rows_and_moves_its_version_only_on_change():
    from services.scoring.ranking_cache import RankingCache, note_written

    class Rows:
        def score_rows(self, period_key):
            if period_key == "t:2026-06":
                return [{"branch_id": "b9", "period": "2026-06", "period_key": period_key, "score": 1.0}]
            return [{"branch_id": "b1", "period": "2026-05", "period_key": period_key, "score": 70.0}]

    cache = RankingCache(Rows())
    assert [row["score"] for row in cache.rows("t:2026-05")] == [70.0]
    version = cache.versions["t:2026-05"]
    note_written([{"branch_id": "b1", "period": "2026-05", "period_key": "t:2026-05", "score": 70.0}])
    assert cache.versions["t:2026-05"] == version                     # the same row again: nothing moved
    note_written([{"branch_id": "b2", "period": "2026-05", "period_key": "t:2026-05", "score": 90.0},
                  {"branch_id": "b9", "period": "2026-05", "period_key": "t:2026-06", "score": 1.0}])
    assert cache.versions["t:2026-05"] == version + 1
    assert sorted(row["score"] for row in cache.rows("t:2026-05")) == [70.0, 90.0]
    assert [row["id"] for row in cache.tables["t:2026-06"].values()] == ["b9"]   # a month written: loaded
