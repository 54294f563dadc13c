"""Two scoring processes and two points consumers on one broker and one store (``bench.themed_day --instances 2``, a
Deployment's replicas): each queue has two consumers, and the broker hands each message to either. A day's events,
published and then delivered three times more (as redeliveries and replays bring them), count once: the branch score
counts each member once, each member's attendance points are entered once. What makes it so is in the store (facts
keyed by member, processed event ids, ledger ids, the ``rev`` guard of the score consumer's remembered documents),
not in either process."""
from __future__ import annotations

import time
import urllib.request

import pytest

from deploy.local.up import http_ok
from servicekit.errors import NotFound
from tests.support.processes import free_port
from tests.support.scoring import ThemedDay, wait_for
from tests.support.service_fixtures import service_process

pytestmark = pytest.mark.integration
MONTH = "2026-06"
MEMBERS = 12


@pytest.fixture(scope="module")
def consumer_ports(scoring_service, bus_uri, mongo_uri, tmp_path_factory):
    """The metrics ports of both score consumers (ScoringService) and both points consumers, the second pair started
    here on the session's queues and databases."""
    env = {"AMQP_URI": bus_uri, "MONGO_URI": mongo_uri}
    scoring_port, points_port = free_port(), free_port()
    scoring = service_process("scoring", "ScoringService", {**env, "METRICS_PORT": str(scoring_port)},
                              tmp_path_factory.mktemp("scoring-2-logs"),
                              lambda: http_ok(f"http://127.0.0.1:{scoring_port}/readyz"))
    points = service_process("scoring", "PointsConsumer", {**env, "METRICS_PORT": str(points_port)},
                             tmp_path_factory.mktemp("points-2-logs"),
                             lambda: http_ok(f"http://127.0.0.1:{points_port}/readyz"))
    next(scoring)
    next(points)
    try:
        yield {"score": [scoring_service.metrics_port, scoring_port],
               "points": [scoring_service.points.metrics_port, points_port]}
    finally:
        points.close()
        scoring.close()


def batches_applied(ports: list[int], consumer: str) -> list[float]:
    """How many batches each process's ``consumer`` has applied (``event_batch_seconds``)."""
    counts = []
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics?name[]=event_batch_seconds_count",
                                    timeout=5) as response:
            text = response.read().decode()
        counts.append(sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                          if line.startswith("event_batch_seconds_count{") and f'consumer="{consumer}"' in line))
    return counts


def test_a_day_delivered_four_times_over_two_instances_counts_each_member_once(rpc, city, publisher, consumer_ports):
    branch = city.branches[1][0]
    members = [city.add_member(branch, f"党员{index}")["id"] for index in range(MEMBERS)]
    day = ThemedDay(city.tenant_id, branch, MONTH, members)
    scans = [day.scan(member, direction) for member in members for direction in ("in", "out")]
    events = [day.issued(), *day.planned_and_opened(), *scans]
    before = {consumer: batches_applied(ports, consumer) for consumer, ports in consumer_ports.items()}
    publisher.publish(events)
    for _ in range(3):
        publisher.republish(scans)                                  # the same event ids again

    def live(final: bool = False):
        try:
            score = rpc.scoring.get_branch_score(scope=city.admin, activity_id=day.activity_id)
        except NotFound:
            return None
        return score if score["counts"].get("present") == MEMBERS and score["final"] is final else None
    wait_for(live)
    time.sleep(2)                                                   # let every copy reach a consumer
    score = rpc.scoring.get_branch_score(scope=city.admin, activity_id=day.activity_id)
    assert score["counts"]["present"] == MEMBERS and not score["counts"].get("incomplete"), score["counts"]
    publisher.publish([day.closed(dict.fromkeys(members, "present"))])
    assert wait_for(lambda: live(final=True))["counts"]["present"] == MEMBERS

    def ledger(member):
        try:
            return rpc.scoring.get_ledger(scope=city.admin, member_id=member, cycle=MONTH[:4])
        except NotFound:
            return None

    def attendance_of(answer) -> list[dict]:
        return [entry for entry in (answer or {}).get("entries", ()) if entry["category"] == "attendance"]
    for member in members:
        wait_for(lambda member=member: attendance_of(ledger(member)))
    time.sleep(1)
    ledgers = {member: ledger(member) for member in members}
    attendance = {member: attendance_of(answer) for member, answer in ledgers.items()}
    assert all(len(entries) == 1 for entries in attendance.values()), attendance
    assert len({answer["total"] for answer in ledgers.values()}) == 1          # every member the same, once
    for consumer, ports in consumer_ports.items():
        applied = [after - earlier for after, earlier in zip(batches_applied(ports, consumer), before[consumer])]
        assert all(count > 0 for count in applied), (consumer, applied)     # both instances of each took some
