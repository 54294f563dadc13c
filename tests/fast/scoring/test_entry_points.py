"""Every entry point of the scoring service hands its caller and arguments to one use case, unchanged; the event
consumers are declared on the queues the broker topology binds."""
from __future__ import annotations

import inspect
from unittest.mock import MagicMock

import pytest
from nameko.rpc import Rpc

from servicekit.audit.entries import ENTRY_POINTS as AUDIT_ENTRY_POINTS
from servicekit.errors import PermissionDenied
from servicekit.messaging.consumers import BatchEventConsumer
from servicekit.messaging.topology import SUBSCRIPTIONS
from servicekit.security.scope import CallerScope
from services.attendance import events as attendance_events
from services.scoring.service import PointsConsumer, ScoringService
from tests.fast.scoring.fakes import CITY_ADMIN, OPERATOR

CALLER = CallerScope.from_dict(CITY_ADMIN)

# rpc, its keyword arguments after scope, the use-case property and method, the arguments after the caller
DELEGATIONS = [
    ("get_branch_score", dict(activity_id="a", branch_id="b", month="m"), "scores", "get", ("a", "b", "m")),
    ("rate_activity", dict(activity_id="a", rating=90, comment="c"), "scores", "rate", ("a", 90, "c")),
    ("get_ranking", dict(org_id="o", period="p", field="f", category="c", page_size=5, page_token="t"), "rankings",
     "ranking", ("o", "p", "f", "c", 5, "t")),
    ("get_progress", dict(org_id="o", period="p", group_by="g"), "rankings", "progress", ("o", "p", "g")),
    ("get_trend", dict(branch_id="b", month_from="f", month_to="t"), "rankings", "trend", ("b", "f", "t")),
    ("compare_orgs", dict(org_ids=["o1", "o2"], period="p"), "rankings", "compare", (["o1", "o2"], "p")),
    ("spot_check", dict(org_id="o", month="m", sample_size=3, seed=7), "rankings", "spot_check", ("o", "m", 3, 7)),
    ("supervision_list", dict(org_id="o", month="m", today="d"), "rankings", "supervision_list", ("o", "m", "d")),
    ("quarterly_bulletin", dict(org_id="o", quarter="q"), "rankings", "bulletin", ("o", "q")),
    ("annual_assessment", dict(org_id="o", year="y", page_size=5, page_token="t"), "rankings", "assessment",
     ("o", "y", 5, "t")),
    ("export_report", dict(org_id="o", kind="k", period="p", today="d"), "rankings", "export", ("o", "k", "p", "d")),
    ("reconcile", dict(org_id="o", period="p"), "reconciliations", "reconcile", ("o", "p")),
    ("get_points_rules", dict(), "points", "rules", ()),
    ("set_points_rules", dict(rules={"cycle": "calendar"}), "points", "set_rules", ({"cycle": "calendar"},)),
    ("get_ledger", dict(member_id="m", cycle="c"), "points", "ledger", ("m", "c")),
    ("add_deduction", dict(member_id="m", code="c", reason="r", request_id="q"), "points", "add_deduction",
     ("m", "c", "r", "q")),
    ("correct_entry", dict(entry_id="e", reason="r"), "points", "correct_entry", ("e", "r")),
    ("list_talk_candidates", dict(org_id="o", cycle="c", page_size=5, page_token="t"), "points", "talk_candidates",
     ("o", "c", 5, "t")),
    ("record_talk", dict(member_id="m", cycle="c", held_on="h", note="n"), "points", "record_talk",
     ("m", "c", "h", "n")),
    ("list_talks", dict(org_id="o", cycle="c", page_size=5, page_token="t"), "points", "talks", ("o", "c", 5, "t")),
    ("member_points_totals", dict(branch_id="b", since="s", until="u"), "points", "member_totals", ("b", "s", "u")),
    ("create_appraisal", dict(org_id="o", year="y", closes_at="c"), "appraisals", "create", ("o", "y", "c")),
    ("open_appraisal", dict(appraisal_id="a"), "appraisals", "open", ("a",)),
    ("get_appraisal", dict(appraisal_id="a"), "appraisals", "get", ("a",)),
    ("list_appraisals", dict(org_id="o", year="y", page_size=5, page_token="t"), "appraisals", "list",
     ("o", "y", 5, "t")),
    ("list_my_appraisals", dict(), "appraisals", "mine", ()),
    ("submit_review", dict(appraisal_id="a", member_id="m", text="t"), "appraisals", "review", ("a", "m", "t")),
    ("cast_vote", dict(appraisal_id="a", choices=[{"member_id": "m", "grade": "g"}]), "appraisals", "vote",
     ("a", [{"member_id": "m", "grade": "g"}])),
    ("decide_appraisal", dict(appraisal_id="a", decided_by="d", grades=[]), "appraisals", "decide", ("a", "d", [])),
    ("set_appraisal_settings", dict(excellent_max_ratio=0.5, flag_negative_share=0.2), "appraisals", "set_settings",
     (0.5, 0.2)),
]
# the defaults an entry point gives a use case when the caller leaves the arguments out
DEFAULTS = {"get_ranking": ("", "", "", "", 0, ""), "compare_orgs": (None, ""), "rate_activity": ("", None, ""),
            "spot_check": ("", "", 0, 0), "set_points_rules": (None,), "get_points_rules": (),
            "cast_vote": ("", None), "decide_appraisal": ("", "", None), "set_appraisal_settings": (0.0, 0.0)}


