"""Benchmark: what the replay guard (servicekit.security.replay) costs a call.

    .venv/bin/python -m bench.call_replay_guard [--checks 2000] [--calls 400] [--rounds 2]

1. The check alone: ``CallNonces.first_use`` (one insert into ``call_nonces``) against the embedded store
   (nx-27017, or MONGO_URI when set), µs per check, beside signing and verifying a proof.
2. A call through a real service: the identity service as ``bin/run`` starts it, with the guard and with
   ``CALL_REPLAY_GUARD=off``, alternating, each a fresh process; ``--calls`` sequential calls of ``identity.get_org``
   with an empty scope (proof checked, guard, a worker that refuses the scope, the answer), median and p95 ms.
"""
from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from nameko.standalone.rpc import ClusterRpcProxy

from servicekit.errors import Unauthenticated
from servicekit.messaging.signed_calls import act_as
from servicekit.process.config import nameko_config
from servicekit.security.keys import ensure_keys
from servicekit.security.proofs import call_headers, verify_call
from servicekit.security.replay import CallNonces
from servicekit.storage.embedded_mongo import EmbeddedMongo
from servicekit.storage.mongo import shared_client
from tests.support.broker import TestVhost
from tests.support.processes import ChildProcess, free_port

BODY = b'{"args": [], "kwargs": {"scope": {"account_id": "a1", "tenant_id": "t1"}, "org_id": "org-1"}}'


def per_check(uri: str, checks: int) -> None:
    nonces = CallNonces(shared_client(uri)[f"{os.environ['DB_PREFIX']}_bench"]["call_nonces"])
    nonces.ensure_schema()
    expires = int(time.time()) + 120
    for _ in range(200):                                        # warm the connection and the table
        nonces.first_use(uuid.uuid4().hex, expires)
    ids = [secrets.token_hex(16) for _ in range(checks)]
    started = time.perf_counter()
    for nonce in ids:
        nonces.first_use(nonce, expires)
    guard = (time.perf_counter() - started) / checks * 1e6
    started = time.perf_counter()
    proofs = [call_headers("identity.get_org", BODY) for _ in range(checks)]
    sign = (time.perf_counter() - started) / checks * 1e6
    started = time.perf_counter()
    for headers in proofs:
        verify_call("identity.get_org", BODY, headers)
    verify = (time.perf_counter() - started) / checks * 1e6
    print(f"per call, {checks} each: replay check {guard:.0f} µs (one insert), signing {sign:.0f} µs, "
          f"verifying {verify:.0f} µs")


def through_identity(bus: str, uri: str, work: Path, guard: bool, calls: int) -> list[float]:
    child = ChildProcess(f"identity-{'guard' if guard else 'off'}-{uuid.uuid4().hex[:4]}",
                         ["-m", "servicekit.process.runner", "services.identity.service:IdentityService"],
                         {"AMQP_URI": bus, "MONGO_URI": uri, "METRICS_PORT": str(free_port()),
                          "PASSWORD_HASH_PROFILE": "fast", "CALL_REPLAY_GUARD": "on" if guard else "off"},
                         work, own_session=True)
    proxy = ClusterRpcProxy({**nameko_config(), "AMQP_URI": bus}, timeout=30)
    rpc = proxy.start()
    try:
        def answers():
            try:
                rpc.identity.get_org(scope={}, org_id="org-1")
            except Unauthenticated:
                return True
            return False
        child.wait_until(answers, timeout=120)
        for _ in range(100):
            answers()
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            answers()
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        proxy.stop()
        child.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    os.environ.update(ensure_keys(work / "keys"), DB_PREFIX="bench" + secrets.token_hex(3),
                      OPERATOR_PASSWORD="Bench-" + secrets.token_hex(6))
    act_as("gateway")
    mongo = None if os.environ.get("MONGO_URI") else EmbeddedMongo(work / "mongo").start()
    uri = os.environ.get("MONGO_URI") or mongo.uri
    try:
        per_check(uri, args.checks)
        results: dict[bool, list[float]] = {True: [], False: []}
        with TestVhost() as bus:
            for round_ in range(args.rounds):
                for guard in ((True, False) if round_ % 2 == 0 else (False, True)):
                    results[guard] += through_identity(bus, uri, work, guard, args.calls)
        for guard, times in results.items():
            times.sort()
            print(f"identity.get_org through the service, guard {'on ' if guard else 'off'}: "
                  f"median {statistics.median(times):.2f} ms, p95 {times[int(len(times) * 0.95)]:.2f} ms "
                  f"({len(times)} calls)")
    finally:
        if mongo is not None:
            mongo.stop()


if __name__ == "__main__":
    main()
