"""Role models (每周一先、每月一星) through the entry points: proposals from scoring's points, naming with a citation,
publication in the branch's and the county's columns, who may do it, bad input."""
from __future__ import annotations

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from tests.fast.content.fakes import (BRANCH, CITY_ADMIN, COUNTY, COUNTY_ADMIN, FOREIGN_ADMIN, MEMBER,
                                      OTHER_COUNTY_ADMIN, SECRETARY)

CITATION = "带头完成本月学习套餐，主动帮扶困难群众。"


def points(scoring):
    scoring.totals = {"m_1": {"total": 12, "by_category": {"attendance": 5, "quiz": 7}},
                      "m_2": {"total": 15, "by_category": {"attendance": 17, "negative": -2}},
                      "m_secretary": {"total": 3, "by_category": {"reflection": 3}},
                      "m_3": {"total": 40, "by_category": {"attendance": 40}}}      # another branch's member


def test_the_weeks_candidates_come_from_its_points(community, scoring):
    points(scoring)
    proposal = community.propose_role_models(SECRETARY, branch_id=BRANCH, kind="weekly_pioneer")
    assert scoring.asked == [{"scope": SECRETARY, "branch_id": BRANCH, "since": "2026-11-30", "until": "2026-12-06"}]
    assert (proposal["period"], proposal["since"], proposal["until"], proposal["basis"]) == \
        ("2026-W49", "2026-11-30", "2026-12-06", "points")
    # m_2 has more points but a deduction in the week: not proposed
    assert [(c["member_id"], c["points"]) for c in proposal["candidates"]] == [("m_1", 12), ("m_secretary", 3)]
    assert proposal["candidates"][0]["reason"] == "本期积分 12 分（学习答题 7、参加主题党日 5）"
    assert "named" not in proposal


def test_naming_commits_the_event_and_publishes_in_the_branch_and_county_columns(community, community_store,
                                                                                   scoring):
    points(scoring)
    named = community.name_role_model(SECRETARY, branch_id=BRANCH, kind="monthly_star", period="2026-11",
                                      member_id="m_1", citation=f"  {CITATION} ")
    assert (named["member_name"], named["citation"], named["points"], named["proposed"], named["published"]) == \
        ("张三", CITATION, 12, True, True)
    # the record, both generated items and every event in one commit
    assert community_store.commits == [{"record": named["id"], "items": named["item_ids"], "events": [
        "role_model_named", "content_published", "content_published"]}]
    assert [(e["item_id"], e["org_id"], e["kind"], e["published_by"]) for e in community_store.events[1:]] == \
        [(named["item_ids"][0], BRANCH, "article", "system:content"),
         (named["item_ids"][1], COUNTY, "article", "system:content")]
    event = community_store.events[0]
    assert (event["member_id"], event["kind"], event["period"], event["branch_id"]) == \
        ("m_1", "monthly_star", "2026-11", BRANCH)
    items = [community_store.items[item_id] for item_id in named["item_ids"]]
    assert [(item["org_id"], item["column_id"], item["status"]) for item in items] == \
        [(BRANCH, f"{BRANCH}:role_models", "published"), (COUNTY, f"{COUNTY}:role_models", "published")]
    assert "2026年11月“每月一星”：张三同志" in items[0]["title"] and CITATION in items[0]["body"]
    assert community.propose_role_models(SECRETARY, branch_id=BRANCH, kind="monthly_star",
                                         period="2026-11")["named"]["id"] == named["id"]


def test_one_role_model_per_branch_kind_and_period(community, community_store, scoring):
    community.name_role_model(SECRETARY, branch_id=BRANCH, kind="monthly_star", period="2026-11", member_id="m_1",
                              citation=CITATION)
    with pytest.raises(Conflict) as refused:
        community.name_role_model(COUNTY_ADMIN, branch_id=BRANCH, kind="monthly_star", period="2026-11",
                                  member_id="m_2", citation=CITATION)
    assert refused.value.code == "ROLE_MODEL_EXISTS"
    assert len(community_store.role_models) == 1 and len(community_store.items) == 2
    # the weekly pioneer of a week of that month is another honour
    community.name_role_model(SECRETARY, branch_id=BRANCH, kind="weekly_pioneer", period="2026-W48",
                              member_id="m_2", citation=CITATION)
    assert len(community_store.role_models) == 2


def test_the_previous_periods_role_model_comes_after_others_at_equal_points(community, scoring):
    scoring.totals = {"m_1": {"total": 5, "by_category": {"quiz": 5}}, "m_2": {"total": 5, "by_category": {"quiz": 5}}}
    community.name_role_model(SECRETARY, branch_id=BRANCH, kind="weekly_pioneer", period="2026-W48",
                              member_id="m_1", citation=CITATION)
    candidates = community.propose_role_models(SECRETARY, branch_id=BRANCH, kind="weekly_pioneer",
                                               period="2026-W49")["candidates"]
    assert [(c["member_id"], c["named_before"]) for c in candidates] == [("m_2", False), ("m_1", True)]


