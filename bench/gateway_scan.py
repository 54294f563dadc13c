"""Benchmark (not a test): the gateway's own CPU per member scan, without the store or the services.

    python -m bench.gateway_scan [--scans 10000] [--members 5000] [--concurrency 256] [--rounds 3]
                                 [--batch on|off] [--protocol http|grpc] [--event-loop uvloop|asyncio]
                                 [--profile /tmp/gw.txt]

Starts, on a RabbitMQ vhost of its own, a stand-in ``attendance`` service whose
``record_scans``/``record_scan`` answer at once (one scan in ten refused, as the real one
words it), a real ``python -m gateway`` process and, per round, an asyncio load process
(``bench.themed_day_load``'s clients: HTTP/JSON, or gRPC with ``--protocol grpc``) sending ``--scans``
RecordScan calls with ``--concurrency`` in flight, each with a member's
bearer token (``--members`` distinct tokens, so round 0 verifies every token and later
rounds find them in the gateway's token cache). Prints the gateway's CPU milliseconds
(user + system, from /proc) per answered scan for each round, and the load process's. ``--profile`` records the
last round with py-spy (``--gil``, raw folded stacks). Run it under ``flock /tmp/bench.lock``
on a shared machine. The figures of bench.themed_day add the batches' real work in
attendance and the store; this isolates the gateway to compare changes to it quickly.
"""
from __future__ import annotations

import argparse
import os
import pickle
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.proc import cpu_seconds

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

FAKE_ATTENDANCE = '''
from nameko.rpc import rpc


class FakeAttendance:
    name = "attendance"

    @rpc
    def record_scans(self, items=()):
        return [self._answer(n, item) for n, item in enumerate(items)]

    @rpc
    def record_scan(self, scope, token="", fix=None):
        return self._answer(0, {"scope": scope, "fix": fix})["result"]

    @staticmethod
    def _answer(n, item):
        if item["fix"].get("accuracy_m", 0) > 500:
            return {"error": {"kind": "REJECTED", "code": "FIX_TOO_INACCURATE", "message": "定位精度不足",
                              "field": "fix.accuracy_m", "details": []}}
        return {"result": {"record": {
            "id": "act-1:in:" + item["scope"]["member_id"], "activity_id": "act-1",
            "member_id": item["scope"]["member_id"], "direction": "in", "at": "2026-12-05T02:00:00.000Z",
            "distance_m": 12.5, "flags": [], "seq": n + 1, "hash": "ab" * 32, "backfilled": False,
            "backfilled_by": "", "backfill_reason": ""}, "repeat": False, "message": "签到成功"}}
'''

LOAD = '''
import asyncio, pickle, sys
from bench.themed_day_load import GrpcScans, HttpScans


async def main(protocol, target, tokens, scans, concurrency):
    client = HttpScans({"http": "http://" + target}) if protocol == "http" else GrpcScans({"target": target})
    slots, codes = asyncio.Semaphore(concurrency), {}

    async def scan(n):
        fix = {"lat": 33.0677, "lng": 107.0239, "accuracy_m": 900 if n % 10 == 0 else 12, "mock_location": False,
               "device_id": f"phone-{n}", "taken_at": "2026-12-05T02:00:00.000Z"}
        try:
            code = (await client.scan(tokens[n % len(tokens)], f"v1.act-1.in.p.{n}", fix, 60))[0]
        finally:
            slots.release()
        codes[code] = codes.get(code, 0) + 1

    tasks = []
    for n in range(scans):
        await slots.acquire()
        tasks.append(asyncio.ensure_future(scan(n)))
    await asyncio.gather(*tasks)
    await client.close()
    print("  answers:", codes, flush=True)


with open(sys.argv[3], "rb") as file:
    tokens = pickle.load(file)
asyncio.run(main(sys.argv[1], sys.argv[2], tokens, int(sys.argv[4]), int(sys.argv[5])))
'''


