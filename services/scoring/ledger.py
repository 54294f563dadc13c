"""Writing member points: ledger entries and balances, caps applied, one transaction per batch.

An entry's ``_id`` is derived from what produced it (``<activity>:<member>:attendance``, a
deduction's request id...), so the same cause never pays twice. Entries are never edited:
a correction is a new entry with the opposite points that names the entry it corrects.
"""
from __future__ import annotations

from pymongo import ReplaceOne

from servicekit.timestamps import stamp

from services.scoring.domain import points as rules
from services.scoring.domain.periods import cycle_of
from services.scoring.points_store import LEVEL_FIELDS, PointsStore


def rules_of(store: PointsStore, tenant_id: str) -> dict:
    tenant = store.tenant(tenant_id) or {}
    return tenant.get("rules") or rules.default_rules()


def batch_rules(store: PointsStore, tenant_id: str, rules_by_tenant: dict) -> dict:
    """A tenant's rules table, read once per batch (``rules_by_tenant`` holds those read)."""
    if tenant_id not in rules_by_tenant:
        rules_by_tenant[tenant_id] = rules_of(store, tenant_id)
    return rules_by_tenant[tenant_id]


def entry(entry_id: str, tenant_id: str, member_id: str, category: str, points: float, reason: str,
          source: dict, at: str) -> dict:
    return {"_id": entry_id, "tenant_id": tenant_id, "member_id": member_id, "category": category,
            "requested_points": points, "points": points, "reason": reason, "source": source, "at": at,
            "day": at[:10]}


def write_entries(store: PointsStore, session, candidates: list[dict], rules_by_tenant: dict | None = None) -> list[dict]:
    """Cap, then insert the entries not written before and add them to the balances. Returns those written."""
    if not candidates:
        return []
    ids = [candidate["_id"] for candidate in candidates]
    existing = {doc["_id"] for doc in store.db.ledger.find({"_id": {"$in": ids}}, {"_id": 1}, session=session)}
    rules_by_tenant = rules_by_tenant if rules_by_tenant is not None else {}
    members = {doc["_id"]: doc for doc in store.db.members.find(
        {"_id": {"$in": list({c["member_id"] for c in candidates})}}, session=session)}
    todo, seen = [], set()
    for candidate in candidates:
        if candidate["_id"] in existing or candidate["_id"] in seen:
            continue
        seen.add(candidate["_id"])
        tenant_id = candidate["tenant_id"]
        table = batch_rules(store, tenant_id, rules_by_tenant)
        cycle = cycle_of(candidate["day"], table["cycle"])
        todo.append((candidate, table, cycle, f"{candidate['member_id']}:{cycle}"))
    keys = list({key for *_, key in todo})
    found = {doc["_id"]: doc for start in range(0, len(keys), 1000) for doc in store.db.balances.find(
        {"_id": {"$in": keys[start:start + 1000]}}, session=session)}
    balances = {key: found.get(key) or {} for key in keys}
    fresh = []
    for candidate, table, cycle, key in todo:
        balance = balances[key]
        rule = rules.rule_for(table, candidate["category"]) or {}
        daily = (balance.get("by_day") or {}).get(candidate["day"], {}).get(candidate["category"], 0)
        in_cycle = (balance.get("by_category") or {}).get(candidate["category"], 0)
        points = candidate["points"] if candidate.get("uncapped") else \
            rules.capped(candidate["points"], daily, in_cycle, rule)
        written = {**{k: v for k, v in candidate.items() if k != "uncapped"}, "points": points, "cycle": cycle}
        balance.setdefault("by_day", {}).setdefault(candidate["day"], {})
        balance["by_day"][candidate["day"]][candidate["category"]] = daily + points
        balance.setdefault("by_category", {})[candidate["category"]] = in_cycle + points
        balance["total"] = balance.get("total", 0) + points
        member = members.get(candidate["member_id"]) or {}
        balance.update({"tenant_id": candidate["tenant_id"], "member_id": candidate["member_id"], "cycle": cycle,
                        "cycle_key": f"{candidate['tenant_id']}:{cycle}", "branch_id": member.get("branch_id"),
                        "updated_at": stamp(), **{name: member[name] for name in LEVEL_FIELDS if member.get(name)}})
        fresh.append(written)
    if not fresh:
        return []
    store.db.ledger.insert_many(fresh, ordered=True, session=session)
    write_balances(store, session, {key: balances[key] for key in {f"{w['member_id']}:{w['cycle']}" for w in fresh}},
                   found)
    return fresh


class StaleBalance(Exception):
    """Another writer changed a balance between this write's read and its replacement."""


def write_balances(store: PointsStore, session, changed: dict[str, dict], found: dict[str, dict]) -> None:
    """Insert the new balances and replace the changed ones whole, each guarded by the version read (a
    replacement costs nx-27017 less than half of the same change as $inc operators)."""
    inserts = [{**balance, "_id": key, "v": 1} for key, balance in changed.items() if key not in found]
    replacements = [ReplaceOne({"_id": key, "v": found[key].get("v", 0)},
                               {**balance, "_id": key, "v": found[key].get("v", 0) + 1})
                    for key, balance in changed.items() if key in found]
    if inserts:
        store.db.balances.insert_many(inserts, ordered=True, session=session)
    if replacements:
        result = store.db.balances.bulk_write(replacements, ordered=False, session=session)
        if result.matched_count != len(replacements):
            raise StaleBalance(f"{len(replacements) - result.matched_count} balances changed meanwhile")


def rule_points(table: dict, category: str, quantity: float = 1) -> float | None:
    rule = rules.rule_for(table, category)
    return None if rule is None else rule["points"] * quantity