def test_a_failed_commit_leaves_neither_record_nor_items_and_naming_again_succeeds(community, community_store):
    community_store.fail_commit = True
    with pytest.raises(RuntimeError):
        community.name_role_model(SECRETARY, branch_id=BRANCH, kind="monthly_star", period="2026-11",
                                  member_id="m_1", citation=CITATION)
    assert not community_store.role_models and not community_store.items and not community_store.events
    community_store.fail_commit = False
    named = community.name_role_model(SECRETARY, branch_id=BRANCH, kind="monthly_star", period="2026-11",
                                      member_id="m_1", citation=CITATION)
    assert sorted(community_store.items) == sorted(named["item_ids"]) and len(community_store.commits) == 1


def test_the_member_must_be_on_the_branchs_roster(community, community_store):
    with pytest.raises(NotFound) as refused:
        community.name_role_model(SECRETARY, branch_id=BRANCH, kind="monthly_star", period="2026-11",
                                  member_id="m_3", citation=CITATION)
    assert (refused.value.code, refused.value.field) == ("MEMBER_NOT_FOUND", "member_id")
    assert not community_store.role_models and not community_store.events


@pytest.mark.parametrize("changes, code, field", [
    ({"kind": "daily_hero"}, "UNKNOWN_VALUE", "kind"), ({"kind": ""}, "REQUIRED", "kind"),
    ({"period": "2026-13"}, "PERIOD_INVALID", "period"), ({"period": "2026-12-01"}, "PERIOD_INVALID", "period"),
    ({"kind": "weekly_pioneer", "period": "2026-W54"}, "PERIOD_INVALID", "period"),
    ({"period": "2027-01"}, "PERIOD_IN_FUTURE", "period"), ({"citation": "   "}, "REQUIRED", "citation"),
    ({"citation": "事" * 501}, "TOO_LONG", "citation"), ({"citation": 5}, "INVALID_TYPE", "citation"),
    ({"member_id": ""}, "REQUIRED", "member_id"), ({"branch_id": ""}, "REQUIRED", "branch_id"),
])
def test_bad_input_is_refused_and_nothing_is_stored(community, community_store, changes, code, field):
    request = {"branch_id": BRANCH, "kind": "monthly_star", "period": "2026-11", "member_id": "m_1",
               "citation": CITATION, **changes}
    with pytest.raises(InvalidArgument) as refused:
        community.name_role_model(SECRETARY, **request)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not community_store.role_models and not community_store.events and not community_store.items


def test_only_a_branch_can_have_role_models(community):
    with pytest.raises(InvalidArgument) as refused:
        community.propose_role_models(COUNTY_ADMIN, branch_id=COUNTY, kind="monthly_star")
    assert refused.value.code == "NOT_A_BRANCH"


@pytest.mark.parametrize("caller, error, code", [
    (MEMBER, PermissionDenied, "NOT_ORG_MANAGER"), (OTHER_COUNTY_ADMIN, NotFound, "ORG_NOT_FOUND"),
    (FOREIGN_ADMIN, NotFound, "ORG_NOT_FOUND")])
def test_members_other_counties_and_tenants_are_refused(community, community_store, scoring, caller, error, code):
    for call in (lambda: community.propose_role_models(caller, branch_id=BRANCH, kind="monthly_star"),
                 lambda: community.name_role_model(caller, branch_id=BRANCH, kind="monthly_star", period="2026-11",
                                                   member_id="m_1", citation=CITATION)):
        with pytest.raises(error) as refused:
            call()
        assert refused.value.code == code
    assert not scoring.asked and not community_store.role_models


def test_role_models_are_listed_in_a_subtree(community):
    community.name_role_model(SECRETARY, branch_id=BRANCH, kind="monthly_star", period="2026-10", member_id="m_2",
                              citation=CITATION)
    community.name_role_model(SECRETARY, branch_id=BRANCH, kind="monthly_star", period="2026-11", member_id="m_1",
                              citation=CITATION)
    listed = community.list_role_models(CITY_ADMIN, org_id=COUNTY, kind="monthly_star")
    assert (listed["total"], [r["period"] for r in listed["role_models"]]) == (2, ["2026-11", "2026-10"])
    assert community.list_role_models(CITY_ADMIN, org_id=COUNTY, kind="weekly_pioneer")["total"] == 0
    with pytest.raises(NotFound):
        community.list_role_models(OTHER_COUNTY_ADMIN, org_id=COUNTY)
    with pytest.raises(PermissionDenied):
        community.list_role_models(MEMBER, org_id=BRANCH)
