"""Benchmark: what listing accounts costs the embedded store at a city's scale, through ``IdentityStore``.

    .venv/bin/python -m bench.list_accounts [--members 211000]

Builds one city's accounts straight into a store of its own (a city admin, 10 county admins, 200 committee
admins, 8,800 branch secretaries and a login for each member, about 220,000 in all), stored before placement
and placed by ``place_accounts`` as an upgraded installation's first start would, then times a page of
``accounts_in`` (what ``list_accounts`` reads) for each kind of caller, with and without the role filter.
"""
from __future__ import annotations

import argparse
import time
import uuid

from servicekit.storage.embedded_mongo import EmbeddedMongo
from servicekit.storage.mongo import open_store
from servicekit.storage.subtree import ancestor_fields
from services.identity.store import IdentityStore

TENANT = "ten_bench"


def build(store: IdentityStore, members: int) -> dict[str, dict]:
    """Organisations and accounts without placement fields; returns the organisations by id."""
    orgs, accounts = {}, []

    def org(path: list[str], kind: str) -> dict:
        doc = {"_id": path[-1], "tenant_id": TENANT, "name": path[-1], "kind": kind, "level": len(path) - 1,
               **ancestor_fields(path)}
        orgs[doc["_id"]] = doc
        return doc

    def account(role: str, org_id: str, member_id: str | None = None) -> None:
        name = f"u{len(accounts)}"
        accounts.append({"_id": f"acc_{uuid.uuid4().hex}", "tenant_id": TENANT, "username": name,
                         "login_key": f"{TENANT}:{name}", "password_hash": "$argon2id$" + "x" * 90,
                         "roles": [{"role": role, "org_id": org_id}], "member_id": member_id,
                         "created_at": f"2026-01-01T00:00:{len(accounts):09d}Z"})

    root = org(["org_root"], "city")
    account("org_admin", root["_id"])
    branches = []
    for c in range(10):
        county = org([root["_id"], f"org_c{c}"], "county")
        account("org_admin", county["_id"])
        for k in range(20):
            committee = org([root["_id"], county["_id"], f"org_c{c}k{k}"], "committee")
            account("org_admin", committee["_id"])
            for b in range(44):
                branch = org([root["_id"], county["_id"], committee["_id"], f"org_c{c}k{k}b{b}"], "branch")
                account("branch_secretary", branch["_id"])
                branches.append(branch["_id"])
    for number in range(members):
        account("member", branches[number % len(branches)], f"mem_{number}")
    store.db.orgs.insert_many(list(orgs.values()))
    for start in range(0, len(accounts), 5000):
        store.db.accounts.insert_many(accounts[start:start + 5000])
    return orgs


def timed(label: str, call, repeat: int = 3) -> None:
    best, found = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        found = call()
        best = min(best, time.perf_counter() - started)
    print(f"{label:<48} {best * 1000:8.1f} ms  ({len(found)} rows)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=211_000)
    args = parser.parse_args()
    with EmbeddedMongo() as mongo:
        store = open_store(IdentityStore, "bench_accounts", mongo.uri)
        started = time.perf_counter()
        orgs = build(store, args.members)
        print(f"stored {store.db.accounts.estimated_document_count()} accounts in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        store.db.migrations.delete_one({"_id": "account_places"})
        started = time.perf_counter()
        placed = store.place_accounts()
        print(f"placed {placed} accounts in {time.perf_counter() - started:.1f} s", flush=True)
        root, county, committee, branch = (orgs[i] for i in ("org_root", "org_c3", "org_c3k4", "org_c3k4b5"))
        cases = [("city, all roles, first page", root, "", 0), ("city, all roles, page 201", root, "", 10_000),
                 ("city, org_admin", root, "org_admin", 0), ("city, member", root, "member", 0),
                 ("county, all roles", county, "", 0), ("county, branch_secretary", county, "branch_secretary", 0),
                 ("county, member", county, "member", 0), ("committee, all roles", committee, "", 0),
                 ("branch, all roles", branch, "", 0), ("branch, member", branch, "member", 0)]
        for label, org, role, skip in cases:
            timed(label, lambda: store.accounts_in(org, role, skip, 51))


if __name__ == "__main__":
    main()
