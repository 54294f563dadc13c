"""Stored documents turned into the API's dicts (keys = the proto field names)."""
from __future__ import annotations

from datetime import date, datetime, timezone

from servicekit.timestamps import iso

from services.identity.access import path_ids
from services.identity.domain.lifecycle import STATUSES


def _time(value) -> str:
    return iso(value) if isinstance(value, datetime) else (value or "")


def org_view(org: dict, names: dict[str, str] | None = None) -> dict:
    ids = path_ids(org)
    names = names or {}
    return {
        "id": org["_id"], "tenant_id": org["tenant_id"], "parent_id": org.get("parent_id") or "",
        "name": org["name"], "kind": org["kind"], "category": org.get("category", ""),
        "field": org.get("field", ""), "level": org["level"], "path_ids": ids,
        "path_names": [names.get(org_id, "") for org_id in ids[:-1]] + [org["name"]],
        "created_at": _time(org.get("created_at")), "updated_at": _time(org.get("updated_at")),
    }


def member_view(member: dict) -> dict:
    dates = member.get("status_dates", {})
    return {
        "id": member["_id"], "tenant_id": member["tenant_id"], "branch_id": member["branch_id"],
        "name": member["name"], "gender": member["gender"], "birth_date": member["birth_date"],
        "id_number_masked": member["id_number_masked"], "phone": member.get("phone", ""),
        "education": member.get("education", ""), "status": member["status"],
        "status_history": [{"status": status, "on": dates[status]} for status in STATUSES if dates.get(status)],
        "enrolment": member.get("enrolment", "none"), "mobile": bool(member.get("mobile")),
        "created_at": _time(member.get("created_at")), "updated_at": _time(member.get("updated_at")),
    }


def account_view(account: dict) -> dict:
    return {"id": account["_id"], "tenant_id": account.get("tenant_id") or "", "username": account["username"],
            "roles": [{"role": r["role"], "org_id": r.get("org_id") or ""} for r in account.get("roles", [])],
            "member_id": account.get("member_id") or "", "name": account.get("name", ""),
            "disabled": bool(account.get("disabled"))}


def account_entry(account: dict, orgs: dict[str, dict], member_names: dict[str, str]) -> dict:
    """A row of list_accounts: who, which roles over which organisations, whose member; named fields only, so
    nothing secret stored on the account (its password hash, login key, login times) can slip into it."""
    member_id = account.get("member_id") or ""
    return {"id": account["_id"], "username": account["username"],
            "roles": [{"role": grant["role"], "org_id": grant.get("org_id") or "",
                       "org_name": orgs[grant["org_id"]]["name"] if grant.get("org_id") in orgs else ""}
                      for grant in account.get("roles", [])],
            "member_id": member_id, "member_name": member_names.get(member_id, ""),
            "created_at": _time(account.get("created_at")), "disabled": bool(account.get("disabled"))}


def session_view(session: dict, current_session_id: str | None) -> dict:
    """A login session as its owner or an admin sees it: never its refresh token's hash."""
    return {"id": session["_id"], "created_at": _time(session.get("created_at")),
            "refreshed_at": _time(session.get("refreshed_at")),
            "expires_at": iso(datetime.fromtimestamp(session["expires_at"], timezone.utc)),
            "client_address": session.get("client_address") or "", "current": session["_id"] == current_session_id}


def transfer_view(transfer: dict, now: str) -> dict:
    return {
        "id": transfer["_id"], "tenant_id": transfer["tenant_id"], "member_id": transfer["member_id"],
        "member_name": transfer["member_name"], "from_branch_id": transfer["from_branch_id"],
        "from_branch_name": transfer["from_branch_name"], "to_branch_id": transfer["to_branch_id"],
        "to_branch_name": transfer["to_branch_name"], "state": transfer["state"],
        "reason": transfer.get("reason", ""), "reject_reason": transfer.get("reject_reason", ""),
        "requested_at": _time(transfer["requested_at"]), "decided_at": _time(transfer.get("decided_at")),
        "due_at": _time(transfer["due_at"]),
        "overdue": transfer["state"] == "pending" and transfer["due_at"] < now,
    }


def date_text(value) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)
