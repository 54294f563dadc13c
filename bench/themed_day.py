"""Benchmark: one themed party day (主题党日) for a whole city, every scan through the gateway.

    .venv/bin/python -m bench.themed_day [--members 208000] [--branches 9000] [--baseline-seconds 20]
                                         [--concurrency 256] [--load-procs 2] [--peak-rate 4000]
                                         [--protocol http|grpc] [--instances N]

Scans go as a phone's app sends them, HTTP/JSON on keep-alive connections (``--protocol http``, the
default), or over gRPC.

Starts its own embedded store (nx-27017), a RabbitMQ vhost of its own, identity, attendance
(its test build, tests/support/builds.py, whose clock the bench shifts), scoring (when written)
and two gateways: A as configured (micro-batching of RecordScan when the gateway has it) and B
with GATEWAY_SCAN_BATCH=off, the plain per-request path, for the baseline. ``--instances N``: N of attendance,
scoring, the points consumer and gateway A (sharing A's ports with SO_REUSEPORT); ``bench.instances`` alternates
runs of 1 and 2. Then:

1. imports a city (bench.city_data) through identity's import RPCs;
2. the city admin (logged in through the gateway) issues one theme to every branch; every
   branch secretary submits a plan (venue at the branch's own coordinates) and the city
   admin approves them all, through the gateway;
3. jumps the service clock to 20 minutes before the start and sweeps until every roster is
   frozen; a few members ask for leave and their secretaries approve it;
4. drives every sign-in and sign-out through the gateway with the arrival curve of a real day
   (sign-ins bunched before the start, sign-outs after the end; the day is compressed so the
   busiest minute is offered at --peak-rate scans/s, at most --concurrency calls in flight),
   plus a share of bad scans: outside the fence (400 m), late, replayed, forged, on leave,
   sign-out without sign-in; first --baseline-seconds of sign-ins through gateway B;
5. closes the day and reconciles every answer against the attendance database.

Access tokens: members and secretaries do not log in (208,000 logins would take longer than
the day): the bench owns the key files (servicekit.security.keys.ensure_keys), so it mints their
access tokens with servicekit.security.tokens.TokenSigner, exactly as identity would for their scope.
The city admin logs in through the gateway. QR tokens are the printable codes, which the city admin allows for
every activity (SetPrintedCode; off by default): computed with the QR key the bench owns and checked against
GetQrCode for a sample of activities. Each scan's fix carries one earlier position of the day (the member page's
history: half an hour before, at the same place), so honest sign-ins are not flagged NO_MOVEMENT_TODAY.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import bisect
import math
import os
import pickle
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import grpc
import grpc.aio
import pymongo
from google.protobuf import json_format
from nameko.standalone.rpc import ClusterRpcProxy

from bench.city_data import MEMBER_HEADER, ORG_HEADER, member_rows, to_csv
from bench.proc import cpu_seconds, machine_busy_seconds
from deploy.local.processes import LIVE_SCORE_NICE, POINTS_NICE
from gateway.client import GrpcClient, build_request
from gateway.operations import BY_RPC
from servicekit.process.config import nameko_config
from servicekit.storage.embedded_mongo import EmbeddedMongo
from servicekit.timestamps import parse_stamp
from servicekit.messaging.signed_calls import act_as
from servicekit.security.keys import ensure_keys
from servicekit.process.priority import lower_priority_of
from servicekit.security.tokens import TokenSigner
from services.attendance.domain import qrtoken
from services.scoring.points_store import points_database
from tests.support.attendance import point_at
from tests.support.broker import TestVhost
from tests.support.builds import ATTENDANCE_TEST_BUILD, TEST_BUILD_ENV
from tests.support.identity import scope_of
from tests.support.processes import REPO, ChildProcess, free_port

CITY_CENTRE = (33.0676, 107.0238)        # 汉中市
BRANCHES_PER_COMMITTEE = 45
ADMIN_PASSWORD = "Bench-pass-1"
# the bench's admin logs in once and holds its access token for the whole run (a whole city takes ~13 minutes,
# longer than the platform's default token life), so the bench's identity issues tokens that outlive the run
BENCH_TOKEN_LIFETIME = {"TOKEN_LIFETIME_SECONDS": str(6 * 3600)}
# Plans, reviews and leaves: calls in flight. The attendance process runs its transactions one at a time
# per database (servicekit.storage.mongo.transaction_lock: nx-27017 cannot interleave two on one connection), so
# more calls in flight only overlap the gateway and RPC round trips with the store's work.
SETUP_CONCURRENCY = 8
CLOCK_STEP_SECONDS = 20.0


# ----------------------------------------------------------------------------- the city
def city_orgs(branches: int) -> tuple[list[list], list[str]]:
    """Organisation rows (bench.city_data format) with exactly ``branches`` branches, and their paths."""
    committees = math.ceil(branches / BRANCHES_PER_COMMITTEE)
    counties = min(10, committees)
    rows, paths, made = [], [], 0
    per_county = [committees // counties + (1 if c < committees % counties else 0) for c in range(counties)]
    fields = ["rural", "community", "school", "enterprise", "government", "social"]
    categories = ["township", "street", "college", "enterprise"]
    for c in range(counties):
        rows.append([f"c{c}", "", f"第{c + 1}区县委", "county", "", ""])
        for k in range(per_county[c]):
            ref = f"c{c}k{k}"
            rows.append([ref, f"c{c}", f"第{c + 1}区第{k + 1}党委", "committee", categories[k % 4], fields[k % 6]])
            for b in range(BRANCHES_PER_COMMITTEE):
                if made == branches:
                    break
                rows.append([f"{ref}b{b}", ref, f"第{b + 1}党支部", "branch", "", fields[(k + b) % 6]])
                paths.append(f"第{c + 1}区县委/第{c + 1}区第{k + 1}党委/第{b + 1}党支部")
                made += 1
    return rows, paths


@dataclass
class BenchCity:
    tenant_id: str
    root: str
    admin_scope: dict
    member_seconds: float


def import_bench_city(rpc, members: int, branches: int, seed: int, log: Callable[[str], None]) -> BenchCity:
    """The tenant "benchcity" (admin "admin") with ``branches`` branches and ``members`` members of bench.city_data,
    imported through identity's RPCs."""
    orgs, paths = city_orgs(branches)
    rows = member_rows(members, paths, seed=seed)
    operator = scope_of(rpc.identity.login(tenant_code="", username="operator",
                                           password=os.environ["OPERATOR_PASSWORD"]))
    created = rpc.identity.create_tenant(scope=operator, code="benchcity", name="基准市",
                                         admin_username="admin", admin_password=ADMIN_PASSWORD)
    root = created["root_org"]["id"]
    admin_scope = scope_of(rpc.identity.login(tenant_code="benchcity", username="admin", password=ADMIN_PASSWORD))
    started = time.perf_counter()
    answer = rpc.identity.import_orgs(scope=admin_scope, parent_id=root, format="csv",
                                      content=base64.b64encode(to_csv(ORG_HEADER, orgs)).decode())
    log(f"organisations: {answer['imported']} imported in {time.perf_counter() - started:.1f}s")
    started = time.perf_counter()
    answer = rpc.identity.import_members(scope=admin_scope, org_id=root, format="csv",
                                         content=base64.b64encode(to_csv(MEMBER_HEADER, rows)).decode())
    seconds = time.perf_counter() - started
    log(f"members: {answer['imported']} imported in {seconds:.1f}s ({sum(1 for r in rows if r[-1] == 'true')} mobile)")
    return BenchCity(created["tenant"]["id"], root, admin_scope, seconds)


# ------------------------------------------------------------------------ measurements
MACHINE = "machine"
ATTENDANCE_CALLS, ATTENDANCE_BUSY = "attendance calls", "attendance call seconds"     # Watch counters
ATTENDANCE_GC, GATEWAY_GC, GATEWAY_LAG = "attendance collector seconds", "gateway collector seconds", "gateway loop lag"
BATCHES, BATCH_SECONDS = "gateway batches", "gateway batch seconds"
STALL_COUNTERS = (ATTENDANCE_GC, GATEWAY_GC, GATEWAY_LAG, BATCHES, BATCH_SECONDS)
# how many a phase had over each bound: (what, the process's metrics, metric, operation, bounds)
STALL_BUCKETS = (("gateway batch round trips", "gateway", "gateway_batch_seconds", "attendance.record_scans",
                  ("0.1", "0.25", "0.5", "1.0")),
                 ("gateway loop late", "gateway", "gateway_event_loop_lag_seconds", None,
                  ("0.025", "0.05", "0.1", "0.25")),
                 ("gateway collector pauses", "gateway", "process_gc_pause_seconds", None,
                  ("0.01", "0.025", "0.05", "0.1")),
                 ("attendance collector pauses", "attendance", "process_gc_pause_seconds", None,
                  ("0.01", "0.025", "0.05", "0.1")))


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rabbit_pid() -> int | None:
    try:
        out = subprocess.run(["pidof", "beam.smp"], capture_output=True, text=True).stdout.split()
        return int(out[0]) if out else None
    except (OSError, ValueError):
        return None


class Watch:
    """Samples the RSS of every process once a second (peak and last), and the CPU seconds of each and of the
    whole machine (``timeline``: what was busy in a given second, such as those in which the load fell
    behind); CPU seconds on demand."""

    def __init__(self):
        self.pids: dict[str, int] = {}
        self.peak: dict[str, int] = defaultdict(int)
        self.last: dict[str, int] = {}
        self.timeline: list[tuple[float, dict[str, float]]] = []     # (epoch, CPU seconds so far by name)
        self.counters: list[Callable[[], dict[str, float]]] = []     # more running totals sampled with the CPU
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def add(self, name: str, pid: int | None) -> None:
        if pid:
            self.pids[name] = pid

    def start(self) -> "Watch":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.sample()

    def sample(self) -> None:
        for name, pid in list(self.pids.items()):
            value = rss_kb(pid)
            if value:
                self.peak[name] = max(self.peak[name], value)
                self.last[name] = value
        counted = {name: value for read in list(self.counters) for name, value in read().items()}
        self.timeline.append((time.time(), {**self.cpu(), **counted, MACHINE: machine_busy_seconds()}))

    def cores_busy(self, seconds) -> dict[str, float]:
        """Cores each process (and ``MACHINE``) kept busy on average over the given one-second intervals
        (epoch starts): each interval takes the rate of the two samples around its middle. The same rate of
        each of ``counters`` (per second)."""
        rates, times = [], [at for at, _ in self.timeline]
        for second in seconds:
            after = bisect.bisect_left(times, second + 0.5)
            if not 0 < after < len(times):
                continue
            (t0, before), (t1, now) = self.timeline[after - 1], self.timeline[after]
            rates.append({name: (now[name] - before.get(name, now[name])) / (t1 - t0) for name in now})
        names = {name for rate in rates for name in rate}
        return {name: sum(rate.get(name, 0.0) for rate in rates) / len(rates) for name in names} if rates else {}

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in list(self.pids.items())}   # the bench adds and drops loads

    def stop(self) -> None:
        self._stop.set()


