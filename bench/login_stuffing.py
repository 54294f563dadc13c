"""Benchmark: how many guesses of a credential-stuffing or password-spraying run reach a password check before the
login throttle stops them, and whether a real user's login is slowed meanwhile.

    .venv/bin/python -m bench.login_stuffing [--attempts 2000] [--tenants 3] [--addresses 5] [--hours 24]

Identity's own login use case (``Sessions.login``) on the real store (nx-27017, a scratch database) and the real
throttle, with a simulated clock: the attacker obeys every Retry-After exactly (the fastest a throttled client may
go) and never waits otherwise, so the figures are the most an attacker gets. The password check is a counting stand-in
for the hash (what is measured is how many guesses reach it, not its cost); the password counter's key is a fresh
field-index key.

Scenarios, each on a fresh database:
1. stuffing: ``--attempts`` leaked (tenant, name, password) pairs over ``--tenants`` tenants from ``--addresses``
   addresses, every name and password different (half the names real);
2. spraying: one common password against ``--attempts`` names over the tenants, from the same addresses;
3. spraying from a botnet: the same from ``--attempts`` addresses, one guess each, so only the password counter
   can see it (one simulated hour: each of its addresses retries every time it is told, which is a lot of calls).
Throughout, 20 real users log in with their right password from addresses of their own, each every 30 simulated
minutes: every refusal of theirs is counted, and their logins' wall time is compared with the same logins on an
idle store.
"""
from __future__ import annotations

import argparse
import heapq
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from pymongo import MongoClient

from servicekit.errors import TooManyRequests, Unauthenticated
from servicekit.process.clock import FixedClock
from servicekit.security.fieldcrypt import FieldCipher
from servicekit.storage.embedded_mongo import EmbeddedMongo
from servicekit.storage.mongo import open_store
from services.identity.store import IdentityStore
from services.identity.usecases.sessions import Sessions

START = datetime(2026, 12, 1, tzinfo=timezone.utc)
RIGHT = "Right-passw0rd!"


class CountingCheck:
    """The hash gate's stand-in: counts every password check; right only for ``RIGHT`` against a real account."""

    def __init__(self):
        self.checks = 0

    def verify(self, stored_hash, password):
        self.checks += 1
        return bool(stored_hash) and password == RIGHT, None


class Signer:
    lifetime = 3600

    def issue(self, scope):
        return "token"


def seeded(store: IdentityStore, tenants: int, names: int) -> list[tuple[str, str]]:
    """``tenants`` tenants with ``names`` accounts each; their (tenant code, username)."""
    accounts = []
    for number in range(tenants):
        tenant_id, code = f"ten_{number}", f"city{number}"
        store.db.tenants.insert_one({"_id": tenant_id, "code": code, "name": code, "root_org_id": f"org_{number}",
                                     "settings": {}})
        store.db.accounts.insert_many([
            {"_id": f"acc_{number}_{index}", "tenant_id": tenant_id, "username": f"user{index:04d}",
             "login_key": f"{tenant_id}:user{index:04d}", "password_hash": "stand-in", "roles": [], "member_id": None}
            for index in range(names)])
        accounts += [(code, f"user{index:04d}") for index in range(names)]
    return accounts


