"""The n-gram index's terms and the query rules: no dictionary, partial words found, phrases checked."""
from __future__ import annotations

import pytest

from servicekit.errors import InvalidArgument
from services.content.domain import search as rules


def test_a_word_inside_a_longer_one_is_found():
    query = rules.parse_query("党章")
    assert set(query.terms) <= rules.text_terms("学习党章心得")
    assert rules.matches(query, "学习党章心得")


def test_single_characters_and_ascii_words_are_terms():
    terms = rules.text_terms("学习 AI 与 Ｇｐｔ-4 党")
    assert {"党", "学", "学习", "ai", "gpt", "4", "与"} <= terms
    assert rules.parse_query("党").terms == ("党",)
    assert rules.parse_query(" GPT ").terms == ("gpt",)


def test_a_long_phrase_needs_all_its_bigrams_and_the_phrase_itself():
    query = rules.parse_query("党章程")
    assert query.terms == ("党章", "章程")
    assert not rules.matches(query, "党章 与 章程")      # the bigrams apart: a candidate, not a match
    assert rules.matches(query, "修改党章程序")


def test_several_words_must_all_occur():
    query = rules.parse_query("党章 学习")
    assert query.phrases == ("党章", "学习")
    assert rules.matches(query, "学习新党章")
    assert not rules.matches(query, "党章全文")


def test_postings_say_whether_the_title_has_the_term():
    postings = rules.item_postings("学习党章", "心得体会")
    assert postings["党章"] is True and postings["心得"] is False
    assert "章心" not in postings         # title and body are not one run


@pytest.mark.parametrize("query, code", [
    ("", "QUERY_EMPTY"), ("   ", "QUERY_EMPTY"), ("，。！", "QUERY_NO_TERMS"), ("党" * 51, "QUERY_TOO_LONG"),
    (5, "INVALID_TYPE"), ("党\x00章", "CONTROL_CHARACTERS"),
])
def test_bad_queries_are_refused(query, code):
    with pytest.raises(InvalidArgument) as refused:
        rules.parse_query(query)
    assert (refused.value.code, refused.value.field) == (code, "query")


def test_rank_puts_title_matches_first_then_the_newest():
    keys = [rules.rank_key(False, "2026-12-05T00:00:00.000Z", "b"), rules.rank_key(True, "2026-01-01T00:00:00.000Z", "c"),
            rules.rank_key(False, "2026-12-06T00:00:00.000Z", "a")]
    assert sorted(keys) == [keys[1], keys[2], keys[0]]


def test_snippet_shows_the_words_found():
    query = rules.parse_query("党章")
    piece = rules.snippet(query, "开头" * 60 + "学习党章心得" + "结尾" * 60)
    assert "党章" in piece and piece.startswith("…") and piece.endswith("…")
    assert rules.snippet(query, "短文") == "短文"
