"""Someone with a broker login but none of the platform's keys: a call or an event published straight onto the bus,
with a forged scope or a forged publisher, is refused and changes nothing (servicekit.security.proofs).

For every service, a write a city admin may make is sent as a forger would: unsigned, signed with the forger's own
key, with a genuine proof lifted from another call (another body, another method) or an expired one. Each is
refused with its code and every collection of every service's database keeps its count; the same call with this
process's genuine proof then succeeds, so the refusals are the proofs' doing. For every exchange that has
consumers, forged events are parked in the dead letters and never applied.
"""
from __future__ import annotations

import json
import time
import uuid

import pymongo
import pytest

from servicekit.process.config import env
from tests.support.identity import PASSWORD, login
from tests.support.proofs import acting_as
from tests.support.raw_bus import (dead_lettered, encode, forged_call_headers, forged_event_headers,
                                   genuine_call_headers, genuine_event_headers, publish_event, raw_call)

pytestmark = pytest.mark.integration

# purged in the background (the outbox once sent, revocations and login challenges once expired); peers' calls add
# nonces
SKIPPED_COLLECTIONS = {"outbox", "outbox_lease", "call_nonces", "revocations", "login_challenges"}


def _code(answer: dict) -> str | None:
    error = answer.get("error")
    if not error:
        return None
    try:
        return json.loads(error["value"])["code"]
    except (KeyError, TypeError, ValueError):
        return error.get("exc_type")


def _counts(mongo_uri: str) -> dict:
    prefix = env("DB_PREFIX") + "_"
    with pymongo.MongoClient(mongo_uri) as client:
        return {(name, collection): client[name][collection].estimated_document_count()
                for name in client.list_database_names() if name.startswith(prefix)
                for collection in client[name].list_collection_names() if collection not in SKIPPED_COLLECTIONS}


def _settled_counts(mongo_uri: str) -> dict:
    """The counts once the city's own events (tenant_created...) have been applied: equal for a second."""
    counts, deadline = _counts(mongo_uri), time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(1)
        again = _counts(mongo_uri)
        if again == counts:
            return counts
        counts = again
    return counts


def _writes(rpc, city) -> dict:
    """service -> (method, kwargs): a write the city admin may make."""
    rules = rpc.scoring.get_points_rules(scope=city.admin)
    return {
        "identity": ("create_account", dict(scope=city.admin, username=f"intruder-{uuid.uuid4().hex[:6]}",
                                            password=PASSWORD, role="org_admin", org_id=city.root["id"])),
        "attendance": ("issue_theme", dict(scope=city.admin, org_id=city.root["id"], month="2027-01",
                                           title="伪造的主题党日", due_from="2027-01-01", due_to="2027-01-31")),
        "scoring": ("set_points_rules", dict(scope=city.admin, rules={**rules, "threshold": 20})),
        "content": ("create_column", dict(scope=city.admin, org_id=city.root["id"], name="伪造栏目")),
        "volunteer": ("update_volunteer_settings", dict(scope=city.admin, review_hours=36)),
    }


def _forgeries(service: str, method: str, kwargs: dict, lifted_scope: dict) -> list[tuple[str, bytes, dict, str]]:
    key = f"{service}.{method}"
    body = encode(kwargs)
    other_body = encode({**kwargs, "scope": lifted_scope})
    other_key = f"{service}.no_such_method"
    return [
        ("unsigned", body, {}, "CALL_UNSIGNED"),
        ("the forger's own key", body, forged_call_headers(key, body), "CALL_PROOF_INVALID"),
        ("a proof lifted from another body", body, genuine_call_headers(key, other_body), "CALL_PROOF_INVALID"),
        ("a proof lifted from another method", body, genuine_call_headers(other_key, body), "CALL_PROOF_INVALID"),
        ("an expired proof", body, genuine_call_headers(key, body, now=time.time() - 600), "CALL_PROOF_EXPIRED"),
        ("a genuine proof with another nonce", body, {**genuine_call_headers(key, body), "pb-nonce": uuid.uuid4().hex},
         "CALL_PROOF_INVALID"),
        ("a proof naming an unknown principal", body, forged_call_headers(key, body, principal="mallory"),
         "CALL_PROOF_INVALID"),
    ]