def rpcs() -> set[str]:
    return {name for name, member in inspect.getmembers(ScoringService, inspect.isfunction)
            if any(isinstance(entry, Rpc) for entry in getattr(member, "nameko_entrypoints", ()))}


def test_every_rpc_is_in_the_table():
    # the audit log's entry points come from servicekit.audit.entries (tests/integration/test_audit_log.py)
    assert rpcs() - AUDIT_ENTRY_POINTS == {row[0] for row in DELEGATIONS}


@pytest.fixture
def use_case(monkeypatch):
    """Replaces one use-case property of the service by a mock; returns the mock."""
    def replace(name: str) -> MagicMock:
        fake = MagicMock(name=name)
        monkeypatch.setattr(ScoringService, name, property(lambda self: fake))
        return fake
    return replace


@pytest.mark.parametrize("rpc, kwargs, topic, method, arguments", DELEGATIONS, ids=[row[0] for row in DELEGATIONS])
def test_the_entry_point_answers_what_its_use_case_answers(service, use_case, rpc, kwargs, topic, method, arguments):
    fake = use_case(topic)
    answer = getattr(service, rpc)(scope=CITY_ADMIN, **kwargs)
    called = getattr(fake, method)
    called.assert_called_once_with(CALLER, *arguments)
    assert answer is called.return_value


@pytest.mark.parametrize("rpc, arguments", sorted(DEFAULTS.items()))
def test_arguments_left_out_reach_the_use_case_as_the_rpc_defaults(service, use_case, rpc, arguments):
    topic, method = next((row[2], row[3]) for row in DELEGATIONS if row[0] == rpc)
    fake = use_case(topic)
    getattr(service, rpc)(scope=CITY_ADMIN)
    getattr(fake, method).assert_called_once_with(CALLER, *arguments)


@pytest.mark.parametrize("rpc, kwargs", [(row[0], row[1]) for row in DELEGATIONS], ids=[row[0] for row in DELEGATIONS])
def test_every_rpc_refuses_a_caller_without_a_tenant_before_any_use_case(service, store, points_store, rpc, kwargs):
    with pytest.raises(PermissionDenied) as refused:
        getattr(service, rpc)(scope=OPERATOR, **kwargs)
    assert refused.value.code == "TENANT_REQUIRED"
    assert store.method_calls == [] and points_store.method_calls == []


def test_the_use_cases_get_the_services_own_dependencies(service, store, points_store, ranking_cache, clock,
                                                         identity, attendance):
    assert (service.scores.store, service.scores.clock) == (store, clock)
    rankings = service.rankings
    assert (rankings.store, rankings.cache, rankings.clock) == (store, ranking_cache, clock)
    assert (rankings.subtrees.store, rankings.subtrees.identity) == (store, identity)
    points = service.points
    assert (points.store, points.clock, points.subtrees.store) == (points_store, clock, store)
    reconciliations = service.reconciliations
    assert (reconciliations.store, reconciliations.attendance) == (store, attendance)
    appraisals = service.appraisals
    assert (appraisals.store, appraisals.points_store, appraisals.clock, appraisals.identity) == (
        store, points_store, clock, identity)


def consumer_rows(service_class) -> set[tuple[str, str, str, str]]:
    consumers = [value for value in vars(service_class).values() if isinstance(value, BatchEventConsumer)]
    return {(source, event, "scoring", consumer.name) for consumer in consumers
            for source, event in consumer.subscriptions}


def test_the_consumers_queues_are_the_ones_the_topology_declares():
    score, points = consumer_rows(ScoringService), consumer_rows(PointsConsumer)
    assert {row[3] for row in score} == {"score"} and {row[3] for row in points} == {"points"}
    scoring_rows = {row for row in SUBSCRIPTIONS if row[2] == "scoring"}
    assert score | points == scoring_rows
    published = {(spec.source, spec.name) for spec in attendance_events.ALL}
    assert {row[:2] for row in score} <= published and len(score) == 15
    assert {row[:2] for row in points if row[0] == "attendance"} <= published
