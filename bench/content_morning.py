"""Benchmark: a city-wide notice and a knowledge contest on the same morning, every call through the gateway.

    .venv/bin/python -m bench.content_morning [--members 208000] [--branches 9000] [--feed-minutes 10]
                                              [--contestants 20000] [--start-seconds 60] [--contest-minutes 10]

Starts its own embedded store (nx-27017), a RabbitMQ vhost of its own, identity, content and one gateway, imports
a city (bench.city_data) and, as the city admin through the gateway: publishes a pinned, pushed notice to the
whole city, an article for every county and for every tenth branch (so each feed has several nodes' items), a
question bank, and a contest open to the city. Then, at once:

- every member opens its feed once within ``--feed-minutes`` (208,000 in 10 minutes is ~350 feeds/s), and
  ``--read-share`` of them open the notice (the read receipt);
- ``--contestants`` members start the contest within ``--start-seconds``, each takes its own time (from a fifth of
  what is left of ``--contest-minutes`` to nearly all of it), saves its answers one by one at an even pace and
  submits after the last.

Targets (issue 31, this 2-core machine, everything local): feed p99 ≤ 100 ms, attempt start p99 ≤ 1 s, each
submission graded p99 ≤ 500 ms, 0 attempts lost, the notice's read-receipt counts right at the end. Prints the
figures, where a feed's time went and each process's cores busy by minute (read off the gateway's and content's
/metrics), and a reconciliation: the notice's receipts against the members whose open was answered, and every
started attempt against the score the server gave it and the score its answers deserve.

Access tokens are minted with the bench's own key files (as bench.themed_day does): members do not log in.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import pickle
import random
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pymongo

from bench.proc import cpu_seconds, machine_busy_seconds
from bench.platform import BenchPlatform, answers_without_scope
from bench.themed_day import (ADMIN_PASSWORD, call_many, import_bench_city, must_all_succeed, percentile,
                               rabbit_pid)
from gateway.client import GrpcClient
from servicekit.messaging.signed_calls import act_as
from servicekit.security.keys import ensure_keys
from servicekit.security.tokens import TokenSigner
from servicekit.storage.embedded_mongo import EmbeddedMongo
from tests.support.broker import TestVhost
from tests.support.proofs import acting_as
from tests.support.processes import free_port

SETUP_CONCURRENCY = 8
CATEGORIES = ("党章", "党史", "党纪法规")
QUESTIONS_PER_CATEGORY = 20
DRAW = ({"category": "党章", "count": 4, "points": 10}, {"category": "党史", "count": 3, "points": 10},
        {"category": "党纪法规", "count": 3, "points": 10})
TARGETS = {"feed": 0.100, "start": 1.0, "submit": 0.500}
# where a feed's time goes, read off the gateway's and content's /metrics at each window's edge: (name, url attribute,
# metric, substrings its lines must hold); a histogram's _sum and _count give each window's mean
FEED_SERIES = (
    ("request", "gateway_metrics", "gateway_request_seconds", ('operation="GetFeed"',)),
    ("request_slow", "gateway_metrics", "gateway_request_seconds_bucket", ('operation="GetFeed"', 'le="0.1"')),
    ("wait", "gateway_metrics", "gateway_batch_wait_seconds", ('"content.get_feeds"',)),
    ("round_trip", "gateway_metrics", "gateway_batch_seconds", ('"content.get_feeds"',)),
    ("size", "gateway_metrics", "gateway_batch_size", ('"content.get_feeds"',)),
    ("loop_lag", "gateway_metrics", "gateway_event_loop_lag_seconds", ()),
    ("content", "content_url", "service_rpc_seconds", ('operation="get_feeds"',)),
    ("content_all", "content_url", "service_rpc_seconds", ('service="content"',)),
)


def question_bank(rng: random.Random) -> list[dict]:
    """Questions of three kinds per category, each stem unique (the load process answers by the stem)."""
    bank = []
    for category in CATEGORIES:
        for n in range(QUESTIONS_PER_CATEGORY):
            stem = f"{category}知识第{n + 1}题：下列说法中正确的是哪一项？"
            if n % 4 == 3:
                bank.append({"kind": "true_false", "stem": stem.replace("哪一项", "是否正确"), "options": [],
                             "correct": ["T"], "accepted": [], "category": category, "right": ["正确"]})
            elif n % 4 == 2:
                bank.append({"kind": "fill", "stem": f"{category}填空第{n + 1}题：请填写“____”。", "options": [],
                             "correct": [], "accepted": [f"答案{n + 1}"], "category": category,
                             "right": [f"答案{n + 1}"]})
            else:
                options = [f"选项{c}{n}" for c in "甲乙丙丁"]
                right = rng.randrange(4)
                bank.append({"kind": "single", "stem": stem, "options": options, "correct": ["ABCD"[right]],
                             "accepted": [], "category": category, "right": [options[right]]})
    return bank


class Bench(BenchPlatform):
    def __init__(self, args):
        super().__init__(args, "bench-content-morning-")
        self.window = 60.0 if args.feed_minutes >= 5 else 10.0     # the figures by time of the morning

    # --- processes ------------------------------------------------------------------
    def start(self, bus: str, mongo_uri: str) -> None:
        common = {"AMQP_URI": bus, "MONGO_URI": mongo_uri}
        self.start_identity(common)
        self.content_metrics = free_port()
        self.content = self.service("content", "services.content.service:ContentService",
                                    {**common, "METRICS_PORT": str(self.content_metrics)})
        self.start_gateway(bus, self.args.gateways)
        self.connect(bus)
        self.content.wait_until(lambda: answers_without_scope(self.rpc.content.get_settings))
        self.wait_gateway()
        self.log("processes up")

    # --- the city -----------------------------------------------------------------------
    def import_city(self) -> None:
        city = import_bench_city(self.rpc, self.args.members, self.args.branches, self.args.seed, self.log)
        self.tenant_id, self.root, self.admin_scope = city.tenant_id, city.root, city.admin_scope
        self.branches = self.rpc.identity.branches_under(scope=self.admin_scope, org_id=self.root)["branches"]
        self.counties = sorted({b["path_ids"][1] for b in self.branches})
        self.members: list[tuple[str, str]] = []          # (member id, branch id)
        ids = [b["org_id"] for b in self.branches]
        for start in range(0, len(ids), 500):
            with acting_as("content"):    # a peers' operation
                rosters = self.rpc.identity.branch_rosters(tenant_id=self.tenant_id, branch_ids=ids[start:start + 500])
            for branch_id, roster in rosters.items():
                self.members.extend((entry["member_id"], branch_id) for entry in roster)
        self.roster_of = Counter(branch for _, branch in self.members)
        signer = TokenSigner(Path(os.environ["TOKEN_PRIVATE_KEY_PATH"]).read_bytes(), lifetime_seconds=6 * 3600)
        self.tokens = {member_id: signer.issue({"account_id": f"benchm-{member_id}", "tenant_id": self.tenant_id,
                                                "roles": [{"role": "member", "org_id": branch_id}],
                                                "member_id": member_id, "branch_id": branch_id})
                       for member_id, branch_id in self.members}
        self.log(f"{len(self.members)} party members in {len(self.branches)} branches; access tokens minted")

    # --- what the morning finds ------------------------------------------------------------
    def call(self, rpc: str, requests: list[dict], token: str | None = None) -> list[dict]:
        token = token or self.admin_token
        return must_all_succeed(rpc, asyncio.run(call_many(self.target, rpc, [(r, token) for r in requests],
                                                           SETUP_CONCURRENCY)))

    def published(self, org_ids: list[str], kind: str, title: str, body: str, tags: list[str]) -> list[dict]:
        """Items written, submitted and approved (by a second admin: nobody reviews its own) at each node's news
        or notices column."""
        key = "notices" if kind == "notice" else "news"
        columns = self.call("ListColumns", [{"org_id": org_id} for org_id in org_ids])
        column_ids = [next(c["id"] for c in answer["columns"] if c["key"] == key) for answer in columns]
        items = self.call("CreateItem", [{"column_id": c, "kind": kind, "title": title, "body": body, "tags": tags}
                                         for c in column_ids])
        submitted = self.call("SubmitItem", [{"item_id": item["id"]} for item in items])
        waiting = [item for item in submitted if item["status"] == "submitted"]
        if waiting:
            self.call("ReviewItem", [{"item_id": item["id"], "decision": "approve"} for item in waiting],
                      self.reviewer_token)
        return items

    def prepare(self) -> None:
        with GrpcClient(self.target, timeout=900) as client:
            self.admin_token = client.login("benchcity", "admin", ADMIN_PASSWORD)["access_token"]
            self.rpc.identity.create_account(scope=self.admin_scope, username="reviewer", password=ADMIN_PASSWORD,
                                             role="org_admin", org_id=self.root)
            self.reviewer_token = client.login("benchcity", "reviewer", ADMIN_PASSWORD)["access_token"]
        started = time.perf_counter()
        notice = self.published([self.root], "notice", "关于开展2026年度党员学习教育的通知",
                                "各基层党组织：请组织党员按时完成本月学习套餐，并参加党章党史知识竞赛。", ["党章"])[0]
        self.notice_id = notice["id"]
        until = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat(timespec="seconds")
        self.call("PinItem", [{"item_id": self.notice_id, "pinned_until": until}])
        self.call("PushItem", [{"item_id": self.notice_id, "pushed": True}])
        self.published(self.counties, "article", "区县党建动态", "本区县近期党建工作动态。", ["理论学习"])
        some = [b["org_id"] for b in self.branches[::10]]
        self.published(some, "article", "支部学习心得", "学习党章心得体会。", ["党章"])
        self.log(f"a pinned, pushed city notice, {len(self.counties)} county and {len(some)} branch articles "
                 f"published through the gateway in {time.perf_counter() - started:.1f}s")
        started = time.perf_counter()
        self.bank = question_bank(self.rng)
        self.call("CreateBankQuestion", [{"org_id": self.root, **{k: q[k] for k in
                                                                 ("kind", "stem", "options", "correct", "accepted",
                                                                  "category")}} for q in self.bank])
        now = datetime.now(timezone.utc)
        quiz = self.call("CreateQuiz", [{
            "org_id": self.root, "kind": "contest", "title": "党章党史知识竞赛", "description": "全市党员知识竞赛",
            "open_at": (now - timedelta(minutes=1)).isoformat(timespec="seconds"),
            "close_at": (now + timedelta(hours=2)).isoformat(timespec="seconds"),
            "time_limit_seconds": int(self.args.contest_minutes * 60 + 300), "max_attempts": 1,
            "grading": "highest", "review": "after_close", "draw": list(DRAW)}])[0]
        self.quiz_id = quiz["id"]
        self.log(f"{len(self.bank)} questions and the contest created in {time.perf_counter() - started:.1f}s")

    def wait_tree(self, limit: float = 120.0) -> None:
        """Wait until content holds the whole tree (its ``org_tree_nodes`` gauge counts the city): a content process
        that has run since the city was imported, as on a real morning, not one that meets 9,000 branches first."""
        wanted, started = len(self.branches) + len(self.counties) + 1, time.perf_counter()
        while time.perf_counter() - started < limit:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.content_metrics}/metrics", timeout=5) as answer:
                kept = [float(line.split()[1]) for line in answer.read().decode().splitlines()
                        if line.startswith("org_tree_nodes ")]
            if kept and kept[0] >= wanted:
                self.log(f"content holds the tree ({kept[0]:.0f} nodes) after {time.perf_counter() - started:.0f}s")
                return
            time.sleep(1)
        raise SystemExit(f"content did not read the tree of {wanted} nodes within {limit:.0f}s")

    # --- the morning ------------------------------------------------------------------------
    def plan(self) -> list[dict]:
        args, rng = self.args, self.rng
        feed_span = args.feed_minutes * 60
        feeds = [(member_id, rng.uniform(0, feed_span), self.tokens[member_id], rng.random() < args.read_share)
                 for member_id, _ in self.members]
        contestants = rng.sample(self.members, min(args.contestants, len(self.members)))
        questions = sum(rule["count"] for rule in DRAW)
        contests = []
        for member_id, _ in contestants:
            start = rng.uniform(0, args.start_seconds)
            # each member takes its own time, from a fifth of what is left to nearly all of it, answering at an
            # even pace; the last answer is followed by the submission
            span = rng.uniform(0.2, 0.95) * (args.contest_minutes * 60 - start)
            times = [span * (n + rng.uniform(0.5, 1.0)) / questions for n in range(questions)]
            contests.append((member_id, start, self.tokens[member_id], times, args.right_share))
        key = {q["stem"]: {"kind": q["kind"], "right": q["right"]} for q in self.bank}
        works = [{"http": self.http, "concurrency": args.concurrency // args.load_procs, "notice_id": self.notice_id,
                  "quiz_id": self.quiz_id, "key": key, "feeds": feeds[n::args.load_procs],
                  "contests": contests[n::args.load_procs]} for n in range(args.load_procs)]
        self.log(f"planned: {len(feeds)} feeds in {args.feed_minutes} min "
                 f"({len(feeds) / feed_span:.0f}/s), {sum(f[3] for f in feeds)} notice opens, "
                 f"{len(contests)} contestants starting within {args.start_seconds:.0f} s, {questions} answers each")
        return works

    def read_series(self) -> dict[str, tuple[float, float]]:
        """Each of FEED_SERIES as (sum, count) now: a histogram's _sum and _count, a bucket's count twice."""
        pages, read = {}, {}
        for name, source, metric, holding in FEED_SERIES:
            urls = getattr(self, source)
            lines = []
            for url in [urls] if isinstance(urls, str) else urls:       # every gateway's, summed
                if url not in pages:
                    try:
                        with urllib.request.urlopen(url, timeout=5) as answer:
                            pages[url] = answer.read().decode().splitlines()
                    except OSError:
                        pages[url] = []
                lines += pages[url]
            totals = []
            for suffix in (("",) if metric.endswith("_bucket") else ("_sum", "_count")):
                totals.append(sum(float(line.rsplit(" ", 1)[1]) for line in lines
                                  if line.startswith((metric + suffix + "{", metric + suffix + " "))
                                  and all(h in line for h in holding)))
            read[name] = (totals[0], totals[-1])
        for name, pid in self.cpu_pids.items():
            read["cpu:" + name] = (cpu_seconds(pid),) * 2
        read["cpu:machine"] = (machine_busy_seconds(),) * 2
        return read

    def sample(self, start_at: float, window: float, stop: threading.Event) -> None:
        """FEED_SERIES read at the start of the morning and at every window's edge after, until ``stop``."""
        edge = 0
        while True:
            if stop.wait(max(0.0, start_at + edge * window - time.time())) and edge:
                self.samples.append((edge * window, self.read_series()))     # the last, partial window
                return
            self.samples.append((edge * window, self.read_series()))
            edge += 1

    def run(self, works: list[dict]) -> list[dict]:
        start_at = time.time() + 2
        procs, outs = [], []
        for n, work in enumerate(works):
            work["start_at"] = start_at
            path, out = self.work / f"work{n}.pickle", self.work / f"answers{n}.pickle"
            path.write_bytes(pickle.dumps(work, protocol=pickle.HIGHEST_PROTOCOL))
            procs.append(subprocess.Popen([sys.executable, "-m", "bench.content_morning_load", str(path), str(out)]))
            outs.append(out)
        watched = {"content": self.content.process.pid,
                   **{gateway.name: gateway.process.pid for gateway in self.gateways},
                   "identity": self.identity.process.pid, **({"store": self.store_pid} if self.store_pid else {}),
                   **({"rabbitmq": rabbit} if (rabbit := rabbit_pid()) else {})}
        self.content_url = f"http://127.0.0.1:{self.content_metrics}/metrics"
        self.samples: list[tuple[float, dict]] = []
        self.cpu_pids = {**watched, **{f"load{n}": proc.pid for n, proc in enumerate(procs)}}
        stop = threading.Event()
        sampler = threading.Thread(target=self.sample, args=(start_at, self.window, stop), daemon=True)
        sampler.start()
        before = {name: cpu_seconds(pid) for name, pid in watched.items()}
        started = time.perf_counter()
        for proc in procs:
            proc.wait()
        stop.set()
        sampler.join(timeout=30)
        self.elapsed = time.perf_counter() - started
        self.cpu = {name: cpu_seconds(pid) - before[name] for name, pid in watched.items()}
        results = [pickle.loads(out.read_bytes()) for out in outs]
        self.log(f"the morning ran in {self.elapsed:.0f}s")
        self.content_pid = self.content.process.pid
        return results

    # --- figures and reconciliation ------------------------------------------------------------
    def report(self, results: list[dict]) -> bool:
        calls = [c for r in results for c in r["calls"]]
        attempts = [a for r in results for a in r["attempts"]]
        by_kind: dict[str, list] = defaultdict(list)
        for kind, _, _, latency, status, code in calls:
            by_kind[kind].append((latency, status, code))
        print("\ncall      count   ok      errors                         p50 ms   p99 ms   max ms   target p99")
        verdicts = []
        for kind in ("feed", "open", "start", "save", "submit"):
            rows = by_kind.get(kind, [])
            if not rows:
                continue
            latencies = sorted(latency for latency, _, _ in rows)
            ok = sum(1 for _, status, _ in rows if status == 200)
            errors = Counter(code or str(status) for _, status, code in rows if status != 200)
            p99 = percentile(latencies, 0.99)
            target = TARGETS.get(kind)
            verdict = "" if target is None else ("met" if p99 <= target else "MISSED")
            if target is not None:
                verdicts.append(p99 <= target)
            print(f"{kind:8} {len(rows):7} {ok:7}  {str(dict(errors))[:30]:30} {percentile(latencies, .5) * 1000:7.1f}"
                  f"  {p99 * 1000:7.1f}  {latencies[-1] * 1000:7.1f}   "
                  f"{'' if target is None else f'{target * 1000:.0f} ms {verdict}'}")
        slices: dict[int, list[float]] = defaultdict(list)
        for kind, _, sent, latency, _, _ in calls:
            if kind == "feed":
                slices[int(sent // self.window)].append(latency)
        print(f"feed p99 by {self.window:.0f} s of the morning (ms): " + ", ".join(
            f"{percentile(sorted(values), 0.99) * 1000:.0f}" for _, values in sorted(slices.items())))
        self.print_feed_breakdown(slices)
        span = max((c[2] + c[3] for c in calls), default=1.0)
        print(f"\n{len(calls)} calls in {span:.0f}s ({len(calls) / span:.0f}/s); CPU seconds: "
              + ", ".join(f"{name} {seconds:.0f}" for name, seconds in self.cpu.items())
              + f", load {sum(r['cpu'] for r in results):.0f}")
        # receipts: every member whose open was answered counts once, nobody else
        opened = {member for kind, member, _, _, status, _ in calls if kind == "open" and status == 200}
        with GrpcClient(self.target, timeout=60) as client:    # the morning's token has expired by now
            token = client.login("benchcity", "admin", ADMIN_PASSWORD)["access_token"]
        receipts, error = asyncio.run(call_many(self.target, "GetReceipts",
                                                [({"item_id": self.notice_id, "page_size": 1}, token)]))[0]
        read_ok = receipts is not None and receipts["read"] == len(opened) \
            and receipts["expected"] == len(self.members)
        print(f"\nnotice receipts: read {receipts and receipts['read']} (opens answered {len(opened)}), expected "
              f"{receipts and receipts['expected']} (party members {len(self.members)}): "
              f"{'correct' if read_ok else 'WRONG'}{f' ({error})' if error else ''}")
        # attempts: every started attempt finished with the score its answers deserve
        started = [a for a in attempts if a["started"]]
        lost = [a for a in started if a["score"] is None]
        wrong = [a for a in started if a["score"] is not None and a["score"] != a["expected"]]
        unsaved = [a for a in started if a["saved"] != a["questions"]]
        stored = self.stored_attempts({a["attempt_id"] for a in started})
        missing = [a for a in started if a["attempt_id"] not in stored]
        regraded = [a for a in started if a["attempt_id"] in stored and a["score"] is not None
                    and stored[a["attempt_id"]] != a["score"]]
        print(f"attempts: {len(attempts)} contestants, {len(started)} started, {len(started) - len(lost)} graded, "
              f"{len(lost)} not graded, {len(missing)} missing from the store, {len(unsaved)} with an answer not "
              f"saved, {len(wrong)} scored differently from their answers, {len(regraded)} stored with another score")
        attempts_ok = len(started) == len(attempts) and not (lost or missing or wrong or regraded or unsaved)
        passed = read_ok and attempts_ok and all(verdicts)
        print(f"\nreconciliation {'PASSED' if read_ok and attempts_ok else 'FAILED'}; latency targets "
              f"{'all met' if all(verdicts) else 'not all met'}")
        return passed

    def print_feed_breakdown(self, slices: dict[int, list[float]]) -> None:
        """Where a feed's time went, window by window: the load generator's mean; the gateway's mean and its share
        over 100 ms; the batch's wait in the gateway, its round trip and the part of it inside content; the batch
        size; the gateway's event-loop lag; content's RPCs in progress on average (all operations)."""
        if len(self.samples) < 2:
            return
        print(f"\nfeed by {self.window:.0f} s (means, ms): client, gateway, gateway >100ms, batch wait, round trip, in "
              f"content, batch size, loop lag, content RPCs in progress")
        for (at, before), (until, after) in zip(self.samples, self.samples[1:]):
            def mean(name: str, scale: float = 1000.0) -> float:
                total, count = (a - b for a, b in zip(after[name], before[name]))
                return total / count * scale if count else float("nan")
            requests = after["request"][1] - before["request"][1]
            slow = requests - (after["request_slow"][0] - before["request_slow"][0])
            client = slices.get(int(at // self.window), [])
            busy = (after["content_all"][0] - before["content_all"][0]) / max(until - at, 1e-9)
            print(f"  {at:5.0f}s {sum(client) / len(client) * 1000 if client else float('nan'):7.1f} "
                  f"{mean('request'):7.1f} {slow / requests * 100 if requests else float('nan'):6.1f}% "
                  f"{mean('wait'):7.1f} {mean('round_trip'):7.1f} {mean('content'):7.1f} {mean('size', 1.0):6.1f} "
                  f"{mean('loop_lag'):6.1f} {busy:6.2f}")
        names = sorted({name[4:] for name in self.samples[0][1] if name.startswith("cpu:")} - {"machine"})
        print(f"\ncores busy by {self.window:.0f} s: " + ", ".join(names) + f", the machine (of {os.cpu_count()})")
        for (at, before), (until, after) in zip(self.samples, self.samples[1:]):
            span = max(until - at, 1e-9)
            used = [after["cpu:" + name][0] - before["cpu:" + name][0] for name in (*names, "machine")]
            print(f"  {at:5.0f}s " + " ".join(f"{seconds / span:5.2f}" if seconds >= 0 else "    -"  # gone
                                              for seconds in used))

    def stored_attempts(self, ids: set[str]) -> dict[str, int]:
        """Finished attempts in the content database: id -> score."""
        db = self.mongo[f"{os.environ['DB_PREFIX']}_content"]
        return {doc["_id"]: doc.get("score") for doc in db.attempts.find({"quiz_id": self.quiz_id},
                                                                          {"score": 1, "state": 1})
                if doc["_id"] in ids and doc.get("state") in ("submitted", "expired")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=208_000)
    parser.add_argument("--branches", type=int, default=9_000)
    parser.add_argument("--feed-minutes", type=float, default=10.0)
    parser.add_argument("--read-share", type=float, default=0.6, help="share of members who open the notice")
    parser.add_argument("--contestants", type=int, default=20_000)
    parser.add_argument("--start-seconds", type=float, default=60.0)
    parser.add_argument("--contest-minutes", type=float, default=10.0)
    parser.add_argument("--right-share", type=float, default=0.7)
    parser.add_argument("--concurrency", type=int, default=512, help="calls in flight at most, all load processes")
    parser.add_argument("--load-procs", type=int, default=2)
    parser.add_argument("--gateways", type=int, default=1, help="gateway processes sharing the HTTP port")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    bench = Bench(args)
    os.environ.update(ensure_keys(bench.work / "keys"), DB_PREFIX="bench" + secrets.token_hex(3),
                      OPERATOR_PASSWORD="Bench-" + secrets.token_hex(6))
    act_as("gateway")      # the bench calls services as the gateway does
    mongo = None if os.environ.get("MONGO_URI") else EmbeddedMongo(bench.work / "mongo").start()
    uri = os.environ.get("MONGO_URI") or mongo.uri
    bench.mongo = pymongo.MongoClient(uri)
    bench.store_pid = mongo.process.pid if mongo else None
    started = time.perf_counter()
    passed = False
    with TestVhost() as bus:
        try:
            bench.start(bus, uri)
            bench.import_city()
            bench.prepare()
            bench.wait_tree()
            passed = bench.report(bench.run(bench.plan()))
            print(f"total run {time.perf_counter() - started:.0f}s")
        finally:
            bench.stop()
            bench.mongo.close()
            if mongo:
                mongo.stop()
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
