"""Search through the entry point: the n-gram index finds partial words, within the caller's reach only, title
matches first, withdrawn items gone, members' searches recorded."""
from __future__ import annotations

import pytest

from servicekit.errors import InvalidArgument, PermissionDenied
from tests.fast.content.fakes import (BRANCH, BRANCH2, CITY, CITY_ADMIN, COUNTY, COUNTY_ADMIN, COUNTY_B,
                                      FOREIGN_ADMIN, FOREIGN_BRANCH, MEMBER, OPERATOR, OTHER_COUNTY_ADMIN,
                                      OTHER_MEMBER, SECRETARY)
from tests.fast.content.library_fakes import MemoryLibrary, item


@pytest.fixture
def library(store):
    memory = MemoryLibrary()
    memory.wire(store)
    memory.publish(
        item("i_city", CITY, "市委关于学习党章的通知", "各级党组织：认真组织学习。", "2026-11-01T00:00:00.000Z"),
        item("i_county", COUNTY, "区委读书班", "交流学习党章心得，撰写体会。", "2026-12-03T00:00:00.000Z"),
        item("i_branch", BRANCH, "学习党章心得", "本支部党员交流。", "2026-12-02T00:00:00.000Z"),
        item("i_branch2", BRANCH2, "二支部党章学习", "", "2026-12-04T00:00:00.000Z"),
        item("i_county_b", COUNTY_B, "二区委党章知识竞赛", "", "2026-12-05T00:00:00.000Z"),
        item("i_foreign", FOREIGN_BRANCH, "外市党章学习", "", "2026-12-05T00:00:00.000Z"),
    )
    return memory


def found(answer):
    return [result["item_id"] for result in answer["results"]]


def test_a_member_finds_a_partial_word_in_its_branch_path_title_matches_first(service, library):
    answer = service.search_items(MEMBER, query="党章")
    # title matches newest first (branch 12-02, city 11-01), then the body match
    assert found(answer) == ["i_branch", "i_city", "i_county"]
    assert [r["title_hit"] for r in answer["results"]] == [True, True, False]
    assert answer["words"] == ["党章"]
    assert "党章" in answer["results"][2]["snippet"]


@pytest.mark.parametrize("caller, expected", [
    (COUNTY_ADMIN, {"i_city", "i_county", "i_branch", "i_branch2"}),
    (OTHER_COUNTY_ADMIN, {"i_city", "i_county_b"}),
    (OTHER_MEMBER, {"i_city", "i_county_b"}),
    (SECRETARY, {"i_city", "i_county", "i_branch"}),
    (CITY_ADMIN, {"i_city", "i_county", "i_branch", "i_branch2", "i_county_b"}),
    (FOREIGN_ADMIN, {"i_foreign"}),
])
def test_only_items_in_reach_are_found(service, library, caller, expected):
    assert set(found(service.search_items(caller, query="党章"))) == expected


def test_a_withdrawn_item_disappears(service, library):
    library.withdraw("i_branch")
    assert "i_branch" not in found(service.search_items(MEMBER, query="学习党章心得"))
    assert found(service.search_items(MEMBER, query="学习党章心得")) == ["i_county"]


def test_an_edit_replaces_the_old_terms(service, library):
    library.publish(item("i_branch", BRANCH, "组织生活会通知", "", "2026-12-02T00:00:00.000Z"))
    assert "i_branch" not in found(service.search_items(MEMBER, query="心得"))
    assert found(service.search_items(MEMBER, query="组织生活")) == ["i_branch"]


def test_the_phrase_must_occur_not_only_its_bigrams(service, library):
    library.publish(item("i_apart", BRANCH, "党章与章程", "", "2026-12-06T00:00:00.000Z"),
                    item("i_body", BRANCH, "党章和章程", "修改党章程序", "2026-12-01T00:00:00.000Z"))
    assert found(service.search_items(MEMBER, query="党章程")) == ["i_body"]


def test_single_characters_and_ascii_words(service, library):
    library.publish(item("i_ai", BRANCH, "AI 助力党建", "", "2026-12-06T00:00:00.000Z"))
    assert found(service.search_items(MEMBER, query="ai")) == ["i_ai"]
    assert "i_ai" in found(service.search_items(MEMBER, query="助"))


def test_pages(service, library):
    first = service.search_items(COUNTY_ADMIN, query="党章", page_size=3)
    assert len(first["results"]) == 3 and first["next_page_token"]
    rest = service.search_items(COUNTY_ADMIN, query="党章", page_size=3, page_token=first["next_page_token"])
    assert len(rest["results"]) == 1 and rest["next_page_token"] == ""
    assert set(found(first)) | set(found(rest)) == {"i_city", "i_county", "i_branch", "i_branch2"}


def test_a_members_searches_are_recorded_and_listed(service, library):
    service.search_items(MEMBER, query="党章")
    service.search_items(MEMBER, query=" 心得 ")
    service.search_items(MEMBER, query="党章", page_size=1, page_token=service.search_items(
        MEMBER, query="党章", page_size=1)["next_page_token"])
    service.search_items(COUNTY_ADMIN, query="党章")
    assert [(s["query"], s["terms"], s["branch_id"]) for s in library.searches] == [
        ("党章", ["党章"], BRANCH), ("心得", ["心得"], BRANCH), ("党章", ["党章"], BRANCH)]
    assert service.recent_searches(MEMBER)["queries"] in (["党章", "心得"], ["心得", "党章"])
    with pytest.raises(PermissionDenied):
        service.recent_searches(COUNTY_ADMIN)


@pytest.mark.parametrize("kwargs, code, field", [
    ({"query": ""}, "QUERY_EMPTY", "query"), ({"query": "！？"}, "QUERY_NO_TERMS", "query"),
    ({"query": "党" * 51}, "QUERY_TOO_LONG", "query"), ({"query": ["党章"]}, "INVALID_TYPE", "query"),
    ({"query": "党章", "page_size": -1}, "PAGE_SIZE_INVALID", "page_size"),
    ({"query": "党章", "page_token": "bad"}, "PAGE_TOKEN_INVALID", "page_token"),
])
def test_bad_input_is_refused_and_nothing_recorded(service, library, kwargs, code, field):
    with pytest.raises(InvalidArgument) as refused:
        service.search_items(MEMBER, **kwargs)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert library.searches == []


def test_a_caller_without_a_tenant_is_refused(service, library):
    with pytest.raises(PermissionDenied):
        service.search_items(OPERATOR, query="党章")


