"""Points from volunteer's credited hours with a fake points store: the volunteer_hours rule times the hours, one
entry per hours-ledger entry, members known only from volunteer placed under their branch, and the points queue
the topology declares for volunteer's event."""
from __future__ import annotations

import pytest

from servicekit.messaging.topology import SUBSCRIPTIONS
from services.scoring.domain import points
from services.scoring.usecases.points_events import POINTS_SUBSCRIPTIONS
from services.volunteer import events as volunteer
from tests.fast.scoring.fakes import BRANCH, TENANT
from tests.fast.scoring.points_support import applier, rules, store  # noqa: F401 - the fixtures
from tests.fast.scoring.points_support import assert_members_noted_under_the_branch, written

AT = "2026-11-20T04:00:00.000Z"


def credited(hours, member_id="m1", order_id="o1", kind=volunteer.SOURCE_ORDER) -> dict:
    return volunteer.HOURS_CREDITED.build(TENANT, entry_id=f"{kind}:{order_id}:{member_id}", member_id=member_id,
                                          branch_id=BRANCH, hours=hours, source_kind=kind, source_id=order_id,
                                          credited_at=AT)


def test_credited_hours_earn_the_rule_points_per_hour_once_per_ledger_entry(applier, store):
    event = credited(2.5)
    applier.apply([event])
    [entry] = written(store)
    assert (entry["_id"], entry["member_id"], entry["category"], entry["points"], entry["day"], entry["reason"]) == \
        ("order:o1:m1:volunteer_hours", "m1", "volunteer_hours", 2.5, "2026-11-20", "志愿服务 2.5 小时")
    assert entry["source"] == {"kind": "event", "event_id": event["event_id"], "event_type": "hours_credited"}


def test_a_team_events_hours_are_named_as_an_activity(applier, store):
    applier.apply([credited(3, order_id="ev1", kind=volunteer.SOURCE_EVENT)])
    [entry] = written(store)
    assert (entry["_id"], entry["reason"]) == ("event:ev1:m1:volunteer_hours", "志愿活动 3 小时")


@pytest.mark.parametrize("hours, per_hour, expected", [(1.6667, 1, 1.67), (0.25, 2, 0.5), (0.5, 1.5, 0.75),
                                                       (0.01, 1, 0.01), (8, 1, 8)])
def test_part_hours_count_to_the_hundredth(applier, store, rules, hours, per_hour, expected):
    points.rule_for(rules, "volunteer_hours")["points"] = per_hour
    applier.apply([credited(hours)])
    assert written(store)[0]["points"] == expected


@pytest.mark.parametrize("hours", [0, -1, 0.004, None, "2", True, float("nan"), float("inf")])
def test_no_hours_or_nonsense_earns_nothing(applier, store, hours):
    applier.apply([credited(hours)])
    assert written(store) == []


def test_a_tenant_that_pays_nothing_for_volunteer_hours_writes_no_entry(applier, store, rules):
    points.rule_for(rules, "volunteer_hours")["points"] = 0
    applier.apply([credited(4)])
    assert written(store) == []


def test_two_members_of_one_order_and_two_orders_of_one_member_are_separate_entries(applier, store):
    applier.apply([credited(1, "m1", "o1"), credited(1, "m2", "o1"), credited(1, "m1", "o2")])
    assert [entry["_id"] for entry in written(store)] == [
        "order:o1:m1:volunteer_hours", "order:o1:m2:volunteer_hours", "order:o2:m1:volunteer_hours"]


def test_the_same_credit_delivered_twice_is_one_candidate_id(applier, store):
    # the store skips an id written before (ledger.new_candidates); the applier gives a redelivery the same id
    event = credited(1.5)
    applier.apply([event])
    applier.apply([dict(event)])
    first, second = (call[0][1] for call in store.write_entries.call_args_list)
    assert [entry["_id"] for entry in first] == [entry["_id"] for entry in second] == ["order:o1:m1:volunteer_hours"]


def test_members_known_only_from_volunteer_are_placed_under_their_branch(applier, store):
    applier.apply([credited(1, "m1"), credited(2, "m2", "o2"), credited(1, "m1", "o3")])
    assert_members_noted_under_the_branch(store, ["m1", "m2"])


def test_volunteers_hours_credited_is_routed_to_the_points_consumer():
    rows = {(source, event) for source, event, service, method in SUBSCRIPTIONS
            if service == "scoring" and method == "points" and source == volunteer.SOURCE}
    published = {(spec.source, spec.name) for spec in volunteer.ALL}
    assert rows == {(source, event) for source, event in POINTS_SUBSCRIPTIONS if source == volunteer.SOURCE}
    assert rows == {(volunteer.SOURCE, volunteer.HOURS_CREDITED.name)} <= published
