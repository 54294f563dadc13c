"""The recommender alone: gaps and their threshold, interest from reading and searching, the reason shown,
read and studied items excluded, notices left to the feed, variety among the picks, the branch's rates."""
from __future__ import annotations

import pytest

from services.content.domain import recommend


def item(item_id: str, tags, read_count: int = 0, kind: str = "article", published_at: str = "2026-11-01") -> dict:
    return {"_id": item_id, "title": f"标题{item_id}", "kind": kind, "tags": list(tags), "read_count": read_count,
            "published_at": published_at, "summary": ""}


def stat(category: str, answered: int, correct: int) -> dict:
    return {"category": category, "answered": answered, "correct": correct}


def ids(picks) -> list[str]:
    return [pick["item_id"] for pick in picks]


# ----------------------------------------------------------------------------- gaps
def test_a_gap_needs_enough_answers_and_a_low_rate_weakest_first():
    stats = [stat("党章", 20, 9), stat("党史", 4, 0), stat("理论学习", 10, 6), stat("党纪法规", 10, 7),
             stat("时事政策", 5, 3)]
    found = recommend.gaps(stats)
    # 党史: all wrong but only 4 answers; 党纪法规: 70 % is not under the line
    assert [(gap.category, gap.percent) for gap in found] == [("党章", 45), ("理论学习", 60), ("时事政策", 60)]
    assert recommend.gap_reason(found[0]) == "党章 类题目正确率 45%"
    assert [gap.category for gap in recommend.gaps(stats, min_answers=4)][0] == "党史"
    assert len(recommend.gaps(stats, most=1)) == 1


def test_gap_rows_of_one_category_are_summed_and_nonsense_is_ignored():
    stats = [stat("党章", 3, 1), stat("党章", 3, 1), {"category": "", "answered": 9, "correct": 0},
             {"category": "党史", "answered": "9", "correct": 0}, stat("理论学习", 6, 60)]
    [gap] = recommend.gaps(stats)
    assert (gap.category, gap.answered, gap.correct) == ("党章", 6, 2)       # 理论学习: correct capped at answered


def test_category_rates_list_every_category_weakest_first_with_its_gap_flag():
    rates = recommend.category_rates([stat("党章", 10, 9), stat("党史", 10, 3), stat("时事政策", 2, 0)])
    assert [(row["category"], row["percent"], row["gap"]) for row in rates] == [
        ("时事政策", 0, False), ("党史", 30, True), ("党章", 90, False)]


# ----------------------------------------------------------------------------- reasons
def test_a_gap_recommends_items_of_its_category_with_the_rate_as_reason():
    candidates = [item("a", ["党章"]), item("b", ["乡村振兴"]), item("c", ["党史"])]
    [first, *_] = recommend.recommend(candidates, stats=[stat("党章", 20, 9)])
    assert (first["item_id"], first["reason_kind"], first["reason"]) == ("a", "gap", "党章 类题目正确率 45%")


def test_reading_names_the_tag_the_member_reads_most():
    reads = [{"item_id": f"r{n}", "tags": ["党史"]} for n in range(5)] + [{"item_id": "r9", "tags": ["党章"]}]
    candidates = [item("a", ["党章"]), item("b", ["党史"]), item("c", ["乡村振兴"], read_count=3)]
    picks = recommend.recommend(candidates, reads=reads)
    assert ids(picks)[0] == "b"
    assert picks[0]["reason_kind"] == "reading" and picks[0]["reason"] == "您常阅读「党史」相关内容"


def test_a_search_naming_a_tag_recommends_it_with_the_query_as_reason():
    candidates = [item("a", ["党纪法规"]), item("b", ["乡村振兴"], read_count=2)]
    picks = recommend.recommend(candidates, searches=[{"query": "党纪法规学习"}, {"query": "乡"}])
    assert ids(picks)[0] == "a"
    assert picks[0]["reason"] == "您搜索过「党纪法规学习」"
    # a one-character query names nothing; a query inside a tag does
    assert recommend.search_interest([{"query": "乡"}], {"乡村振兴"}) == ({}, {})
    assert recommend.search_interest([{"query": "振兴"}], {"乡村振兴"})[0] == {"乡村振兴": 1.0}


def test_without_signals_popular_then_new_items_fill_the_list():
    picks = recommend.recommend([item("a", ["党章"], read_count=9), item("b", ["党史"])])
    assert [(p["item_id"], p["reason_kind"], p["reason"]) for p in picks] == [
        ("a", "popular", "近期热门"), ("b", "new", "最新发布")]


def test_recent_reads_weigh_more_than_old_ones():
    interest = recommend.reading_interest([{"tags": ["党章"]}, {"tags": ["党史"]}])
    assert interest["党章"] > interest["党史"] and sum(interest.values()) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- what comes in, what goes out
def test_read_and_studied_items_and_notices_are_never_recommended():
    candidates = [item("read", ["党章"]), item("studied", ["党章"]), item("notice", ["党章"], kind="notice"),
                  item("fresh", ["党章"]), item("download", ["党章"], kind="download")]
    picks = recommend.recommend(candidates, reads=[{"item_id": "read", "tags": ["党章"]}], exclude={"studied"},
                                stats=[stat("党章", 10, 2)])
    assert sorted(ids(picks)) == ["download", "fresh"]


def test_visibility_is_not_the_recommenders_concern_every_candidate_may_come_out():
    # the use case hands in only what the member may see; the recommender ranks whatever it is given
    candidates = [item(f"i{n}", ["党章"]) for n in range(3)]
    assert sorted(ids(recommend.recommend(candidates))) == ["i0", "i1", "i2"]


def test_the_limit_holds_and_nothing_in_nothing_out():
    candidates = [item(f"i{n:02d}", ["党章"], read_count=n) for n in range(30)]
    assert len(recommend.recommend(candidates, limit=10)) == 10
    assert recommend.recommend([], stats=[stat("党章", 10, 1)]) == []
    assert recommend.recommend(candidates, limit=0) == []


def test_one_strong_interest_does_not_fill_the_whole_list():
    reads = [{"item_id": f"r{n}", "tags": ["党史"]} for n in range(20)]
    candidates = [item(f"h{n:02d}", ["党史"], read_count=5) for n in range(20)] + [item("gap", ["党章"])]
    picks = recommend.recommend(candidates, reads=reads, stats=[stat("党章", 10, 3)], limit=5)
    assert "gap" in ids(picks)
    assert {p["reason_kind"] for p in picks} == {"reading", "gap"}


def test_within_a_tag_the_more_read_item_comes_first():
    picks = recommend.recommend([item("quiet", ["党章"], read_count=0), item("loud", ["党章"], read_count=40)],
                                reads=[{"item_id": "x", "tags": ["党章"]}])
    assert ids(picks) == ["loud", "quiet"]


def test_of_equal_scores_the_newest_comes_first():
    candidates = [item("old", ["党章"], published_at="2026-10-01"), item("new", ["党章"], published_at="2026-12-01"),
                  item("mid", ["党章"], published_at="2026-11-01")]
    assert ids(recommend.recommend(candidates, stats=[stat("党章", 10, 2)])) == ["new", "mid", "old"]


def test_most_popular_baseline():
    candidates = [item("a", [], read_count=1), item("b", [], read_count=5), item("c", [], read_count=3)]
    assert ids([{"item_id": i["_id"]} for i in recommend.most_popular(candidates, exclude={"b"}, limit=5)]) == \
        ["c", "a"]
