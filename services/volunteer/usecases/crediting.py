"""What confirming an order credits: the ledger entries of its checked-out claims (shared by the citizen's
confirmation, the sweep's automatic one and a dispute resolved with credit)."""
from __future__ import annotations

from datetime import datetime

from servicekit.storage.subtree import path_of

from services.volunteer.domain.hours import SOURCE_ORDER, ledger_entry
from services.volunteer.domain.orders import hours_owed

TITLE_CHARS = 30


def order_title(order: dict) -> str:
    """What a ledger entry calls the order: its category and the start of its description."""
    description = order.get("description", "")
    short = description if len(description) <= TITLE_CHARS else description[:TITLE_CHARS] + "…"
    return f"{order.get('category_label', '')}：{short}"


def ledger_entries(order: dict, claims: list[dict], now: datetime) -> list[dict]:
    return [ledger_entry(tenant_id=order["tenant_id"], source_kind=SOURCE_ORDER, source_id=order["_id"],
                         member_id=claim["member_id"], member_name=claim.get("name", ""),
                         branch_id=claim.get("branch_id", ""), branch_path=claim.get("branch_path") or [],
                         community_id=order["community_id"], community_path=path_of(order),
                         title=order_title(order), hours=hours, credited_at=now)
            for claim, hours in hours_owed(claims, order.get("hours_cap") or 0)]
