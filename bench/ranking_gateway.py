"""Benchmark: ranking a city's branches through the gateway's gRPC (issue #4: 9,000 branches under 50 ms).

    .venv/bin/python -m bench.ranking_gateway [--branches 9000] [--calls 200] [--month 2026-05]

Starts what a ranking call needs, for real: two embedded stores (nx-27017; scoring on one of its own, as
``bin/run`` does), a RabbitMQ vhost of its own, identity, scoring (``servicekit.process.runner``) and the gateway.
Identity creates the tenant and its city admin; scoring's database is filled with the scoring service's own
batch applier (``ScoreApplier``, the code its consumer runs on attendance events): every branch gets a closed
themed day in the month and in the month before (random final statuses, so scores differ, tie and move), so
the ranking has rank changes. Then the city admin logs in through the gateway and calls ``GetRanking`` on the
city root --calls times per page size (50, the default, and 500), timing each call at the client, and reports
median / p95 / max with the mean split: inside ``scoring.get_ranking`` (its ``service_rpc_seconds_sum``),
inside the gateway (``gateway_request_seconds_sum``, which includes the nameko round trip) and the rest
(client + gRPC transport). Every process it started is stopped at the end, also on failure.

Then the same page of 50 "live": while a thread publishes --live-rate attendance events per second (photo
uploads of the month's branches, which still count after closing) through the real outbox relay, so scoring's
consumer changes scores and the month's ranking table moves about every batch (100 ms), as on a themed day;
calls that come after a change pay for ranking the city again.
"""
from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import grpc
from nameko.standalone.rpc import ClusterRpcProxy

from bench.themed_day import ADMIN_PASSWORD, percentile, scrape, wait_http
from gateway.client import GrpcClient, build_request
from gateway.operations import BY_RPC
from servicekit.process.config import nameko_config
from servicekit.storage.embedded_mongo import EmbeddedMongo
from servicekit.errors import Unauthenticated
from servicekit.messaging.signed_calls import act_as
from servicekit.security.keys import ensure_keys
from servicekit.storage.mongo import open_store
from services.scoring.usecases.score_events import ScoreApplier
from services.scoring.domain.periods import parse_period
from services.scoring.store import ScoringStore
from tests.support.broker import TestVhost
from tests.support.identity import scope_of
from tests.support.processes import ChildProcess, free_port
from tests.support.scoring import AttendancePublisher, ThemedDay

ROSTER = 12
BATCH = 1000
STATUSES = ("present", "present", "present", "present", "incomplete", "excused", "absent", "mobile")
BRANCHES_PER_COMMITTEE = 45
COMMITTEES_PER_COUNTY = 20


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def branches_of(root: str, count: int) -> list[dict]:
    """A city tree of ``count`` branches: counties of 20 committees of 45 branches."""
    branches = []
    for number in range(count):
        committee = number // BRANCHES_PER_COMMITTEE
        county = committee // COMMITTEES_PER_COUNTY
        branches.append({"id": f"br{number:05d}", "name": f"第{county + 1}区第{committee + 1}党委第{number % 45 + 1}党支部",
                         "path_ids": [root, f"county{county}", f"committee{committee}", f"br{number:05d}"],
                         "field": ("rural", "community", "school", "enterprise")[committee % 4],
                         "category": ("township", "street")[county % 2]})
    return branches


def fill_scores(store: ScoringStore, tenant_id: str, branches: list[dict], months: list[str],
                seed: int) -> list[ThemedDay]:
    """Every branch's themed day of each month, issued and closed, through scoring's own batch applier;
    the days of the last month."""
    rng = random.Random(seed)
    applier = ScoreApplier(store)
    for month in months:
        started = time.perf_counter()
        events, days = [], []
        for branch in branches:
            members = [f"{branch['id']}m{i}" for i in range(ROSTER)]
            days.append(ThemedDay(tenant_id, branch, month, members))
            events += [days[-1].issued(), days[-1].closed({member: rng.choice(STATUSES) for member in members})]
        for start in range(0, len(events), BATCH):
            applier.apply(events[start:start + BATCH])
        log(f"scores of {month}: {len(branches)} branches closed in {time.perf_counter() - started:.1f} s")
    return days


class LiveScores(threading.Thread):
    """Publishes photo uploads of random branches' days at ``rate`` events/s until stopped."""

    def __init__(self, publisher: AttendancePublisher, days: list[ThemedDay], rate: float, seed: int):
        super().__init__(daemon=True)
        self.publisher, self.days, self.rate = publisher, days, rate
        self.rng = random.Random(seed)
        self.stopping = threading.Event()
        self.published = 0

    def run(self) -> None:
        tick = 0.1
        started = time.monotonic()
        while not self.stopping.is_set():
            due = int((time.monotonic() - started) * self.rate) - self.published
            if due > 0:
                self.publisher.publish([self.rng.choice(self.days).upload() for _ in range(due)])
                self.published += due
            self.stopping.wait(tick)

    def stop(self) -> None:
        self.stopping.set()
        self.join()


