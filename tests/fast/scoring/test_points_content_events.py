"""Points from content's events with a fake points store: study, quiz bands and contest placings become ledger
candidates under the tenant's rules, members known only from content are placed, and the points queues are the
ones the topology declares for content's events."""
from __future__ import annotations

import pytest

from servicekit.messaging.topology import SUBSCRIPTIONS
from services.content import events as content
from services.scoring.domain import points
from services.scoring.usecases.points_events import POINTS_SUBSCRIPTIONS
from tests.fast.scoring.fakes import BRANCH, TENANT
from tests.fast.scoring.points_support import applier, rules, store  # noqa: F401 - the fixtures
from tests.fast.scoring.points_support import assert_members_noted_under_the_branch, written

AT = "2026-11-20T04:00:00.000Z"


def studied(member_id="m1", item_key="k1", item_id="") -> dict:
    return content.ITEM_STUDIED.build(TENANT, package_id="pkg_1", item_id=item_id, item_key=item_key,
                                      member_id=member_id, branch_id=BRANCH, seconds=120, studied_at=AT)


def finished(band: str, member_id="m1", quiz_id="quiz_1") -> dict:
    return content.QUIZ_ATTEMPT_FINISHED.build(TENANT, quiz_id=quiz_id, attempt_id="att_1", kind="quiz",
                                               member_id=member_id, branch_id=BRANCH, score=9, max_score=10,
                                               band=band, finished_at=AT)


def placed(rank: int, participants: int = 100, member_id="m1") -> dict:
    return content.CONTEST_FINISHED.build(TENANT, quiz_id="contest_1", member_id=member_id, branch_id=BRANCH,
                                          rank=rank, score=90, participants=participants)


def test_a_studied_item_earns_the_study_points_once_per_package_item_and_member(applier, store):
    event = studied()
    applier.apply([event])
    [entry] = written(store)
    assert (entry["_id"], entry["category"], entry["points"], entry["day"]) == \
        ("pkg_1:k1:m1:study", "study", 1, "2026-11-20")
    assert entry["source"] == {"kind": "event", "event_id": event["event_id"], "event_type": "item_studied"}


def test_two_links_of_a_package_without_content_items_are_two_entries(applier, store):
    applier.apply([studied(item_key="k1"), studied(item_key="k2")])
    assert [entry["_id"] for entry in written(store)] == ["pkg_1:k1:m1:study", "pkg_1:k2:m1:study"]


@pytest.mark.parametrize("band, ids", [
    (content.BAND_FAIL, ["quiz_1:m1:quiz:1"]),
    (content.BAND_PASS, ["quiz_1:m1:quiz:1", "quiz_1:m1:quiz:2"]),
    (content.BAND_EXCELLENT, ["quiz_1:m1:quiz:1", "quiz_1:m1:quiz:2", "quiz_1:m1:quiz:3"]),
])
def test_a_finished_quiz_earns_one_entry_per_band_level_reached(applier, store, band, ids):
    applier.apply([finished(band)])
    entries = written(store)
    assert [entry["_id"] for entry in entries] == ids
    assert {entry["category"] for entry in entries} == {"quiz"} and all(e["points"] == 1 for e in entries)
    assert entries[-1]["reason"] == {1: "完成答题", 2: "答题及格", 3: "答题优秀"}[len(ids)]


def test_an_unknown_band_earns_nothing(applier, store):
    applier.apply([finished("brilliant")])
    assert written(store) == []


@pytest.mark.parametrize("rank, participants, expected", [(1, 100, 5), (2, 100, 4), (3, 100, 3), (10, 100, 2),
                                                          (11, 100, 1), (4, 5, 1)])
def test_a_contest_placing_earns_by_rank(applier, store, rank, participants, expected):
    applier.apply([placed(rank, participants)])
    [entry] = written(store)
    assert (entry["_id"], entry["category"], entry["points"]) == ("contest_1:m1:contest", "contest", expected)
    assert entry["reason"] == f"知识竞赛第 {rank} 名"


def test_a_category_the_tenant_pays_nothing_for_earns_no_entry(applier, store, rules):
    for rule in rules["rules"]:
        if rule["category"] in ("study", "quiz", "contest"):
            rule["points"] = 0
    applier.apply([studied(), finished(content.BAND_EXCELLENT), placed(1)])
    assert written(store) == []


def test_members_known_only_from_content_are_placed_under_their_branch_once(applier, store):
    applier.apply([studied("m1"), finished(content.BAND_PASS, "m2"), placed(1, member_id="m1")])
    assert_members_noted_under_the_branch(store, ["m1", "m2"])


def test_content_events_are_routed_to_the_points_consumer():
    rows = {(source, event) for source, event, service, method in SUBSCRIPTIONS
            if service == "scoring" and method == "points" and source == content.SOURCE}
    published = {(spec.source, spec.name) for spec in content.ALL}
    assert rows == {(source, event) for source, event in POINTS_SUBSCRIPTIONS if source == content.SOURCE}
    assert rows == {(content.SOURCE, spec.name) for spec in
                    (content.ITEM_STUDIED, content.QUIZ_ATTEMPT_FINISHED, content.CONTEST_FINISHED)} <= published


def test_a_stored_table_from_before_study_and_contests_takes_their_default_rules():
    old = points.default_rules()
    old["rules"] = [rule for rule in old["rules"] if rule["category"] not in ("study", "contest")]
    old["rules"][0]["points"] = 7
    table = points.completed(old)
    by_category = {rule["category"]: rule for rule in table["rules"]}
    assert by_category["attendance"]["points"] == 7
    assert by_category["study"] == {"category": "study", "points": 1, "daily_cap": 6, "cycle_cap": 100}
    assert by_category["contest"]["points"] == 1
    assert points.validate_rules(table) == table
    # a table that has them keeps its own (0 switches a category off), and none at all is the default table
    off = {**table, "rules": [{**rule, "points": 0} if rule["category"] == "study" else rule
                              for rule in table["rules"]]}
    assert points.completed(off) == off
    assert points.completed(None) == points.default_rules()
    # a table without quiz stays without it: only the categories added later are filled in
    no_quiz = {**old, "rules": [rule for rule in old["rules"] if rule["category"] != "quiz"]}
    assert "quiz" not in {rule["category"] for rule in points.completed(no_quiz)["rules"]}


@pytest.mark.parametrize("rank, participants, expected", [
    (1, 1, 5), (3, 3, 3), (4, 40, 2), (5, 40, 1), (4, 9, 1), (0, 10, 0), (None, 10, 0), (True, 10, 0), ("1", 10, 0)])
def test_contest_quantity(rank, participants, expected):
    assert points.contest_quantity(rank, participants) == expected
