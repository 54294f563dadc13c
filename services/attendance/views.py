"""What the attendance API returns: stored documents turned into API messages (attendance.proto).

Chained records are shown from their hashed ``content``, the part the chain protects."""
from __future__ import annotations

from datetime import date

from services.attendance.domain.closing import STATUSES


def scan_view(record: dict) -> dict:
    content = record["content"]
    backfilled = content.get("backfilled") or {}
    return {"id": record["_id"], "activity_id": content["activity_id"], "member_id": content["member_id"],
            "direction": content["direction"], "at": content["at"], "distance_m": content.get("distance_m") or 0.0,
            "flags": list(content.get("flags") or []), "code_kind": content.get("code_kind") or "",
            "seq": record["seq"], "hash": record["hash"],
            "backfilled": bool(backfilled), "backfilled_by": backfilled.get("by", ""),
            "backfill_reason": backfilled.get("reason", "")}


def theme_view(theme: dict) -> dict:
    return {"id": theme["_id"], "tenant_id": theme["tenant_id"], "org_id": theme["org_id"], "month": theme["month"],
            "title": theme["title"], "required_actions": theme["required_actions"], "due_from": theme["due_from"],
            "due_to": theme["due_to"], "radius_m": theme["radius_m"], "branch_count": theme.get("branch_count", 0),
            "issued_by": theme["issued_by"], "issued_at": theme["issued_at"]}


def plan_view(plan: dict | None) -> dict:
    if not plan:
        return {}
    keys = ("date", "start_at", "end_at", "optional_actions", "grace_minutes", "checkout_window_minutes",
            "checkin_opens_at", "checkin_closes_at", "checkout_closes_at", "outside_due_window")
    view = {**{key: plan[key] for key in keys if key in plan}, "venue": dict(plan["venue"])}
    if plan.get("venue_entered"):
        view["venue_entered"] = dict(plan["venue_entered"])
    return view


def activity_view(activity: dict, counts: dict | None = None, member_id: str | None = None) -> dict:
    roster = activity.get("roster") or {}
    mobile = sum(1 for entry in roster.values() if entry.get("mobile"))
    view = {"id": activity["_id"], "tenant_id": activity["tenant_id"], "theme_id": activity["theme_id"],
            "branch_id": activity["branch_id"], "branch_name": activity["branch_name"], "month": activity["month"],
            "title": activity["title"], "required_actions": activity["required_actions"],
            "due_from": activity["due_from"], "due_to": activity["due_to"], "status": activity["status"],
            "plan": plan_view(activity.get("plan")), "review": activity.get("review") or {},
            "radius_m": activity["radius_m"], "roster_frozen": bool(activity.get("roster_frozen_at")),
            "roster_size": len(roster), "on_site_expected": len(roster) - mobile, "mobile_count": mobile,
            "totals": activity.get("totals") or {}, "closed_at": activity.get("closed_at") or "",
            **printed_code_view(activity)}
    if counts:
        view.update(counts)
    if member_id and activity.get("statuses"):
        view["my_status"] = activity["statuses"].get(member_id, "")
    return view


def printed_code_view(activity: dict) -> dict:
    """Whether the printed code is allowed, and the superior's last word on it (who, when, why)."""
    setting = activity.get("printed_code") or {}
    return {"printed_code_allowed": bool(setting.get("allowed")), "printed_code_reason": setting.get("reason", ""),
            "printed_code_set_by": setting.get("by", ""), "printed_code_set_at": setting.get("at", "")}


def leave_view(leave: dict) -> dict:
    return {"id": leave["_id"], "activity_id": leave["activity_id"], "member_id": leave["member_id"],
            "member_name": leave.get("member_name", ""), "reason": leave["reason"], "state": leave["state"],
            "decision_note": leave.get("decision_note", ""), "decided_by": leave.get("decided_by", ""),
            "decided_at": leave.get("decided_at", ""), "requested_at": leave["requested_at"],
            "lapsed_at": leave.get("lapsed_at", ""), "lapsed_reason": leave.get("lapsed_reason", ""),
            "lapsed_from": leave.get("lapsed_from", "")}


def reflection_view(record: dict, names: dict[str, str] | None = None) -> dict:
    content = record["content"]
    return {"id": record["_id"], "activity_id": content["activity_id"], "member_id": content["member_id"],
            "member_name": (names or {}).get(content["member_id"], ""), "text": content["text"],
            "posted_at": content["at"], "backfilled": bool(content.get("backfilled"))}


def upload_view(record: dict) -> dict:
    content = record["content"]
    backfilled = content.get("backfilled") or {}
    return {"id": content["upload_id"], "activity_id": content["activity_id"], "kind": content["kind"],
            "added_by": content["added_by"], "content_type": content.get("content_type", "text/plain"),
            "size": content["size"], "content_hash": content["content_hash"], "text": content.get("text", ""),
            "added_at": content["at"], "backfilled": bool(backfilled), "backfill_reason": backfilled.get("reason", "")}


def rectification_view(item: dict, today: date) -> dict:
    return {"id": item["_id"], "activity_id": item["activity_id"], "branch_id": item["branch_id"],
            "title": item["title"], "due_on": item["due_on"], "state": item["state"],
            "overdue": item["state"] == "open" and item["due_on"] < today.isoformat(),
            "opened_by": item["opened_by"], "opened_at": item["opened_at"], "closed_by": item.get("closed_by", ""),
            "closed_at": item.get("closed_at", ""), "closing_note": item.get("closing_note", "")}


def status_counts(statuses: dict) -> dict:
    counts = {status: 0 for status in STATUSES}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    return counts
