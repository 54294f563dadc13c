"""Liveness and readiness of a service process (servicekit.process.health) and of the gateway (gateway.health)."""
from __future__ import annotations

import json
import time

import pytest
from nameko.messaging import QueueConsumer
from werkzeug.test import Client
from werkzeug.wrappers import Response

from gateway.health import IDENTITY_QUIET_SECONDS, GatewayHealth
from gateway.http.admin import AdminApp
from servicekit.process.health import BrokerProbe, Health, StorePing
from tests.support.processes import free_port


@pytest.fixture(autouse=True)
def no_store(monkeypatch):
    """A store check only where a test gives one (a session's MONGO_URI would add a real one)."""
    monkeypatch.delenv("MONGO_URI", raising=False)


class Died:
    """nameko's ``container._died`` event: sent (``ready``) when the container stopped; ``wait`` raises what
    killed it."""

    def __init__(self):
        self.sent, self.error = False, None

    def ready(self):
        return self.sent

    def wait(self):
        if self.error is not None:
            raise self.error

    def send(self, error=None):
        self.sent, self.error = True, error


class FakeContainer:
    service_name = "probe"
    config = {"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"}

    def __init__(self, subextensions=()):
        self._died, self._being_killed = Died(), False
        self.subextensions = list(subextensions)


class Connection:
    def __init__(self, connected=True):
        self.connected = connected


def watched(consumer=None, **checks) -> tuple[Health, FakeContainer]:
    container = FakeContainer([consumer] if consumer is not None else [])
    health = Health()
    health.checks.update(checks)
    health.watch([container])
    return health, container


def test_a_starting_container_is_alive_but_not_ready():
    health, _ = watched(broker=lambda: (True, "connected"))
    assert health.live() == (200, {"status": "ok", "container": "starting"})
    status, body = health.ready()
    assert status == 503 and body["not_ready"] == ["container"] and body["checks"]["container"] == "starting"


def test_a_running_container_with_its_broker_and_store_is_ready():
    health, _ = watched(broker=lambda: (True, "connected"), store=lambda: (True, "ok (1 ms)"))
    health.started = True
    assert health.ready() == (200, {"status": "ready", "checks": {"broker": "connected", "store": "ok (1 ms)",
                                                                   "container": "running"}})


def test_readiness_names_each_check_that_fails_and_why():
    def store():
        raise OSError("connection refused")
    health, _ = watched(broker=lambda: (False, "1 of 1 consumer connection(s) down (reconnecting)"), store=store)
    health.started = True
    status, body = health.ready()
    assert status == 503 and body["status"] == "not ready" and sorted(body["not_ready"]) == ["broker", "store"]
    assert body["checks"]["store"] == "OSError: connection refused"
    assert body["checks"]["container"] == "running" and health.live()[0] == 200     # alive all the same


def test_a_container_that_died_is_not_alive_and_says_of_what():
    health, container = watched(broker=lambda: (True, "connected"))
    health.started = True
    container._died.send(RuntimeError("relay thread crashed"))
    status, body = health.live()
    assert status == 503 and body == {"status": "dead",
                                      "container": "probe: died: RuntimeError: relay thread crashed"}
    assert health.ready()[0] == 503


def test_a_container_being_killed_or_stopped_is_not_alive():
    health, container = watched(broker=lambda: (True, "connected"))
    health.started = True
    container._being_killed = True
    assert health.live() == (503, {"status": "dead", "container": "probe: being killed"})
    container._died.send()
    assert health.live() == (503, {"status": "dead", "container": "probe: stopped"})


def test_stopping_on_a_signal_is_alive_but_not_ready():
    health, _ = watched(broker=lambda: (True, "connected"))
    health.started = health.stopping = True
    assert health.live()[0] == 200
    assert health.ready()[1]["checks"]["container"] == "stopping on a signal"


def test_the_broker_check_follows_the_connection_each_consumer_consumes_on():
    consumer = QueueConsumer()
    health, _ = watched(consumer)
    health.started = True
    assert health.ready()[1]["checks"]["broker"] == "1 of 1 consumer connection(s) down (reconnecting)"
    consumer.on_consume_ready(Connection(), None, [])         # kombu hands each new connection over
    assert health.ready() == (200, {"status": "ready", "checks": {"container": "running", "broker": "connected"}})
    consumer.on_consume_ready(Connection(connected=False), None, [])
    assert health.ready()[1]["not_ready"] == ["broker"]
    assert consumer._consumers_ready.ready()                 # nameko's own handling still ran


