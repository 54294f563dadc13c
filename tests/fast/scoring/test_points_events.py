"""The points consumer's batches with a fake points store: which events earn which entries, what is learned of
tenants, branches and members, and which events cost no transaction at all."""
from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from servicekit.process.clock import FixedClock
from servicekit.storage.subtree import ancestor_fields
from services.attendance import events as att
from services.identity import events as identity_events
from services.scoring.domain.points import default_rules
from services.scoring.points_store import PointsStore
from services.scoring.usecases.points_events import PointsApplier, transaction_parts
from tests.fast.scoring.fakes import BRANCH, BRANCH_PATH, NOW, NOW_STAMP, TENANT

CLOSED_AT = "2026-11-20T04:00:00.000Z"


@pytest.fixture
def store() -> MagicMock:
    store = MagicMock(spec=PointsStore)
    store.rules_of.side_effect = lambda tenant_id, known=None: default_rules()
    store.branch_places.return_value = {BRANCH: ancestor_fields(BRANCH_PATH)}
    return store


@pytest.fixture
def applier(store) -> PointsApplier:
    return PointsApplier(store, clock=FixedClock(NOW))


def closing(statuses: dict) -> dict:
    return att.ACTIVITY_CLOSED.build(TENANT, activity_id="act_1", branch_id=BRANCH, month="2026-11",
                                     org_path=BRANCH_PATH, closed_at=CLOSED_AT, totals={}, statuses=statuses,
                                     chain_head="h")


def sign_out(member_id: str, backfilled: bool) -> dict:
    return att.CHECKOUT_RECORDED.build(TENANT, activity_id="act_1", branch_id=BRANCH, member_id=member_id,
                                       record_id="r", at=CLOSED_AT, distance_m=1.0, flags=[], seq=1, hash="x",
                                       backfilled=backfilled)


def written(store: MagicMock) -> list[dict]:
    [(session, candidates, rules_by_tenant), kwargs] = store.write_entries.call_args
    assert kwargs == {"at": NOW_STAMP}
    return candidates


def test_a_closing_credits_the_present_and_deducts_the_absent(applier, store):
    applier.apply([closing({"m1": "present", "m2": "absent", "m3": "incomplete", "m4": "excused"})])
    entries = {entry["_id"]: entry for entry in written(store)}
    assert set(entries) == {"act_1:m1:attendance", "act_1:m2:absence"}
    assert (entries["act_1:m1:attendance"]["points"], entries["act_1:m2:absence"]["points"]) == (5, -5)
    assert entries["act_1:m1:attendance"]["at"] == CLOSED_AT and entries["act_1:m1:attendance"]["day"] == "2026-11-20"
    session = store.write_entries.call_args[0][0]
    store.place_branches.assert_called_once_with({BRANCH: ancestor_fields(BRANCH_PATH)}, session)


def test_a_sign_out_earns_nothing_on_its_own_unless_back_filled_after_the_closing(applier, store):
    applier.apply([sign_out("m1", backfilled=False)])
    store.transaction.assert_not_called()
    store.write_entries.assert_not_called()
    applier.apply([sign_out("m1", backfilled=True)])
    [entry] = written(store)
    assert entry["_id"] == "act_1:m1:attendance" and entry["source"]["event_type"] == "checkout_recorded"


def test_a_roster_places_its_members_under_their_branch_and_a_new_tenant_its_root(applier, store):
    roster = att.ROSTER_FROZEN.build(TENANT, activity_id="act_1", branch_id=BRANCH, month="2026-11", roster_size=2,
                                     on_site_expected=2, mobile_count=0, member_ids=["m1", "m2"], mobile_member_ids=[])
    tenant = identity_events.TENANT_CREATED.build(TENANT, code="city", name="市", root_org_id="org_city")
    applier.apply([roster, tenant])
    session = store.write_entries.call_args[0][0]
    store.branch_places.assert_called_once_with({BRANCH}, session)
    store.place_members.assert_called_once_with(TENANT, BRANCH, ["m1", "m2"], ancestor_fields(BRANCH_PATH), session)
    store.set_tenant_root.assert_called_once_with(TENANT, "org_city", session)
    assert written(store) == []


def test_a_batch_reads_its_tenants_rules_into_the_table_it_hands_to_the_ledger_write(applier, store):
    applier.apply([closing({"m1": "present"}), closing({"m2": "absent"})])
    known = store.write_entries.call_args[0][2]
    assert store.rules_of.call_args_list and all(call.args == (TENANT, known) and call.args[1] is known
                                                 for call in store.rules_of.call_args_list)


def test_large_closings_are_cut_into_parts_but_never_one_event():
    events = [closing({f"m{n}": "present" for n in range(size)}) for size in (3, 3, 7, 1)]
    assert [len(part) for part in transaction_parts(events, most_entries=6)] == [2, 1, 1]
