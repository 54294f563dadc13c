"""Benchmark (not a test): the attendance scan desk alone against the embedded store, CPU per scan.

    python -m bench.scan_desk [--activities 900] [--members 22] [--batch 110] [--relay] [--profile 25]

Stores ``--activities`` frozen activities of ``--members`` members each on a fresh nx-27017, then hands
``services.attendance.scanning.ScanDesk.record`` every member's sign-in and then every sign-out, shuffled,
in batches of ``--batch`` (what the gateway's batches carry at a themed day's peak), from this process:
no RPC, no gateway, no broker, no other service. Prints, per direction, the desk's CPU milliseconds per
scan (this process) and the store's (its process, from /proc). ``--relay`` also runs the outbox relay
after each batch, publishing to RabbitMQ (``AMQP_URI``) as the service's relay does; ``--profile N`` prints
cProfile's N most expensive functions of the desk.

What the themed-day benchmark reports per scan for the attendance process and the store, above these
figures, is what the service around the desk costs (the RPC messages, the cache checks, the relay).
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import secrets
import time
from datetime import datetime, timedelta, timezone

from bench.proc import cpu_seconds
from servicekit.process.config import amqp_uri
from servicekit.storage.embedded_mongo import EmbeddedMongo
from servicekit.timestamps import stamp
from servicekit.storage.mongo import open_store
from servicekit.messaging.outbox import Relay
from services.attendance.chaining import ChainWriter
from services.attendance.domain import qrtoken
from services.attendance.scanning import ScanDesk
from services.attendance.store import AttendanceStore, scan_changed

KEY = qrtoken.tenant_key(b"bench master secret", "t1")
START = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)
END = START + timedelta(hours=2)


class SetClock:
    def __init__(self, moment: datetime):
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def members_of(index: int, size: int) -> list[str]:
    return [f"m{index:05d}_{n:02d}" for n in range(size)]


def activity(index: int, size: int) -> dict:
    return {"_id": f"act_{index:05d}", "tenant_id": "t1", "branch_id": f"b{index}", "branch_month": f"b{index}:2026-11",
            "status": "approved", "radius_m": 300, "roster_frozen_at": stamp(START - timedelta(minutes=20)),
            "roster": {member: {"name": member, "mobile": False} for member in members_of(index, size)},
            "on_leave": {},
            "plan": {"venue": {"lat": 30.0, "lng": 120.0},
                     "checkin_opens_at": stamp(START - timedelta(minutes=30)),
                     "checkin_closes_at": stamp(START + timedelta(minutes=10)), "end_at": stamp(END),
                     "checkout_closes_at": stamp(END + timedelta(minutes=30))},
            **scan_changed()}


def scans(args, direction: str, clock: SetClock, rng: random.Random) -> list[dict]:
    step = qrtoken.step_of(clock.now())
    tokens = {index: qrtoken.issue(KEY, f"act_{index:05d}", direction, step) for index in range(args.activities)}
    pairs = [(index, member) for index in range(args.activities) for member in members_of(index, args.members)]
    rng.shuffle(pairs)
    return [{"scope": {"account_id": f"acc-{member}", "tenant_id": "t1", "member_id": member,
                       "roles": [{"role": "member", "org_id": f"b{index}"}]},
             "token": tokens[index],
             "fix": {"lat": 30.0001, "lng": 120.0001, "accuracy_m": 10, "device_id": f"phone-{member}",
                     "taken_at": stamp(clock.now()),     # and the member page's earlier position of the day
                     "history": [{"lat": 30.0001, "lng": 120.0001,
                                  "taken_at": stamp(clock.now() - timedelta(minutes=30))}]}}
            for index, member in pairs]


def run(args) -> None:
    with EmbeddedMongo() as mongo:
        store = open_store(AttendanceStore, f"bench_desk_{secrets.token_hex(3)}", mongo.uri)
        store.db.activities.insert_many([activity(index, args.members) for index in range(args.activities)])
        relay = Relay("attendance", store.db, amqp_uri()) if args.relay else None
        clock = SetClock(START - timedelta(minutes=5))
        desk = ScanDesk(store, ChainWriter(store), clock, lambda tenant_id: KEY)
        rng = random.Random(args.seed)
        for direction, moment in ((qrtoken.CHECKIN, START - timedelta(minutes=5)),
                                  (qrtoken.CHECKOUT, END + timedelta(minutes=1))):
            clock.moment = moment
            items = scans(args, direction, clock, rng)
            batches = [items[start:start + args.batch] for start in range(0, len(items), args.batch)]
            profile = cProfile.Profile() if args.profile else None
            desk_before, store_before = time.process_time(), cpu_seconds(mongo.process.pid)
            wall_before = time.perf_counter()
            accepted = 0
            if profile:
                profile.enable()
            for batch in batches:
                accepted += sum("result" in answer for answer in desk.record(batch))
                if relay:
                    relay.run_once()
            if profile:
                profile.disable()
            desk_ms = 1000 * (time.process_time() - desk_before) / len(items)
            store_ms = 1000 * (cpu_seconds(mongo.process.pid) - store_before) / len(items)
            wall_ms = 1000 * (time.perf_counter() - wall_before) / len(items)
            print(f"{direction:>3}: {len(items):,} scans ({accepted:,} accepted) in {len(batches)} batches: CPU ms per "
                  f"scan: desk {desk_ms:.3f}, store {store_ms:.3f}, both {desk_ms + store_ms:.3f}; wall {wall_ms:.3f}"
                  + (" (with the relay)" if relay else ""), flush=True)
            if profile:
                pstats.Stats(profile).sort_stats("tottime").print_stats(args.profile)
        if relay:
            relay.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activities", type=int, default=900)
    parser.add_argument("--members", type=int, default=22, help="members on each activity's roster")
    parser.add_argument("--batch", type=int, default=110, help="scans per ScanDesk.record call")
    parser.add_argument("--relay", action="store_true", help="run the outbox relay after each batch (RabbitMQ)")
    parser.add_argument("--profile", type=int, default=0, help="print cProfile's N most expensive desk functions")
    parser.add_argument("--seed", type=int, default=7)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