class Processes:
    """The child processes and stores this bench started; ``stop()`` ends each of them."""

    def __init__(self, work: Path):
        self.work = work
        self.children: list[ChildProcess] = []
        self.stores: list[EmbeddedMongo] = []
        self.proxy: ClusterRpcProxy | None = None

    def store(self, name: str) -> EmbeddedMongo:
        store = EmbeddedMongo(self.work / name)
        self.stores.append(store)
        return store.start()

    def child(self, name: str, args: list[str], env: dict) -> ChildProcess:
        child = ChildProcess(name, args, env, self.work)
        self.children.append(child)
        return child

    def rpc(self, bus: str):
        self.proxy = ClusterRpcProxy({**nameko_config(), "AMQP_URI": bus}, timeout=120)
        return self.proxy.start()

    def stop(self) -> None:
        if self.proxy is not None:
            try:
                self.proxy.stop()
            except Exception:  # noqa: BLE001  the broker may be gone already
                pass
        for child in reversed(self.children):
            child.stop()
        for store in reversed(self.stores):
            store.stop()


def time_calls(target: str, token: str, request: dict, calls: int) -> tuple[list[float], object, list[str]]:
    """Client-side milliseconds of each answered call (the raw stub: no dict conversion on the client), the last
    answer, and the failed calls' errors (gRPC code, error code, message)."""
    op = BY_RPC["GetRanking"]
    with grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)]) as channel:
        stub = channel.unary_unary(op.grpc_path, request_serializer=op.request.SerializeToString,
                                   response_deserializer=op.response.FromString)
        message, metadata = build_request(op, request), (("authorization", f"Bearer {token}"),)
        timings, answer, errors = [], None, []
        for _ in range(calls):
            started = time.perf_counter()
            try:
                answer = stub(message, metadata=metadata, timeout=60)
            except grpc.RpcError as error:
                trailers = dict(error.trailing_metadata() or ())
                errors.append(f"{error.code().name} {trailers.get('error-code', '')} {error.details()!r} after "
                              f"{(time.perf_counter() - started) * 1e3:.0f} ms")
                continue
            timings.append((time.perf_counter() - started) * 1e3)
    return timings, answer, errors


class Ranking:
    """Timed GetRanking calls of the city admin on the city root, with the time split read from /metrics."""

    def __init__(self, target: str, token: str, root: str, month: str, scoring_metrics: str, gateway_metrics: str):
        self.target, self.token, self.root, self.month = target, token, root, month
        self.scoring_metrics, self.gateway_metrics = scoring_metrics, gateway_metrics

    def sums(self) -> tuple[float, float]:
        return (scrape(self.scoring_metrics, "service_rpc_seconds_sum", "get_ranking"),
                scrape(self.gateway_metrics, "gateway_request_seconds_sum", "GetRanking"))

    def first(self) -> None:
        first, answer, errors = time_calls(self.target, self.token, {"org_id": self.root, "period": self.month}, 1)
        if errors:
            raise RuntimeError(f"the first GetRanking failed: {errors[0]}")
        log(f"first call (loads the two months into scoring's ranking cache): {first[0]:.0f} ms, "
            f"total {answer.total}")

    def timed(self, label: str, page_size: int, calls: int) -> None:
        request = {"org_id": self.root, "period": self.month, **({"page_size": page_size} if page_size != 50 else {})}
        time_calls(self.target, self.token, request, 3)                               # warm the connection
        before = self.sums()
        timings, answer, errors = time_calls(self.target, self.token, request, calls)
        if errors:
            print(f"{label}: {len(errors)} of {calls} calls failed, e.g. {errors[:3]}", flush=True)
        if not timings:
            return
        service, gateway = ((after - was) * 1e3 / calls for was, after in zip(before, self.sums()))
        client = sum(timings) / len(timings)
        ordered = sorted(timings)
        moved = sum(1 for row in answer.rows if row.rank_change)
        print(f"{label}: GetRanking page of {len(answer.rows)} of {answer.total} branches, {len(timings)} calls: "
              f"median {percentile(ordered, 0.5):.1f} ms, p95 {percentile(ordered, 0.95):.1f} ms, "
              f"max {ordered[-1]:.1f} ms, mean {client:.1f} ms = scoring.get_ranking {service:.1f} "
              f"+ gateway and RPC round trip {gateway - service:.1f} + client and gRPC {client - gateway:.1f} "
              f"(rows with a rank change on the page: {moved})", flush=True)


