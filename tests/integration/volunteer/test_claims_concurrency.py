"""No over-claim, ever: many claims at once on the same orders, from threads on the store itself and through two
instances of the volunteer service sharing one queue (nameko's competing consumers) on the real broker and
store. Never more claims than places, never a member twice on an order, every refusal told why."""
from __future__ import annotations

import threading
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from kombu import Connection
from nameko.standalone.rpc import ClusterRpcProxy

from deploy.local.up import http_ok

from servicekit.errors import Conflict
from servicekit.process.config import nameko_config
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import stamp
from services.volunteer import events as published
from tests.support.processes import free_port
from tests.support.service_fixtures import service_process
from tests.support.volunteer_orders import Neighbourhood, iso_in, volunteer_store

pytestmark = pytest.mark.integration
REFUSALS = {"ORDER_FULL", "ALREADY_CLAIMED"}


@pytest.fixture(scope="module")
def store(volunteer_service):
    return volunteer_store()


@pytest.fixture(scope="module")
def second_instance(bus_uri, mongo_uri, tmp_path_factory, rpc, volunteer_service):
    """Another process of VolunteerService on the same vhost and store, ready once both consume the RPC queue."""
    port = free_port()

    def answers():
        if not http_ok(f"http://127.0.0.1:{port}/metrics"):
            return False
        with Connection(bus_uri) as connection:
            _name, _messages, consumers = connection.default_channel.queue_declare(queue="rpc-volunteer",
                                                                                   passive=True)
        return consumers >= 2
    yield from service_process("volunteer", "VolunteerService", {"AMQP_URI": bus_uri, "MONGO_URI": mongo_uri,
                                                                  "METRICS_PORT": str(port)},
                               tmp_path_factory.mktemp("volunteer-2-logs"), answers)


# --- the store's conditional write, from plain threads -------------------------------------------------------------
def open_order_doc(places: int) -> dict:
    order_id = f"ord_{uuid.uuid4().hex}"
    return {"_id": order_id, "tenant_id": "ten_threads", "community_id": "org_c", **ancestor_fields(["org_r", "org_c"]),
            "category": "health", "category_label": "健康服务", "description": "并发测试", "address": "x", "lat": 34.0,
            "lng": 108.0, "wished_start": iso_in(60), "wished_end": iso_in(120), "contact_name": "x",
            "contact_phone": "13900000000", "phone_last4": "0000", "status": "open", "placed_at": stamp(),
            "history": [], "mode": "claim", "team_id": "", "volunteers_needed": places, "claimed": 0,
            "places_left": places, "pending": 0, "photo_ids": []}


def claim_row(order: dict, member_id: str) -> dict:
    return {"_id": f"{order['_id']}:{member_id}", "tenant_id": order["tenant_id"], "order_id": order["_id"],
            "community_id": "org_c", "member_id": member_id, "name": member_id, "branch_id": "org_b",
            "branch_path": ["org_r", "org_b"], "status": "claimed", "claimed_at": stamp(), "release_at": iso_in(90),
            "checked_in_at": None, "checked_out_at": None, "hours": 0.0}


def claim_event(order: dict, member_id: str) -> dict:
    return published.ORDER_CLAIMED.build(order["tenant_id"], None, order_id=order["_id"],
                                         claim_id=f"{order['_id']}:{member_id}", community_id="org_c",
                                         member_id=member_id, branch_id="org_b", claimed_at=stamp())


