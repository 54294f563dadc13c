"""The hours ledger's rules (pure): a service's hours, the ledger entry's id and shape.

One entry per member per order or team event, ``_id`` "order:<order_id>:<member_id>" or
"event:<event_id>:<member_id>", so crediting twice (a replay, a second sweep) finds the entry and changes nothing.
"""
from __future__ import annotations

from datetime import datetime

from servicekit.storage.subtree import MAX_DEPTH, ancestor_fields
from servicekit.timestamps import LOCAL_ZONE, parse_stamp, stamp

SOURCE_ORDER, SOURCE_EVENT = "order", "event"
BRANCH_FIELDS = [f"b{level}" for level in range(MAX_DEPTH)]


def entry_id(source_kind: str, source_id: str, member_id: str) -> str:
    return f"{source_kind}:{source_id}:{member_id}"


def hours_between(checked_in_at: str, checked_out_at: str, cap: float) -> float:
    """The hours between check-in and check-out (stored stamps), capped at ``cap``, to two decimals; never
    negative."""
    seconds = (parse_stamp(checked_out_at) - parse_stamp(checked_in_at)).total_seconds()
    return round(min(max(seconds, 0.0) / 3600.0, float(cap)), 2)


def branch_fields(branch_path) -> dict:
    """``b0``..``b5``: the member's branch path (root first), for subtree statistics by branch."""
    return {f"b{level}": value for level, value in enumerate(ancestor_fields(branch_path).values())}


def ledger_entry(*, tenant_id: str, source_kind: str, source_id: str, member_id: str, member_name: str,
                 branch_id: str, branch_path, community_id: str, community_path, title: str, hours: float,
                 credited_at: datetime) -> dict:
    """One ledger entry. ``community_path`` is the order's community (for an event: its team's node), root first;
    ``branch_path`` the member's branch path, root first. ``day`` is China's date of the credit."""
    return {"_id": entry_id(source_kind, source_id, member_id), "tenant_id": tenant_id, "member_id": member_id,
            "member_name": member_name, "branch_id": branch_id, **branch_fields(branch_path),
            "community_id": community_id, **ancestor_fields(community_path), "source_kind": source_kind,
            "source_id": source_id, "title": title, "hours": float(hours), "credited_at": stamp(credited_at),
            "day": credited_at.astimezone(LOCAL_ZONE).date().isoformat()}
