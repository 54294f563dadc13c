"""Rankings, reports and reconcile through the entry points, over a ranking cache of in-memory rows and a fixed
clock: what a ranking row shows, when a period is over, which subtree a caller may rank, report arguments."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from services.scoring.ranking_cache import RankingCache
from services.scoring.store import score_row_of
from tests.fast.scoring.fakes import (BRANCH, CITY, CITY_ADMIN, COUNTY, COUNTY_ADMIN, FOREIGN_ADMIN, ISSUED_ONLY,
                                      MEMBER, TENANT, activity)


class Rows:
    """The store's ranking rows of a month, derived from activity documents as the real store derives them."""

    def __init__(self, docs: list[dict]):
        self.docs = docs

    def score_rows(self, period_key: str) -> list[dict]:
        return [row for row in map(score_row_of, self.docs) if row and row["period_key"] == period_key]


DOCS = [activity(_id="act_1", breakdown={"signin": 60.0}, counts={"roster": 4}, rating_pending=True),
        activity(ISSUED_ONLY, _id="act_2", branch_id="org_branch2", branch_name="二支部", a2="org_branch2")]


@pytest.fixture
def ranking_cache(clock):
    return RankingCache(Rows(DOCS), refresh_seconds=3600, clock=clock)


@pytest.fixture
def placed(store):
    store.any_activity_under.side_effect = lambda org_id: DOCS[0] if org_id in (CITY, COUNTY, BRANCH) else None
    return store


def test_a_months_ranking_shows_each_days_breakdown_and_the_days_not_held_last(service, placed):
    ranking = service.get_ranking(scope=COUNTY_ADMIN, org_id=COUNTY, period="2026-11")
    first, second = ranking["rows"]
    assert (first["branch_id"], first["rank"], first["score"], first["held"]) == (BRANCH, 1, 76.5, True)
    assert first["breakdown"] == {"signin": 60.0} and first["counts"] == {"roster": 4} and first["rating_pending"]
    assert (second["branch_id"], second["rank"], second["score"], second["held"]) == ("org_branch2", 0, 0.0, False)
    assert second["final"] is True and first["final"] is False   # November is over by the clock; only b1 held it
    assert ranking["chart"] == {"labels": ["一支部"], "values": [76.5]}
    assert (ranking["period"], ranking["previous_period"], ranking["total"]) == ("2026-11", "2026-10", 2)


def test_a_branch_without_a_final_score_is_final_once_its_quarter_is_over_by_the_clock(service, placed, clock):
    during = service.get_ranking(scope=COUNTY_ADMIN, org_id=COUNTY, period="2026-Q4")["rows"]
    assert [(row["branch_id"], row["held"], row["final"]) for row in during] == [
        (BRANCH, False, False), ("org_branch2", False, False)]
    clock.moment = datetime(2027, 1, 10, tzinfo=timezone.utc)
    after = service.get_ranking(scope=COUNTY_ADMIN, org_id=COUNTY, period="2026-Q4")["rows"]
    assert [(row["held"], row["final"]) for row in after] == [(False, True), (False, True)]
    assert all("breakdown" not in row for row in after)                  # a quarter's rows carry no breakdown


def test_a_member_may_not_rank_the_own_branch_and_another_city_does_not_see_it(service, placed):
    with pytest.raises(PermissionDenied) as refused:
        service.get_ranking(scope=MEMBER, org_id=BRANCH, period="2026-11")
    assert refused.value.code == "NOT_ORG_MANAGER"
    with pytest.raises(NotFound) as refused:
        service.get_ranking(scope=FOREIGN_ADMIN, org_id=COUNTY, period="2026-11")
    assert refused.value.code == "ORG_NOT_FOUND"


def test_an_organisation_without_themed_days_is_placed_by_identity_with_the_callers_scope(service, placed, identity):
    identity.orgs = {**identity.orgs, "org_new": {"tenant_id": TENANT, "name": "新区", "path_ids": [CITY, "org_new"]}}
    ranking = service.get_ranking(scope=CITY_ADMIN, org_id="org_new", period="2026-11")
    assert ranking["rows"] == [] and ranking["total"] == 0
    assert identity.asked == [(CITY_ADMIN, "org_new")]


def test_the_supervision_list_judges_the_month_over_by_the_clocks_today(service, placed, store):
    store.activities_by_ids.return_value = [DOCS[1]]
    [item] = service.supervision_list(scope=COUNTY_ADMIN, org_id=COUNTY, month="2026-11")["items"]
    assert item["reasons"] == ["NOT_HELD"]                        # December by the clock: November is over
    assert service.supervision_list(scope=COUNTY_ADMIN, org_id=COUNTY, month="2026-11",
                                    today="2026-11-30")["items"] == []


@pytest.mark.parametrize("kwargs, code", [
    (dict(kind="weekly", period="2026-11"), "REPORT_KIND_INVALID"),
    (dict(kind="bulletin", period="2026-11"), "PERIOD_KIND_MISMATCH"),
    (dict(kind="assessment", period="2026-Q4"), "PERIOD_KIND_MISMATCH"),
])
def test_a_report_of_an_unknown_kind_or_the_wrong_period_is_refused(service, placed, kwargs, code):
    with pytest.raises(InvalidArgument) as refused:
        service.export_report(scope=COUNTY_ADMIN, org_id=COUNTY, **kwargs)
    assert refused.value.code == code


def test_reconcile_reads_every_page_of_attendances_records(service, placed, store, attendance):
    attendance.activity_facts.side_effect = [
        {"items": [{"activity_id": "act_9", "branch_id": "b9"}], "next_page_token": "p2"},
        {"items": [], "next_page_token": ""}]
    store.activities_of_month.return_value = [DOCS[0]]
    answer = service.reconcile(scope=COUNTY_ADMIN, org_id=COUNTY, period="2026-11")
    assert [call.kwargs["page_token"] for call in attendance.activity_facts.call_args_list] == ["", "p2"]
    assert answer["checked"] == 1 and [(d["activity_id"], d["recomputed"]) for d in answer["differences"]] == [
        ("act_9", "MISSING_HERE"), ("act_1", "MISSING_AT_SOURCE")]
