"""The broker users' table (servicekit.messaging.broker_access) against the code it describes, and what its
permissions let each user do, matched as RabbitMQ matches them (the real broker: tests/integration/
test_broker_permissions.py)."""
from __future__ import annotations

import importlib
import re

import pytest
from nameko.rpc import RpcProxy

from deploy.local.processes import PROCESSES
from servicekit.messaging.broker_access import BROKER_USERS, broker_user, definitions, permissions, topic_permissions
from servicekit.messaging.consumers import BatchEventConsumer
from servicekit.messaging.outbox import OutboxRelay
from servicekit.messaging.topology import SUBSCRIPTIONS, event_queue
from servicekit.process.config import ConfigError, amqp_uri, with_login
from servicekit.security.proofs import PRINCIPALS

SERVICE_PROCESSES = [spec for spec in PROCESSES if spec.argv[:2] == ("-m", "servicekit.process.runner")]
REPLY = "rpc.reply-{}-0b5e2b8e-6a51-4d5c-9a56-3c1f8d0c1f2a"


def service_class(spec):
    module, _, name = spec.argv[2].partition(":")
    return getattr(importlib.import_module(module), name)


def dependencies(cls, kind):
    return [value for value in vars(cls).values() if isinstance(value, kind)]


def matches(pattern: str, name: str) -> bool:
    return re.search(pattern, name) is not None


def test_every_process_and_principal_has_a_broker_user_of_its_own():
    assert {spec.name for spec in PROCESSES} == {user.process for user in BROKER_USERS}
    assert {user.service for user in BROKER_USERS} == set(PRINCIPALS)
    with pytest.raises(KeyError):
        broker_user("audit")


@pytest.mark.parametrize("spec", SERVICE_PROCESSES, ids=lambda spec: spec.name)
def test_the_table_says_what_each_service_process_declares_publishes_consumes_and_calls(spec):
    cls, user = service_class(spec), broker_user(spec.name)
    assert user.service == cls.name
    entrypoints = [method for method in vars(cls).values() if getattr(method, "nameko_entrypoints", None)]
    assert user.serves_rpc == bool(entrypoints)
    assert user.publishes == bool(dependencies(cls, OutboxRelay))
    assert set(user.consumers) == {consumer.name for consumer in dependencies(cls, BatchEventConsumer)}
    proxied = {proxy.target_service for proxy in dependencies(cls, RpcProxy)}
    # content also reaches identity from its consumer's thread, through a standalone proxy named after it
    assert set(user.calls) == proxied | ({"identity"} if spec.name == "content" else set())
    queues = {event_queue(*row).name for row in user.subscriptions()}
    assert queues == {event_queue(*row).name for row in SUBSCRIPTIONS
                      if row[2] == user.service and row[3] in user.consumers}


def test_only_the_publisher_may_write_to_its_events_exchange():
    for user in BROKER_USERS:
        configure, write, read = permissions(user)
        for publisher in ("identity", "attendance", "scoring", "content", "volunteer"):
            assert matches(write, f"{publisher}.events") == (user.service == publisher == user.process)
            assert matches(configure, f"{publisher}.events") == (user.service == publisher == user.process)
        assert not matches(write, "") and not matches(write, "amq.default")    # no publishing straight to a queue


def test_each_user_reads_only_its_own_queues():
    score = event_queue("attendance", "checkin_recorded", "scoring", "score").name
    points = event_queue("attendance", "roster_frozen", "scoring", "points").name
    publicity = event_queue("identity", "member_status_changed", "content", "publicity").name
    owners = {score: "scoring", points: "scoring-points", publicity: "content"}
    for user in BROKER_USERS:
        configure, write, read = permissions(user)
        for queue, owner in owners.items():
            assert matches(read, queue) == (user.process == owner), (user.process, queue)
            assert matches(configure, queue) == (user.process == owner)
        for service in ("identity", "attendance", "scoring", "content", "volunteer", "gateway"):
            own = service == user.service and user.process != "scoring-points"
            assert matches(read, f"rpc-{service}") == (own and user.serves_rpc)
            assert matches(read, REPLY.format(service)) == (own and bool(user.calls))
        assert not matches(read, REPLY.format("standalone_rpc_proxy"))
        assert not matches(read, "dead-letters")


def test_topic_permissions_let_a_user_call_only_its_peers_and_bind_only_its_own_keys():
    rows = {user.process: {exchange: (write, read) for exchange, write, read in topic_permissions(user)}
            for user in BROKER_USERS}
    write, read = rows["attendance"]["nameko-rpc"]
    assert matches(write, "identity.get_org") and not matches(write, "scoring.get_ranking")
    assert matches(write, "0b5e2b8e-6a51-4d5c-9a56-3c1f8d0c1f2a")               # a reply to a caller
    assert matches(read, "attendance.*") and not matches(read, "scoring.*") and not matches(read, "#")
    write, read = rows["gateway"]["nameko-rpc"]
    assert all(matches(write, f"{service}.x") for service in ("identity", "attendance", "scoring", "content",
                                                              "volunteer"))
    assert not matches(read, "gateway.*")                                         # it serves no calls
    write, read = rows["scoring-points"]["attendance.events"]
    assert matches(read, "roster_frozen") and not matches(read, "checkin_recorded") and not matches(read, "#")
    assert "nameko-rpc" not in rows["scoring-points"]


def test_definitions_are_the_same_for_the_same_passwords_and_hold_no_password():
    passwords = {user.process: f"secret-{user.process}" for user in BROKER_USERS}
    first, second = definitions(passwords, "v"), definitions(passwords, "v")
    assert first == second
    assert "secret-" not in str(first)
    other = definitions({**passwords, "identity": "changed"}, "v")
    assert other["users"][0]["password_hash"] != first["users"][0]["password_hash"]
    assert {queue["name"] for queue in first["queues"]} == {"dead-letters",
                                                             *(event_queue(*row).name for row in SUBSCRIPTIONS)}


def test_a_process_logs_in_as_its_own_user_without_its_password_in_the_environment(monkeypatch, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("p@ss/word\n")
    monkeypatch.setenv("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/;amqp://guest:guest@[::1]:5673/")
    monkeypatch.setenv("AMQP_USER", "pb-identity")
    monkeypatch.setenv("AMQP_PASSWORD_FILE", str(secret))
    monkeypatch.setenv("AMQP_VHOST", "partybuilding")
    assert amqp_uri() == ("amqp://pb-identity:p%40ss%2Fword@127.0.0.1:5672/partybuilding;"
                          "amqp://pb-identity:p%40ss%2Fword@[::1]:5673/partybuilding")
    monkeypatch.setenv("AMQP_PASSWORD_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="AMQP_PASSWORD_FILE"):
        amqp_uri()
    assert with_login("amqp://h/", None, None, "/partybuilding") == "amqp://h/%2Fpartybuilding"