def race_on_store(store, order: dict, member_ids: list[str], threads: int = 24) -> Counter:
    """Every member tries twice at once; the outcomes by code ("OK" for a claim taken)."""
    start = threading.Barrier(threads)

    def attempt(member_id: str) -> str:
        try:
            store.take_place(claim_row(order, member_id), [claim_event(order, member_id)])
            return "OK"
        except Conflict as refused:
            return refused.code

    def worker(batch: list[str]) -> list[str]:
        start.wait()
        return [attempt(member_id) for member_id in batch]
    attempts = [member_id for member_id in member_ids for _ in range(2)]
    batches = [attempts[index::threads] for index in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        return Counter(code for codes in pool.map(worker, batches) for code in codes)


def assert_consistent(store, order_id: str, places: int) -> list[dict]:
    holding = [row for row in store.db.claims.find({"order_id": order_id})
               if row["status"] in ("claimed", "checked_in", "checked_out")]
    members = [row["member_id"] for row in holding]
    assert len(members) == len(set(members)), "a member twice on one order"
    assert len(holding) <= places, "more claims than places"
    order = store.order(order_id)
    assert order["claimed"] == len(holding) and order["places_left"] == places - len(holding)
    assert order["pending"] == len([row for row in holding if row["status"] != "checked_out"])
    return holding


@pytest.mark.parametrize("places", [1, 3, 5])
def test_threads_racing_on_the_store_never_over_claim(store, places):
    order = open_order_doc(places)
    store.db.orders.insert_one(order)
    outcomes = race_on_store(store, order, [f"m_{n}" for n in range(30)])
    assert outcomes["OK"] == places
    assert set(outcomes) - {"OK"} <= REFUSALS and sum(outcomes.values()) == 60
    holding = assert_consistent(store, order["_id"], places)
    assert len(holding) == places
    events = store.db.outbox.count_documents({"routing_key": "order_claimed", "payload.order_id": order["_id"]})
    assert events == places                       # a refused claim stored no event either


def test_a_withdrawn_place_is_taken_once_and_a_withdrawn_member_reclaims_its_own_row(store):
    order = open_order_doc(2)
    store.db.orders.insert_one(order)
    assert race_on_store(store, order, [f"m_{n}" for n in range(10)])["OK"] == 2
    first = next(row for row in store.db.claims.find({"order_id": order["_id"], "status": "claimed"}))
    store.change_claim(first["_id"], "withdraw", {"status": "withdrawn", "withdrawn_at": stamp()},
                       {"places_left": 1, "claimed": -1, "pending": -1}, None, [])
    outcomes = race_on_store(store, order, [first["member_id"], *[f"m_late_{n}" for n in range(10)]])
    assert outcomes["OK"] == 1
    holding = assert_consistent(store, order["_id"], 2)
    assert len(holding) == 2
    assert store.db.claims.count_documents({"_id": first["_id"]}) == 1      # one row per pair, ever


# --- two service instances -----------------------------------------------------------------------------------------
def served_claims(metrics_port: int) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("service_rpc_seconds_count") and 'operation="claim_order"' in line)


def test_two_instances_under_concurrent_claims_never_over_claim(rpc, operator_scope, bus_uri, store,
                                                                volunteer_service, second_instance):
    town = Neighbourhood(rpc, operator_scope)
    template = town.members[0]["scope"]
    members = []
    for _ in range(16):
        member = town.city.add_member(town.branch, f"党员{uuid.uuid4().hex[:4]}")
        scope = {**template, "account_id": f"acc_{member['id']}", "member_id": member["id"]}
        rpc.volunteer.report_to_community(scope=scope, community_id=town.community["id"], reported_on="")
        members.append(scope)
    places = [1, 2, 3, 4]
    orders = [town.open_order(needed=needed)["order_id"] for needed in places]
    before = [served_claims(volunteer_service.metrics_port), served_claims(second_instance.metrics_port)]
    attempts = [(order_id, scope) for order_id in orders for scope in members for _ in range(2)]
    threads = 6
    start = threading.Barrier(threads)

    def worker(batch):
        with ClusterRpcProxy({**nameko_config(), "AMQP_URI": bus_uri}, timeout=120) as proxy:
            start.wait()
            pending = [(order_id, scope["member_id"], proxy.volunteer.claim_order.call_async(
                scope=scope, order_id=order_id)) for order_id, scope in batch]
            outcomes = []
            for order_id, member_id, reply in pending:
                try:
                    reply.result()
                    outcomes.append((order_id, member_id, "OK"))
                except Conflict as refused:
                    outcomes.append((order_id, member_id, refused.code))
            return outcomes
    with ThreadPoolExecutor(threads) as pool:
        outcomes = [row for rows in pool.map(worker, [attempts[i::threads] for i in range(threads)]) for row in rows]

    assert len(outcomes) == len(attempts)
    assert {code for _, _, code in outcomes} <= REFUSALS | {"OK"}
    for order_id, needed in zip(orders, places):
        accepted = [member_id for oid, member_id, code in outcomes if oid == order_id and code == "OK"]
        assert len(accepted) == needed and len(set(accepted)) == needed
        holding = assert_consistent(store, order_id, needed)
        assert sorted(row["member_id"] for row in holding) == sorted(accepted)
        view = rpc.volunteer.get_order(scope=town.manager, order_id=order_id)
        assert view["claimed"] == needed and view["places_left"] == 0
    after = [served_claims(volunteer_service.metrics_port), served_claims(second_instance.metrics_port)]
    served = [late - early for late, early in zip(after, before)]
    assert sum(served) == len(attempts) and min(served) > 0, f"claims served per instance: {served}"
