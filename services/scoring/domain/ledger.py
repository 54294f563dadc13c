"""Member points ledger (积分): entries, and how a batch of them is posted to the balances under the caps.

An entry's ``_id`` is derived from what produced it (``<activity>:<member>:attendance``, a deduction's
request id...), so the same cause never pays twice. Entries are never edited: a correction is a new entry
with the opposite points that names the entry it corrects.
"""
from __future__ import annotations

from servicekit.storage.subtree import LEVEL_FIELDS

from services.scoring.domain import points as rules
from services.scoring.domain.periods import cycle_of


def entry(entry_id: str, tenant_id: str, member_id: str, category: str, points: float, reason: str,
          source: dict, at: str) -> dict:
    return {"_id": entry_id, "tenant_id": tenant_id, "member_id": member_id, "category": category,
            "requested_points": points, "points": points, "reason": reason, "source": source, "at": at,
            "day": at[:10]}


def rule_points(table: dict, category: str, quantity: float = 1) -> float | None:
    rule = rules.rule_for(table, category)
    return None if rule is None else rule["points"] * quantity


def new_candidates(candidates: list[dict], existing: set[str]) -> list[dict]:
    """The candidates not written before, each once."""
    fresh, seen = [], set()
    for candidate in candidates:
        if candidate["_id"] in existing or candidate["_id"] in seen:
            continue
        seen.add(candidate["_id"])
        fresh.append(candidate)
    return fresh


def postings(candidates: list[dict], tables: dict[str, dict]) -> list[tuple[dict, dict, str, str]]:
    """``(candidate, its tenant's rules, its cycle, its balance id)`` of each candidate."""
    todo = []
    for candidate in candidates:
        table = tables[candidate["tenant_id"]]
        cycle = cycle_of(candidate["day"], table["cycle"])
        todo.append((candidate, table, cycle, f"{candidate['member_id']}:{cycle}"))
    return todo


def post(todo: list[tuple[dict, dict, str, str]], balances: dict[str, dict], members: dict[str, dict],
         at: str) -> list[dict]:
    """Cap each posting by its category's daily and cycle caps as the balances stand, add it to its balance
    (``balances`` by id, changed in place) and return the entries as they are to be written."""
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
                        "updated_at": at, **{name: member[name] for name in LEVEL_FIELDS if member.get(name)}})
        fresh.append(written)
    return fresh
