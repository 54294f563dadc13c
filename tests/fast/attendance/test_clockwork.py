"""The clockwork through the service: the one-second timer sweeps (and survives a failing sweep); a sweep freezes due rosters and closes due activities through the
store."""
from __future__ import annotations

import pytest

from servicekit.timestamps import stamp
from tests.fast.attendance.fakes import NOW, activity


def test_each_tick_sweeps_and_survives_a_failing_sweep(service, store, desk):
    calls = []

    def due(kind, now):
        calls.append(f"due {kind}")
        raise RuntimeError("store unavailable")
    desk.schedule.due.side_effect = due
    service.tick()
    service.tick()
    assert calls == ["due freeze", "due freeze"]


def test_a_sweep_freezes_the_approved_rosters_and_warms_their_chains(service, store, identity, desk):
    desk.schedule.due.side_effect = lambda kind, now: ["act_b1_2026-11", "act_b2_2026-11"] if kind == "freeze" else []
    store.activities_by_ids.return_value = {
        "act_b1_2026-11": activity("approved"),
        "act_b2_2026-11": activity("approved", frozen=True, _id="act_b2_2026-11", branch_id="b2")}
    identity.branch_rosters.return_value = {"b1": [{"member_id": "m1", "name": "张三", "mobile": False},
                                                   {"member_id": "m2", "name": "李四", "mobile": True}]}
    store.freeze_rosters.return_value = ["act_b1_2026-11"]
    assert service.run_sweeps() == {"frozen": 1, "closed": 0}
    desk.schedule.mark_changed.assert_called_once_with()
    identity.branch_rosters.assert_called_once_with(tenant_id="t1", branch_ids=["b1"])
    rosters, frozen_at, due_ids = store.freeze_rosters.call_args.args
    [(activity_id, roster, event)] = rosters           # the one already frozen is not frozen again
    assert activity_id == "act_b1_2026-11" and roster["m2"] == {"name": "李四", "mobile": True}
    assert event["mobile_member_ids"] == ["m2"] and event["on_site_expected"] == 1 and frozen_at == stamp(NOW)
    assert due_ids == ["act_b1_2026-11", "act_b2_2026-11"]
    desk.schedule.done.assert_called_once_with("freeze", due_ids)
    desk.chain.warm.assert_called_once_with(["act_b1_2026-11"])


def test_a_sweep_closes_the_approved_activities_with_their_results_and_sealed_heads(service, store, desk):
    desk.schedule.due.side_effect = lambda kind, now: ["act_b1_2026-11"] if kind == "close" else []
    store.activities_by_ids.return_value = {"act_b1_2026-11": activity("approved", frozen=True)}
    store.records_by_ids.return_value = {"act_b1_2026-11:in:m1": {"activity_id": "act_b1_2026-11",
                                                                  "member_id": "m1", "kind": "checkin"}}
    desk.chain.stored_heads.return_value = {"act_b1_2026-11": (3, "h3")}
    store.close_activities.return_value = ["act_b1_2026-11"]
    assert service.run_sweeps() == {"frozen": 0, "closed": 1}
    [(activity_id, result, event)], closed_at, due_ids = store.close_activities.call_args.args
    assert result["statuses"] == {"m1": "incomplete", "m2": "mobile"} and result["chain_head"] == {"seq": 3,
                                                                                                 "hash": "h3"}
    assert event["event_type"] == "activity_closed" and event["closed_at"] == closed_at == stamp(NOW)
    desk.chain.lock.__enter__.assert_called_once()


@pytest.mark.parametrize("status", ["planning", "submitted", "closed"])
def test_only_approved_activities_are_frozen_or_closed(service, store, desk, status):
    desk.schedule.due.return_value = ["act_b1_2026-11"]
    store.activities_by_ids.return_value = {"act_b1_2026-11": activity(status)}
    store.freeze_rosters.return_value = store.close_activities.return_value = []
    service.run_sweeps()
    assert store.freeze_rosters.call_args.args[0] == [] and store.close_activities.call_args.args[0] == []