def scrape(url: str, metric: str, operation: str) -> float:
    """The sum over labels of one Prometheus series for one operation (0 when absent)."""
    return scrape_many(url, [(metric, operation)])[0]


def scrape_buckets(url: str, metric: str, operation: str | None,
                   bounds=("0.1", "0.25", "0.5", "1.0")) -> dict[str, float]:
    """A histogram's cumulative counts at ``bounds`` (its ``le`` labels) for one operation (None: every series),
    summed over the other labels, and its whole count at ``+Inf``."""
    wanted = {f'le="{bound}"': bound for bound in (*bounds, "+Inf")}
    counts = dict.fromkeys(wanted.values(), 0.0)
    try:
        with urllib.request.urlopen(f"{url}?name[]={metric}_bucket", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return counts
    for line in text.splitlines():
        if line.startswith(metric + "_bucket{") and (operation is None or f'"{operation}"' in line):
            for label, bound in wanted.items():
                if label in line:
                    counts[bound] += float(line.rsplit(" ", 1)[1])
    return counts


def scrape_many(url: str, series: list[tuple[str, str | None]]) -> list[float]:
    """``scrape`` of several (metric, operation) series from one reading of the page (operation None: the sum of
    every series of the metric)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return [0.0] * len(series)
    totals = [0.0] * len(series)
    for line in text.splitlines():
        for index, (metric, operation) in enumerate(series):
            if operation is None:                   # every series of the metric, labelled or not
                if line.startswith((metric + "{", metric + " ")):
                    totals[index] += float(line.rsplit(" ", 1)[1])
            elif line.startswith(metric + "{") and f'"{operation}"' in line:
                totals[index] += float(line.rsplit(" ", 1)[1])
    return totals


def histogram(url: str, metric: str, label: str, values: tuple[str, ...], also: str = "") -> list[tuple[float, float]]:
    """Cumulative (upper bound, count) buckets of a Prometheus histogram, summed over the label values given
    (and only on lines holding ``also``, such as 'consumer="score"')."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return []
    buckets: dict[float, float] = defaultdict(float)
    for line in text.splitlines():
        if line.startswith(metric + "_bucket{") and also in line and any(f'{label}="{value}"' in line
                                                                          for value in values):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float("inf") if bound == "+Inf" else float(bound)] += float(line.rsplit(" ", 1)[1])
    return sorted(buckets.items())


def bucket_quantile(buckets: list[tuple[float, float]], share: float) -> float:
    """The upper bound of the bucket holding the given share of the observations (nan when none)."""
    total = buckets[-1][1] if buckets else 0
    for bound, count in buckets:
        if total and count >= share * total:
            return bound
    return float("nan")


def print_throughput_target(figures: dict, main: list[str], day_average: float) -> None:
    """The throughput target, judged on what the machine sustains: the seconds in which the load waited for the
    gateway (the day's average is the curve's, most of the day offers far less). A day that never saturates judges
    its best 10 s, the most it was offered."""
    seconds = sum(figures[label]["saturated_seconds"] for label in main)
    if seconds:
        rate = sum(figures[label]["saturated_accepted"] for label in main) / seconds
        longest = max((figures[label]["longest_saturated"] for label in main), default=(0, 0))
        how = (f"while saturated, {seconds} s; the longest unbroken stretch {longest[0]} s at "
               f"{longest[1] / max(longest[0], 1):,.0f}/s")
    else:
        rate = max(figures[label]["best_10s_accepted_per_s"] for label in main)
        how = "never saturated: the best 10 s, as fast as the curve offered"
    print(f"  >= 2,000 accepted scans/s sustained ({how}; the day's average, {day_average:,.0f}/s, is the curve's): "
          f"{rate:,.0f} -> {'MET' if rate >= 2000 else 'MISSED'}")


def percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


# --------------------------------------------------------------------------- gRPC helpers
async def call_many(target: str, rpc: str, calls: list[tuple[dict, str]], concurrency: int = 32,
                    timeout: float = 120.0) -> list[tuple[dict | None, str | None]]:
    """Run many calls of one operation concurrently: (answer dict, None) or (None, error code) each."""
    op = BY_RPC[rpc]
    async with grpc.aio.insecure_channel(target) as channel:
        stub = channel.unary_unary(op.grpc_path, request_serializer=op.request.SerializeToString,
                                   response_deserializer=op.response.FromString)
        semaphore = asyncio.Semaphore(concurrency)
        results: list = [None] * len(calls)

        async def one(index, request, token):
            async with semaphore:
                try:
                    answer = await stub(build_request(op, request), metadata=(("authorization", f"Bearer {token}"),),
                                        timeout=timeout)
                    results[index] = (json_format.MessageToDict(answer, preserving_proto_field_name=True), None)
                except grpc.aio.AioRpcError as error:
                    trailers = dict(error.trailing_metadata() or ())
                    results[index] = (None, trailers.get("error-code", error.code().name) + ": " + (error.details() or ""))
        await asyncio.gather(*(one(i, request, token) for i, (request, token) in enumerate(calls)))
    return results


def must_all_succeed(what: str, results) -> list[dict]:
    errors = Counter(error.split(":")[0] for _, error in results if error)
    if errors:
        sample = next(error for _, error in results if error)
        raise RuntimeError(f"{what}: {sum(errors.values())} failed {dict(errors)}; e.g. {sample}")
    return [answer for answer, _ in results]


def wait_http(url: str, child: ChildProcess, timeout: float = 60.0) -> None:
    def ready():
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    child.wait_until(ready, timeout)


# --------------------------------------------------------------------------- the day plan
class Member:
    __slots__ = ("index", "member_id", "branch_id", "activity_id", "mobile", "venue", "kind", "extras", "token",
                 "device")

    def __init__(self, index, member_id, branch_id, activity_id, mobile, venue):
        self.index, self.member_id, self.branch_id, self.activity_id = index, member_id, branch_id, activity_id
        self.mobile, self.venue = mobile, venue
        self.kind, self.extras, self.token, self.device = "mobile" if mobile else "normal", set(), "", f"dev-{index}"


class Scan:
    __slots__ = ("scan_id", "phase", "sim", "member", "direction", "kind", "expected", "after", "distance",
                 "forged", "baseline")

    def __init__(self, scan_id, phase, sim, member, direction, kind, expected, after=-1, distance=None,
                 forged=False):
        self.scan_id, self.phase, self.sim, self.member, self.direction = scan_id, phase, sim, member, direction
        self.kind, self.expected, self.after, self.distance, self.forged = kind, expected, after, distance, forged
        self.baseline = False

    @property
    def key(self) -> str:
        return f"{self.member.activity_id}:{self.direction}:{self.member.member_id}"


def sign_in_minute(rng: random.Random) -> float:
    """Minutes relative to the start: most arrive in the last ten minutes before it."""
    draw = rng.random()
    if draw < 0.75:
        return rng.triangular(-10.0, 0.0, -2.0)
    if draw < 0.95:
        return rng.uniform(-28.0, -10.0)
    return rng.uniform(0.0, 8.0)                       # within the grace period (10 min)


def sign_out_minute(rng: random.Random) -> float:
    """Minutes relative to the end: most leave within five minutes."""
    draw = rng.random()
    if draw < 0.8:
        return rng.triangular(0.2, 6.0, 1.0)
    return rng.uniform(6.0, 50.0)


def plan_the_day(members: list[Member], rng: random.Random) -> list[Scan]:
    """Each member's role in the day and every scan it sends, with the answer expected."""
    for m in members:
        if m.mobile:
            continue
        draw = rng.random()
        m.kind = ("leave" if draw < 0.004 else "noshow" if draw < 0.024 else "late" if draw < 0.03
                  else "inonly" if draw < 0.045 else "normal")
        if m.kind in ("normal", "inonly"):
            for extra, share in (("fence_in", 0.007), ("forged", 0.005), ("replay_in", 0.012)):
                if rng.random() < share:
                    m.extras.add(extra)
        if m.kind == "normal":
            for extra, share in (("fence_out", 0.005), ("replay_out", 0.012)):
                if rng.random() < share:
                    m.extras.add(extra)
        if m.kind == "leave" and rng.random() < 0.4:
            m.extras.add("scans_anyway")
        if m.kind == "late" and rng.random() < 0.5:
            m.extras.add("tries_sign_out")
    scans: list[Scan] = []

    def add(*args, **kwargs) -> Scan:
        scan = Scan(len(scans), *args, **kwargs)
        scans.append(scan)
        return scan
    for m in members:
        if m.mobile or m.kind == "noshow":
            continue
        t_in = sign_in_minute(rng)
        if m.kind == "leave":
            if "scans_anyway" in m.extras:
                add("in", t_in, m, "in", "on_leave", "ON_LEAVE")
            continue
        if m.kind == "late":
            add("late", rng.uniform(0, 5), m, "in", "late", "CHECKIN_LATE")
            if "tries_sign_out" in m.extras:
                add("out", sign_out_minute(rng), m, "out", "no_sign_in", "CHECKIN_REQUIRED")
            continue
        if "forged" in m.extras:
            add("in", t_in - 0.3, m, "in", "forged", "TOKEN_FORGED", forged=True)
        if "fence_in" in m.extras:
            refused = add("in", t_in, m, "in", "fence", "OUTSIDE_FENCE", distance=400.0)
            first = add("in", t_in + 1.0, m, "in", "retry", "ok", after=refused.scan_id)
        else:
            first = add("in", t_in, m, "in", "good", "ok")
        if "replay_in" in m.extras:
            add("in", first.sim + rng.uniform(0.5, 3.0), m, "in", "replay", "repeat", after=first.scan_id)
        if m.kind == "inonly":
            continue
        t_out = sign_out_minute(rng)
        if "fence_out" in m.extras:
            refused = add("out", t_out, m, "out", "fence", "OUTSIDE_FENCE", distance=400.0)
            last = add("out", t_out + 1.0, m, "out", "retry", "ok", after=refused.scan_id)
        else:
            last = add("out", t_out, m, "out", "good", "ok")
        if "replay_out" in m.extras:
            add("out", last.sim + rng.uniform(0.5, 3.0), m, "out", "replay", "repeat", after=last.scan_id)
    return scans


def saturated_seconds(answers: dict, times: dict, late: float = 0.1, at_least: int = 10) -> set[int]:
    """The seconds of a phase (from its start) in which at least ``at_least`` scans were sent more than
    ``late`` seconds after the day's curve offered them: every call slot was taken, the load was waiting
    for the gateway. (A retry waits for an earlier answer on purpose; ``at_least`` keeps those few out.)"""
    late_sends = Counter(int(answer[1]) for scan_id, answer in answers.items()
                         if scan_id in times and answer[1] - times[scan_id] > late)
    return {second for second, count in late_sends.items() if count >= at_least}