class Profiles:
    """``py-spy record`` (collapsed stacks) of the given processes while a block runs; off when no directory is
    given. py-spy is a tool of the machine (``.venv/bin/pip install py-spy``), not a project dependency."""

    def __init__(self, directory: str, pids: dict[str, int]):
        self.directory, self.pids, self.recorders = Path(directory) if directory else None, pids, []

    def __enter__(self) -> "Profiles":
        spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if self.directory:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.recorders = [subprocess.Popen([spy, "record", "--format", "raw", "--rate", "500", "--pid", str(pid),
                                                "--output", str(self.directory / f"{name}.txt")],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                              for name, pid in self.pids.items()]
            time.sleep(1)
        return self

    def __exit__(self, *exc_info) -> None:
        for recorder in self.recorders:
            recorder.send_signal(subprocess.signal.SIGINT)
        for recorder in self.recorders:
            recorder.wait(30)
        if self.recorders:
            log(f"profiles (collapsed stacks) in {self.directory}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--branches", type=int, default=9000)
    parser.add_argument("--calls", type=int, default=200, help="timed calls per page size")
    parser.add_argument("--month", default="2026-05")
    parser.add_argument("--live-rate", type=float, default=50.0,
                        help="events/s changing scores during the live measurement (0: none)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", default="", help="directory for py-spy profiles of scoring and the gateway")
    args = parser.parse_args()
    months = [parse_period(args.month).previous().key, args.month]
    work = Path(tempfile.mkdtemp(prefix="bench-ranking-"))
    os.environ.update(ensure_keys(work / "keys"), DB_PREFIX="bench" + secrets.token_hex(3),
                      OPERATOR_PASSWORD="Bench-" + secrets.token_hex(6))
    act_as("gateway")      # the bench calls services as the gateway does
    processes = Processes(work)
    with TestVhost() as bus:
        try:
            main_store, scoring_store = processes.store("mongo"), processes.store("mongo-scoring")
            common = {"AMQP_URI": bus, "MONGO_URI": main_store.uri}
            identity = processes.child("identity", ["-m", "servicekit.process.runner",
                                                    "services.identity.service:IdentityService"],
                                       {**common, "METRICS_PORT": str(free_port()), "PASSWORD_HASH_PROFILE": "fast",
                                        "TOKEN_LIFETIME_SECONDS": str(6 * 3600)})     # tokens held for the whole run
            http_port, grpc_port, admin_port = free_port(), free_port(), free_port()
            gateway = processes.child("gateway", ["-m", "gateway"],
                                      {"AMQP_URI": bus, "GATEWAY_HTTP_PORT": str(http_port),
                                       "GATEWAY_GRPC_PORT": str(grpc_port), "GATEWAY_ADMIN_PORT": str(admin_port)})
            rpc = processes.rpc(bus)
            identity.wait_until(lambda: rpc.identity.login(tenant_code="", username="operator",
                                                           password=os.environ["OPERATOR_PASSWORD"]))
            operator = scope_of(rpc.identity.login(tenant_code="", username="operator",
                                                   password=os.environ["OPERATOR_PASSWORD"]))
            created = rpc.identity.create_tenant(scope=operator, code="benchcity", name="基准市",
                                                 admin_username="admin", admin_password=ADMIN_PASSWORD)
            tenant_id, root = created["tenant"]["id"], created["root_org"]["id"]

            os.environ["MONGO_URI"] = scoring_store.uri
            days = fill_scores(open_store(ScoringStore, "scoring"), tenant_id, branches_of(root, args.branches),
                               months, args.seed)
            scoring_port = free_port()
            scoring = processes.child("scoring", ["-m", "servicekit.process.runner", "services.scoring.service:ScoringService"],
                                      {**common, "MONGO_URI": scoring_store.uri, "METRICS_PORT": str(scoring_port)})

            def scoring_up():
                try:
                    rpc.scoring.get_points_rules(scope={})
                except Unauthenticated:
                    return True
                return False
            scoring.wait_until(scoring_up)
            wait_http(f"http://127.0.0.1:{http_port}/healthz", gateway)
            target = f"127.0.0.1:{grpc_port}"
            with GrpcClient(target) as client:
                token = client.login("benchcity", "admin", ADMIN_PASSWORD)["access_token"]
            log(f"processes up; {args.branches} branches in {months}; logs in {work}")
            ranking = Ranking(target, token, root, args.month, f"http://127.0.0.1:{scoring_port}/metrics",
                              f"http://127.0.0.1:{admin_port}/metrics")
            ranking.first()
            with Profiles(args.profile, {"scoring": scoring.process.pid, "gateway": gateway.process.pid}):
                ranking.timed("quiet", 50, args.calls)
                ranking.timed("quiet", 500, args.calls)
            if args.live_rate:
                publisher = AttendancePublisher(main_store.uri, bus, f"{os.environ['DB_PREFIX']}_bench_publisher")
                live = LiveScores(publisher, days, args.live_rate, args.seed)
                live.start()
                try:
                    time.sleep(2)                                   # the consumer is taking events
                    ranking.timed(f"live ({args.live_rate:g} score events/s)", 50, args.calls)
                finally:
                    live.stop()
                    publisher.close()
                log(f"{live.published} events published while live")
        finally:
            processes.stop()


if __name__ == "__main__":
    main()