@pytest.mark.parametrize("service", ["identity", "attendance", "scoring", "content", "volunteer"])
def test_a_forged_call_is_refused_and_changes_nothing(service, rpc, bus_uri, mongo_uri, city, attendance_service,
                                                       scoring_service, content_service, volunteer_service):
    method, kwargs = _writes(rpc, city)[service]
    before = _settled_counts(mongo_uri)
    for name, body, headers, code in _forgeries(service, method, kwargs, city.county_admins[0]):
        answer = raw_call(bus_uri, service, method, body, headers)
        assert _code(answer) == code, (name, answer)
        assert answer.get("result") is None, name
    assert _settled_counts(mongo_uri) == before
    genuine = encode(kwargs)                           # the same call, proven: it runs
    answer = raw_call(bus_uri, service, method, genuine, genuine_call_headers(f"{service}.{method}", genuine))
    assert answer.get("error") is None, answer
    if service == "identity":                          # and the account it made is real
        assert "org_admin" in {grant["role"] for grant in login(rpc, city.code, kwargs["username"])["roles"]}


def test_an_operation_for_peers_refuses_the_gateways_proof(rpc, bus_uri, city, attendance_service):
    for service, method, kwargs, peer in (
            ("identity", "branch_rosters", {"tenant_id": city.tenant_id, "branch_ids": [city.branches[0][0]["id"]]},
             "attendance"),
            ("attendance", "run_sweeps", {}, "attendance")):
        body = encode(kwargs)
        answer = raw_call(bus_uri, service, method, body, genuine_call_headers(f"{service}.{method}", body))
        assert _code(answer) == "CALLER_NOT_ALLOWED", (method, answer)
        with acting_as(peer):
            answer = raw_call(bus_uri, service, method, body, genuine_call_headers(f"{service}.{method}", body))
        assert answer.get("error") is None, (method, answer)


# (exchange owner, event type, consuming service): one consumed event type of every publishing service
CONSUMED = [("attendance", "upload_added", "scoring"), ("identity", "member_status_changed", "content"),
            ("content", "item_studied", "scoring"), ("volunteer", "hours_credited", "scoring")]


@pytest.mark.parametrize("source,event_type,consumer", CONSUMED)
def test_a_forged_event_is_parked_and_never_applied(source, event_type, consumer, bus_uri, mongo_uri, city,
                                                    scoring_service, content_service):
    exchange = f"{source}.events"
    peer = "scoring" if source != "scoring" else "content"
    for name in ("unsigned", "the forger's key naming the owner", "a peer's genuine key"):
        event_id = f"forged{uuid.uuid4().hex}"
        body = json.dumps({"event_id": event_id, "event_type": event_type, "occurred_at": "2026-12-06T08:00:00Z",
                           "schema_version": 1, "tenant_id": city.tenant_id}).encode()
        if name == "unsigned":
            headers = {}
        elif name == "the forger's key naming the owner":
            headers = forged_event_headers(exchange, body, source)
        else:
            with acting_as(peer):
                headers = genuine_event_headers(exchange, body)
        publish_event(bus_uri, exchange, event_type, body, headers)
        assert dead_lettered(bus_uri, event_id), f"{name}: {event_type} was not refused by {consumer}"
        with pymongo.MongoClient(mongo_uri) as client:
            prefix = env("DB_PREFIX") + "_"
            for database in client.list_database_names():
                if database.startswith(prefix):
                    assert client[database].processed_events.count_documents(
                        {"_id": {"$regex": event_id}}) == 0, (name, database)
