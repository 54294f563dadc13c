"""Calls between services on the real broker (servicekit.messaging.peer_calls): a peer that does not answer is
given up at its deadline with ``PEER_TIMEOUT``, and a bulkhead refuses the workers beyond its limit at once with
``PEER_BUSY`` while the service's other work goes on.

Stand-ins (tests/support/peer_build.py) on a vhost of this module's own: an identity that answers as late as asked,
an attendance that asks it through ``peer("identity")`` with a 5 s deadline, 2 of its 4 workers allowed to wait on
identity. The bounds are loose on purpose (a loaded 2-core machine): what is asserted is "at the deadline, not
never" and "at once, not at the deadline"."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from servicekit.errors import DeadlineExceeded, Unavailable
from servicekit.process.config import nameko_config
from tests.support.broker import TestVhost
from tests.support.processes import ChildProcess, free_port

pytestmark = pytest.mark.integration

PEER_TIMEOUT = 5.0
STALL = 20.0                      # far longer than the deadline: identity, for the caller, never answers


@pytest.fixture(scope="module")
def bus(amqp_uri, mongo_uri, tmp_path_factory):
    logs = tmp_path_factory.mktemp("peer-timeouts")
    with TestVhost() as uri:
        config = {**nameko_config(), "AMQP_URI": uri}
        children = []
        try:
            for name, target, extra in (
                    ("identity", "SlowIdentity", {"NAMEKO_MAX_WORKERS": "40"}),
                    ("attendance", "AttendanceAskingIdentity",
                     {"NAMEKO_MAX_WORKERS": "4", "PEER_TIMEOUT_SECONDS_IDENTITY": str(PEER_TIMEOUT),
                      "PEER_CONCURRENCY_IDENTITY": "2"})):
                child = ChildProcess(f"{name}-standin", ["-m", "servicekit.process.runner",
                                                         f"tests.support.peer_build:{target}"],
                                     {"AMQP_URI": uri, "MONGO_URI": mongo_uri, "METRICS_PORT": str(free_port()),
                                      **extra}, logs)
                children.append(child)
            with ClusterRpcProxy(config, timeout=30) as rpc:
                children[0].wait_until(lambda: rpc.identity.wait(seconds=0) == 0)
                children[1].wait_until(lambda: rpc.attendance.ping() == "pong")
            yield config
        finally:
            for child in reversed(children):
                child.stop()


def timed(config: dict, method: str, **kwargs) -> tuple[float, object]:
    """(seconds taken, the answer or the error) of one call, on a proxy of its own (they are not thread-safe)."""
    started = time.monotonic()
    with ClusterRpcProxy(config, timeout=60) as rpc:
        try:
            answer = getattr(rpc.attendance, method)(**kwargs)
        except Exception as error:  # noqa: BLE001
            answer = error
    return time.monotonic() - started, answer


def test_a_call_to_a_peer_that_does_not_answer_fails_at_its_deadline_with_peer_timeout(bus):
    seconds, answer = timed(bus, "ask_identity", seconds=STALL)
    assert isinstance(answer, DeadlineExceeded), answer
    assert answer.code == "PEER_TIMEOUT" and answer.details == [{"peer": "identity", "timeout_seconds": PEER_TIMEOUT}]
    assert PEER_TIMEOUT - 0.5 < seconds < PEER_TIMEOUT + 10
    assert timed(bus, "ask_identity", seconds=0)[1] == 0         # the place it held is free again


def test_the_bulkhead_refuses_the_excess_at_once_while_other_work_is_answered(bus):
    tag = f"hold-{time.monotonic_ns()}"
    with ThreadPoolExecutor(16) as pool, ClusterRpcProxy(bus, timeout=30) as rpc:
        holders = [pool.submit(timed, bus, "ask_identity", seconds=STALL, tag=tag) for _ in range(2)]
        deadline = time.monotonic() + 15            # both holders inside the bulkhead, waiting on identity
        while rpc.identity.waiting(tag=tag) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rpc.identity.waiting(tag=tag) == 2
        # more calls needing identity than attendance has workers, and one that needs no peer
        excess = [pool.submit(timed, bus, "ask_identity", seconds=0) for _ in range(6)]
        other = pool.submit(timed, bus, "ping")
        refused = [future.result() for future in excess]
        answered = other.result()
        held = [future.result() for future in holders]

    assert all(isinstance(answer, Unavailable) and answer.code == "PEER_BUSY" for _, answer in refused), refused
    assert all(answer.details[0]["peer"] == "identity" and answer.details[0]["retry_after_seconds"] >= 1
               for _, answer in refused)
    assert max(seconds for seconds, _ in refused) < PEER_TIMEOUT - 1          # at once, not after the wait
    assert answered[1] == "pong" and answered[0] < PEER_TIMEOUT - 1
    assert all(isinstance(answer, DeadlineExceeded) and answer.code == "PEER_TIMEOUT" for _, answer in held), held
    assert timed(bus, "ask_identity", seconds=0)[1] == 0                      # places given back
