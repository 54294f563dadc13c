"""The timeout sweep against the real store (the service's own sweep runs every minute on the wall clock; here
the sweep is run with a clock hours ahead): overdue reviews, claims released when not checked in, automatic
confirmation crediting hours once, two sweeps at once doing each item once."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import Conflict
from servicekit.process.clock import FixedClock
from servicekit.timestamps import stamp
from services.volunteer.usecases.sweep import Sweep
from tests.support.volunteer_orders import NEAR, Neighbourhood, order_fields, outbox_events, volunteer_store

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def town(rpc, operator_scope, volunteer_service):
    return Neighbourhood(rpc, operator_scope)


@pytest.fixture(scope="module")
def store(volunteer_service):
    return volunteer_store()


def later(**delta) -> FixedClock:
    return FixedClock(datetime.now(timezone.utc) + timedelta(**delta))


def test_an_order_not_reviewed_in_time_becomes_overdue_for_the_desk(rpc, town, store):
    order = rpc.volunteer.place_order(scope=town.citizen, **order_fields(town.community["id"]))
    Sweep(store, later(hours=23)).run()
    assert not store.order(order["order_id"]).get("overdue")
    Sweep(store, later(hours=25)).run()
    doc = store.order(order["order_id"])
    assert doc["overdue"] and "review_due_at" not in doc
    listed = rpc.volunteer.list_orders(scope=town.city.admin, org_id=town.city.root["id"], status="", category="",
                                       overdue=True, page_size=0, page_token="")
    assert order["order_id"] in [row["order_id"] for row in listed["orders"]]
    assert all(row["overdue"] for row in listed["orders"])
    reviewed = rpc.volunteer.review_order(scope=town.manager, order_id=order["order_id"], decision="approve",
                                          reason="")
    assert reviewed["overdue"] is False


def test_a_claim_not_checked_in_is_released_and_the_place_opens_again(rpc, town, store):
    order = town.open_order(needed=1)
    member, other = town.members[0], town.members[1]
    rpc.volunteer.claim_order(scope=member["scope"], order_id=order["order_id"])
    Sweep(store, later(minutes=30)).run()                     # wished start + 30 minutes is 35 minutes away
    assert store.claim(f"{order['order_id']}:{member['member']['id']}")["status"] == "claimed"
    Sweep(store, later(minutes=40)).run()
    assert store.claim(f"{order['order_id']}:{member['member']['id']}")["status"] == "released"
    doc = store.order(order["order_id"])
    assert (doc["status"], doc["places_left"], doc["claimed"], doc["pending"]) == ("open", 1, 0, 0)
    released = outbox_events(store, "claim_withdrawn", order_id=order["order_id"])
    assert [event["reason"] for event in released] == ["timeout"]
    assert rpc.volunteer.claim_order(scope=other["scope"], order_id=order["order_id"])["status"] == "claimed"
    with pytest.raises(Conflict, match="ORDER_FULL"):           # its row may be claimed again, the place is taken
        rpc.volunteer.claim_order(scope=member["scope"], order_id=order["order_id"])


def test_releasing_the_last_one_pending_completes_and_the_citizen_silence_confirms(rpc, town, store):
    order = town.open_order(needed=2)
    order_id = order["order_id"]
    served, absent = town.members[0], town.members[1]
    for member in (served, absent):
        rpc.volunteer.claim_order(scope=member["scope"], order_id=order_id)
    rpc.volunteer.check_in_service(scope=served["scope"], order_id=order_id, **NEAR)
    store.db.claims.update_one({"_id": f"{order_id}:{served['member']['id']}"}, {"$set": {
        "checked_in_at": stamp(datetime.now(timezone.utc) - timedelta(minutes=60))}})
    rpc.volunteer.check_out_service(scope=served["scope"], order_id=order_id, **NEAR)
    assert store.order(order_id)["status"] == "in_service"              # the absent one is still pending
    Sweep(store, later(minutes=40)).run()
    doc = store.order(order_id)
    assert doc["status"] == "completed" and doc["history"][-1]["actor_kind"] == "system"
    assert outbox_events(store, "order_completed", order_id=order_id)

    Sweep(store, later(hours=71)).run()
    assert store.order(order_id)["status"] == "completed"
    clock = later(hours=73)
    sweeps = [Sweep(store, clock) for _ in range(2)]
    threads = [threading.Thread(target=sweep.run) for sweep in sweeps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    doc = store.order(order_id)
    assert doc["status"] == "confirmed" and doc["history"][-1]["actor_kind"] == "system"
    entries = list(store.db.hours.find({"source_id": order_id}))
    assert [(entry["member_id"], entry["hours"]) for entry in entries] == [(served["member"]["id"], 1.0)]
    assert len(outbox_events(store, "hours_credited", source_id=order_id)) == 1
    assert len(outbox_events(store, "order_confirmed", order_id=order_id)) == 1
    Sweep(store, later(hours=80)).run()
    assert len(outbox_events(store, "hours_credited", source_id=order_id)) == 1
