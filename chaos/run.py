"""The chaos run: a themed day of the benchmark's kind (bench.themed_day's city, plans, rosters and tokens) on a
platform of the suite's own, scanned at ``--rate`` per second or more while a nemesis kills with SIGKILL and starts
again, one at a time and in turn, RabbitMQ, the main store, scoring's store, attendance, identity, the scoring
(score consumer) process, the points consumer and the gateway. Then the day is closed and everything is checked
(chaos.checker) and printed; the exit code is 1 on any violation.
"""
from __future__ import annotations

import os
import pickle
import random
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import SimpleNamespace

from kombu import Connection
from nameko.standalone.rpc import ClusterRpcProxy

from bench.themed_day import BENCH_TOKEN_LIFETIME, Bench, Scan
from chaos import checker
from chaos.platform import Broker, Process, Store, Watchdog, wait_ready
from servicekit.messaging.signed_calls import act_as
from servicekit.messaging.topology import DEAD_LETTER_QUEUE
from servicekit.process.config import nameko_config
from servicekit.security.keys import ensure_keys
from services.scoring.points_store import points_database
from services.scoring.usecases.points_events import POINTS_SUBSCRIPTIONS
from services.scoring.usecases.score_events import SCORE_SUBSCRIPTIONS
from tests.support.builds import ATTENDANCE_TEST_BUILD, TEST_BUILD_ENV
from tests.support.processes import REPO, free_port

MODES = {"small": {"cycles": 5, "members": 30_000, "branches": 250},
         "long": {"cycles": 20, "members": 120_000, "branches": 1_000}}
ORDER = ("rabbitmq", "store-main", "store-scoring", "attendance", "identity", "scoring", "points", "gateway")
CONSUMER_BACK_TARGET = 30.0
RPC_QUEUES = {"attendance (rpc)": ["rpc-attendance"], "identity (rpc)": ["rpc-identity"],
              "scoring (rpc)": ["rpc-scoring"]}
EVENT_QUEUES = {"score consumer": [f"evt-{s}-{t}--scoring.score" for s, t in SCORE_SUBSCRIPTIONS],
                "points consumer": [f"evt-{s}-{t}--scoring.points" for s, t in POINTS_SUBSCRIPTIONS]}
GATEWAY_BACK = "gateway (first acked scan)"


def chaos_plan(members, rng: random.Random) -> list[Scan]:
    """Every member not mobile signs in and (most) out; a few scan first from outside the fence (refused, then
    again from the venue), and a few only send a forged code (refused, never stored)."""
    scans: list[Scan] = []

    def add(*args, **kwargs) -> Scan:
        scan = Scan(len(scans), *args, **kwargs)
        scans.append(scan)
        return scan
    for m in members:
        if m.mobile:
            continue
        draw = rng.random()
        if draw < 0.01:
            add("in", 0.0, m, "in", "forged", "TOKEN_FORGED", forged=True)
            continue
        for direction in ("in", "out"):
            if direction == "out" and draw > 0.97:
                break                               # signed in only: incomplete
            if rng.random() < 0.02:
                refused = add(direction, 0.0, m, direction, "fence", "OUTSIDE_FENCE", distance=400.0)
                add(direction, 0.0, m, direction, "retry", "ok", after=refused.scan_id)
            else:
                add(direction, 0.0, m, direction, "good", "ok")
    return scans