def test_without_a_nameko_consumer_the_broker_is_probed_by_a_handshake():
    health, _ = watched()
    assert isinstance(health.checks["broker"], BrokerProbe)
    assert health.checks["broker"].uri == FakeContainer.config["AMQP_URI"]


def test_a_broker_handshake_is_reused_for_a_few_seconds():
    now = [100.0]
    probe = BrokerProbe("amqp://guest:guest@127.0.0.1:1/", clock=lambda: now[0], kept=5)
    answers = iter([(False, "unreachable: refused"), (True, "reachable")])
    calls = []
    probe._handshake = lambda: calls.append(1) or next(answers)
    assert probe() == probe() == (False, "unreachable: refused") and len(calls) == 1
    now[0] += 5
    assert probe() == (True, "reachable") and len(calls) == 2


def test_a_broker_that_refuses_is_unreachable_within_the_timeout():
    started = time.monotonic()
    ok, detail = BrokerProbe(f"amqp://guest:guest@127.0.0.1:{free_port()}/", timeout=1)()
    assert not ok and detail.startswith("unreachable") and time.monotonic() - started < 5


def test_a_store_that_does_not_answer_fails_its_ping_within_the_timeout():
    started = time.monotonic()
    ok, detail = StorePing(f"mongodb://127.0.0.1:{free_port()}/", timeout=0.5)()
    assert not ok and detail.startswith("no answer within 0.5 s") and time.monotonic() - started < 5


def test_the_metrics_port_answers_health_as_json_and_everything_else_as_metrics():
    health, container = watched(store=lambda: (False, "no answer within 1.0 s: refused"),
                                broker=lambda: (True, "connected"))
    health.started = True
    client = Client(health.wsgi(Response("metrics here", content_type="text/plain")))
    live = client.get("/livez")
    assert live.status_code == 200 and live.mimetype == "application/json" and live.json["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["not_ready"] == ["store"]
    assert ready.headers["Cache-Control"] == "no-store"
    assert client.get("/metrics").get_data(as_text=True) == "metrics here"
    container._died.send()
    assert client.get("/livez").status_code == 503


# --- the gateway ---------------------------------------------------------------------------------------------------
class Poller:
    def __init__(self, last_success=None, last_error=""):
        self.last_success, self.last_error = last_success, last_error


class Task:
    def __init__(self, done):
        self._done = done

    def done(self):
        return self._done


class Server:
    def __init__(self, done=False):
        self.http = type("Http", (), {"task": Task(done)})()


def admin(health: GatewayHealth) -> Client:
    return Client(AdminApp(operations=(), health=health))


def test_the_gateway_is_ready_when_the_broker_answers_and_reports_identity():
    now = [1000.0]
    health = GatewayHealth(broker=lambda: (True, "reachable"), poller=Poller(last_success=999.0),
                           clock=lambda: now[0])
    health.server = Server()
    response = admin(health).get("/readyz")
    assert response.status_code == 200
    assert json.loads(response.get_data()) == {"status": "ready",
                                               "checks": {"broker": "reachable", "identity": "answering"}}
    assert admin(health).get("/livez").status_code == 200


def test_the_gateway_is_not_ready_without_the_broker():
    health = GatewayHealth(broker=lambda: (False, "unreachable: ConnectionRefusedError"), poller=Poller())
    body = admin(health).get("/readyz")
    assert body.status_code == 503 and body.json["not_ready"] == ["broker"]
    assert body.json["checks"]["broker"] == "unreachable: ConnectionRefusedError"


def test_identity_quiet_for_long_degrades_the_gateway_without_taking_it_out_of_service():
    now = [1000.0]
    health = GatewayHealth(broker=lambda: (True, "reachable"),
                           poller=Poller(last_success=1000.0 - IDENTITY_QUIET_SECONDS - 5, last_error="timed out"),
                           clock=lambda: now[0])
    response = admin(health).get("/readyz")
    assert response.status_code == 200 and response.json["degraded"] == ["identity"]
    assert response.json["checks"]["identity"] == f"no answer for {IDENTITY_QUIET_SECONDS + 5:.0f} s: timed out"


def test_a_gateway_whose_public_http_server_stopped_is_not_alive():
    health = GatewayHealth()
    health.server = Server(done=True)
    response = admin(health).get("/livez")
    assert response.status_code == 503 and response.json["status"] == "dead"