def children_cpu_seconds() -> float:
    """CPU of this process's children that have ended and been waited for (each round's load process)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port}")


def member_tokens(keys: Path, count: int) -> tuple[Path, list[str]]:
    from servicekit.security.tokens import TokenSigner, generate_keypair
    private, public = generate_keypair(keys)
    signer = TokenSigner(private.read_bytes(), 3600)
    return public, [signer.issue({"account_id": f"acc-{n}", "tenant_id": "tenant-1",
                                  "roles": [{"role": "member", "org_id": None}], "member_id": f"mem-{n}",
                                  "branch_id": f"org-branch-{n % 900}"}) for n in range(count)]


def run(args, work: Path, bus: str) -> None:
    from servicekit.security.keys import ensure_keys
    keys_env = ensure_keys(work / "keys")          # the call keys the gateway signs its calls with
    public, tokens = member_tokens(work / "keys", args.members)
    with open(work / "tokens.pickle", "wb") as file:
        pickle.dump(tokens, file)
    (work / "fake_attendance.py").write_text(FAKE_ATTENDANCE)
    (work / "load.py").write_text(LOAD)
    env = {**os.environ, "AMQP_URI": bus, "PYTHONPATH": f"{work}:{REPO}"}
    port = random.randint(52000, 58000)
    children = [subprocess.Popen([PYTHON, "-m", "nameko", "run", "fake_attendance", "--broker", bus], cwd=work,
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        gateway = subprocess.Popen([PYTHON, "-m", "gateway"], cwd=REPO, env={
            **env, **keys_env, "TOKEN_PUBLIC_KEY_PATH": str(public), "GATEWAY_GRPC_PORT": str(port),
            "GATEWAY_HTTP_PORT": str(port + 1), "GATEWAY_ADMIN_PORT": "0", "GATEWAY_SCAN_BATCH": args.batch, "GATEWAY_EVENT_LOOP": args.event_loop,
            "LOG_LEVEL": "WARNING"})
        children.append(gateway)
        wait_for_port(port)
        wait_for_port(port + 1)
        time.sleep(3)               # the stand-in service joins the bus
        for round_ in range(args.rounds):
            profiler = None
            if args.profile and round_ == args.rounds - 1:
                profiler = subprocess.Popen([str(Path(PYTHON).parent / "py-spy"), "record", "--nonblocking", "--gil",
                                             "-r", "200", "-f", "raw", "-o", args.profile, "-p", str(gateway.pid)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
            cpu, wall, load_cpu = cpu_seconds(gateway.pid), time.perf_counter(), children_cpu_seconds()
            target = f"127.0.0.1:{port + 1 if args.protocol == 'http' else port}"
            subprocess.run([PYTHON, str(work / "load.py"), args.protocol, target, str(work / "tokens.pickle"),
                            str(args.scans), str(args.concurrency)], cwd=REPO, env=env, check=True)
            cpu, wall = cpu_seconds(gateway.pid) - cpu, time.perf_counter() - wall
            load_cpu = children_cpu_seconds() - load_cpu
            if profiler is not None:
                profiler.send_signal(2)
                profiler.wait(30)
            print(f"round {round_}{' (every token verified)' if round_ == 0 else ' (tokens cached)'}: gateway "
                  f"{1000 * cpu / args.scans:.3f} CPU ms per scan, {args.scans / wall:,.0f} scans/s; the load "
                  f"{1000 * load_cpu / args.scans:.3f} CPU ms per scan", flush=True)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scans", type=int, default=10000)
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", default="on", choices=("on", "off"))
    parser.add_argument("--event-loop", default="uvloop", choices=("uvloop", "asyncio"),
                        help="GATEWAY_EVENT_LOOP of the gateway")
    parser.add_argument("--protocol", default="http", choices=("http", "grpc"),
                        help="the load's: HTTP/JSON on keep-alive connections, or gRPC")
    parser.add_argument("--profile", default="")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tests.support.broker import TestVhost
    with tempfile.TemporaryDirectory(prefix="gateway-scan-") as work, TestVhost() as bus:
        run(args, Path(work), bus)


if __name__ == "__main__":
    main()
