"""Recount the dues standards totals ("<org>:standard" in ``dues_totals``) from the members and their dues accounts.

An older version left a transferred or removed member's standard, and a moved organisation's standards, counted
on the old path's totals. This counts again what the live code counts: every member that
exists now and has a dues account, with the account's ``counted_fen``, on each organisation of the member's current
path; and sets every organisation whose stored total differs to the recount (one with none left: zero, as the live
code leaves it). Paid totals (per month) are not touched: payments stay with the branch that collected them.

    python -m services.identity.recount_dues [--tenant TENANT_ID] [--dry-run] [--batch 500]

Run it with identity stopped (same ``MONGO_URI`` and ``DB_PREFIX`` as identity). Each batch of organisations is one
transaction, so an interruption leaves each batch's totals old or new and a second run finishes the rest; a run
with nothing to fix finds 0 differences. A total is written only if it still holds what was read before the
members were counted, so a change identity makes meanwhile is never overwritten (that organisation is left and
reported; run again); but two changes on one organisation that cancel out during the run can still leave it
counted wrong, which is why identity should be stopped.

Prints, per tenant, how many organisations differ and up to 20 of them (stored and recounted fen and members),
then a JSON summary. Exit codes: 0 the totals are right (or were all written); 1 some organisations changed while
it ran and were left as they were (run again); 2 bad arguments or an unknown tenant; 3 ``--dry-run`` found
differences (nothing written).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from servicekit.storage.subtree import path_of

from services.identity.store import IdentityStore

log = logging.getLogger(__name__)
BATCH = 500                 # organisations per transaction
SHOWN = 20                  # differing organisations printed per tenant
CHANGED, UNKNOWN_TENANT, DIFFERENCES = 1, 2, 3


@dataclass(frozen=True)
class Total:
    due_fen: int = 0
    members: int = 0
    parent_id: str | None = None        # the organisation's parent on the members' paths (None: the root or unknown)

    @property
    def values(self) -> tuple[int, int]:
        return self.due_fen, self.members


@dataclass
class Recounted:
    tenant_id: str
    organisations: int = 0                                  # organisations with a stored or a recounted total
    differing: list[tuple[str, Total, Total]] = field(default_factory=list)     # (org id, stored, recounted)
    written: int = 0
    changed: int = 0                                        # changed since read: left as they were


def expected_standards(members: Iterable[dict], accounts: Mapping[str, dict]) -> dict[str, Total]:
    """{org id: Total} as the live code keeps it: each member with a dues account counts once, with the account's
    ``counted_fen``, on every organisation of its path. Accounts of members that no longer exist count nowhere."""
    sums: dict[str, list] = {}
    for member in members:
        account = accounts.get(member["_id"])
        if account is None:             # no standard was ever set
            continue
        path = path_of(member)
        for level, org_id in enumerate(path):
            entry = sums.setdefault(org_id, [0, 0, path[level - 1] if level else None])
            entry[0] += account.get("counted_fen", 0)
            entry[1] += 1
    return {org_id: Total(*entry) for org_id, entry in sums.items()}


def stored_total(doc: dict | None) -> Total:
    doc = doc or {}
    return Total(doc.get("due_fen", 0), doc.get("members", 0), doc.get("parent_id"))


def recount_tenant(store: IdentityStore, tenant_id: str, dry_run: bool = False, batch: int = BATCH) -> Recounted:
    # the totals first: a change after this read makes the total's compare-and-set fail
    stored = store.dues_standard_totals(tenant_id)
    members, accounts = store.dues_standard_sources(tenant_id)
    expected = expected_standards(members, accounts)
    unread = set(expected) - set(stored)
    if unread:                          # an organisation not in the tree's listing: read what it holds now
        stored.update(store.dues_standard_totals(tenant_id, unread))
    organisations = sorted(set(stored) | set(expected))
    result, changes = Recounted(tenant_id, len(organisations)), []
    for org_id in organisations:
        before, after = stored_total(stored.get(org_id)), expected.get(org_id, Total())
        if before.values == after.values:
            continue
        result.differing.append((org_id, before, after))
        changes.append((org_id, stored.get(org_id), {"due_fen": after.due_fen, "members": after.members,
                                                      "parent_id": after.parent_id}))
    if dry_run:
        return result
    for start in range(0, len(changes), batch):
        chunk = changes[start:start + batch]
        if store.rewrite_dues_standards(tenant_id, chunk):
            result.written += len(chunk)
            continue
        for change in chunk:            # one changed meanwhile: the others one by one
            if store.rewrite_dues_standards(tenant_id, [change]):
                result.written += 1
            else:
                result.changed += 1
                log.warning("tenant %s: the standards total of %s changed while it was recounted; left as it is",
                            tenant_id, change[0])
    return result


def recount_dues(store: IdentityStore, tenant_id: str | None = None, dry_run: bool = False,
                 batch: int = BATCH) -> list[Recounted]:
    tenants = [tenant_id] if tenant_id else store.tenant_ids()
    return [recount_tenant(store, tenant, dry_run, batch) for tenant in tenants]


def report(result: Recounted, dry_run: bool, out=print) -> None:
    out(f"tenant {result.tenant_id}: {len(result.differing)} of {result.organisations} organisations differ")
    for org_id, before, after in result.differing[:SHOWN]:
        out(f"  {org_id}: stored {before.due_fen} fen, {before.members} members; "
            f"recounted {after.due_fen} fen, {after.members} members")
    if len(result.differing) > SHOWN:
        out(f"  ... and {len(result.differing) - SHOWN} more")
    if not dry_run and result.differing:
        out(f"tenant {result.tenant_id}: {result.written} written, {result.changed} changed meanwhile (left)")


def main(argv=None) -> int:
    from servicekit.storage.mongo import open_store

    parser = argparse.ArgumentParser(
        prog="python -m services.identity.recount_dues", description=__doc__.split("\n")[0],
        epilog="Run it with identity stopped. Exit codes: 0 right or fixed, 1 some organisations changed while it "
               "ran (run again), 2 bad arguments or unknown tenant, 3 --dry-run found differences.")
    parser.add_argument("--tenant", help="only this tenant's organisations")
    parser.add_argument("--dry-run", action="store_true", help="print the differences, write nothing")
    parser.add_argument("--batch", type=int, default=BATCH, help="organisations per transaction")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    store = open_store(IdentityStore, "identity")
    if arguments.tenant and store.tenant(arguments.tenant) is None:
        print(f"no tenant {arguments.tenant}", file=sys.stderr)
        return UNKNOWN_TENANT
    results = recount_dues(store, arguments.tenant, arguments.dry_run, max(1, arguments.batch))
    for result in results:
        report(result, arguments.dry_run)
    summary = {"tenants": len(results), "organisations": sum(r.organisations for r in results),
               "differing": sum(len(r.differing) for r in results), "written": sum(r.written for r in results),
               "changed": sum(r.changed for r in results), "dry_run": arguments.dry_run}
    print(json.dumps(summary))
    if arguments.dry_run:
        return DIFFERENCES if summary["differing"] else 0
    return CHANGED if summary["changed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
