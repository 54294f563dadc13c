"""Two attendance processes on one broker and one store, as ``bench.themed_day --instances 2`` and a Deployment's
replicas run them: the broker hands each call to either. The same scans sent to both are stored once, each
answered as the one stored record; scans of one activity spread over both are chained without a fork, a gap or
a refused batch (each write asks the store whether another instance appended meanwhile and chains after it), and
the events carry the stored positions; a sign-out is counted by the instance that did not store its sign-in."""
from __future__ import annotations

import json
import time
import urllib.request
from collections import defaultdict

import pymongo
import pytest

from deploy.local.up import http_ok
from servicekit.process.config import database_name
from tests.support.attendance import ThemedDay
from tests.support.builds import ATTENDANCE_TEST_BUILD, TEST_BUILD_ENV
from tests.support.processes import free_port
from tests.support.service_fixtures import service_process

pytestmark = pytest.mark.integration

MEMBERS = 40


@pytest.fixture(scope="module")
def two_instances(attendance_service, bus_uri, mongo_uri, tmp_path_factory):
    """The session's attendance process and a second one on the same queue and databases; their metrics ports."""
    port = free_port()
    second = service_process("attendance", "AttendanceService",
                             {"AMQP_URI": bus_uri, "MONGO_URI": mongo_uri, "METRICS_PORT": str(port), **TEST_BUILD_ENV},
                             tmp_path_factory.mktemp("attendance-2-logs"),
                             lambda: http_ok(f"http://127.0.0.1:{port}/readyz"), target=ATTENDANCE_TEST_BUILD)
    next(second)
    try:
        yield [attendance_service.metrics_port, port]
    finally:
        second.close()


@pytest.fixture
def day(rpc, city, two_instances):
    themed = ThemedDay(rpc, city)
    themed.extra = [city.add_member(themed.branch, f"党员{index}") for index in range(3, MEMBERS)]
    themed.prepared()
    return themed


def batch_calls(ports: list[int]) -> list[float]:
    """How many ``record_scans`` calls each instance has answered."""
    counts = []
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics?name[]=service_rpc_seconds_count",
                                    timeout=5) as response:
            text = response.read().decode()
        counts.append(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                          if line.startswith("service_rpc_seconds_count{") and '"record_scans"' in line))
    return counts


def member_ids(day) -> list[str]:
    return [member["id"] for member in (*day.members, *day.extra)]


def items(day, members: list[str], direction: str) -> list[dict]:
    token = day.token(direction)
    return [{"scope": {"account_id": f"acc-{member}", "tenant_id": day.city.tenant_id, "member_id": member,
                       "roles": [{"role": "member", "org_id": day.branch["id"]}]},
             "token": token, "fix": day.fix(device_id=f"phone-{member}")} for member in members]


def send_together(rpc, batches: list[list[dict]]) -> list[list[dict]]:
    """Every batch at once (the broker spreads the calls over the instances); the answers of each, collected on
    this thread (the proxy's replies are not to be waited for from several threads)."""
    started = [rpc.attendance.record_scans.call_async(items=batch) for batch in batches]
    return [reply.result() for reply in started]


def at(day, field: str, minutes: float) -> None:
    day.at(field, minutes)
    # each process re-reads the shared clock offset within 0.5 s, and an activity it cached before the roster
    # freeze (the other instance froze it) within 1 s (scanning.ActivityCache's unfrozen_ttl)
    time.sleep(1.5)


def stored(mongo_uri: str, activity_id: str) -> list[dict]:
    with pymongo.MongoClient(mongo_uri) as client:
        return list(client[database_name("attendance")].records.find({"activity_id": activity_id}))


