"""Benchmark: contested claims (接单) of volunteer orders, every claim through the gateway, two volunteer instances.

    .venv/bin/python -m bench.volunteer_claims [--orders 10000] [--members 50000] [--communities 500]
                                               [--claims-per-member 3-5] [--arrival-seconds 10]
                                               [--hold-seconds 36] [--concurrency 512] [--load-procs 2]

Starts its own embedded stores (nx-27017; scoring on a store process of its own, as bin/run does), a RabbitMQ vhost
of its own, identity, **two processes of the volunteer service** (``services.volunteer.service:VolunteerService``:
competing consumers of the same RPC queue, one database), scoring's points consumer and one gateway. Then:

1. imports a city (bench.city_data) through identity's import RPCs; ``--communities`` of its branches open a
   volunteer profile (SetCommunityProfile, as the city admin through the gateway's gRPC);
2. every member reports to one community (双报到). ``--reports store`` (the default) writes the current reports
   straight into the volunteer database's ``community_reports`` in the shape the service stores them (what a claim
   reads: member, community, status current; a few seconds for 50,000); ``--reports api`` sends ReportToCommunity
   with each member's own token through the gateway instead (about 70/s on 2 cores: 12 minutes for 50,000);
3. citizens place ``--orders`` orders spread over the communities; the city admin approves each and dispatches it
   for claiming with 1-5 volunteers needed (random): every order is open before the first claim;
4. **the claims**: each member claims 3-5 orders of its community (``--claims-per-member``), all of them in the
   same instant, members arriving within ``--arrival-seconds``; over HTTP/JSON on keep-alive connections as phones
   send them (``--concurrency`` calls in flight at most). A share of members also taps one order twice
   (``--double-tap-share``) or claims an order of a community it did not report to (``--stranger-share``);
5. reconciles the answers against the volunteer database: **0 orders over capacity, 0 members twice on one order,
   every accepted claim stored, every refused claim told why** (a refusal code of the contract, consistent with
   what the store holds);
6. every claimant checks in at its order's position and out ``--hold-seconds`` later (real durations), its orders
   one after the other; the orders complete; their citizens confirm them; then checks that the hours ledger holds
   one entry per claim with the hours between its check-in and check-out (capped, to the hundredth), and that
   scoring's points ledger holds one volunteer_hours entry per hours entry worth the rule's points per hour.

Prints claims/s, p50/p99 latency of the claims (and of the check-ins and check-outs), the CPU each process spent
in the claims phase, and the reconciliation. Access tokens of members and citizens are minted with the bench's own
key files (servicekit.security.tokens.TokenSigner, as bench.themed_day does): nobody logs in but the city admin.
The service's settings are widened first (start grace and auto-confirm of 24 hours and 30 days) so that no sweep
releases a claim or confirms an order while the bench runs.
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
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pymongo

from bench.platform import BenchPlatform, answers_without_scope
from bench.proc import cpu_seconds
from bench.themed_day import (ADMIN_PASSWORD, CITY_CENTRE, call_many, import_bench_city, must_all_succeed,
                               percentile, rabbit_pid, wait_http)
from deploy.local.processes import POINTS_NICE
from gateway.client import GrpcClient
from servicekit.process.config import database_name
from servicekit.process.priority import lower_priority_of
from servicekit.messaging.signed_calls import act_as
from servicekit.security.keys import ensure_keys
from servicekit.security.tokens import TokenSigner
from servicekit.storage.embedded_mongo import EmbeddedMongo
from servicekit.timestamps import LOCAL_ZONE, parse_stamp
from services.scoring.domain import points as point_rules
from services.scoring.points_store import points_database
from tests.support.broker import TestVhost
from tests.support.proofs import acting_as
from tests.support.processes import free_port

# The refusals a claim may get (docs/volunteer-rpc.md, ClaimOrder): anything else is a claim not told why.
CLAIM_REFUSALS = ("ORDER_FULL", "ALREADY_CLAIMED", "NOT_REPORTED_HERE", "NOT_IN_TEAM", "ORDER_NOT_OPEN")
ACTIVE_CLAIMS = ("claimed", "checked_in", "checked_out")
CATEGORIES = ("skills", "services", "health")
WORK = ("修理水管", "陪老人就医", "代买生活用品", "辅导作业", "清理楼道", "测量血压")


class Bench(BenchPlatform):
    def __init__(self, args):
        super().__init__(args, "bench-volunteer-claims-")

    # --- processes --------------------------------------------------------------------
    def start(self, bus: str, mongo_uri: str, scoring_uri: str) -> None:
        common = {"AMQP_URI": bus, "MONGO_URI": mongo_uri}
        self.start_identity(common)
        self.volunteers = []
        for n in (1, 2):
            port = free_port()
            self.volunteers.append(self.service(f"volunteer-{n}", "services.volunteer.service:VolunteerService",
                                                {**common, "METRICS_PORT": str(port)}))
            self.volunteers[-1].metrics_url = f"http://127.0.0.1:{port}/metrics"
        port = free_port()
        self.points = self.service("scoring-points", "services.scoring.service:PointsConsumer",
                                   {"AMQP_URI": bus, "MONGO_URI": scoring_uri, "METRICS_PORT": str(port),
                                    "PROCESS_NICE": str(POINTS_NICE)})
        self.points.metrics_url = f"http://127.0.0.1:{port}/metrics"
        self.start_gateway(bus)
        self.connect(bus)
        for child in (*self.volunteers, self.points):   # the two instances share one queue: each its metrics
            wait_http(child.metrics_url, child)
        self.volunteers[0].wait_until(lambda: answers_without_scope(self.rpc.volunteer.get_volunteer_settings))
        self.wait_gateway()
        self.log("processes up: identity, volunteer ×2, scoring's points consumer, gateway")

    # --- the city and its communities -------------------------------------------------------
    def import_city(self) -> None:
        city = import_bench_city(self.rpc, self.args.members, self.args.branches, self.args.seed, self.log)
        self.tenant_id, self.root, self.admin_scope = city.tenant_id, city.root, city.admin_scope
        branches = self.rpc.identity.branches_under(scope=self.admin_scope, org_id=self.root)["branches"]
        self.members: list[tuple[str, str]] = []          # (member id, branch id)
        ids = [b["org_id"] for b in branches]
        for start in range(0, len(ids), 500):
            with acting_as("content"):    # a peers' operation
                rosters = self.rpc.identity.branch_rosters(tenant_id=self.tenant_id, branch_ids=ids[start:start + 500])
            for branch_id, roster in sorted(rosters.items()):
                self.members.extend((entry["member_id"], branch_id) for entry in roster)
        self.signer = TokenSigner(Path(os.environ["TOKEN_PRIVATE_KEY_PATH"]).read_bytes(), lifetime_seconds=6 * 3600)
        self.tokens = {member_id: self.signer.issue({"account_id": f"benchm-{member_id}", "tenant_id": self.tenant_id,
                                                     "roles": [{"role": "member", "org_id": branch_id}],
                                                     "member_id": member_id, "branch_id": branch_id})
                       for member_id, branch_id in self.members}
        self.citizens = [self.signer.issue({"account_id": f"benchc-{n}", "tenant_id": self.tenant_id,
                                            "roles": [{"role": "citizen", "org_id": None}], "member_id": None,
                                            "branch_id": None}) for n in range(self.args.citizens)]
        picked = self.rng.sample(branches, min(self.args.communities, len(branches)))
        self.communities = [b["org_id"] for b in picked]
        self.branch_of = {b["org_id"]: b for b in branches}
        self.positions = {org_id: (round(CITY_CENTRE[0] + self.rng.uniform(-0.25, 0.25), 6),
                                   round(CITY_CENTRE[1] + self.rng.uniform(-0.3, 0.3), 6)) for org_id in self.communities}
        self.log(f"{len(self.members)} members in {len(branches)} branches; {len(self.communities)} of the branches "
                 f"will be communities; member and {len(self.citizens)} citizen access tokens minted")

    def call(self, rpc: str, requests: list[tuple[dict, str]], what: str = "") -> list[dict]:
        started = time.perf_counter()
        answers = must_all_succeed(rpc, asyncio.run(call_many(self.target, rpc, requests,
                                                              self.args.setup_concurrency, timeout=600)))
        seconds = time.perf_counter() - started
        self.log(f"{len(requests)} {what or rpc} in {seconds:.1f}s ({len(requests) / max(seconds, 1e-9):.0f}/s)")
        return answers

    def prepare(self) -> None:
        with GrpcClient(self.target, timeout=900) as client:
            self.admin_token = client.login("benchcity", "admin", ADMIN_PASSWORD)["access_token"]
        # no sweep may release a claim or confirm an order while the bench runs
        self.call("UpdateVolunteerSettings", [({"start_grace_minutes": 1440, "auto_confirm_hours": 720},
                                               self.admin_token)], "settings widened")
        self.call("SetCommunityProfile", [({"org_id": org_id, "address": f"基准市第{n + 1}社区服务站",
                                            "lat": self.positions[org_id][0], "lng": self.positions[org_id][1],
                                            "open": True, "categories": list(CATEGORIES)}, self.admin_token)
                                          for n, org_id in enumerate(self.communities)], "community profiles opened")
        # 双报到: each member to one community, through the API with its own token
        rng = random.Random(self.args.seed + 1)
        self.community_of = {member_id: rng.choice(self.communities) for member_id, _ in self.members}
        today = datetime.now(LOCAL_ZONE).date().isoformat()
        if self.args.reports == "api":
            self.call("ReportToCommunity", [({"community_id": self.community_of[m], "reported_on": today},
                                             self.tokens[m]) for m, _ in self.members], "members reported (双报到)")
        else:
            self.store_reports(today)
        self.place_orders()

    def store_reports(self, today: str) -> None:
        """The members' current reports written as the service writes them (services/volunteer/stores/reports.py),
        without its events: nothing in this bench consumes member_reported."""
        started, now = time.perf_counter(), datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        docs = []
        for member_id, branch_id in self.members:
            branch, community = self.branch_of[branch_id], self.branch_of[self.community_of[member_id]]
            docs.append({"_id": f"{member_id}:1", "tenant_id": self.tenant_id, "member_id": member_id, "name": "",
                         "branch_id": branch_id, "branch_name": branch["name"],
                         **{f"b{n}": org_id for n, org_id in enumerate(branch["path_ids"])},
                         "community_id": community["org_id"], "community_name": community["name"],
                         **{f"a{n}": org_id for n, org_id in enumerate(community["path_ids"])},
                         "status": "current", "sequence": 1, "reported_on": today,
                         "reported_at": now.replace("+00:00", "Z")})
        for start in range(0, len(docs), 2000):
            self.db.community_reports.insert_many(docs[start:start + 2000], ordered=False)
        self.log(f"{len(docs)} members' reports (双报到) written to the store in {time.perf_counter() - started:.1f}s")

    def place_orders(self) -> None:
        args, rng = self.args, random.Random(self.args.seed + 2)
        self.orders: dict[str, dict] = {}                 # order id -> {community, needed, citizen, lat, lng}
        by_order: list[tuple[dict, str, str, int]] = []
        wished = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=args.wished_start_minutes)
        requests = []
        for n in range(args.orders):
            community = self.communities[n % len(self.communities)]
            lat, lng = self.positions[community]
            lat, lng = round(lat + rng.uniform(-0.001, 0.001), 6), round(lng + rng.uniform(-0.001, 0.001), 6)
            citizen = n % len(self.citizens)
            request = {"community_id": community, "category": rng.choice(CATEGORIES),
                       "description": f"{rng.choice(WORK)}（基准订单 {n + 1}）", "address": f"基准市第{n + 1}号院",
                       "lat": lat, "lng": lng, "wished_start": wished.isoformat().replace("+00:00", "Z"),
                       "wished_end": (wished + timedelta(hours=3)).isoformat().replace("+00:00", "Z"),
                       "contact_name": "王女士", "contact_phone": f"139{n:08d}"}
            requests.append((request, self.citizens[citizen]))
            by_order.append((request, community, citizen, rng.randint(1, 5)))
        placed = self.call("PlaceOrder", requests, "orders placed by citizens")
        self.call("ReviewOrder", [({"order_id": order["order_id"], "decision": "approve"}, self.admin_token)
                                  for order in placed], "orders approved")
        self.call("DispatchOrder", [({"order_id": order["order_id"], "mode": "claim", "volunteers_needed": needed,
                                      "fence_radius_m": 300, "hours_cap": 8}, self.admin_token)
                                    for order, (_, _, _, needed) in zip(placed, by_order)], "orders opened for claims")
        for order, (request, community, citizen, needed) in zip(placed, by_order):
            self.orders[order["order_id"]] = {"community": community, "needed": needed, "citizen": citizen,
                                              "lat": request["lat"], "lng": request["lng"]}
        self.of_community: dict[str, list[str]] = defaultdict(list)
        for order_id, order in self.orders.items():
            self.of_community[order["community"]].append(order_id)

    # --- the claims ---------------------------------------------------------------------------
    def plan_claims(self) -> list[dict]:
        args, rng = self.args, random.Random(self.args.seed + 3)
        low, high = args.claims_per_member
        self.stranger: set[tuple[str, str]] = set()        # (member, order) of a community it did not report to
        plans = []
        for member_id, _ in self.members:
            own = self.of_community[self.community_of[member_id]]
            picks = rng.sample(own, min(len(own), rng.randint(low, high)))
            if picks and rng.random() < args.stranger_share:
                other = rng.choice([c for c in self.communities if c != self.community_of[member_id]] or [None])
                if other and self.of_community[other]:
                    picks[-1] = rng.choice(self.of_community[other])
                    self.stranger.add((member_id, picks[-1]))
            if picks and rng.random() < args.double_tap_share:
                picks.append(picks[0])
            plans.append((member_id, rng.uniform(0, args.arrival_seconds), self.tokens[member_id], picks))
        self.planned_claims = sum(len(p[3]) for p in plans)
        places = sum(order["needed"] for order in self.orders.values())
        self.log(f"planned: {self.planned_claims} claims by {len(plans)} members within {args.arrival_seconds:.0f} s "
                 f"for {places} places on {len(self.orders)} orders ({self.planned_claims / max(places, 1):.1f} "
                 f"claims a place); {len(self.stranger)} of another community, "
                 f"{sum(1 for p in plans if len(p[3]) != len(set(p[3])))} double taps")
        return [{"phase": "claims", "http": self.http, "concurrency": args.concurrency // args.load_procs,
                 "members": plans[n::args.load_procs]} for n in range(args.load_procs)]

    def run_load(self, works: list[dict], label: str) -> list[dict]:
        start_at = time.time() + 2
        procs, outs = [], []
        for n, work in enumerate(works):
            work["start_at"] = start_at
            path, out = self.work / f"{label}{n}.pickle", self.work / f"{label}-answers{n}.pickle"
            path.write_bytes(pickle.dumps(work, protocol=pickle.HIGHEST_PROTOCOL))
            procs.append(subprocess.Popen([sys.executable, "-m", "bench.volunteer_claims_load", str(path), str(out)]))
            outs.append(out)
        watched = {"gateway": self.gateway.process.pid, "volunteer-1": self.volunteers[0].process.pid,
                   "volunteer-2": self.volunteers[1].process.pid, "identity": self.identity.process.pid,
                   "scoring-points": self.points.process.pid,
                   **({"store": self.store_pid} if self.store_pid else {}),
                   **({"rabbitmq": rabbit} if (rabbit := rabbit_pid()) else {})}
        before = {name: cpu_seconds(pid) for name, pid in watched.items()}
        started = time.perf_counter()
        for proc in procs:
            proc.wait()
        elapsed = time.perf_counter() - started
        cpu = {name: cpu_seconds(pid) - before[name] for name, pid in watched.items()}
        results = [pickle.loads(out.read_bytes()) for out in outs]
        cpu["load"] = sum(r["cpu"] for r in results)
        self.cpu = cpu
        self.log(f"{label} ran in {elapsed:.0f}s; CPU seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items()))
        return results

    def claim_figures(self, results: list[dict]) -> None:
        calls = [c for r in results for c in r["calls"]]
        self.calls = calls
        span = max(c[2] + c[3] for c in calls) - min(c[2] for c in calls)
        accepted = [c for c in calls if c[4] == 200]
        latencies = sorted(c[3] for c in calls)
        ok_latencies = sorted(c[3] for c in accepted)
        refused_latencies = sorted(c[3] for c in calls if c[4] != 200)
        print(f"\nclaims: {len(calls)} answered in {span:.1f}s: {len(calls) / span:.0f} claims/s "
              f"({len(accepted) / span:.0f} accepted/s); outcomes {dict(Counter(c[5] or str(c[4]) for c in calls))}")
        for label, values in (("all", latencies), ("accepted", ok_latencies), ("refused", refused_latencies)):
            if values:
                print(f"  latency {label:9} p50 {percentile(values, .5) * 1000:7.1f} ms   p99 "
                      f"{percentile(values, .99) * 1000:7.1f} ms   max {values[-1] * 1000:7.1f} ms")
        print("  CPU ms per claim answered: " + ", ".join(f"{name} {seconds * 1000 / len(calls):.2f}"
                                                     for name, seconds in self.cpu.items()))
        start, width = min(c[2] for c in calls), 1 if span <= 60 else 10
        answered = Counter(int((c[2] + c[3] - start) // width) for c in calls)
        taken = Counter(int((c[2] + c[3] - start) // width) for c in accepted)
        print(f"  answers (accepted) per {width} s: " + " ".join(f"{answered[n]}({taken[n]})"
                                                             for n in range(int(span // width) + 1)))

    # --- reconciliation of the claims ----------------------------------------------------------
    def reconcile_claims(self) -> bool:
        orders = {doc["_id"]: doc for doc in self.db.orders.find({"_id": {"$in": list(self.orders)}})}
        claims = list(self.db.claims.find({"order_id": {"$in": list(self.orders)}}))
        active = [c for c in claims if c.get("status") in ACTIVE_CLAIMS]
        per_order = Counter(c["order_id"] for c in active)
        pairs = Counter((c["order_id"], c["member_id"]) for c in claims)
        over = [o for o, n in per_order.items() if n > self.orders[o]["needed"]]
        counter_off = [o for o, doc in orders.items() if doc.get("claimed", 0) != per_order.get(o, 0)]
        twice = [pair for pair, n in pairs.items() if n > 1]
        held = {(c["order_id"], c["member_id"]) for c in active}
        accepted = [(c[1], c[0]) for c in self.calls if c[4] == 200]
        accepted_pairs = Counter(accepted)
        not_stored = [pair for pair in accepted_pairs if pair not in held]
        accepted_twice = [pair for pair, n in accepted_pairs.items() if n > 1]
        unanswered = held - set(accepted_pairs)           # stored, but the member was not told (a lost answer)
        refused = [c for c in self.calls if c[4] != 200]
        untold = [c for c in refused if c[5] not in CLAIM_REFUSALS]
        full = {o for o, n in per_order.items() if n == self.orders[o]["needed"]}
        wrong = []                                         # a refusal the store's state does not bear out
        for member, order_id, *_, code in refused:
            if code == "ORDER_FULL" and order_id not in full \
                    or code == "ALREADY_CLAIMED" and (order_id, member) not in held \
                    or code == "NOT_REPORTED_HERE" and (member, order_id) not in self.stranger:
                wrong.append((member, order_id, code))
        strangers_in = [pair for pair in accepted if (pair[1], pair[0]) in self.stranger]
        self.held = held
        ok = not (over or counter_off or twice or not_stored or accepted_twice or untold or wrong or strangers_in) \
            and len(self.calls) == self.planned_claims
        print("\nreconciliation of the claims against the volunteer database:")
        print(f"  orders over capacity {len(over)}; orders whose count differs from their claims {len(counter_off)}; "
              f"members twice on one order {len(twice)} (stored), {len(accepted_twice)} (accepted twice)")
        print(f"  accepted {len(accepted)}: stored {len(accepted) - len(not_stored)}, not stored {len(not_stored)}; "
              f"stored without an accepted answer {len(unanswered)}; claims answered {len(self.calls)} of "
              f"{self.planned_claims} sent")
        print(f"  refused {len(refused)}: told why {len(refused) - len(untold)} {dict(Counter(c[5] for c in refused))}, "
              f"not told why {len(untold)} {dict(Counter(c[5] or str(c[4]) for c in untold))}; refusals the store "
              f"contradicts {len(wrong)}; claims of another community accepted {len(strangers_in)}")
        print(f"  orders full {len(full)} of {len(self.orders)}; places taken {len(active)} of "
              f"{sum(o['needed'] for o in self.orders.values())}")
        if wrong[:3]:
            print(f"  e.g. {wrong[:3]}")
        print(f"  claims {'PASSED' if ok else 'FAILED'}")
        return ok

    # --- service, confirmation, hours and points --------------------------------------------------
    def plan_service(self) -> list[dict]:
        rng = random.Random(self.args.seed + 4)
        visits: dict[str, list] = defaultdict(list)
        for order_id, member_id in sorted(self.held):
            order = self.orders[order_id]
            visits[member_id].append((order_id, order["lat"], order["lng"]))
        plans = [(member_id, rng.uniform(0, self.args.arrival_seconds), self.tokens[member_id], orders)
                 for member_id, orders in visits.items()]
        longest = max((len(p[3]) for p in plans), default=0)
        self.log(f"service: {len(self.held)} visits by {len(plans)} members, each staying {self.args.hold_seconds:.0f} s "
                 f"(up to {longest} orders one after the other)")
        return [{"phase": "service", "http": self.http, "concurrency": self.args.concurrency // self.args.load_procs,
                 "hold_seconds": self.args.hold_seconds, "members": plans[n::self.args.load_procs]}
                for n in range(self.args.load_procs)]

    def service_figures(self, results: list[dict]) -> bool:
        self.visits = [v for r in results for v in r["visits"]]
        ins = sorted(v[9] for v in self.visits)
        outs = sorted(v[10] for v in self.visits if v[5] == 200)
        failed_in = Counter(v[3] or str(v[2]) for v in self.visits if v[2] != 200)
        failed_out = Counter(v[6] or str(v[5]) for v in self.visits if v[2] == 200 and v[5] != 200)
        print(f"\nservice: {len(self.visits)} visits; check-in p50 {percentile(ins, .5) * 1000:.1f} ms p99 "
              f"{percentile(ins, .99) * 1000:.1f} ms, refused {dict(failed_in)}; check-out p50 "
              f"{percentile(outs, .5) * 1000:.1f} ms p99 {percentile(outs, .99) * 1000:.1f} ms, refused "
              f"{dict(failed_out)}")
        return not failed_in and not failed_out and len(self.visits) == len(self.held)

    def confirm(self) -> None:
        served = {order_id for order_id, _ in self.held}
        deadline = time.monotonic() + 120
        while True:                                       # the last check-out completes its order
            docs = {doc["_id"]: doc.get("status") for doc in self.db.orders.find({"_id": {"$in": list(served)}},
                                                                                 {"status": 1})}
            waiting = [o for o in served if docs.get(o) != "completed"]
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(1)
        statuses = Counter(docs.values())
        self.log(f"orders served: {len(served)}, by status {dict(statuses)}")
        rng = random.Random(self.args.seed + 5)
        completed = sorted(o for o in served if docs.get(o) == "completed")
        self.call("ConfirmOrder", [({"order_id": o, "rating": rng.randint(3, 5), "comment": "服务很好"},
                                    self.citizens[self.orders[o]["citizen"]]) for o in completed],
                  "orders confirmed and rated by their citizens")
        self.completed = completed

    def reconcile_hours(self) -> bool:
        completed = set(self.completed)
        wanted = {f"order:{o}:{m}": (o, m) for o, m in self.held if o in completed}
        claims = {(c["order_id"], c["member_id"]): c for c in
                  self.db.claims.find({"order_id": {"$in": self.completed}})}
        entries = {doc["_id"]: doc for doc in self.db.hours.find({"source_id": {"$in": self.completed}})}
        observed = {(v[1], v[0]): v for v in self.visits}
        missing = [e for e in wanted if e not in entries]
        extra = [e for e in entries if e not in wanted]
        wrong, disagree = [], []
        for entry_id, (order_id, member_id) in wanted.items():
            entry, claim = entries.get(entry_id), claims.get((order_id, member_id)) or {}
            if not entry or not claim.get("checked_in_at") or not claim.get("checked_out_at"):
                continue
            seconds = (parse_stamp(claim["checked_out_at"]) - parse_stamp(claim["checked_in_at"])).total_seconds()
            expected = round(min(seconds / 3600, 8), 2)
            if abs(entry["hours"] - expected) > 1e-9:
                wrong.append((entry_id, entry["hours"], expected))
            seen = observed.get((order_id, member_id))
            if seen and (seen[4] != claim["checked_in_at"] or seen[7] != claim["checked_out_at"]
                         or seen[8] != entry["hours"]):
                disagree.append(entry_id)
        total = sum(e["hours"] for e in entries.values())
        ok = not (missing or extra or wrong or disagree)
        print(f"\nhours ledger: {len(entries)} entries for {len(wanted)} served claims of confirmed orders "
              f"({total:.2f} hours); missing {len(missing)}, unexpected {len(extra)}, hours not the check-in/out "
              f"duration (capped) {len(wrong)}, differing from what the check-in/out answers said {len(disagree)}: "
              f"{'PASSED' if ok else 'FAILED'}")
        if wrong[:3]:
            print(f"  e.g. {wrong[:3]}")
        self.entries = entries
        return ok

    def reconcile_points(self) -> bool:
        rule = point_rules.rule_for(point_rules.default_rules(), "volunteer_hours")
        expected = {f"{entry_id}:volunteer_hours": round(rule["points"] * point_rules.hours_quantity(e["hours"]), 2)
                    for entry_id, e in self.entries.items()}
        expected = {k: v for k, v in expected.items() if v}
        started, deadline = time.monotonic(), time.monotonic() + 300
        while True:
            found = {doc["_id"]: doc for doc in self.points_db.ledger.find({"category": "volunteer_hours"})}
            if set(expected) <= set(found) or time.monotonic() > deadline:
                break
            time.sleep(1)
        missing = [k for k in expected if k not in found]
        extra = [k for k in found if k not in expected]
        requested_wrong = [k for k, v in expected.items() if k in found and found[k]["requested_points"] != v]
        requested: dict[tuple[str, str], float] = defaultdict(float)      # by member and day
        credited: dict[tuple[str, str], float] = defaultdict(float)
        for doc in found.values():
            requested[(doc["member_id"], doc["day"])] += doc["requested_points"]
            credited[(doc["member_id"], doc["day"])] += doc["points"]
        capped_wrong = [k for k, doc in found.items() if doc["points"] != doc["requested_points"]
                        and requested[(doc["member_id"], doc["day"])] <= rule["daily_cap"]]
        over_cap = [key for key, total in credited.items() if total > rule["daily_cap"] + 1e-9]
        ok = not (missing or extra or requested_wrong or capped_wrong or over_cap)
        print(f"points ledger: {len(found)} volunteer_hours entries for {len(expected)} hours entries that earn "
              f"points ({sum(d['points'] for d in found.values()):.2f} points, complete "
              f"{time.monotonic() - started:.0f}s after the last confirmation); missing {len(missing)}, unexpected "
              f"{len(extra)}, worth other than {rule['points']} a hour {len(requested_wrong)}, cut without reaching "
              f"the cap {len(capped_wrong)}, over the daily cap {len(over_cap)}: {'PASSED' if ok else 'FAILED'}")
        return ok


def claims_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    return int(low), int(high or low)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--communities", type=int, default=0, help="default: one per 20 orders")
    parser.add_argument("--branches", type=int, default=0, help="default: one per 25 members")
    parser.add_argument("--citizens", type=int, default=0, help="default: one per 10 orders")
    parser.add_argument("--claims-per-member", type=claims_range, default=(3, 5), help="LOW-HIGH, e.g. 3-5")
    parser.add_argument("--arrival-seconds", type=float, default=10.0,
                        help="members arrive within this many seconds, each claiming all its orders at once")
    parser.add_argument("--double-tap-share", type=float, default=0.02)
    parser.add_argument("--stranger-share", type=float, default=0.01)
    parser.add_argument("--reports", choices=("store", "api"), default="store",
                        help="how members report to their communities (双报到) before the claims")
    parser.add_argument("--hold-seconds", type=float, default=36.0, help="a visit's real duration (36 s = 0.01 h)")
    parser.add_argument("--wished-start-minutes", type=float, default=30.0,
                        help="orders wish their service this many minutes after they are placed")
    parser.add_argument("--concurrency", type=int, default=512, help="calls in flight at most, all load processes")
    parser.add_argument("--setup-concurrency", type=int, default=16)
    parser.add_argument("--load-procs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    args.communities = args.communities or max(1, args.orders // 20)
    args.branches = args.branches or max(args.communities, args.members // 25)
    args.citizens = args.citizens or max(1, args.orders // 10)
    bench = Bench(args)
    os.environ.update(ensure_keys(bench.work / "keys"), DB_PREFIX="bench" + secrets.token_hex(3),
                      OPERATOR_PASSWORD="Bench-" + secrets.token_hex(6))
    act_as("gateway")      # the bench calls services as the gateway does
    mongo = None if os.environ.get("MONGO_URI") else EmbeddedMongo(bench.work / "mongo").start()
    uri = os.environ.get("MONGO_URI") or mongo.uri
    scoring_mongo = EmbeddedMongo(bench.work / "mongo-scoring").start() if mongo else None
    if scoring_mongo:
        lower_priority_of(scoring_mongo.process.pid, POINTS_NICE)
    scoring_uri = scoring_mongo.uri if scoring_mongo else uri
    client, scoring_client = pymongo.MongoClient(uri), pymongo.MongoClient(scoring_uri)
    bench.db = client[database_name("volunteer")]
    bench.points_db = scoring_client[database_name(points_database("scoring"))]
    bench.store_pid = mongo.process.pid if mongo else None
    started = time.perf_counter()
    passed = False
    with TestVhost() as bus:
        try:
            bench.start(bus, uri, scoring_uri)
            bench.import_city()
            bench.prepare()
            bench.claim_figures(bench.run_load(bench.plan_claims(), "claims"))
            claims_ok = bench.reconcile_claims()
            service_ok = bench.service_figures(bench.run_load(bench.plan_service(), "service"))
            bench.confirm()
            hours_ok = bench.reconcile_hours()
            points_ok = bench.reconcile_points()
            passed = claims_ok and service_ok and hours_ok and points_ok
            print(f"\nreconciliation {'PASSED' if passed else 'FAILED'}; total run {time.perf_counter() - started:.0f}s")
        finally:
            bench.stop()
            client.close()
            scoring_client.close()
            for store in (scoring_mongo, mongo):
                if store:
                    store.stop()
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