def run(uri: str, scenario: str, args) -> dict:
    client = MongoClient(uri)
    client.drop_database("pb_identity")
    store = open_store(IdentityStore, "identity", uri)
    accounts = seeded(store, args.tenants, max(50, args.attempts // (2 * args.tenants)))
    clock, check = FixedClock(START), CountingCheck()
    cipher = FieldCipher(os.urandom(32), [], os.urandom(32))
    sessions = Sessions(store, clock, check, Signer(), cipher)
    rng = random.Random(7)
    if scenario == "stuffing":
        guesses = [(rng.choice(accounts)[0], rng.choice(accounts)[1] if index % 2 else f"leaked{index}",
                    f"leaked-pw-{index}") for index in range(args.attempts)]
    else:
        guesses = [(accounts[index % len(accounts)][0], accounts[index % len(accounts)][1], "123456")
                   for index in range(args.attempts)]
    addresses = args.attempts if scenario == "botnet" else args.addresses
    # each address works through its share in order; a heap of (ready at, address, next guess index)
    queues = {address: list(range(address, args.attempts, addresses)) for address in range(addresses)}
    ready = [(0.0, address) for address in queues if queues[address]]
    heapq.heapify(ready)
    horizon = (min(args.hours, 1.0) if scenario == "botnet" else args.hours) * 3600.0
    checked_first_hour, answers, refusals = None, Counter(), Counter()
    users = [(accounts[index * 7 % len(accounts)], f"192.0.2.{index}") for index in range(20)]
    next_user_round, user_refused, user_logins, user_seconds = 0.0, 0, 0, []
    finished_at = None
    while ready:
        at, address = heapq.heappop(ready)
        if at > horizon:
            break
        while next_user_round <= at:     # the real users' logins due before this guess
            clock.moment = START.fromtimestamp(START.timestamp() + next_user_round, timezone.utc)
            for (code, username), user_address in users:
                started = time.perf_counter()
                try:
                    sessions.login(code, username, RIGHT, user_address)
                    user_logins += 1
                except TooManyRequests:
                    user_refused += 1
                user_seconds.append(time.perf_counter() - started)
            next_user_round += 1800.0
        if checked_first_hour is None and at >= 3600:
            checked_first_hour = check.checks - user_logins
        clock.moment = START.fromtimestamp(START.timestamp() + at, timezone.utc)
        guess = queues[address][0]
        code, username, password = guesses[guess]
        source = f"10.{address // 65536}.{address // 256 % 256}.{address % 256}"
        try:
            sessions.login(code, username, password, source)
            answers["OK"] += 1
            queues[address].pop(0)
            wait = 0.0
        except Unauthenticated:
            answers["LOGIN_FAILED"] += 1
            queues[address].pop(0)
            wait = 0.0
        except TooManyRequests as refused:
            refusals[refused.details[0].get("limit", refused.code)] += 1
            wait = float(refused.details[0]["retry_after_seconds"])
        if queues[address]:
            heapq.heappush(ready, (at + wait, address))
        elif not any(queues.values()):
            finished_at = at
    guessed = check.checks - user_logins
    client.close()
    return {"scenario": scenario, "addresses": addresses, "hours": horizon / 3600, "checked": guessed,
            "checked_first_hour": checked_first_hour if checked_first_hour is not None else guessed,
            "finished_hours": None if finished_at is None else finished_at / 3600, "refusals": dict(refusals),
            "user_logins": user_logins, "user_refused": user_refused,
            "user_ms_median": statistics.median(user_seconds) * 1000 if user_seconds else 0.0}


def idle_login_ms(uri: str, rounds: int = 200) -> float:
    """A real user's login on an idle store (no attack): the baseline of ``user_ms_median``."""
    client = MongoClient(uri)
    client.drop_database("pb_identity")
    store = open_store(IdentityStore, "identity", uri)
    accounts = seeded(store, 1, 20)
    sessions = Sessions(store, FixedClock(START), CountingCheck(), Signer(),
                        FieldCipher(os.urandom(32), [], os.urandom(32)))
    times = []
    for index in range(rounds):
        code, username = accounts[index % len(accounts)]
        started = time.perf_counter()
        sessions.login(code, username, RIGHT, f"192.0.2.{index % 20}")
        times.append(time.perf_counter() - started)
    client.close()
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.login_stuffing", description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=2000)
    parser.add_argument("--tenants", type=int, default=3)
    parser.add_argument("--addresses", type=int, default=5)
    parser.add_argument("--hours", type=float, default=24.0, help="the attacker's simulated time budget")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-login-") as directory, \
            EmbeddedMongo(Path(directory) / "mongo") as mongo:
        print(f"{args.attempts} guesses over {args.tenants} tenants; the attacker obeys Retry-After, "
              f"{args.hours:g} simulated hours at most (the botnet 1)", flush=True)
        print(f"{'scenario':<10} {'addresses':>9} {'checked 1st h':>13} {'checked':>8} {'all done after':>15}  "
              f"{'refused by (limit: count)':<40} {'users ok/refused':>16} {'user login ms':>13}")
        for scenario in ("stuffing", "spraying", "botnet"):
            result = run(mongo.uri, scenario, args)
            done = "-" if result["finished_hours"] is None else f"{result['finished_hours']:.1f} h"
            refusals = ", ".join(f"{limit}: {count}" for limit, count in sorted(result["refusals"].items()))
            print(f"{scenario:<10} {result['addresses']:>9} {result['checked_first_hour']:>13} {result['checked']:>8} "
                  f"{done:>15}  {refusals:<40} {result['user_logins']:>7}/{result['user_refused']:<8} "
                  f"{result['user_ms_median']:>13.2f}", flush=True)
        print(f"a real user's login on an idle store: {idle_login_ms(mongo.uri):.2f} ms (median)")


if __name__ == "__main__":
    main()
