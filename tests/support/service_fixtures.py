"""Session fixtures for the tiers that run real service processes: one vhost, one identity process per session.

Registered once in tests/conftest.py: defined per tier, pytest would start a second identity
process on the same databases, and its outbox relay would publish the other's events elsewhere.
"""
from __future__ import annotations

import os

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from deploy.local.up import http_ok
from servicekit.process.config import nameko_config
from tests.support.broker import TestVhost
from tests.support.builds import ATTENDANCE_TEST_BUILD, TEST_BUILD_ENV
from tests.support.identity import scope_of
from tests.support.processes import ChildProcess, free_port


@pytest.fixture(scope="session")
def bus_uri(amqp_uri):
    with TestVhost() as uri:
        yield uri


@pytest.fixture(scope="session")
def rpc(bus_uri, mongo_uri):
    proxy = ClusterRpcProxy({**nameko_config(), "AMQP_URI": bus_uri}, timeout=60)
    yield proxy.start()
    proxy.stop()


def service_process(name: str, class_name: str, env: dict, log_dir, answers, target: str = ""):
    """Start ``services.<name>.service:<class_name>`` (or ``target``, a test build) on the session's vhost and
    store; yield it once ``answers()`` succeeds; stop it afterwards."""
    metrics_port = int(env.get("METRICS_PORT") or free_port())
    child = ChildProcess(name, ["-m", "servicekit.process.runner", target or f"services.{name}.service:{class_name}"],
                         {"OUTBOX_POLL_SECONDS": "0.05", "LOG_LEVEL": os.environ.get("TEST_SERVICE_LOG_LEVEL", "INFO"),
                          **env, "METRICS_PORT": str(metrics_port)}, log_dir)
    try:
        child.wait_until(answers)
        child.metrics_port = metrics_port
        yield child
    finally:
        child.stop()


@pytest.fixture(scope="session")
def identity_service(bus_uri, mongo_uri, tmp_path_factory, rpc):
    def answers():
        rpc.identity.login(tenant_code="", username="operator", password=os.environ["OPERATOR_PASSWORD"])
        return True
    yield from service_process("identity", "IdentityService", {"AMQP_URI": bus_uri, "MONGO_URI": mongo_uri,
                                                                "PASSWORD_HASH_PROFILE": "fast"},
                               tmp_path_factory.mktemp("logs"), answers)


@pytest.fixture(scope="session")
def operator_scope(identity_service, rpc):
    return scope_of(rpc.identity.login(tenant_code="", username="operator",
                                       password=os.environ["OPERATOR_PASSWORD"]))


@pytest.fixture(scope="session")
def attendance_service(bus_uri, mongo_uri, tmp_path_factory, rpc, identity_service):
    """The attendance service as a real process: its test build, whose clock tests shift (``set_clock_offset``)."""
    def answers():
        rpc.attendance.set_clock_offset(seconds=0)
        return True
    yield from service_process("attendance", "AttendanceService", {"AMQP_URI": bus_uri, "MONGO_URI": mongo_uri,
                                                                    **TEST_BUILD_ENV},
                               tmp_path_factory.mktemp("logs"), answers, target=ATTENDANCE_TEST_BUILD)


@pytest.fixture(scope="session")
def scoring_service(bus_uri, mongo_uri, tmp_path_factory, rpc):
    """The scoring service as bin/run runs it: ScoringService and, as a process of its own at a lower CPU
    priority, its PointsConsumer (ready once its metrics answer: its queues are declared before that, so
    nothing published meanwhile is lost); yields the ScoringService process."""
    def answers():
        from servicekit.errors import Unauthenticated
        try:
            rpc.scoring.get_points_rules(scope={})
        except Unauthenticated:
            return True
        return False
    env = {"AMQP_URI": bus_uri, "MONGO_URI": mongo_uri}
    points_metrics = f"http://127.0.0.1:{(points_port := free_port())}/metrics"
    scoring = service_process("scoring", "ScoringService", env, tmp_path_factory.mktemp("scoring-logs"), answers)
    points = service_process("scoring", "PointsConsumer", {**env, "PROCESS_NICE": "10", "METRICS_PORT": str(points_port)},
                             tmp_path_factory.mktemp("points-logs"), lambda: http_ok(points_metrics))
    try:
        child = next(scoring)
        child.points = next(points)
        yield child
    finally:
        points.close()
        scoring.close()



@pytest.fixture(scope="session")
def content_service(bus_uri, mongo_uri, tmp_path_factory, rpc, identity_service):
    """The content service as a real process (ready once it answers an RPC)."""
    def answers():
        from servicekit.errors import Unauthenticated
        try:
            rpc.content.get_settings(scope={})
        except Unauthenticated:
            return True
        return False
    yield from service_process("content", "ContentService", {"AMQP_URI": bus_uri, "MONGO_URI": mongo_uri},
                               tmp_path_factory.mktemp("content-logs"), answers)


@pytest.fixture(scope="session")
def volunteer_service(bus_uri, mongo_uri, tmp_path_factory, rpc, identity_service):
    """The volunteer service as a real process (ready once it answers an RPC)."""
    def answers():
        from servicekit.errors import Unauthenticated
        try:
            rpc.volunteer.get_volunteer_settings(scope={})
        except Unauthenticated:
            return True
        return False
    yield from service_process("volunteer", "VolunteerService", {"AMQP_URI": bus_uri, "MONGO_URI": mongo_uri},
                               tmp_path_factory.mktemp("volunteer-logs"), answers)
