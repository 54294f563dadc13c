"""Points for 三会一课 with a fake points store: a held meeting (attendance's meeting_held) pays the meeting rule to
each member present at its closing, one entry per meeting and member; members known only from a meeting are placed
under its branch; a table stored before the category existed takes its default rule; the queue the topology
declares for the event."""
from __future__ import annotations

import pytest

from servicekit.messaging.topology import SUBSCRIPTIONS
from servicekit.storage.subtree import ancestor_fields
from services.attendance import events as att
from services.scoring.domain import points
from services.scoring.usecases.points_events import POINTS_SUBSCRIPTIONS, transaction_parts
from tests.fast.scoring.fakes import BRANCH, BRANCH_PATH, TENANT
from tests.fast.scoring.points_support import applier, rules, store  # noqa: F401 - the fixtures
from tests.fast.scoring.points_support import assert_members_noted_under_the_branch, written

HELD_AT = "2026-11-20T08:00:00.000Z"


def held(present: list[str], meeting_id: str = "mt_1", meeting_type: str = "lesson") -> dict:
    return att.MEETING_HELD.build(TENANT, HELD_AT, meeting_id=meeting_id, branch_id=BRANCH, org_path=BRANCH_PATH,
                                  meeting_type=meeting_type, date="2026-11-20", month="2026-11",
                                  attendance={"expected": 4, "present": len(present), "excused": 0, "absent": 1},
                                  present_member_ids=present)


def test_a_held_meeting_pays_each_member_present_once(applier, store):
    event = held(["m2", "m1"])
    applier.apply([event])
    entries = written(store)
    assert [(e["_id"], e["member_id"], e["category"], e["points"], e["reason"], e["day"]) for e in entries] == [
        ("mt_1:m1:meeting", "m1", "meeting", 3, "参加党课", "2026-11-20"),
        ("mt_1:m2:meeting", "m2", "meeting", 3, "参加党课", "2026-11-20")]
    assert entries[0]["source"] == {"kind": "event", "event_id": event["event_id"], "event_type": "meeting_held"}
    assert entries[0]["at"] == HELD_AT


@pytest.mark.parametrize("meeting_type, reason", [("assembly", "参加支部党员大会"), ("committee", "参加支委会"),
                                                  ("group", "参加党小组会")])
def test_the_reason_names_the_meeting_type(applier, store, meeting_type, reason):
    applier.apply([held(["m1"], meeting_type=meeting_type)])
    assert written(store)[0]["reason"] == reason


def test_a_meeting_without_members_present_or_a_tenant_paying_nothing_writes_no_entry(applier, store, rules):
    applier.apply([held([])])
    assert written(store) == []
    points.rule_for(rules, "meeting")["points"] = 0
    applier.apply([held(["m1"])])
    assert written(store) == []


def test_the_same_meeting_delivered_twice_is_the_same_candidate_ids(applier, store):
    # the store skips an id written before (ledger.new_candidates); a redelivery or a replay gives the same ids
    event = held(["m1", "m2"])
    applier.apply([event])
    applier.apply([dict(event, event_id="replayed")])
    first, second = (call[0][1] for call in store.write_entries.call_args_list)
    assert [e["_id"] for e in first] == [e["_id"] for e in second] == ["mt_1:m1:meeting", "mt_1:m2:meeting"]


def test_two_meetings_are_separate_entries_under_the_rules_caps(applier, store):
    applier.apply([held(["m1"], "mt_1"), held(["m1"], "mt_2", "committee")])
    assert [e["_id"] for e in written(store)] == ["mt_1:m1:meeting", "mt_2:m1:meeting"]
    rule = points.rule_for(points.default_rules(), "meeting")
    assert (rule["points"], rule["daily_cap"], rule["cycle_cap"]) == (3, 6, 60)
    assert points.capped(3, 6, 6, rule) == 0 and points.capped(3, 3, 58, rule) == 2


def test_members_present_are_placed_under_the_meetings_branch_if_never_placed(applier, store):
    applier.apply([held(["m1", "m2"])])
    assert_members_noted_under_the_branch(store, ["m1", "m2"])
    store.place_branches.assert_not_called()


def test_a_branch_whose_place_is_unknown_takes_the_meetings_org_path(applier, store):
    store.branch_places.return_value = {}
    applier.apply([held(["m1"])])
    session = store.write_entries.call_args[0][0]
    store.note_members.assert_called_once_with(TENANT, BRANCH, ["m1"], ancestor_fields(BRANCH_PATH), session)


def test_a_closing_alone_notes_no_meeting_members(applier, store):
    applier.apply([att.ACTIVITY_CLOSED.build(TENANT, activity_id="act_1", branch_id=BRANCH, month="2026-11",
                                             org_path=BRANCH_PATH, closed_at=HELD_AT, totals={},
                                             statuses={"m1": "present"}, chain_head="h")])
    store.note_members.assert_not_called()
    store.branch_places.assert_not_called()


def test_a_meeting_weighs_its_members_present_in_a_transaction():
    big = held([f"m{index}" for index in range(5)])
    assert [len(part) for part in transaction_parts([big, held(["m1"]), held(["m2"])], most_entries=6)] == [2, 1]


def test_a_stored_table_from_before_meetings_takes_their_default_rule():
    old = points.default_rules()
    old["rules"] = [rule for rule in old["rules"] if rule["category"] != "meeting"]
    table = points.completed(old)
    assert points.rule_for(table, "meeting") == {"category": "meeting", "points": 3, "daily_cap": 6,
                                                 "cycle_cap": 60}
    assert points.validate_rules(table) == table
    off = {**table, "rules": [{**rule, "points": 0} if rule["category"] == "meeting" else rule
                              for rule in table["rules"]]}
    assert points.completed(off) == off


def test_meeting_held_is_routed_to_the_points_consumer_and_not_to_the_score_consumer():
    rows = {(event, method) for source, event, service, method in SUBSCRIPTIONS
            if service == "scoring" and source == att.SOURCE and event == att.MEETING_HELD.name}
    assert rows == {(att.MEETING_HELD.name, "points")}
    assert (att.SOURCE, att.MEETING_HELD.name) in POINTS_SUBSCRIPTIONS
    assert "present_member_ids" in att.MEETING_HELD.fields