def test_the_same_scans_sent_to_both_instances_are_stored_once_and_answered_as_that_record(
        rpc, day, two_instances, mongo_uri):
    at(day, "start_at", -5)
    members = member_ids(day)[:20]
    batch = items(day, members, "in")
    before = batch_calls(two_instances)
    answers = send_together(rpc, [batch] * 6)

    served = [after - earlier for after, earlier in zip(batch_calls(two_instances), before)]
    assert all(count > 0 for count in served), served            # both instances took some of the calls
    assert not [answer for call in answers for answer in call if "error" in answer]
    counted = defaultdict(list)
    for call in answers:
        for member, answer in zip(members, call):
            counted[member].append(answer["result"])
    records = {doc["member_id"]: doc for doc in stored(mongo_uri, day.activity["id"])}
    assert sorted(records) == sorted(members) and len(stored(mongo_uri, day.activity["id"])) == len(members)
    for member, results in counted.items():
        assert sum(not result["repeat"] for result in results) == 1, results     # accepted once, then repeats
        assert {(r["record"]["id"], r["record"]["seq"], r["record"]["hash"]) for r in results} == {
            (records[member]["_id"], records[member]["seq"], records[member]["hash"])}
    assert sorted(doc["seq"] for doc in records.values()) == list(range(1, len(members) + 1))


def test_scans_of_one_activity_spread_over_both_instances_form_one_chain_with_matching_events(
        rpc, day, two_instances, mongo_uri):
    members = member_ids(day)
    at(day, "start_at", -5)
    before = batch_calls(two_instances)
    sign_ins = send_together(rpc, [items(day, members[start::8], "in") for start in range(8)])
    at(day, "end_at", 5)
    # grouped otherwise: most sign-outs reach the instance that did not store their sign-in
    sign_outs = send_together(rpc, [items(day, members[start:start + 5], "out") for start in range(0, MEMBERS, 5)])

    served = [after - earlier for after, earlier in zip(batch_calls(two_instances), before)]
    assert all(count > 0 for count in served), served
    answers = [answer for call in (*sign_ins, *sign_outs) for answer in call]
    assert not [answer for answer in answers if "error" in answer]
    assert not [answer for answer in answers if answer["result"]["repeat"]]
    records = stored(mongo_uri, day.activity["id"])
    assert len(records) == 2 * MEMBERS
    assert sorted(doc["seq"] for doc in records) == list(range(1, 2 * MEMBERS + 1))     # no fork, no gap
    by_id = {doc["_id"]: doc for doc in records}
    assert {(a["result"]["record"]["id"], a["result"]["record"]["seq"], a["result"]["record"]["hash"])
            for a in answers} == {(doc["_id"], doc["seq"], doc["hash"]) for doc in records}
    verified = rpc.attendance.verify_chain(scope=day.secretary, activity_id=day.activity["id"])
    assert verified["ok"] and verified["checked"] == 2 * MEMBERS
    published = events_of(mongo_uri, set(by_id))
    assert sorted(published) == sorted(by_id)                    # one event per record, none lost or doubled
    assert all(len(events) == 1 for events in published.values())
    assert {record: (events[0]["seq"], events[0]["hash"]) for record, events in published.items()} == {
        record: (doc["seq"], doc["hash"]) for record, doc in by_id.items()}


def events_of(mongo_uri: str, record_ids: set[str]) -> dict[str, list[dict]]:
    """record id -> the sign-in and sign-out events of those records in attendance's outbox (sent or not)."""
    found: dict[str, list[dict]] = defaultdict(list)
    with pymongo.MongoClient(mongo_uri) as client:
        for entry in client[database_name("attendance")].outbox.find({"messages": {"$exists": True}}):
            for _, routing_key, body, _ in entry["messages"]:
                if routing_key not in ("checkin_recorded", "checkout_recorded"):
                    continue
                decoded = json.loads(body)
                for event in decoded if isinstance(decoded, list) else [decoded]:
                    payload = event.get("payload", event)
                    if payload.get("record_id") in record_ids:
                        found[payload["record_id"]].append(payload)
    return dict(found)


def test_the_second_instance_is_one_of_the_queue_s_consumers(two_instances, bus_uri):
    """Both take calls from the one ``rpc-attendance`` queue (what makes the tests above run on two)."""
    from kombu import Connection
    with Connection(bus_uri) as connection:
        _, _, consumers = connection.default_channel.queue_declare(queue="rpc-attendance", passive=True)
    assert consumers == 2
