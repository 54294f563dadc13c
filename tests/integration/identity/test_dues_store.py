"""Party dues on the real store: a payment commits with its months, totals on every level and its event; a month
or a bank transaction stored already refuses the whole write; a standard's change moves the totals of the member's
path as its write reads it; the arrears sweep flags a member once per streak."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

import pytest

from servicekit.errors import Conflict
from servicekit.process.clock import FixedClock
from servicekit.storage.mongo import open_store
from services.identity.store import IdentityStore, ancestor_fields
from services.identity.usecases.dues import Dues

pytestmark = pytest.mark.integration

PATH = ["org_city", "org_county", "org_branch"]
MEMBER = {"_id": "mem_1", "tenant_id": "ten_1", "branch_id": "org_branch", "name": "张三", "status": "full",
          **ancestor_fields(PATH)}


@pytest.fixture
def store(mongo_uri):
    store = open_store(IdentityStore, f"dues{secrets.token_hex(4)}", mongo_uri)
    store.db.members.insert_one(MEMBER)
    yield store
    store.client.drop_database(store.db.name)


def payment(payment_id: str, months: list[str], txn: str = "", member: dict = MEMBER) -> dict:
    return {"_id": payment_id, "tenant_id": "ten_1", "member_id": member["_id"], "member_name": member["name"],
            "branch_id": member["branch_id"], **ancestor_fields(PATH), "receipt_no": f"DF-{payment_id}",
            "txn_key": f"ten_1:{txn}" if txn else f"own:{payment_id}", "months": months,
            "month_amounts": dict.fromkeys(months, 20), "amount_fen": 20 * len(months), "paid_on": "2026-12-01",
            "method": "cash", "source": "branch", "recorded_by": "acc_1", "recorded_at": "2026-12-06T08:00:00.000Z"}


def event(payment_id: str) -> dict:
    return {"event_id": secrets.token_hex(8), "event_type": "dues_paid", "tenant_id": "ten_1",
            "occurred_at": "2026-12-06T08:00:00.000Z", "payment_id": payment_id}


def with_standard(store) -> None:
    assert store.set_dues_standard(MEMBER, [{"from": "2026-01", "amount_fen": 20}], None, 20, 20, "now")


def outbox(store) -> list[str]:
    return [str(doc) for doc in store.db.outbox.find()]


def test_a_payment_moves_the_totals_of_every_level_with_its_event(store):
    with_standard(store)
    store.record_dues_payments([payment("pay_1", ["2026-11", "2026-12"])], [event("pay_1")])
    totals = store.dues_totals_of(PATH, ["2026-11", "standard"])
    assert {org: (totals[(org, "2026-11")]["paid_fen"], totals[(org, "2026-11")]["member_months"]) for org in PATH} \
        == dict.fromkeys(PATH, (20, 1))
    assert totals[("org_city", "standard")]["due_fen"] == 20 and totals[("org_city", "standard")]["members"] == 1
    assert store.db.dues_totals.find_one({"_id": "org_branch:2026-11"})["parent_id"] == "org_county"
    assert sorted(store.dues_account("mem_1")["paid"]) == ["2026-11", "2026-12"]
    assert len(outbox(store)) == 1 and "pay_1" in outbox(store)[0]


def test_a_month_paid_already_refuses_the_whole_write(store):
    with_standard(store)
    store.record_dues_payments([payment("pay_1", ["2026-11"])], [event("pay_1")])
    with pytest.raises(Conflict) as refused:
        store.record_dues_payments([payment("pay_2", ["2026-10"]), payment("pay_3", ["2026-12", "2026-11"])],
                                   [event("pay_2"), event("pay_3")])
    assert refused.value.code == "DUES_ALREADY_PAID"
    assert store.db.dues_payments.count_documents({}) == 1
    assert store.dues_account("mem_1")["paid"] == ["2026-11"]
    assert store.dues_totals_of(["org_city"], ["2026-10", "2026-12"]) == {}
    assert len(outbox(store)) == 1


def test_a_bank_transaction_is_stored_once(store):
    with_standard(store)
    store.record_dues_payments([payment("pay_1", ["2026-11"], txn="TX1")], [event("pay_1")])
    with pytest.raises(Conflict):
        store.record_dues_payments([payment("pay_2", ["2026-12"], txn="TX1")], [event("pay_2")])
    assert store.known_txn_keys(["ten_1:TX1", "ten_1:TX2"]) == {"ten_1:TX1"}
    assert store.dues_payment_by_txn("ten_1:TX1")["_id"] == "pay_1"


def test_a_standard_changed_meanwhile_is_not_overwritten(store):
    with_standard(store)
    assert not store.set_dues_standard(MEMBER, [{"from": "2026-01", "amount_fen": 50}], 7, 50, 30, "now")
    account = store.dues_account("mem_1")
    assert account["history"][0]["amount_fen"] == 20 and account["version"] == 1
    assert store.dues_totals_of(["org_city"], ["standard"])[("org_city", "standard")]["due_fen"] == 20


def standards(store, org_ids: list[str]) -> dict[str, tuple]:
    totals = store.dues_totals_of(org_ids, ["standard"])
    return {org: (totals[(org, "standard")]["due_fen"], totals[(org, "standard")]["members"])
            if (org, "standard") in totals else (0, 0) for org in org_ids}


def test_a_standard_moves_the_totals_of_the_path_its_write_reads(store):
    with_standard(store)
    # the branch moved under another county since the member was read (as move_org does, standards total too)
    moved = ["org_city", "org_county2", "org_branch"]
    store.db.members.update_one({"_id": "mem_1"}, {"$set": ancestor_fields(moved)})
    store.db.dues_totals.update_one({"_id": "org_county:standard"}, {"$inc": {"due_fen": -20, "members": -1}})
    store.db.dues_totals.insert_one({"_id": "org_county2:standard", "org_id": "org_county2", "tenant_id": "ten_1",
                                     "month": "standard", "parent_id": "org_city", "due_fen": 20, "members": 1})
    assert store.set_dues_standard(MEMBER, [{"from": "2026-01", "amount_fen": 50}], 1, 50, 30, "now")
    assert standards(store, [*PATH, "org_county2"]) == {"org_city": (50, 1), "org_county": (0, 0),
                                                        "org_branch": (50, 1), "org_county2": (50, 1)}


@pytest.mark.parametrize("elsewhere", [{"branch_id": "org_branch2", **ancestor_fields(["org_city", "org_branch2"])},
                                       None], ids=["transferred", "removed"])
def test_a_member_transferred_or_removed_since_it_was_read_gets_no_standard(store, elsewhere):
    if elsewhere:
        store.db.members.update_one({"_id": "mem_1"}, {"$set": elsewhere})
    else:
        store.db.members.delete_one({"_id": "mem_1"})
    assert not store.set_dues_standard(MEMBER, [{"from": "2026-01", "amount_fen": 20}], None, 20, 20, "now")
    assert store.dues_account("mem_1") is None and store.db.dues_totals.count_documents({}) == 0


def test_the_sweep_flags_six_unpaid_months_once_per_streak(store):
    store.set_dues_standard(MEMBER, [{"from": "2026-05", "amount_fen": 20}], None, 20, 20, "now")
    store.record_dues_payments([payment("pay_1", ["2026-05"])], [])
    clock = FixedClock(datetime(2026, 11, 20, 4, tzinfo=timezone.utc))     # June to October: five months
    sweep = Dues(store, clock, cipher=None)
    assert sweep.flag_arrears() == 0
    clock.moment = datetime(2026, 12, 6, 4, tzinfo=timezone.utc)           # June to November: six
    assert sweep.flag_arrears() == 1
    assert sweep.flag_arrears() == 0                                        # the same streak: once
    account = store.dues_account("mem_1")
    assert account["flag"]["streak_from"] == "2026-06" and account["flag"]["months"] == 6
    flagged = [doc for doc in outbox(store) if "arrears_flagged" in doc]
    assert len(flagged) == 1 and "2026-11" in flagged[0]
    assert store.flag_arrears("mem_1", "", {"streak_from": "2026-06"}, []) is False    # a late second sweep
