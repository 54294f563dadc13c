"""Benchmark: member search (党员检索, ``list_members`` with ``q``) in a city of 208,000 members.

    .venv/bin/python -m bench.member_search [--members 208000] [--calls 200] [--migration]

Starts its own embedded store (unless MONGO_URI is set), a RabbitMQ vhost of its own and the identity service
process, imports a city as ``bench.import_city`` does (9,000 organisations; the members of ``bench.city_data``,
3-character names, phones 13000000000 up), then times ``list_members`` (page of 50) over RPC for each kind of
search, at the city's root and at a county (a tenth of the city): surname (1 character), given name
(2 characters), full name, phone last 4, full phone, a date-like text (in no name), and for comparison the plain
list without ``q``. Each
answer is checked against the generated roll: the first page must hold exactly the members that match, as many
as the page takes. ``--migration`` then removes every member's search keys and times the start-up step that
writes them again (what the first start of this version costs on a city stored before it).
"""
from __future__ import annotations

import argparse
import base64
import os
import random
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from nameko.standalone.rpc import ClusterRpcProxy

from bench.city_data import MEMBER_HEADER, ORG_HEADER, SURNAMES, branch_paths, member_rows, org_rows, to_csv
from servicekit.process.config import nameko_config
from servicekit.storage.embedded_mongo import EmbeddedMongo
from servicekit.messaging.signed_calls import act_as
from servicekit.security.keys import ensure_keys
from servicekit.storage.mongo import open_store
from services.identity.store import IdentityStore
from tests.support.broker import TestVhost
from tests.support.identity import scope_of
from tests.support.processes import ChildProcess, free_port

PAGE = 50
NAME_KINDS = ("surname", "given name", "full name", "date-like")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def hit(kind: str, text: str, name: str, phone: str) -> bool:
    """Whether a member with this name and phone answers a search of this kind."""
    if kind == "full phone":
        return phone == text
    if kind == "phone tail":
        return phone.endswith(text)
    return text in name


class Roll:
    """The generated members, (name, phone, county index) each, and how many each search must find."""

    def __init__(self, rows: list[list]):
        self.members = [(row[1], row[5], int(row[0].split("区")[0].removeprefix("第")) - 1) for row in rows]
        self.counts: dict[tuple[str, str], list[int]] = {}          # (kind, text) -> members per county
        for name, phone, county in self.members:
            parts = {name[start:end] for start in range(len(name)) for end in range(start + 1, len(name) + 1)}
            for key in [("name", part) for part in parts] + [("phone tail", phone[-4:]), ("full phone", phone)]:
                self.counts.setdefault(key, [0] * 10)[county] += 1

    def expected(self, kind: str, text: str, county: int | None) -> int:
        per_county = self.counts.get(("name" if kind in NAME_KINDS else kind, text), [0] * 10)
        return sum(per_county) if county is None else per_county[county]


