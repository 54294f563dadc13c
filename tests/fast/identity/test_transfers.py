"""Transfers on a fake store: deadlines from the clock, the receiving side only decides, a transfer decided
meanwhile is refused."""
from __future__ import annotations

from datetime import timedelta

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from servicekit.timestamps import stamp
from services.identity.store import ancestor_fields
from tests.fast.identity.fakes import BRANCH, CITY_ADMIN, NOW, NOW_STAMP, OTHER_BRANCH, TENANT, scope, writes_of

MEMBER = {"_id": "mem_1", "tenant_id": TENANT, "branch_id": BRANCH["_id"], "name": "张三",
          **ancestor_fields(["org_city", "org_county", "org_branch"])}
PENDING = {"_id": "trf_1", "tenant_id": TENANT, "member_id": "mem_1", "member_name": "张三",
           "from_branch_id": BRANCH["_id"], "from_branch_name": "一支部",
           "from_path_ids": ["org_city", "org_county", "org_branch"], "to_branch_id": OTHER_BRANCH["_id"],
           "to_branch_name": "二支部", "to_path_ids": ["org_city", "org_county", "org_branch2"], "state": "pending",
           "reason": "", "requested_at": NOW_STAMP, "requested_by": "acc_x", "due_at": stamp(NOW + timedelta(days=30))}
SENDING_SECRETARY = scope("branch_secretary", BRANCH["_id"])
RECEIVING_SECRETARY = scope("branch_secretary", OTHER_BRANCH["_id"])


def test_a_request_is_due_the_tenants_deadline_after_the_clocks_now(service, store):
    store.member.return_value = MEMBER
    store.tenant.return_value = {"_id": TENANT, "settings": {"transfer_deadline_days": 30}}
    view = service.request_transfer(SENDING_SECRETARY, member_id="mem_1", to_branch_id=OTHER_BRANCH["_id"])
    transfer, events = store.request_transfer.call_args.args
    assert (transfer["requested_at"], transfer["due_at"]) == (NOW_STAMP, stamp(NOW + timedelta(days=30)))
    assert transfer["to_path_ids"] == ["org_city", "org_county", "org_branch2"]
    assert events[0]["event_type"] == "transfer_requested" and view["overdue"] is False


def test_a_transfer_to_the_same_branch_is_refused(service, store):
    store.member.return_value = MEMBER
    with pytest.raises(InvalidArgument) as refused:
        service.request_transfer(SENDING_SECRETARY, member_id="mem_1", to_branch_id=BRANCH["_id"])
    assert refused.value.code == "SAME_BRANCH"
    assert writes_of(store) == []


def test_a_branch_of_another_tenant_is_not_a_destination(service, store):
    store.member.return_value = MEMBER
    with pytest.raises(NotFound) as refused:
        service.request_transfer(CITY_ADMIN, member_id="mem_1", to_branch_id="org_foreign")
    assert refused.value.code == "BRANCH_NOT_FOUND"
    assert writes_of(store) == []


def test_the_sending_side_may_not_accept(service, store):
    store.transfer.return_value = PENDING
    with pytest.raises(PermissionDenied) as refused:
        service.accept_transfer(SENDING_SECRETARY, transfer_id="trf_1")
    assert refused.value.code == "NOT_RECEIVING_SIDE"
    assert writes_of(store) == []


def test_a_transfer_outside_the_callers_subtrees_is_not_found(service, store):
    store.transfer.return_value = PENDING
    with pytest.raises(NotFound):
        service.reject_transfer(scope("branch_secretary", "org_elsewhere"), transfer_id="trf_1", reason="不符")
    assert writes_of(store) == []


def test_accepting_moves_the_member_to_the_receiving_branchs_path(service, store):
    store.transfer.return_value = PENDING
    store.accept_transfer.return_value = True
    service.accept_transfer(RECEIVING_SECRETARY, transfer_id="trf_1")
    transfer, decision, branch_path, now, events = store.accept_transfer.call_args.args
    assert decision == {"state": "accepted", "decided_at": NOW_STAMP, "decided_by": "acc_branch_secretary"}
    assert (branch_path, now) == (["org_city", "org_county", "org_branch2"], NOW_STAMP)
    assert (events[0]["event_type"], events[0]["path_ids"]) == ("member_transferred", branch_path)


@pytest.mark.parametrize("decide", ["accept", "reject"])
def test_a_transfer_decided_meanwhile_is_refused(service, store, decide):
    store.transfer.return_value = PENDING
    store.accept_transfer.return_value = store.reject_transfer.return_value = False
    with pytest.raises(Conflict) as refused:
        if decide == "accept":
            service.accept_transfer(RECEIVING_SECRETARY, transfer_id="trf_1")
        else:
            service.reject_transfer(RECEIVING_SECRETARY, transfer_id="trf_1", reason="不符合条件")
    assert refused.value.code == "TRANSFER_DECIDED"


def test_overdue_means_pending_past_the_clocks_now(service, store):
    store.transfers.return_value = []
    service.list_transfers(CITY_ADMIN, org_id="org_city", side="incoming", state="overdue")
    query = store.transfers.call_args.args[0]
    assert query == {"tenant_id": TENANT, "to_path_ids": "org_city", "state": "pending", "due_at": {"$lt": NOW_STAMP}}