def longest_stretch(seconds: set[int]) -> list[int]:
    """The longest run of consecutive seconds in ``seconds`` (the earliest of equals)."""
    best: list[int] = []
    for second in sorted(seconds):
        if second - 1 not in seconds:
            run = [second]
            while run[-1] + 1 in seconds:
                run.append(run[-1] + 1)
            if len(run) > len(best):
                best = run
    return best


def latency_tail(answers: list, seconds: set[int], bound: float = 0.25) -> dict | None:
    """Where the slow answers of the saturated ``seconds`` (by the second they were answered in) lie: the latencies
    of those answers, each second's p99, and the share of the answers slower than ``bound`` that the tenth of the
    seconds with the most of them hold (about a tenth: a tail spread evenly; most: a few stalls)."""
    by_second: dict[int, list[float]] = {}
    for answer in answers:
        second = int(answer[1] + answer[2])
        if second in seconds:
            by_second.setdefault(second, []).append(answer[2])
    if not by_second:
        return None
    latencies = sorted(latency for values in by_second.values() for latency in values)
    per_second_p99 = sorted(percentile(sorted(values), 0.99) for values in by_second.values())
    slow = {second: sum(latency > bound for latency in values) for second, values in by_second.items()}
    worst = sorted(slow, key=slow.__getitem__, reverse=True)[:max(1, len(slow) // 10)]
    return {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99), "over": sum(slow.values()),
            "answers": len(latencies), "second_p99_median": percentile(per_second_p99, 0.5),
            "second_p99_max": per_second_p99[-1],
            "worst_tenth_share": sum(slow[second] for second in worst) / max(sum(slow.values()), 1),
            "worst_seconds": sorted(worst)}


def schedule(scans: list[Scan], peak_rate: float) -> dict[int, float]:
    """Real seconds after the phase start for each scan: the day compressed so that the busiest
    simulated minute is offered at ``peak_rate`` scans per second."""
    if not scans:
        return {}
    per_minute = Counter(math.floor(s.sim) for s in scans)
    seconds_per_minute = max(per_minute.values()) / peak_rate
    first = min(s.sim for s in scans)
    return {s.scan_id: (s.sim - first) * seconds_per_minute for s in scans}


# --------------------------------------------------------------------------- the bench
class Bench:
    def __init__(self, args):
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="bench-themed-day-"))
        self.children: list[ChildProcess] = []
        self.watch = Watch()
        self.cpu_by_phase: dict[str, dict[str, float]] = {}
        self.server_side: dict[str, dict] = {}
        self.clock_steps: dict[str, int] = {}
        self.load_usage: dict[str, list[dict]] = defaultdict(list)
        self.notes: list[str] = []
        self.rng = random.Random(args.seed)

    def log(self, text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    # --- processes ---------------------------------------------------------------
    def start(self, bus: str, mongo_uri: str, scoring_mongo_uri: str) -> None:
        common = {"AMQP_URI": bus, "MONGO_URI": mongo_uri}
        self.identity = self.child("identity", ["-m", "servicekit.process.runner", "services.identity.service:IdentityService"],
                                   {**common, "METRICS_PORT": str(free_port()), "PASSWORD_HASH_PROFILE": "fast",
                                    **BENCH_TOKEN_LIFETIME})
        self.attendance_metrics = free_port()
        self.attendance = self.child("attendance", ["-m", "servicekit.process.runner", ATTENDANCE_TEST_BUILD],
                                     {**common, "METRICS_PORT": str(self.attendance_metrics), **TEST_BUILD_ENV})
        # --instances N: more instances of attendance, scoring (its score consumer) and the points consumer on the
        # same queues; their figures are summed with the first's where the report reads a service's metrics
        self.attendance_ports = [self.attendance_metrics]
        for number in range(2, self.args.instances + 1):
            port = free_port()
            self.attendance_ports.append(port)
            self.child(f"attendance-{number}", ["-m", "servicekit.process.runner", ATTENDANCE_TEST_BUILD],
                       {**common, "METRICS_PORT": str(port), **TEST_BUILD_ENV})
        self.watch.counters.append(self.attendance_calls)
        self.scoring = None
        if (REPO / "services/scoring/service.py").exists() and not self.args.without_scoring:
            self.scoring_metrics = free_port()
            self.scoring = self.child("scoring", ["-m", "servicekit.process.runner", "services.scoring.service:ScoringService"],
                                      {**common, "MONGO_URI": scoring_mongo_uri,
                                       "METRICS_PORT": str(self.scoring_metrics),
                                       "PROCESS_NICE": str(self.args.scoring_nice)})
            self.points_metrics = free_port()      # the points consumer, a process of its own as bin/run runs it
            self.points = self.child("scoring-points", ["-m", "servicekit.process.runner",
                                                        "services.scoring.service:PointsConsumer"],
                                     {**common, "MONGO_URI": scoring_mongo_uri, "METRICS_PORT": str(self.points_metrics),
                                      "PROCESS_NICE": str(self.args.points_nice)})
            for number in range(2, self.args.instances + 1):
                self.child(f"scoring-{number}", ["-m", "servicekit.process.runner",
                                                 "services.scoring.service:ScoringService"],
                           {**common, "MONGO_URI": scoring_mongo_uri, "METRICS_PORT": str(free_port()),
                            "PROCESS_NICE": str(self.args.scoring_nice)})
                self.child(f"scoring-points-{number}", ["-m", "servicekit.process.runner",
                                                        "services.scoring.service:PointsConsumer"],
                           {**common, "MONGO_URI": scoring_mongo_uri, "METRICS_PORT": str(free_port()),
                            "PROCESS_NICE": str(self.args.points_nice)})
        self.gateways = {}
        # gateway A's instances share its HTTP and gRPC ports (SO_REUSEPORT: the kernel spreads the connections)
        shared = {"GATEWAY_REUSE_PORT": "on"} if self.args.instances > 1 else {}
        a_ports = (free_port(), free_port())
        gateways = [("gateway-A", {**shared}, a_ports)]
        gateways += [(f"gateway-A{number}", {**shared}, a_ports) for number in range(2, self.args.instances + 1)]
        gateways.append(("gateway-B(per-request)", {"GATEWAY_SCAN_BATCH": "off"}, (free_port(), free_port())))
        for name, extra, (http, grpc_port) in gateways:
            admin = free_port()
            env = {"AMQP_URI": bus, "GATEWAY_HTTP_PORT": str(http), "GATEWAY_GRPC_PORT": str(grpc_port),
                   "GATEWAY_ADMIN_PORT": str(admin),
                   "GATEWAY_RPC_TIMEOUT": "600", "GATEWAY_BATCH_SENDERS": str(self.args.gateway_senders),
                   "GATEWAY_EVENT_LOOP": self.args.event_loop, **extra}
            if self.args.gateway_workers:
                env["GATEWAY_GRPC_WORKERS"] = str(self.args.gateway_workers)
            child = self.child(name, ["-m", "gateway"], env)
            self.gateways[name] = (child, f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http}",
                                   f"http://127.0.0.1:{admin}")      # /metrics: the admin listener
        self.rpc_proxy = ClusterRpcProxy({**nameko_config(), "AMQP_URI": bus}, timeout=900)
        self.rpc = self.rpc_proxy.start()
        self.identity.wait_until(lambda: self.rpc.identity.login(tenant_code="", username="operator",
                                                                 password=os.environ["OPERATOR_PASSWORD"]))
        self.attendance.wait_until(lambda: self.rpc.attendance.set_clock_offset(seconds=0))
        if self.scoring:
            from servicekit.errors import Unauthenticated

            def scoring_up():
                try:
                    self.rpc.scoring.get_points_rules(scope={})
                except Unauthenticated:
                    return True
                return False
            self.scoring.wait_until(scoring_up)
        for child, _, http, _ in self.gateways.values():
            wait_http(http + "/healthz", child)
        self.target_a = self.gateways["gateway-A"][1]
        for child, _, _, admin_url in self.gateways.values():       # every gateway up, the ones sharing A's ports too
            wait_http(admin_url + "/healthz", child)
        self.watch.counters.append(self.gateway_stalls)
        self.target_b = self.gateways["gateway-B(per-request)"][1]
        batching = "GATEWAY_SCAN_BATCH" in "".join(p.read_text() for p in (REPO / "gateway").glob("*.py"))
        self.batching_present = batching
        self.log(f"processes up (gateway RecordScan micro-batching {'present' if batching else 'NOT present yet'}"
                 f" in gateway/)")

    def attendance_calls(self) -> dict[str, float]:
        """The batch calls attendance has answered so far, the seconds they took and its collector's pauses (a
        ``Watch`` counter). Read every second, so only these series are asked for (prometheus_client's ``name[]``):
        the whole page cost attendance about 3 % of its CPU at a 900-branch peak (py-spy), where a Prometheus scrapes
        every 15 s or so."""
        calls = seconds = collector = 0.0
        for port in self.attendance_ports:
            figures = scrape_many(
                f"http://127.0.0.1:{port}/metrics?name[]=service_rpc_seconds_count"
                "&name[]=service_rpc_seconds_sum&name[]=process_gc_pause_seconds_sum",
                [("service_rpc_seconds_count", "record_scans"), ("service_rpc_seconds_sum", "record_scans"),
                 ("process_gc_pause_seconds_sum", None)])
            calls, seconds, collector = calls + figures[0], seconds + figures[1], collector + figures[2]
        return {ATTENDANCE_CALLS: calls, ATTENDANCE_BUSY: seconds, ATTENDANCE_GC: collector}

    def gateway_stalls(self) -> dict[str, float]:
        """Gateway A's running totals of what can hold a scan up there (a ``Watch`` counter): the loop's lateness,
        the collector's pauses, the batch calls and their round trips."""
        names = ("gateway_event_loop_lag_seconds_sum", "process_gc_pause_seconds_sum", "gateway_batch_seconds_count",
                 "gateway_batch_seconds_sum")
        lag, collector, batches, seconds = scrape_many(
            self.gateways["gateway-A"][3] + "/metrics?" + "&".join(f"name[]={name}" for name in names),
            [(names[0], None), (names[1], None), (names[2], "attendance.record_scans"),
             (names[3], "attendance.record_scans")])
        return {GATEWAY_LAG: lag, GATEWAY_GC: collector, BATCHES: batches, BATCH_SECONDS: seconds}

    def stall_buckets(self, gateway_url: str) -> dict[str, dict[str, float]]:
        """``STALL_BUCKETS`` as they stand, from the gateway at ``gateway_url`` (its /metrics) and attendance."""
        urls = {"gateway": gateway_url, "attendance": f"http://127.0.0.1:{self.attendance_metrics}/metrics"}
        return {what: scrape_buckets(urls[process], metric, operation, bounds)
                for what, process, metric, operation, bounds in STALL_BUCKETS}

    def attendance_rpc(self, metric: str, method: str) -> float:
        """One series of the attendance service's ``service_rpc_seconds`` for one method (every instance's)."""
        return sum(scrape(f"http://127.0.0.1:{port}/metrics", metric, method) for port in self.attendance_ports)

    def attendance_buckets(self, method: str) -> dict[str, float]:
        """``service_rpc_seconds`` buckets of one method, summed over the attendance instances."""
        counts: dict[str, float] = defaultdict(float)
        for port in self.attendance_ports:
            for le, count in scrape_buckets(f"http://127.0.0.1:{port}/metrics", "service_rpc_seconds",
                                            method).items():
                counts[le] += count
        return dict(counts)

    def child(self, name: str, args: list[str], env: dict) -> ChildProcess:
        child = ChildProcess(name, args, env, self.work, own_session=not self.args.one_session)   # as bin/run
        self.children.append(child)
        self.watch.add(name, child.process.pid)
        return child

    def stop(self) -> None:
        try:
            self.rpc_proxy.stop()
        except Exception:  # noqa: BLE001
            pass
        for child in reversed(self.children):
            child.stop()

    # --- city ----------------------------------------------------------------------
    def import_city(self) -> None:
        city = import_bench_city(self.rpc, self.args.members, self.args.branches, self.args.seed, self.log)
        self.tenant_id, self.root, self.admin_scope = city.tenant_id, city.root, city.admin_scope
        self.import_seconds = city.member_seconds

    # --- themed day: issue, plans, approval ---------------------------------------
    def prepare_day(self) -> None:
        with GrpcClient(self.target_a, timeout=900) as client:
            self.admin_token = client.login("benchcity", "admin", ADMIN_PASSWORD)["access_token"]
        self.signer = TokenSigner(Path(os.environ["TOKEN_PRIVATE_KEY_PATH"]).read_bytes(), lifetime_seconds=6 * 3600)
        branches = self.rpc.identity.branches_under(scope=self.admin_scope, org_id=self.root)["branches"]
        local = timezone(timedelta(hours=8))
        self.day = (datetime.now(local) + timedelta(days=2)).date()
        month_start = self.day.replace(day=1)
        due_to = min(month_start + timedelta(days=30), (month_start + timedelta(days=32)).replace(day=1)
                     - timedelta(days=1))
        started = time.perf_counter()
        with GrpcClient(self.target_a, timeout=900) as client:
            issued = client.call("IssueTheme", {"org_id": self.root, "month": self.day.strftime("%Y-%m"),
                                                "title": "学习党章 重温入党誓词", "due_from": month_start.isoformat(),
                                                "due_to": due_to.isoformat()}, self.admin_token)
        self.theme_id = issued["theme"]["id"]
        self.log(f"theme issued to {issued['activities_created']} branches in {time.perf_counter() - started:.1f}s")
        activity_of = {doc["branch_id"]: doc["_id"] for doc in
                       self.db.activities.find({"theme_id": self.theme_id}, {"branch_id": 1})}
        if len(activity_of) != len(branches):
            raise RuntimeError(f"{len(activity_of)} activities for {len(branches)} branches")
        venue_rng = random.Random(self.args.seed + 1)
        self.venues, self.secretary_tokens, self.activity_of = {}, {}, activity_of
        for branch in branches:
            branch_id = branch["org_id"]
            self.venues[branch_id] = (round(CITY_CENTRE[0] + venue_rng.uniform(-0.25, 0.25), 6),
                                      round(CITY_CENTRE[1] + venue_rng.uniform(-0.3, 0.3), 6))
            self.secretary_tokens[branch_id] = self.signer.issue({
                "account_id": f"benchsec-{branch_id}", "tenant_id": self.tenant_id,
                "roles": [{"role": "branch_secretary", "org_id": branch_id}], "member_id": None, "branch_id": None})
        started = time.perf_counter()
        submits = [({"activity_id": activity_of[b], "date": self.day.isoformat(), "start_time": "09:00",
                     "end_time": "11:00", "venue_name": "党员活动室", "venue_lat": self.venues[b][0],
                     "venue_lng": self.venues[b][1], "optional_actions": ["参观红色教育基地"]},
                    self.secretary_tokens[b]) for b in activity_of]
        must_all_succeed("SubmitPlan", asyncio.run(call_many(self.target_a, "SubmitPlan", submits, SETUP_CONCURRENCY)))
        self.log(f"{len(submits)} plans submitted by their secretaries in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        reviews = [({"activity_id": a, "decision": "approved"}, self.admin_token) for a in activity_of.values()]
        reviewed = must_all_succeed("ReviewPlan", asyncio.run(call_many(self.target_a, "ReviewPlan", reviews,
                                                                                  SETUP_CONCURRENCY)))
        self.plan = reviewed[0]["plan"]
        self.log(f"{len(reviews)} plans approved by the city admin in {time.perf_counter() - started:.1f}s "
                 f"(start {self.plan['start_at']}, end {self.plan['end_at']})")
        # the bench's members scan the printed codes, which the superior must allow per activity (off by default)
        started = time.perf_counter()
        allows = [({"activity_id": a, "allowed": True, "reason": "基准测试：打印签到码"}, self.admin_token)
                  for a in activity_of.values()]
        must_all_succeed("SetPrintedCode", asyncio.run(call_many(self.target_a, "SetPrintedCode", allows,
                                                                 SETUP_CONCURRENCY)))
        self.log(f"printed codes allowed for {len(allows)} activities by the city admin in "
                 f"{time.perf_counter() - started:.1f}s")

    # --- clock ------------------------------------------------------------------------
    # run_sweeps is not called: the attendance timer sweeps every second, and a run_sweeps call
    # overlapping a tick runs two transactions at once in one process, which nx-27017 cannot take
    # (its transactions are SQLite savepoints on one connection: "no such savepoint", and the
    # pooled session stays broken, so later commits fail after their writes were applied).
    def set_clock(self, field: str, minutes: float) -> float:
        target = parse_stamp(self.plan[field]) + timedelta(minutes=minutes)
        offset = (target - datetime.now(timezone.utc)).total_seconds()
        self.rpc.attendance.set_clock_offset(seconds=offset)
        time.sleep(0.6)          # every process reloads the offset within 0.5 s
        return offset

    def freeze_rosters(self) -> None:
        self.offset = self.set_clock("start_at", -20)
        started = time.perf_counter()
        while True:
            time.sleep(0.5)      # the service's own 1-second sweep freezes them (see the notes: no run_sweeps)
            frozen = len(self.activity_of) - self.still_scheduled("freeze")
            if frozen == len(self.activity_of):
                break
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"only {frozen} rosters frozen after 10 minutes")
        sample = self.rng.sample(list(self.activity_of.values()), min(5, len(self.activity_of)))
        views = must_all_succeed("GetActivity", asyncio.run(call_many(
            self.target_a, "GetActivity", [({"activity_id": a}, self.admin_token) for a in sample])))
        if not all(v.get("roster_frozen") for v in views):
            raise RuntimeError("GetActivity does not report roster_frozen")
        self.log(f"clock at start-20 min: all {len(self.activity_of)} rosters frozen in "
                 f"{time.perf_counter() - started:.1f}s")

    # --- members, leave, QR -------------------------------------------------------------
    def load_members(self) -> None:
        self.members: list[Member] = []
        for doc in self.db.activities.find({"theme_id": self.theme_id}, {"branch_id": 1, "roster": 1}):
            for member_id, entry in sorted((doc.get("roster") or {}).items()):
                self.members.append(Member(len(self.members), member_id, doc["branch_id"], doc["_id"],
                                           bool(entry.get("mobile")), self.venues[doc["branch_id"]]))
        self.scans = plan_the_day(self.members, self.rng)
        started = time.perf_counter()
        for m in self.members:
            if not m.mobile:
                m.token = self.signer.issue({"account_id": f"benchm-{m.member_id}", "tenant_id": self.tenant_id,
                                             "roles": [{"role": "member", "org_id": m.branch_id}],
                                             "member_id": m.member_id, "branch_id": m.branch_id})
        self.log(f"{len(self.members)} roster members ({sum(m.mobile for m in self.members)} mobile); "
                 f"{sum(1 for m in self.members if m.token)} member access tokens minted with TokenSigner "
                 f"(no logins) in {time.perf_counter() - started:.1f}s; {len(self.scans)} scans planned")
        key = qrtoken.tenant_key(Path(os.environ["QR_SIGNING_KEY_PATH"]).read_bytes(), self.tenant_id)
        self.qr = {(a, d): qrtoken.issue(key, a, d, None) for a in self.activity_of.values() for d in ("in", "out")}
        sample = self.rng.sample(sorted(self.activity_of.items()), min(4, len(self.activity_of)))
        calls = [({"activity_id": a, "direction": d, "mode": "print"}, self.secretary_tokens[b])
                 for b, a in sample for d in ("in", "out")]
        codes = must_all_succeed("GetQrCode", asyncio.run(call_many(self.target_a, "GetQrCode", calls)))
        if any(code["token"] != self.qr[(request["activity_id"], request["direction"])]
               for code, (request, _) in zip(codes, calls)):
            raise RuntimeError("printable QR tokens computed by the bench differ from GetQrCode's")
        self.log(f"printable QR tokens for {len(self.qr)} codes computed; {len(calls)} checked against GetQrCode")

    def leaves(self) -> None:
        on_leave = [m for m in self.members if m.kind == "leave"]
        started = time.perf_counter()
        asked = must_all_succeed("RequestLeave", asyncio.run(call_many(
            self.target_a, "RequestLeave", [({"activity_id": m.activity_id, "reason": "出差"}, m.token)
                                            for m in on_leave], SETUP_CONCURRENCY)))
        must_all_succeed("DecideLeave", asyncio.run(call_many(
            self.target_a, "DecideLeave", [({"leave_id": leave["id"], "decision": "approved"},
                                            self.secretary_tokens[m.branch_id]) for leave, m in zip(asked, on_leave)],
            SETUP_CONCURRENCY)))
        self.log(f"{len(on_leave)} leave requests asked and approved through the gateway in "
                 f"{time.perf_counter() - started:.1f}s")

    # --- load ---------------------------------------------------------------------------
    def item(self, scan: Scan, at: float) -> tuple:
        m = scan.member
        if scan.distance:
            lat, lng = point_at(scan.distance, self.rng.uniform(0, 360), origin=m.venue)
        else:
            lat, lng = point_at(self.rng.uniform(3, 80), self.rng.uniform(0, 360), origin=m.venue)
        token = self.qr[(m.activity_id, scan.direction)]
        if scan.forged:
            token = token[:-22] + base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()
        return (scan.scan_id, at, m.token, token, lat, lng, round(self.rng.uniform(5, 40), 1), m.device, scan.after)

    def drive(self, label: str, target: str, scans: list[Scan], offset: float, times: dict[int, float],
              deadline: float | None = None) -> dict:
        """Send ``scans`` through ``target`` with the load processes; their answers by scan id."""
        procs = self.args.load_procs
        http_url = next(http for _, grpc_target, http, _ in self.gateways.values() if grpc_target == target)
        by_proc: list[list[tuple]] = [[] for _ in range(procs)]
        for scan in scans:
            by_proc[scan.member.index % procs].append(self.item(scan, times[scan.scan_id]))
        start_at = time.time() + 1.5 + 0.3 * procs
        offset_file = self.work / f"{label}.offset"
        offset_file.write_text(repr(offset))
        runs = []
        for n, items in enumerate(by_proc):
            work_path, answer_path = self.work / f"{label}-{n}.work", self.work / f"{label}-{n}.answers"
            with open(work_path, "wb") as file:
                pickle.dump({"protocol": self.args.protocol, "target": target, "http": http_url, "offset": offset, "concurrency": max(1, self.args.concurrency // procs),
                             "deadline": deadline, "channels": self.args.channels, "items": items,
                             "start_at": start_at, "offset_file": str(offset_file)}, file,
                            protocol=pickle.HIGHEST_PROTOCOL)
            process = subprocess.Popen([sys.executable, "-m", "bench.themed_day_load", str(work_path),
                                        str(answer_path)], cwd=REPO, start_new_session=not self.args.one_session)
            self.watch.add(f"load-{n}", process.pid)
            runs.append((process, answer_path))
        while time.time() < start_at - 0.2:
            time.sleep(0.05)
        cpu_before = self.watch.cpu()
        gateway_url = (self.gateways["gateway-A"] if target == self.target_a
                       else self.gateways["gateway-B(per-request)"])[3] + "/metrics"
        method = "record_scans" if target == self.target_a and self.batching_present else "record_scan"
        before = [self.attendance_rpc("service_rpc_seconds_count", method),
                  self.attendance_rpc("service_rpc_seconds_sum", method),
                  scrape(gateway_url, "gateway_request_seconds_count", "RecordScan"),
                  scrape(gateway_url, "gateway_request_seconds_sum", "RecordScan")]
        buckets_before = self.attendance_buckets(method)
        stalls_before = self.stall_buckets(gateway_url)
        wall = time.perf_counter()
        # keep the service clock where the phase put it: on a slow run, step it back by 20 s every
        # 20 s (a fix may be 30 s ahead of the server's clock, so the load processes, which re-read
        # the offset file every 0.25 s, stay valid across a step)
        kept_at, steps = time.monotonic(), 0
        while any(process.poll() is None for process, _ in runs):
            time.sleep(0.2)
            if time.monotonic() - kept_at >= CLOCK_STEP_SECONDS:
                kept_at = time.monotonic()
                offset -= CLOCK_STEP_SECONDS
                offset_file.write_text(repr(offset))
                self.rpc.attendance.set_clock_offset(seconds=offset)
                steps += 1
        self.clock_steps[label] = steps
        wall = time.perf_counter() - wall
        cpu_after = self.watch.cpu()
        after = [self.attendance_rpc("service_rpc_seconds_count", method),
                 self.attendance_rpc("service_rpc_seconds_sum", method),
                 scrape(gateway_url, "gateway_request_seconds_count", "RecordScan"),
                 scrape(gateway_url, "gateway_request_seconds_sum", "RecordScan")]
        buckets = self.attendance_buckets(method)
        stalls = {what: {le: count - stalls_before[what][le] for le, count in counted.items()}
                  for what, counted in self.stall_buckets(gateway_url).items()}
        calls, seconds, gw_calls, gw_seconds = (a - b for a, b in zip(after, before))
        self.server_side[label] = {"method": method, "calls": calls, "seconds": seconds, "gw_calls": gw_calls,
                                   "gw_seconds": gw_seconds,
                                   "buckets": {le: buckets[le] - buckets_before[le] for le in buckets},
                                   "stalls": stalls}
        usage = {name: cpu_after.get(name, 0) - cpu_before.get(name, 0) for name in cpu_after
                 if not name.startswith("load-")}
        self.cpu_by_phase[label] = usage
        usage["wall"] = wall
        answers, unsent, elapsed = {}, [], 0.0
        for n, (process, answer_path) in enumerate(runs):
            self.watch.pids.pop(f"load-{n}", None)
            if process.returncode != 0:
                raise RuntimeError(f"load process {n} of {label} exited with {process.returncode}")
            with open(answer_path, "rb") as file:
                result = pickle.load(file)
            usage[f"load-{n}"] = result["cpu"]
            self.watch.peak[f"load-{n}"] = max(self.watch.peak[f"load-{n}"], result["maxrss_kb"])
            for answer in result["answers"]:
                answers[answer[0]] = answer
            unsent += [item[0] for item in result["unsent"]]
            elapsed = max(elapsed, result["elapsed"])
        last = max((a[1] + a[2] for a in answers.values()), default=0.0)
        return {"answers": answers, "unsent": unsent, "elapsed": elapsed, "last_answer_epoch": start_at + last,
                "start_at": start_at}

    def run_day(self) -> None:
        args = self.args
        by_phase = defaultdict(list)
        for scan in self.scans:
            by_phase[scan.phase].append(scan)
        self.results: dict[str, dict] = {}
        self.answers: dict[int, tuple] = {}
        # baseline: the first sign-ins of a random share of members through gateway B, as fast as
        # the concurrency allows, for --baseline-seconds; what it did not send goes to the main run
        sign_ins = by_phase["in"]
        if args.baseline_seconds > 0:
            wanted = min(len(sign_ins) // 3, int(args.baseline_seconds * 1500))
            picked_members = set()
            order = sorted({s.member.index for s in sign_ins})
            self.rng.shuffle(order)
            count = 0
            per_member = Counter(s.member.index for s in sign_ins)
            for index in order:
                if count >= wanted:
                    break
                picked_members.add(index)
                count += per_member[index]
            baseline = [s for s in sign_ins if s.member.index in picked_members]
            for s in baseline:
                s.baseline = True
            self.offset = self.set_clock("start_at", -20)
            self.log(f"baseline: up to {len(baseline)} sign-in scans through gateway B (GATEWAY_SCAN_BATCH=off) "
                     f"for {args.baseline_seconds}s, {args.concurrency} in flight")
            result = self.drive("baseline", self.target_b, baseline, self.offset, {s.scan_id: 0.0 for s in baseline},
                                deadline=args.baseline_seconds)
            self.results["baseline"] = result
            self.answers.update(result["answers"])
            unsent = set(result["unsent"])
            for s in baseline:
                if s.scan_id in unsent:
                    s.baseline = False
            self.log(f"baseline: {len(result['answers'])} answered in {result['elapsed']:.1f}s, "
                     f"{len(unsent)} handed to the main run")
            sign_ins = [s for s in sign_ins if not s.baseline]
        phases = [("in", "start_at", -20, sign_ins), ("late", "checkin_closes_at", 1, by_phase["late"]),
                  ("out", "end_at", 1, by_phase["out"])]
        for label, field, minutes, scans in phases:
            self.offset = self.set_clock(field, minutes)
            times = schedule(scans, args.peak_rate)
            span = max(times.values(), default=0)
            self.log(f"phase {label}: {len(scans)} scans through gateway A over a compressed {span:.0f}s "
                     f"(peak offered {args.peak_rate}/s, {args.concurrency} in flight max)")
            result = self.drive(label, self.target_a, scans, self.offset, times)
            result["times"] = times
            self.results[label] = result
            self.answers.update(result["answers"])
            accepted = sum(1 for a in result["answers"].values() if a[3] == "OK" and not a[5])
            self.log(f"phase {label}: {len(result['answers'])} answered in {result['elapsed']:.1f}s, "
                     f"{accepted} accepted ({accepted / max(result['elapsed'], 1e-9):,.0f}/s)")
        self.last_scan_at = time.perf_counter()

    def still_scheduled(self, kind: str) -> int:
        """Roster freezes or closings the service has still to do: its schedule entries, removed in the same
        transaction as the change. Counting the activities instead (count_documents, an aggregation on
        nx-27017 that copies every document) took most of the store's CPU while it was closing them."""
        return len(list(self.db.schedule.find({"kind": kind}, {"_id": 1})))

    def close_day(self) -> None:
        self.set_clock("checkout_closes_at", 1)
        started = time.perf_counter()
        while True:
            time.sleep(0.5)
            closed = len(self.activity_of) - self.still_scheduled("close")
            if closed == len(self.activity_of):
                break
            if time.perf_counter() - started > 900:
                raise RuntimeError(f"only {closed} activities closed after 15 minutes")
        self.close_seconds = time.perf_counter() - started
        self.log(f"all {len(self.activity_of)} activities closed in {self.close_seconds:.1f}s")
        self.city_final_seconds = self.wait_city_final() if self.scoring is not None else None

    def wait_city_final(self, timeout: float = 600.0) -> float | None:
        """Seconds from the moment every activity was seen closed to the moment scoring's activities of the
        month were all scored final (both polled every 0.25 s; counted by the store, in SQL): "final scores for
        the whole city"."""
        key = f"{self.tenant_id}:{self.day.strftime('%Y-%m')}"
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            final = self.scoring_db.command("count", "activities", query={"month_key": key, "final": True})["n"]
            if final >= len(self.activity_of):
                seconds = time.perf_counter() - started
                self.log(f"all {final} branch scores final {seconds:.1f}s after the last activity closed")
                return seconds
            time.sleep(0.25)
        self.log(f"only {final} of {len(self.activity_of)} branch scores final {timeout:.0f}s after closing")
        return None

    # --- report -----------------------------------------------------------------------
    def phase_figures(self, label: str) -> dict:
        result = self.results[label]
        answers = list(result["answers"].values())
        latencies = sorted(a[2] for a in answers)
        accepted = [a for a in answers if a[3] == "OK" and not a[5]]
        elapsed = max(result["elapsed"], 1e-9)
        windows = Counter(int(a[1] // 10) for a in accepted)
        saturated = saturated_seconds(result["answers"], result.get("times") or {})
        answered_in = Counter(int(a[1] + a[2]) for a in accepted)
        all_answered_in = Counter(int(a[1] + a[2]) for a in answers)
        stretch = longest_stretch(saturated)
        return {"longest_saturated": (len(stretch), sum(answered_in[w] for w in stretch)),"answers": len(answers), "accepted": len(accepted), "elapsed": elapsed,
                "saturated_seconds": len(saturated), "saturated_accepted": sum(answered_in[w] for w in saturated),
                "saturated_answered": sum(all_answered_in[w] for w in saturated),
                "saturated_at": sorted(result["start_at"] + second for second in saturated),
                "calls_per_s": len(answers) / elapsed, "accepted_per_s": len(accepted) / elapsed,
                "best_10s_accepted_per_s": max(windows.values(), default=0) / 10,
                "p50": percentile(latencies, 0.50), "p95": percentile(latencies, 0.95),
                "p99": percentile(latencies, 0.99), "max": latencies[-1] if latencies else float("nan"),
                "codes": Counter(a[4] or ("OK-repeat" if a[5] else "OK") for a in answers),
                "saturated_tail": latency_tail(answers, saturated), "start_at": result["start_at"]}

    def print_saturated_cores(self, figures: dict) -> None:
        """What kept the cores busy in the seconds the load fell behind: were they all busy (CPU-bound) or
        was something waiting (a serial path)?"""
        for label in ("in", "out"):
            seconds = figures.get(label, {}).get("saturated_at") or []
            busy = self.watch.cores_busy(seconds)
            if not busy:
                continue
            accepted = figures[label]["saturated_accepted"] / len(seconds)
            answered = figures[label]["saturated_answered"] / len(seconds)
            machine = busy.pop(MACHINE)
            calls, busy_calls = busy.pop(ATTENDANCE_CALLS, 0.0), busy.pop(ATTENDANCE_BUSY, 0.0)
            for name in STALL_COUNTERS:
                busy.pop(name, None)
            ranked = sorted(busy.items(), key=lambda item: -item[1])
            print(f"  {label}, its {len(seconds)} saturated seconds: the machine {machine:.2f} of {os.cpu_count()} "
                  f"cores busy ({machine * 1e3 / max(accepted, 1):.2f} ms per accepted scan); by process, cores: "
                  + ", ".join(f"{name} {cores:.2f}" for name, cores in ranked if cores >= 0.005))
            tail = figures[label].get("saturated_tail")
            if tail:
                ms = {key: tail[key] * 1e3 for key in ("p50", "p99", "second_p99_median", "second_p99_max")}
                print(f"    latency of the answers in those seconds: p50 {ms['p50']:.0f} ms, p99 {ms['p99']:.0f} ms; "
                      f"each second's p99: median {ms['second_p99_median']:.0f} ms, max {ms['second_p99_max']:.0f} ms; "
                      f"{tail['over']:,} of {tail['answers']:,} over 250 ms, {tail['worst_tenth_share']:.0%} of "
                      f"them in the tenth of the seconds with the most")
                self.print_stalls(figures[label]["start_at"], tail["worst_seconds"], seconds)
            if calls:
                print(f"    attendance.record_scans in those seconds: {calls:,.1f} calls/s, {answered / calls:.1f} "
                      f"scans per call, {busy_calls * 1e3 / calls:.1f} ms per call, {busy_calls:.2f} calls in "
                      f"progress on average (the gateway's senders: {self.args.gateway_senders}; "
                      f"event loop: {self.args.event_loop})")

    def print_stalls(self, start_at: float, worst: list[int], saturated_at: list[float]) -> None:
        """What held scans up in the seconds with the most slow answers against the other saturated seconds: the
        gateway loop's lateness and the collector's pauses (ms per second), the batch calls' round trip."""
        worst_at = [start_at + second for second in worst]
        rest = sorted(set(saturated_at) - set(worst_at))
        if not rest:
            return
        rates = [self.watch.cores_busy(seconds) for seconds in (worst_at, rest)]
        if not all(rates):
            return

        def both(name: str, scale: float = 1e3) -> str:
            return " against ".join(f"{rate.get(name, 0.0) * scale:.0f}" for rate in rates)

        trips = [rate.get(BATCH_SECONDS, 0.0) * 1e3 / max(rate.get(BATCHES, 0.0), 1e-9) for rate in rates]
        print(f"    in those {len(worst_at)} seconds against the other {len(rest)}: gateway loop late "
              f"{both(GATEWAY_LAG)} ms per second, collector pauses gateway {both(GATEWAY_GC)} and attendance "
              f"{both(ATTENDANCE_GC)} ms per second, {both(BATCHES, 1)} batches per second, round trip "
              f"{trips[0]:.0f} against {trips[1]:.0f} ms")

    def reconcile(self) -> dict:
        scans_by_id = {s.scan_id: s for s in self.scans}
        accepted: dict[str, tuple] = {}                 # key -> first counted answer
        duplicates_answered = 0
        repeats, rejected_keys, unknown_keys = [], set(), set()
        unexpected = Counter()
        for scan_id, answer in self.answers.items():
            scan = scans_by_id[scan_id]
            code, repeat = answer[4], answer[5]
            got = "ok" if answer[3] == "OK" and not repeat else "repeat" if answer[3] == "OK" else code
            if got != scan.expected:
                unexpected[(scan.kind, scan.expected, got)] += 1
            if answer[3] == "OK" and not repeat:
                if scan.key in accepted:
                    duplicates_answered += 1
                accepted[scan.key] = answer
            elif answer[3] == "OK":
                repeats.append((scan.key, answer))
            elif answer[3] in ("DEADLINE_EXCEEDED", "UNAVAILABLE", "INTERNAL", "UNKNOWN", "CANCELLED"):
                unknown_keys.add(scan.key)
            else:
                rejected_keys.add(scan.key)
        never_answered = [s for s in self.scans if s.scan_id not in self.answers]
        records = {}
        chain = defaultdict(list)
        for doc in self.db.records.find({}, {"activity_id": 1, "kind": 1, "member_id": 1, "seq": 1, "hash": 1,
                                             "chain_key": 1}):
            chain[doc["activity_id"]].append(doc.get("seq"))
            if doc.get("kind") in ("checkin", "checkout"):
                records[doc["_id"]] = doc
        stored_by_kind = Counter(doc["kind"] for doc in records.values())
        accepted_by_kind = Counter("checkin" if ":in:" in key else "checkout" for key in accepted)
        lost = [key for key in accepted if key not in records]
        mismatched = [key for key, a in accepted.items() if key in records
                      and (records[key]["seq"] != a[7] or records[key]["hash"] != a[8] or a[6] != key)]
        extra = [key for key in records if key not in accepted]
        extra_unknown = [key for key in extra if key in unknown_keys]
        rejected_stored = [key for key in rejected_keys if key not in accepted and key in records]
        bad_repeats = [key for key, a in repeats if key not in accepted or accepted[key][6:9] != a[6:9]]
        broken_chains = [a for a, seqs in chain.items() if sorted(seqs) != list(range(1, len(seqs) + 1))]
        # final statuses: from what the answers said (must match the database exactly) and from the plan
        statuses = {doc["_id"]: doc for doc in self.db.activities.find(
            {"theme_id": self.theme_id}, {"statuses": 1, "status": 1, "totals": 1})}
        wrong_status, status_counts, planned_diff = Counter(), Counter(), Counter()
        planned = {"normal": "present", "inonly": "incomplete", "leave": "excused", "noshow": "absent",
                   "late": "absent", "mobile": "mobile"}
        for m in self.members:
            in_key, out_key = f"{m.activity_id}:in:{m.member_id}", f"{m.activity_id}:out:{m.member_id}"
            if m.mobile:
                expected = "mobile"
            elif m.kind == "leave":
                expected = "excused"
            elif in_key in accepted or in_key in records and in_key in unknown_keys:
                expected = "present" if (out_key in accepted or out_key in records and out_key in unknown_keys) \
                    else "incomplete"
            else:
                expected = "absent"
            got = (statuses[m.activity_id].get("statuses") or {}).get(m.member_id)
            status_counts[got] += 1
            if got != expected:
                wrong_status[(expected, got)] += 1
            if planned[m.kind] != got:
                planned_diff[(planned[m.kind], got)] += 1
        not_closed = sum(1 for doc in statuses.values() if doc["status"] != "closed")
        sample = self.rng.sample(sorted(self.activity_of.items()), min(10, len(self.activity_of)))
        verified = must_all_succeed("VerifyChain", asyncio.run(call_many(
            self.target_a, "VerifyChain", [({"activity_id": a}, self.secretary_tokens[b]) for b, a in sample])))
        return {"accepted_distinct": len(accepted), "accepted_by_kind": accepted_by_kind,
                "stored_by_kind": stored_by_kind, "lost": lost, "duplicates_answered": duplicates_answered,
                "mismatched": mismatched, "extra": extra, "extra_unknown": extra_unknown,
                "rejected_stored": rejected_stored, "rejected_distinct": len(rejected_keys - set(accepted)),
                "repeats": len(repeats), "bad_repeats": bad_repeats, "broken_chains": broken_chains,
                "wrong_status": wrong_status, "status_counts": status_counts, "planned_diff": planned_diff,
                "unexpected": unexpected, "never_answered": len(never_answered), "not_closed": not_closed,
                "verified": [v.get("ok") for v in verified], "unknown": len(unknown_keys)}

    def report(self, rec: dict) -> None:
        args = self.args
        line = "=" * 100
        print(f"\n{line}\nTHEMED DAY BENCHMARK — {len(self.activity_of):,} branches, {args.members:,} members "
              f"({sum(m.mobile for m in self.members):,} mobile), {len(self.scans):,} scans planned "
              f"({len(self.answers):,} answered)\n{line}")
        print(f"machine: {os.cpu_count()} cores; store nx-27017, RabbitMQ, services, both gateways and the load "
              f"all on it\nload: {args.load_procs} process(es) "
              f"{'over HTTP/JSON (keep-alive connections)' if args.protocol == 'http' else 'over gRPC (grpc.aio), '}"
              f"{'' if args.protocol == 'http' else f'{args.channels} channel(s) each, '}"
              f"{args.concurrency} calls in flight max; day compressed so the busiest minute is offered at "
              f"{args.peak_rate}/s\ngateway A: RecordScan micro-batching "
              f"{'present in gateway/ (on by default)' if self.batching_present else 'NOT present in gateway/ yet: A is per-request too'}; "
              f"gateway B: GATEWAY_SCAN_BATCH=off\ntokens: member and secretary access tokens minted by the bench "
              f"with servicekit.security.tokens.TokenSigner (it owns the keys from ensure_keys), not by logging in; "
              f"the city admin logged in through the gateway")
        kinds = Counter(s.kind for s in self.scans)
        bad = sum(n for k, n in kinds.items() if k not in ("good", "retry"))
        print(f"scan mix: {dict(kinds)} — bad scans {bad:,} = {bad / max(len(self.scans), 1):.1%}")
        print("\n-- throughput and latency (latency = one RecordScan call, client side) --")
        print(f"{'phase':<10}{'gateway':<9}{'answers':>9}{'accepted':>10}{'secs':>8}{'calls/s':>9}{'acc/s':>8}"
              f"{'best10s':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}")
        figures = {}
        for label in self.results:
            f = figures[label] = self.phase_figures(label)
            print(f"{label:<10}{'B' if label == 'baseline' else 'A':<9}{f['answers']:>9,}{f['accepted']:>10,}"
                  f"{f['elapsed']:>8.1f}{f['calls_per_s']:>9,.0f}{f['accepted_per_s']:>8,.0f}"
                  f"{f['best_10s_accepted_per_s']:>9,.0f}{f['p50'] * 1e3:>8.1f}{f['p95'] * 1e3:>8.1f}"
                  f"{f['p99'] * 1e3:>8.1f}{f['max'] * 1e3:>8.0f}")
        main = [label for label in ("in", "out") if label in figures]
        total_accepted = sum(figures[l]["accepted"] for l in main)
        total_secs = sum(figures[l]["elapsed"] for l in main)
        all_lat = sorted(a[2] for l in main for a in self.results[l]["answers"].values())
        sustained = total_accepted / max(total_secs, 1e-9)
        saturated_secs = sum(figures[l]["saturated_seconds"] for l in main)
        saturated_accepted = sum(figures[l]["saturated_accepted"] for l in main)
        p99 = percentile(all_lat, 0.99)
        print(f"\nSUSTAINED (gateway A, sign-in + sign-out phases): {total_accepted:,} accepted in {total_secs:.1f}s "
              f"= {sustained:,.0f} accepted scans/s; latency p50 {percentile(all_lat, .5) * 1e3:.1f} ms, "
              f"p95 {percentile(all_lat, .95) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms")
        print(f"INSTANCES: {args.instances} of attendance, scoring, the points consumer and gateway A (behind one port)"
              + ("; attendance's calls summed over its instances, the gateway's and the consumers' histograms the "
                 "first instance's" if args.instances > 1 else ""))
        print(f"SATURATED (the seconds of those phases in which the load fell behind the day's curve, "
              f"{args.concurrency} calls in flight): {saturated_secs} s, "
              f"{saturated_accepted / max(saturated_secs, 1):,.0f} accepted scans/s: what the machine sustains "
              f"(the rest of the time it answered as fast as the curve offered)")
        if "baseline" in figures:
            b = figures["baseline"]
            print(f"BASELINE (gateway B, per-request, same mix, {b['elapsed']:.0f}s): {b['calls_per_s']:,.0f} calls/s, "
                  f"{b['accepted_per_s']:,.0f} accepted/s, p50 {b['p50'] * 1e3:.1f} ms, p99 {b['p99'] * 1e3:.1f} ms")
        codes = Counter()
        for f in figures.values():
            codes.update(f["codes"])
        print(f"\n-- answers by code (all phases) --\n  " + ", ".join(f"{c}: {n:,}" for c, n in codes.most_common()))
        print("\n-- CPU seconds by process and phase (from /proc; where the time goes) --")
        more = [f"{name}{'' if name == 'gateway-A' else '-'}{number}" for number in range(2, args.instances + 1)
                for name in ("attendance", "scoring", "scoring-points", "gateway-A")]
        names = [n for n in ["nx-27017", "nx-scoring", "rabbitmq", "identity", "attendance", "scoring", "scoring-points",
                             "gateway-A", *more,
                             "gateway-B(per-request)", "load-0", "load-1", "load-2", "load-3"]
                 if any(n in usage for usage in self.cpu_by_phase.values())]
        print(f"{'phase':<10}{'wall s':>8}" + "".join(f"{n[:12]:>13}" for n in names) + f"{'sum/wall':>10}")
        for label, usage in self.cpu_by_phase.items():
            total = sum(usage.get(n, 0.0) for n in names)
            print(f"{label:<10}{usage['wall']:>8.1f}" + "".join(f"{usage.get(n, 0.0):>13.1f}" for n in names)
                  + f"{total / usage['wall']:>10.2f}")
        for label, usage in self.cpu_by_phase.items():
            accepted = figures.get(label, {}).get("answers", 0)
            if accepted:
                print(f"  {label}: CPU ms per answered scan: " + ", ".join(
                    f"{n} {usage.get(n, 0) * 1e3 / accepted:.2f}" for n in names if usage.get(n, 0) > 0.05))
        self.print_saturated_cores(figures)
        print("\n-- server side (Prometheus: attendance service_rpc_seconds, gateway gateway_request_seconds) --")
        for label, side in self.server_side.items():
            answers = figures.get(label, {}).get("answers", 0)
            if side["calls"]:
                print(f"  {label}: attendance.{side['method']}: {side['calls']:,.0f} calls, "
                      f"{answers / side['calls']:.1f} scans per call, {side['seconds'] / side['calls'] * 1e3:.1f} ms "
                      f"per call, busy {side['seconds'] / max(self.cpu_by_phase[label]['wall'], 1e-9):.2f} of the wall "
                      f"time; gateway RecordScan mean {side['gw_seconds'] / max(side['gw_calls'], 1) * 1e3:.1f} ms "
                      f"over {side['gw_calls']:,.0f} requests")
                counts = side["buckets"]
                if counts.get("+Inf"):
                    longer = {le: counts["+Inf"] - count for le, count in counts.items() if le != "+Inf"}
                    print("    calls longer than " + ", ".join(f"{float(le) * 1e3:.0f} ms: {n:,.0f}"
                                                          for le, n in longer.items()))
                for what, counts in side.get("stalls", {}).items():
                    if counts.get("+Inf"):
                        print(f"    {what} over " + ", ".join(f"{float(le) * 1e3:.0f} ms: {counts['+Inf'] - n:,.0f}"
                                                            for le, n in counts.items() if le != "+Inf")
                              + f" (of {counts['+Inf']:,.0f})")
        print("\n-- memory (RSS from /proc, MB: peak / at end) --")
        for name in sorted(self.watch.peak):
            print(f"  {name:<24}{self.watch.peak[name] / 1024:>8.0f} / {self.watch.last.get(name, 0) / 1024:.0f}")
        print("  (rabbitmq = the whole broker, shared with anything else on it; nx-27017 = the embedded store; "
              "nx-scoring = scoring's own embedded store)")
        print("\n-- reconciliation against the attendance database after closing --")
        print(f"  accepted distinct {rec['accepted_distinct']:,} (by kind {dict(rec['accepted_by_kind'])}); "
              f"stored {dict(rec['stored_by_kind'])}")
        print(f"  lost (accepted, not stored): {len(rec['lost'])}; accepted twice: {rec['duplicates_answered']}; "
              f"answer differs from the stored record: {len(rec['mismatched'])}")
        print(f"  stored without an accepted answer: {len(rec['extra'])} (of which after a timeout/unavailable: "
              f"{len(rec['extra_unknown'])}); rejected keys {rec['rejected_distinct']:,}, of them stored: "
              f"{len(rec['rejected_stored'])}")
        print(f"  replays answered repeat=true: {rec['repeats']:,}, not matching the first record: "
              f"{len(rec['bad_repeats'])}; chains with gaps/duplicates: {len(rec['broken_chains'])}; "
              f"VerifyChain on {len(rec['verified'])} sample activities ok: {all(rec['verified'])}")
        print(f"  activities not closed: {rec['not_closed']}; final statuses {dict(rec['status_counts'])}")
        print(f"  members whose final status differs from what their answers imply: "
              f"{sum(rec['wrong_status'].values())} {dict(rec['wrong_status']) or ''}")
        print(f"  differs from the planned role (due to answers other than planned): "
              f"{sum(rec['planned_diff'].values())} {dict(rec['planned_diff']) or ''}")
        print(f"  answers other than expected (kind, expected, got): {sum(rec['unexpected'].values())} "
              f"{dict(rec['unexpected'].most_common(8)) or ''}; never answered: {rec['never_answered']}")
        ok = (not rec["lost"] and not rec["duplicates_answered"] and not rec["mismatched"]
              and len(rec["extra"]) == len(rec["extra_unknown"]) and not rec["rejected_stored"]
              and not rec["bad_repeats"] and not rec["broken_chains"] and not rec["wrong_status"]
              and not rec["not_closed"] and all(rec["verified"])
              and rec["accepted_by_kind"] == rec["stored_by_kind"])
        print(f"  RECONCILIATION: {'PASSED' if ok else 'FAILED'}")
        print("\n-- targets --")
        print_throughput_target(figures, main, sustained)
        print(f"  p99 < 250 ms: {p99 * 1e3:.0f} ms -> {'MET' if p99 < 0.25 else 'MISSED'}")
        print(f"  0 lost: {len(rec['lost'])} -> {'MET' if not rec['lost'] else 'MISSED'}; 0 duplicated: "
              f"{rec['duplicates_answered'] + len(rec['broken_chains'])} -> "
              f"{'MET' if not rec['duplicates_answered'] and not rec['broken_chains'] else 'MISSED'}")
        print(f"\n-- scoring --\n  {self.scoring_note}")
        if any(self.clock_steps.values()):
            print(f"note: the service clock was held in each phase's window by steps of {CLOCK_STEP_SECONDS:.0f}s "
                  f"({dict(self.clock_steps)} steps)")
        for note in self.notes:
            print(f"note: {note}")
        print(f"logs: {self.work}")

    def scoring_available(self) -> bool:
        doc = REPO / "docs/scoring-rpc.md"
        if not self.scoring:
            self.scoring_note = ("not started (--without-scoring)" if self.args.without_scoring
                                 else "services/scoring/service.py absent: not started")
            return False
        text = doc.read_text() if doc.exists() else ""
        if "get_branch_score" not in text or "get_ranking" not in text:
            self.scoring_note = ("service started (it consumes the day's events), but docs/scoring-rpc.md documents "
                                 "no get_branch_score/get_ranking: no score figures taken")
            return False
        self.scoring_note = ""
        return True

    def scoring_live(self) -> None:
        """Right after the last scan: how long until the live branch scores count every scan."""
        if not self.scoring_available():
            return
        out = self.results["out"]["answers"]
        scans_by_id = {s.scan_id: s for s in self.scans}
        accepted = {scans_by_id[i].key for i, a in self.answers.items() if a[3] == "OK" and not a[5]}
        last = sorted(out.values(), key=lambda a: a[1] + a[2])[-20:]
        sample = sorted({scans_by_id[a[0]].member.activity_id for a in last})
        present = Counter()
        for m in self.members:
            if f"{m.activity_id}:in:{m.member_id}" in accepted and f"{m.activity_id}:out:{m.member_id}" in accepted:
                present[m.activity_id] += 1
        last_epoch = self.results["out"]["last_answer_epoch"]
        deadline, pending = time.time() + 300, set(sample)
        try:
            while pending and time.time() < deadline:
                for activity_id in list(pending):
                    score = self.rpc.scoring.get_branch_score(scope=self.admin_scope, activity_id=activity_id)
                    if (score.get("counts") or {}).get("present") == present[activity_id]:
                        pending.discard(activity_id)
                if pending:
                    time.sleep(0.2)
            lag = time.time() - last_epoch
            self.scoring_note += (f"live score: the {len(sample)} branches of the last 20 scans counted every sign-out "
                                  f"{lag:.1f}s after the last scan's answer" if not pending else
                                  f"live score: {len(pending)} of {len(sample)} sampled branches still not counting "
                                  f"every sign-out {lag:.0f}s after the last scan")
            self.scoring_note += "; " + self._scoring_ranking("live")
            self.scoring_note += "\n  " + self._lag("scan to live score (score_lag_seconds, every sign-in and "
                                                   "sign-out of the day)", ("checkin_recorded", "checkout_recorded"))
            for label, event_type in (("sign-ins", "checkin_recorded"), ("sign-outs", "checkout_recorded")):
                self.scoring_note += "\n    " + self._lag(label, (event_type,))
            self.scoring_note += "\n  of which before the batch was applied (event_wait_seconds: outbox, broker, queue, batching)"
            for label, consumer, event_type in (("score consumer, sign-ins", "score", "checkin_recorded"),
                                                ("score consumer, sign-outs", "score", "checkout_recorded"),
                                                ("points consumer, sign-outs", "points", "checkout_recorded")):
                self.scoring_note += "\n    " + self._lag(label, (event_type,), "event_wait_seconds",
                                                          f'consumer="{consumer}"', port=self.consumer_port(consumer))
            self.scoring_note += "\n  time to apply a batch (event_batch_seconds, the whole day)"
            for consumer in ("score", "points"):
                self.scoring_note += "\n    " + self._lag(f"{consumer} consumer", (consumer,), "event_batch_seconds",
                                                          label_name="consumer", per="batches",
                                                          port=self.consumer_port(consumer))
        except Exception as error:  # noqa: BLE001  report, do not fail the run
            self.scoring_note += f"live score RPCs failed: {error!r}"[:300]

    def consumer_port(self, consumer: str) -> int:
        """The metrics port of the process that runs a scoring consumer (points: a process of its own)."""
        return self.points_metrics if consumer == "points" else self.scoring_metrics

    def _lag(self, label: str, event_types: tuple[str, ...], metric: str = "score_lag_seconds", also: str = "",
             per: str = "events", label_name: str = "event_type", port: int = 0) -> str:
        buckets = histogram(f"http://127.0.0.1:{port or self.scoring_metrics}/metrics", metric, label_name,
                            event_types, also)
        if not buckets or not buckets[-1][1]:
            return f"{label}: no observations"
        quantiles = ", ".join(f"{name} <= {bucket_quantile(buckets, share):g} s"
                              for name, share in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)))
        return f"{label}: {buckets[-1][1]:,.0f} {per}; {quantiles} (bucket bounds)"

    def _scoring_ranking(self, label: str) -> str:
        """GetRanking of the whole city through gateway A's gRPC, as the city admin's client calls it: the first
        call of a period fills the service's ranking cache; then 20 calls per page size, timed end to end."""
        month = self.day.strftime("%Y-%m")
        parts = []
        service_url = f"http://127.0.0.1:{self.scoring_metrics}/metrics"
        gateway_url = self.gateways["gateway-A"][3] + "/metrics"

        def server_seconds():
            return [scrape(service_url, "service_rpc_seconds_sum", "get_ranking"),
                    scrape(gateway_url, "gateway_request_seconds_sum", "GetRanking")]
        with GrpcClient(self.target_a, timeout=120) as client:
            token = client.login("benchcity", "admin", ADMIN_PASSWORD)["access_token"]   # a full-size day outlives one
            for page_size in (50, 500):
                timings, ranking = [], {}
                before = server_seconds()
                for _ in range(21):
                    started = time.perf_counter()
                    ranking = client.call("GetRanking", {"org_id": self.root, "period": month, "page_size": page_size},
                                          token)
                    timings.append((time.perf_counter() - started) * 1e3)
                service, gateway = [(b - a) * 1e3 / 21 for a, b in zip(before, server_seconds())]
                first, rest = timings[0], sorted(timings[1:])
                rows = ranking.get("rows") or []
                parts.append(f"page of {len(rows)}: first {first:.0f} ms, then median {rest[len(rest) // 2]:.1f} ms, "
                             f"max {rest[-1]:.1f} ms (mean of the 21 inside the gateway {gateway:.1f} ms, inside "
                             f"scoring.get_ranking {service:.1f} ms)")
        return (f"{label} city ranking through the gateway (gRPC GetRanking, {ranking.get('total')} branches ranked, "
                f"final {sum(1 for r in rows if r.get('final'))} of the page): " + "; ".join(parts)
                + f"; top scores {[r.get('score') for r in rows[:3]]}")

    def scoring_final(self) -> None:
        """After closing: final scores, checked against the attendance totals of a sample."""
        if "live score" not in self.scoring_note:
            return
        try:
            started = time.time()
            sample = self.rng.sample(sorted(self.activity_of.values()), min(30, len(self.activity_of)))
            totals = {doc["_id"]: doc.get("totals") or {} for doc in
                      self.db.activities.find({"_id": {"$in": sample}}, {"totals": 1})}
            pending, wrong = set(sample), {}
            while pending and time.time() < started + 600:
                for activity_id in list(pending):
                    score = self.rpc.scoring.get_branch_score(scope=self.admin_scope, activity_id=activity_id)
                    if score.get("final"):
                        pending.discard(activity_id)
                        counts, expected = score.get("counts") or {}, totals[activity_id]
                        diff = {k: (counts.get(k), expected.get(k)) for k in
                                ("present", "incomplete", "excused", "mobile") if counts.get(k) != expected.get(k)}
                        if diff:
                            wrong[activity_id] = diff
                if pending:
                    time.sleep(0.5)
            self.scoring_note += (f"\n  final: {len(sample) - len(pending)}/{len(sample)} sampled branch scores final "
                                  f"{time.time() - started:.1f}s after closing; counts differing from attendance "
                                  f"totals: {len(wrong)} {list(wrong.items())[:2] or ''}; "
                                  + self._scoring_ranking("final"))
            if getattr(self, "city_final_seconds", None) is not None:
                self.scoring_note += (f"\n  whole city: every branch score final {self.city_final_seconds:.1f}s after "
                                      f"the last activity closed (target < 5 s)")
            self.scoring_note += "\n  " + self._lag("closing to final score (score_lag_seconds, every activity_closed)",
                                                   ("activity_closed",))
            self.scoring_note += "\n  " + self._points_caught_up()
        except Exception as error:  # noqa: BLE001
            self.scoring_note += f"\n  final score RPCs failed: {error!r}"[:300]

    def _points_caught_up(self) -> str:
        """When every stored sign-out has its points ledger entry (points are not live like scores: their consumer
        gathers bigger batches, and may still be catching up when the scores are final)."""
        ledger = self.scoring_db.client[points_database(self.scoring_db.name)].ledger
        expected = self.db.records.count_documents({"kind": "checkout"})
        started = time.time()
        first = written = ledger.count_documents({"category": "attendance"})
        while written < expected and time.time() < started + 600:
            time.sleep(2)
            written = ledger.count_documents({"category": "attendance"})
        return (f"points: {first:,} of {expected:,} sign-outs' ledger entries written when the scores were final, "
                f"{'all' if written >= expected else f'only {written:,}'} {time.time() - started:.0f}s later")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=208_000)
    parser.add_argument("--branches", type=int, default=9_000)
    parser.add_argument("--baseline-seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=256, help="calls in flight at most, all load processes")
    parser.add_argument("--load-procs", type=int, default=2)
    parser.add_argument("--protocol", choices=("http", "grpc"), default="http",
                        help="how the scans reach the gateway: HTTP/JSON as phones send them, or gRPC")
    parser.add_argument("--channels", type=int, default=2, help="gRPC channels per load process")
    parser.add_argument("--peak-rate", type=float, default=4000.0, help="offered scans/s in the busiest minute")
    parser.add_argument("--gateway-workers", type=int, default=0, help="GATEWAY_GRPC_WORKERS (0: the gateway's default)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--points-nice", type=int, default=POINTS_NICE,
                        help=f"PROCESS_NICE of the points consumer's process (bin/run: {POINTS_NICE}; 0: the same "
                             f"priority as the rest)")
    parser.add_argument("--one-session", action="store_true",
                        help="start the services and the load in the benchmark's own session, where "
                             "autogroup scheduling gives them one share of the CPU together; default: each its own, "
                             "as bin/run does")
    parser.add_argument("--shared-store", action="store_true",
                        help="scoring on the same embedded store process as the other services (default: its own)")
    parser.add_argument("--scoring-nice", type=int, default=LIVE_SCORE_NICE,
                        help=f"PROCESS_NICE of the scoring service, and the nice of its store process (bin/run: "
                             f"{LIVE_SCORE_NICE}; 0: the same priority as the scans)")
    parser.add_argument("--gateway-senders", type=int, default=1, help="GATEWAY_BATCH_SENDERS of the batching gateway")
    parser.add_argument("--event-loop", default="uvloop", choices=("asyncio", "uvloop"),
                        help="GATEWAY_EVENT_LOOP of both gateways")
    parser.add_argument("--instances", type=int, default=1,
                        help="instances of attendance, scoring, the points consumer and the batching gateway (its "
                             "instances share one HTTP and one gRPC port with SO_REUSEPORT); bench.instances "
                             "alternates 1 and 2")
    parser.add_argument("--without-scoring", action="store_true",
                        help="do not start scoring (its event consumers share the store: the scan path alone)")
    args = parser.parse_args()
    bench = Bench(args)
    os.environ.update(ensure_keys(bench.work / "keys"), DB_PREFIX="bench" + secrets.token_hex(3),
                      OPERATOR_PASSWORD="Bench-" + secrets.token_hex(6))
    act_as("gateway")      # the bench calls services as the gateway does
    mongo = None if os.environ.get("MONGO_URI") else EmbeddedMongo(bench.work / "mongo").start()
    uri = os.environ.get("MONGO_URI") or mongo.uri
    scoring_mongo = None
    if mongo:
        bench.watch.add("nx-27017", mongo.process.pid)
        if not args.shared_store:     # each service owns its database; scoring's on a store process of its own
            scoring_mongo = EmbeddedMongo(bench.work / "mongo-scoring").start()
            bench.watch.add("nx-scoring", scoring_mongo.process.pid)
            lower_priority_of(scoring_mongo.process.pid, args.scoring_nice)    # its own session: with its group
    scoring_uri = scoring_mongo.uri if scoring_mongo else uri
    bench.watch.add("rabbitmq", rabbit_pid())
    bench.watch.add("bench(main)", os.getpid())
    bench.watch.start()
    client = pymongo.MongoClient(uri)
    bench.db = client[f"{os.environ['DB_PREFIX']}_attendance"]
    scoring_client = pymongo.MongoClient(scoring_uri)
    bench.scoring_db = scoring_client[f"{os.environ['DB_PREFIX']}_scoring"]
    started = time.perf_counter()
    with TestVhost() as bus:
        try:
            bench.start(bus, uri, scoring_uri)
            bench.import_city()
            bench.prepare_day()
            bench.freeze_rosters()
            bench.load_members()
            bench.leaves()
            bench.run_day()
            bench.scoring_live()
            bench.close_day()
            bench.scoring_final()
            bench.watch.sample()
            reconciliation = bench.reconcile()
            bench.report(reconciliation)
            print(f"total run {time.perf_counter() - started:.0f}s")
        finally:
            bench.watch.stop()
            bench.stop()
            client.close()
            scoring_client.close()
            for store in (scoring_mongo, mongo):
                if store:
                    store.stop()


if __name__ == "__main__":
    main()