def searches(roll: Roll, rng: random.Random, calls: int) -> dict[str, list[tuple[str, int]]]:
    """For each kind, ``calls`` (text, county of a member it finds) pairs."""
    picked = [roll.members[rng.randrange(len(roll.members))] for _ in range(calls)]
    return {
        "surname": [(SURNAMES[n % len(SURNAMES)], n % 10) for n in range(calls)],
        "given name": [(name[1:], county) for name, _, county in picked],
        "full name": [(name, county) for name, _, county in picked],
        "phone tail": [(phone[-4:], county) for _, phone, county in picked],
        "full phone": [(phone, county) for _, phone, county in picked],
        # a text nx-27017 would take for a datetime, reading every member, were it not behind NAME_MARK
        "date-like": [(f"{1950 + n % 50}/0{1 + n % 9}/1{n % 10}", n % 10) for n in range(calls)],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=208_000)
    parser.add_argument("--calls", type=int, default=200, help="searches timed per kind and scope")
    parser.add_argument("--migration", action="store_true", help="also time keying a city stored without keys")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    os.environ.update(ensure_keys(work / "keys"), DB_PREFIX="bench" + secrets.token_hex(3),
                      OPERATOR_PASSWORD="Bench-" + secrets.token_hex(6), PASSWORD_HASH_PROFILE="fast")
    act_as("gateway")      # the bench calls services as the gateway does
    rows = member_rows(args.members, branch_paths())
    roll = Roll(rows)
    mongo = None if os.environ.get("MONGO_URI") else EmbeddedMongo(work / "mongo").start()
    uri = os.environ.get("MONGO_URI") or mongo.uri
    with TestVhost() as bus:
        child = ChildProcess("identity", ["-m", "servicekit.process.runner", "services.identity.service:IdentityService"],
                             {"AMQP_URI": bus, "MONGO_URI": uri, "METRICS_PORT": str(free_port())}, work)
        proxy = ClusterRpcProxy({**nameko_config(), "AMQP_URI": bus}, timeout=900)
        rpc = proxy.start()
        try:
            login = lambda: rpc.identity.login(tenant_code="", username="operator",       # noqa: E731
                                               password=os.environ["OPERATOR_PASSWORD"])
            child.wait_until(login)
            created = rpc.identity.create_tenant(scope=scope_of(login()), code="benchsearch", name="基准市",
                                                 admin_username="admin", admin_password="Bench-pass-1")
            admin = scope_of(rpc.identity.login(tenant_code="benchsearch", username="admin",
                                                password="Bench-pass-1"))
            root = created["root_org"]["id"]
            rpc.identity.import_orgs(scope=admin, parent_id=root, format="csv",
                                     content=base64.b64encode(to_csv(ORG_HEADER, org_rows())).decode())
            started = time.perf_counter()
            imported = rpc.identity.import_members(scope=admin, org_id=root, format="csv", content=base64.b64encode(
                to_csv(MEMBER_HEADER, rows)).decode())["imported"]
            print(f"seeded {imported:,} members by import_members in {time.perf_counter() - started:.1f}s")
            counties = {int(org["name"].removeprefix("第").split("区")[0]) - 1: org["id"] for org in
                        rpc.identity.list_subtree(scope=admin, org_id=root, kind="county", page_size=500)["orgs"]}

            def timed(org_id: str, q: str) -> tuple[float, list[dict]]:
                begun = time.perf_counter()
                found = rpc.identity.list_members(scope=admin, org_id=org_id, q=q, page_size=PAGE)["members"]
                return (time.perf_counter() - begun) * 1000, found

            for _ in range(20):                                        # warm the service and the store's caches
                timed(root, "")
            print(f"\nlist_members, page of {PAGE}, over RPC; {args.calls} calls per row "
                  f"(load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}, {os.cpu_count()} CPUs)")
            print(f"{'search':<12} {'scope':<7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
                  f"{'matches (median, min-max)':>26}  first page")
            for scope in ("city", "county"):
                latencies = [timed(root if scope == "city" else counties[n % 10], "")[0] for n in range(args.calls)]
                print(f"{'(none)':<12} {scope:<7} {statistics.median(latencies):7.1f} "
                      f"{percentile(latencies, 0.99):7.1f} {max(latencies):7.1f} {'all':>26}  {PAGE}")
            for kind, cases in searches(roll, random.Random(11), args.calls).items():
                for scope in ("city", "county"):
                    latencies, totals, pages = [], [], []
                    for text, county in cases:
                        where = None if scope == "city" else county
                        took, found = timed(root if where is None else counties[where], text)
                        expected = roll.expected(kind, text, where)
                        wrong = [m["name"] for m in found if not hit(kind, text, m["name"], m["phone"])]
                        if wrong or len(found) != min(PAGE, expected):
                            raise SystemExit(f"{kind} {text!r} at {scope}: {len(found)} found, "
                                             f"{expected} expected, wrong {wrong[:5]}")
                        latencies.append(took)
                        totals.append(expected)
                        pages.append(len(found))
                    spread = f"{statistics.median(totals):,.0f} ({min(totals):,}-{max(totals):,})"
                    print(f"{kind:<12} {scope:<7} {statistics.median(latencies):7.1f} "
                          f"{percentile(latencies, 0.99):7.1f} {max(latencies):7.1f} {spread:>26}  "
                          f"{statistics.median(pages):.0f}")
            if args.migration:
                store = open_store(IdentityStore, "identity", uri)
                started = time.perf_counter()
                store.db.members.update_many({}, {"$unset": {"search": ""}})
                store.db.migrations.delete_one({"_id": "member_search_keys"})
                print(f"\nkeys removed from every member in {time.perf_counter() - started:.1f}s")
                started = time.perf_counter()
                written = store.key_member_search()
                print(f"start-up keying (IdentityStore.key_member_search): {written:,} members in "
                      f"{time.perf_counter() - started:.1f}s")
                took, found = timed(root, SURNAMES[0])
                print(f"check: a surname search after it finds {len(found)} on its first page ({took:.1f} ms)")
        finally:
            proxy.stop()
            child.stop()
            if mongo:
                mongo.stop()
            shutil.rmtree(work, ignore_errors=True)       # the city's store: several hundred MB


if __name__ == "__main__":
    main()