class ChaosDay(Bench):
    def __init__(self, args):
        super().__init__(SimpleNamespace(seed=args.seed, one_session=False, protocol="http", members=args.members,
                                         branches=args.branches, without_scoring=False))
        self.options = args
        shutil.rmtree(self.work, ignore_errors=True)
        self.work = Path(args.work_dir) if args.work_dir else Path(os.environ.get("TMPDIR", "/tmp")) / \
            f"chaos-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        self.work.mkdir(parents=True, exist_ok=True)
        self.components: dict[str, object] = {}
        self.windows: list[checker.Window] = []
        self.ready_seconds: dict[str, list[float]] = defaultdict(list)
        self.returns: list[dict] = []              # per broker restart: consumer -> seconds (None: never)
        self.broker_up_at: list[float] = []
        self.attempts: list[checker.Attempt] = []
        self.load_figures: list[dict] = []
        self.loads: list[subprocess.Popen] = []
        self.watchdog: Watchdog | None = None
        self.rpc_proxy = None

    # --- platform ---------------------------------------------------------------------
    def start_platform(self) -> None:
        os.environ.update(ensure_keys(self.work / "keys"), DB_PREFIX="chaos" + secrets.token_hex(3),
                          OPERATOR_PASSWORD="Chaos-" + secrets.token_hex(6))
        act_as("gateway")
        broker = Broker(self.work)
        main_store = Store("store-main", self.work / "store-main" / "data", free_port())
        scoring_store = Store("store-scoring", self.work / "store-scoring" / "data", free_port())
        for component in (broker, main_store, scoring_store):
            component.start()
        self.bus = broker.node.uri
        self.log(f"own RabbitMQ node {broker.node.node} on 127.0.0.1:{broker.node.port}; stores on "
                 f"{main_store.port} and {scoring_store.port}; work {self.work}")
        common = {"AMQP_URI": self.bus, "MONGO_URI": main_store.uri}
        scoring_env = {**common, "MONGO_URI": scoring_store.uri}

        def service(name, target, env):
            port = free_port()
            return Process(name, ["-m", "servicekit.process.runner", target], {**env, "METRICS_PORT": str(port)},
                           self.work, f"http://127.0.0.1:{port}/readyz")
        identity = service("identity", "services.identity.service:IdentityService",
                           {**common, "PASSWORD_HASH_PROFILE": "fast", **BENCH_TOKEN_LIFETIME})
        attendance = service("attendance", ATTENDANCE_TEST_BUILD, {**common, **TEST_BUILD_ENV})
        scoring = service("scoring", "services.scoring.service:ScoringService", scoring_env)
        points = service("points", "services.scoring.service:PointsConsumer", scoring_env)
        http, grpc_port, admin = free_port(), free_port(), free_port()
        gateway = Process("gateway", ["-m", "gateway"],
                          {"AMQP_URI": self.bus, "GATEWAY_HTTP_PORT": str(http), "GATEWAY_GRPC_PORT": str(grpc_port),
                           "GATEWAY_ADMIN_PORT": str(admin), "GATEWAY_RPC_TIMEOUT": str(self.options.rpc_timeout)},
                          self.work, f"http://127.0.0.1:{admin}/readyz")
        for component in (identity, attendance, scoring, points, gateway):
            component.start()
        self.components = {c.name: c for c in (broker, main_store, scoring_store, attendance, identity, scoring,
                                                points, gateway)}
        self.http, self.target_a = f"http://127.0.0.1:{http}", f"127.0.0.1:{grpc_port}"
        self.gateways = {"gateway-A": (None, self.target_a, self.http, f"http://127.0.0.1:{admin}")}
        self.scoring = scoring
        if not wait_ready(list(self.components.values()), 120):
            raise RuntimeError("the platform is not ready after 120 s: " + ", ".join(
                c.name for c in self.components.values() if not c.ready()))
        self.connect()
        import pymongo
        self.mongo_clients = [pymongo.MongoClient(main_store.uri), pymongo.MongoClient(scoring_store.uri)]
        self.db = self.mongo_clients[0][f"{os.environ['DB_PREFIX']}_attendance"]
        self.scoring_db = self.mongo_clients[1][f"{os.environ['DB_PREFIX']}_scoring"]
        self.watchdog = Watchdog(list(self.components.values()), self.log).start()
        self.log(f"platform ready; gateway HTTP on {self.http}")

    def connect(self) -> None:
        """The suite's own RPC proxy (again: a broker restart closed the last one's connection)."""
        if self.rpc_proxy is not None:
            try:
                self.rpc_proxy.stop()
            except Exception:  # noqa: BLE001  its broker went away
                pass
        deadline = time.monotonic() + 120
        while True:
            try:
                self.rpc_proxy = ClusterRpcProxy({**nameko_config(), "AMQP_URI": self.bus}, timeout=120)
                self.rpc = self.rpc_proxy.start()
                self.rpc.identity.login(tenant_code="", username="operator", password=os.environ["OPERATOR_PASSWORD"])
                return
            except Exception:  # noqa: BLE001  not up yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def stop(self) -> None:
        for load in self.loads:
            if load.poll() is None:
                load.kill()
                load.wait()
        if self.watchdog:
            self.watchdog.stop()
        if self.rpc_proxy is not None:
            try:
                self.rpc_proxy.stop()
            except Exception:  # noqa: BLE001
                pass
        for client in getattr(self, "mongo_clients", []):
            client.close()
        for name in reversed(ORDER):
            component = self.components.get(name)
            if component is not None:
                try:
                    component.stop()
                except Exception as error:  # noqa: BLE001  stop the others anyway
                    self.log(f"stopping {name}: {error}")

    # --- nemesis -------------------------------------------------------------------------
    def consumer_counts(self, connection) -> dict[str, int]:
        counts = {}
        for queues in (*RPC_QUEUES.values(), *EVENT_QUEUES.values()):
            for queue in queues:
                channel = connection.channel()
                try:
                    counts[queue] = channel.queue_declare(queue=queue, passive=True).consumer_count
                except Exception:  # noqa: BLE001  not declared (yet)
                    counts[queue] = 0
                finally:
                    try:
                        channel.close()
                    except Exception:  # noqa: BLE001
                        pass
        return counts

    def baseline_consumers(self) -> None:
        with Connection(self.bus) as connection:
            counts = self.consumer_counts(connection)
        self.baseline = {queue: count for queue, count in counts.items() if count > 0}
        self.log(f"consumers on {len(self.baseline)} queues before the faults")

    def measure_consumers_back(self, up_at: float) -> dict:
        """Seconds from the broker answering again until every consumer is back on each of its queues."""
        groups = {name: [q for q in queues if q in self.baseline] for name, queues in
                  {**RPC_QUEUES, **EVENT_QUEUES}.items()}
        back: dict[str, float | None] = {name: None for name, queues in groups.items() if queues}
        deadline = up_at + self.options.consumer_wait
        while time.time() < deadline and any(v is None for v in back.values()):
            try:
                with Connection(self.bus, connect_timeout=2) as connection:
                    while time.time() < deadline and any(v is None for v in back.values()):
                        counts = self.consumer_counts(connection)
                        now = time.time()
                        for name, queues in groups.items():
                            if back.get(name, 0) is None and all(counts.get(q, 0) >= self.baseline[q] for q in queues):
                                back[name] = now - up_at
                        time.sleep(0.25)
            except Exception:  # noqa: BLE001  the broker dropped the connection: ask again
                time.sleep(0.25)
        return back

    def fault(self, name: str) -> None:
        component = self.components[name]
        with component.lock:
            killed_at = time.time()
            component.kill9()
            time.sleep(self.options.down)
            started = False
            while not started:
                try:
                    component.start()
                    started = True
                except Exception as error:  # noqa: BLE001  e.g. a port not yet free: again
                    self.log(f"{name} did not start again: {error}"[:300])
                    time.sleep(1)
        if name == "rabbitmq":
            up_at = time.time()
            self.broker_up_at.append(up_at)
            self.returns.append(self.measure_consumers_back(up_at))
        if not wait_ready([component], self.options.ready_wait):
            self.log(f"{name} not ready {self.options.ready_wait:.0f} s after its restart")
        ready_at = time.time()
        self.windows.append(checker.Window(name, killed_at, ready_at))
        self.ready_seconds[name].append(ready_at - killed_at)
        if not wait_ready(list(self.components.values()), self.options.ready_wait):
            self.log("not every component ready after " + name + ": " + ", ".join(
                c.name for c in self.components.values() if not c.ready()))
        time.sleep(self.options.settle)

    def schedule(self) -> list[str]:
        rng = random.Random(self.options.seed)
        order = []
        for _ in range(self.options.cycles):
            cycle = list(getattr(self.options, "only", None) or ORDER)
            rng.shuffle(cycle)
            order.extend(cycle)
        return order

    # --- load ----------------------------------------------------------------------------
    def run_phase(self, label: str, scans: list[Scan], faults: list[str]) -> None:
        stop_file = self.work / f"{label}.stop"
        work_path, history_path = self.work / f"{label}.work", self.work / f"{label}.history"
        with open(work_path, "wb") as file:
            pickle.dump({"http": self.http, "offset": self.offset, "rate": self.options.rate,
                         "concurrency": self.options.concurrency, "timeout": self.options.client_timeout,
                         "stop_file": str(stop_file), "give_up": self.options.give_up, "seed": self.options.seed,
                         "items": [self.item(scan, 0.0) for scan in scans]}, file, protocol=pickle.HIGHEST_PROTOCOL)
        load = subprocess.Popen([sys.executable, "-m", "chaos.load", str(work_path), str(history_path)], cwd=REPO,
                                start_new_session=True)
        self.loads.append(load)
        started = time.time()
        self.log(f"phase {label}: {len(scans):,} scans at {self.options.rate:g}/s (then scanned again until the "
                 f"phase ends); {len(faults)} faults: {' '.join(faults)}")
        time.sleep(self.options.warmup)
        for number, name in enumerate(faults, 1):
            self.fault(name)
            self.log(f"  fault {number}/{len(faults)}: {name} killed and ready again in "
                     f"{self.ready_seconds[name][-1]:.1f} s")
        time.sleep(self.options.settle)
        stop_file.touch()
        stopped = time.time()
        load.wait(self.options.give_up + 120)
        if load.returncode != 0:
            raise RuntimeError(f"the load of phase {label} exited with {load.returncode}")
        with open(history_path, "rb") as file:
            result = pickle.load(file)
        expected = {scan.scan_id: scan for scan in scans}
        for row in result["history"]:
            scan_id, kind, sent, latency, code, error_code, repeat, record_id, seq, hash_ = row
            scan = expected[scan_id]
            self.attempts.append(checker.Attempt(scan_id, scan.key, sent, code, error_code, bool(repeat),
                                                 record_id, seq or 0, hash_, well_formed=scan.expected == "ok",
                                                 answered_at=sent + latency))
        seconds = max(stopped - started, 1e-9)
        sent_before_stop = sum(1 for row in result["history"] if row[2] <= stopped)
        # scans the members sent (first scans and rescans), apart from their phones' retries of undecided ones
        scans_before_stop = sum(1 for row in result["history"] if row[2] <= stopped and row[1] != "retry")
        figures = {"phase": label, "seconds": seconds, "attempts": len(result["history"]),
                   "rate": sent_before_stop / seconds, "scan_rate": scans_before_stop / seconds,
                   "replays": result["replays"],
                   "unsent": len(result["unsent"]), "undecided": len(result["undecided"]),
                   "codes": Counter(row[5] or ("OK-repeat" if row[6] else "OK") for row in result["history"])}
        self.load_figures.append(figures)
        self.log(f"phase {label}: {figures['attempts']:,} attempts, {figures['scan_rate']:,.0f} scans/s and "
                 f"{figures['rate']:,.0f} attempts/s (with retries) while faults ran, "
                 f"{figures['replays']:,} rescans, {figures['undecided']} undecided at the end, "
                 f"{figures['unsent']} never sent")

    # --- the day -------------------------------------------------------------------------
    def chaos_day(self) -> None:
        self.import_city()
        self.prepare_day()
        self.freeze_rosters()
        self.load_members()
        self.scans = chaos_plan(self.members, self.rng)
        self.baseline_consumers()
        faults = self.schedule()
        half = (len(faults) + 1) // 2
        by_phase = defaultdict(list)
        for scan in self.scans:
            by_phase[scan.phase].append(scan)
        self.offset = self.set_clock("start_at", -20)
        self.run_phase("in", by_phase["in"], faults[:half])
        self.connect()
        self.offset = self.set_clock("end_at", 1)
        self.run_phase("out", by_phase["out"], faults[half:])
        self.connect()
        self.close_day()
        self.settle_events()

    def settle_events(self, timeout: float = 300.0) -> None:
        """Until every outbox is empty and every consumer's queues are drained (a few readings in a row)."""
        started, quiet = time.monotonic(), 0
        while time.monotonic() - started < timeout and quiet < 3:
            pending = self.outbox_pending()
            try:
                with Connection(self.bus) as connection:
                    channel = connection.channel()
                    waiting = sum(channel.queue_declare(queue=q, passive=True).message_count
                                  for queues in EVENT_QUEUES.values() for q in queues if q in self.baseline)
            except Exception:  # noqa: BLE001
                waiting = -1
            quiet = quiet + 1 if pending == 0 and waiting == 0 else 0
            time.sleep(2)
        self.log(f"events settled in {time.monotonic() - started:.0f} s")

    def outbox_pending(self) -> int:
        prefix = os.environ["DB_PREFIX"]
        total = 0
        for client, service in ((self.mongo_clients[0], "attendance"), (self.mongo_clients[0], "identity"),
                                (self.mongo_clients[1], "scoring")):
            total += client[f"{prefix}_{service}"].outbox.count_documents({"status": {"$in": ["pending",
                                                                                             "unroutable"]}})
        return total

    # --- checks --------------------------------------------------------------------------
    def check(self) -> int:
        with open(self.work / "history.pickle", "wb") as file:       # what a failed run's checks read, for later
            pickle.dump({"attempts": self.attempts, "windows": self.windows, "returns": self.returns}, file)
        records = list(self.db.records.find({}, {"activity_id": 1, "kind": 1, "member_id": 1, "seq": 1, "hash": 1}))
        scans = checker.check_scans(self.attempts, records, self.windows, settle=self.options.settle)
        events = checker.EventCheck()
        month = self.day.strftime("%Y-%m")
        answer = self.rpc.scoring.reconcile(scope=self.admin_scope, org_id=self.root, period=month)
        checker.check_scores(answer["differences"], answer["checked"], events)
        stored_keys = {f"{r['activity_id']}:{'in' if r['kind'] == 'checkin' else 'out'}:{r['member_id']}"
                       for r in records if r.get("kind") in ("checkin", "checkout")}
        statuses = {}
        for doc in self.db.activities.find({"theme_id": self.theme_id}, {"roster": 1, "statuses": 1}):
            roster = {member_id: bool(entry.get("mobile")) for member_id, entry in (doc.get("roster") or {}).items()}
            wanted = checker.expected_statuses(roster, stored_keys, doc["_id"])
            statuses[doc["_id"]] = doc.get("statuses") or {}
            events.statuses_wrong.extend(f"{doc['_id']}:{m}" for m, s in wanted.items()
                                         if statuses[doc["_id"]].get(m) != s)
        points = self.scoring_db.client[points_database(self.scoring_db.name)]
        checker.check_points(statuses, list(points.ledger.find({})), list(points.balances.find({})), events)
        events.outbox_pending = self.outbox_pending()
        try:
            with Connection(self.bus) as connection:
                events.dead_letters = connection.channel().queue_declare(queue=DEAD_LETTER_QUEUE,
                                                                         passive=True).message_count
        except Exception as error:  # noqa: BLE001  no dead-letter queue declared: none parked
            self.log(f"dead letters not counted: {error}")
        returns = [dict(one) for one in self.returns]
        for up_at, one in zip(self.broker_up_at, returns):
            # when a member's phone was first told OK again (a scan sent while the broker was down may wait for it)
            first = min((a.answered_at for a in self.attempts if a.answered_at >= up_at and a.outcome == checker.OK),
                        default=None)
            one[GATEWAY_BACK] = None if first is None else first - up_at
        back = checker.consumers_back(returns, CONSUMER_BACK_TARGET)
        return self.report(scans, events, back)

    def report(self, scans: checker.ScanCheck, events: checker.EventCheck, back: dict) -> int:
        line = "=" * 110
        print(f"\n{line}\nCHAOS SUITE — mode {self.options.mode}: {self.options.cycles} kill -9 cycles per component, "
              f"{len(self.activity_of):,} branches, {len(self.members):,} roster members, {len(self.scans):,} scans "
              f"planned\n{line}")
        for figures in self.load_figures:
            print(f"phase {figures['phase']}: {figures['seconds']:.0f} s under faults, "
                  f"{figures['scan_rate']:,.0f} scans/s "
                  f"sent by members ({figures['replays']:,} of them rescans), {figures['attempts']:,} attempts with "
                  f"the phones' retries ({figures['rate']:,.0f}/s), "
                  f"answers: " + ", ".join(f"{c} {n:,}" for c, n in figures["codes"].most_common(8)))
        faults = {name: {"ready_seconds": self.ready_seconds.get(name, [])} for name in ORDER}
        print("\n-- scans per component (sent while it was down or settling; Jepsen's queue checker) --")
        print(checker.scan_table(scans, faults))
        print(f"chains with a repeated or missing seq: {len(scans.broken_chains)}; stored after unknown answers only "
              f"(recovered, allowed): {len(scans.recovered)}; undecided and not stored (allowed): "
              f"{len(scans.unknown_at_end)}")
        unplanned = {name: len(exits) for name, exits in (self.watchdog.unplanned if self.watchdog else {}).items()
                     if exits}
        print(f"exits nobody asked for (restarted by the watchdog): {unplanned or 'none'}")
        print("\n-- events, scores and points, recomputed from the records after closing --")
        print(checker.event_lines(events))
        print(f"\n-- consumers back after the broker returns (target <= {CONSUMER_BACK_TARGET:g} s) --")
        print(checker.consumer_table(back, CONSUMER_BACK_TARGET))
        slow = sum(row["missed"] for row in back.values())
        violations = scans.violations + events.violations + slow
        for what, keys in (("lost", scans.lost), ("stored twice", scans.stored_twice),
                           ("stored but refused", scans.stored_but_refused), ("answer differs", scans.answer_differs),
                           ("score lost", events.score_lost), ("score twice", events.score_twice),
                           ("points lost", events.points_lost), ("points extra", events.points_extra),
                           ("status", events.statuses_wrong)):
            if keys:
                print(f"  e.g. {what}: {keys[:3]}")
        print(f"\nCHAOS: {'PASSED' if not violations else f'FAILED ({violations} violations)'} — lost "
              f"{len(scans.lost)}, duplicated {len(scans.stored_twice) + len(scans.broken_chains)}, stored but refused "
              f"{len(scans.stored_but_refused)}, events lost/twice {len(events.score_lost) + len(events.points_lost)}"
              f"/{len(events.score_twice) + len(events.points_extra) + len(events.balances_wrong)}, consumers over "
              f"{CONSUMER_BACK_TARGET:g} s {slow}")
        print(f"logs: {self.work}")
        return 1 if violations else 0
