"""Stored orders and claims -> the dicts the API answers, in the caller's view (docs/volunteer-rpc.md, "Order").

A citizen's view (and a guest's) names the claimants and nothing else of them; the manager's adds the contact
and the full claims; a member's adds the contact once it holds a place on the order, and its own claim.
"""
from __future__ import annotations

from datetime import datetime

from servicekit.timestamps import parse_stamp

from services.volunteer.domain.orders import CLAIM_LABELS, HOLDS_PLACE, PLACED, STATUS_LABELS, ClaimState, OrderState

CITIZEN_VIEW, MANAGER_VIEW, MEMBER_VIEW = "citizen", "manager", "member"
_HOLDING = {state.value for state in HOLDS_PLACE}


def overdue(order: dict, now: datetime) -> bool:
    """Placed and past its review time (marked by the sweep, or due already and not swept yet)."""
    if order.get("status") != PLACED.value:
        return False
    due = order.get("review_due_at")
    return bool(order.get("overdue")) or bool(due) and now >= parse_stamp(due)


def claim_view(claim: dict) -> dict:
    return {"claim_id": claim["_id"], "order_id": claim["order_id"], "member_id": claim["member_id"],
            "name": claim.get("name", ""), "status": claim["status"],
            "status_label": CLAIM_LABELS[ClaimState(claim["status"])], "claimed_at": claim.get("claimed_at") or "",
            "checked_in_at": claim.get("checked_in_at") or "", "checked_out_at": claim.get("checked_out_at") or "",
            "hours": claim.get("hours") or 0.0}


def _manager_claim(claim: dict) -> dict:
    return {**claim_view(claim), "branch_id": claim.get("branch_id", "")}


def order_view(order: dict, claims: list[dict], viewer: str, now: datetime, my_claim: dict | None = None) -> dict:
    holding = [claim for claim in claims if claim["status"] in _HOLDING]
    state = OrderState(order["status"])
    view = {
        "order_id": order["_id"], "community_id": order["community_id"],
        "community_name": order.get("community_name", ""), "category": order["category"],
        "category_label": order.get("category_label", ""), "description": order["description"],
        "address": order["address"], "lat": order["lat"], "lng": order["lng"],
        "wished_start": order["wished_start"], "wished_end": order["wished_end"], "status": state.value,
        "status_label": STATUS_LABELS[state], "placed_at": order["placed_at"],
        "reviewed_at": order.get("reviewed_at") or "", "dispatched_at": order.get("dispatched_at") or "",
        "completed_at": order.get("completed_at") or "", "confirmed_at": order.get("confirmed_at") or "",
        "reject_reason": order.get("reject_reason") or "", "merged_into": order.get("merged_into") or "",
        "mode": order.get("mode") or "", "team_id": order.get("team_id") or "",
        "team_name": order.get("team_name") or "", "volunteers_needed": order.get("volunteers_needed") or 0,
        "claimed": order.get("claimed") or 0,
        "places_left": (order.get("places_left") or 0) if state == OrderState.OPEN else 0,
        "fence_radius_m": order.get("fence_radius_m") or 0, "hours_cap": order.get("hours_cap") or 0,
        "claimants": [{"name": claim.get("name", ""), "status": claim["status"],
                       "status_label": CLAIM_LABELS[ClaimState(claim["status"])]} for claim in holding],
        "rating": order.get("rating") or 0, "comment": order.get("comment") or "",
        "dispute_reason": order.get("dispute_reason") or "", "resolution": order.get("resolution") or "",
        "completion_text": order.get("completion_text") or "", "photo_ids": list(order.get("photo_ids") or []),
        "overdue": overdue(order, now),
        "history": [{"from": entry["from"], "to": entry["to"], "actor_kind": entry["actor_kind"],
                     "at": entry["at"], "reason": entry.get("reason", "")} for entry in order.get("history", [])],
    }
    if viewer == MANAGER_VIEW:
        view.update(contact_name=order["contact_name"], contact_phone=order["contact_phone"],
                    claimants=[_manager_claim(claim) for claim in holding],
                    claims=[_manager_claim(claim) for claim in claims])
    elif viewer == MEMBER_VIEW:
        if my_claim is not None and my_claim["status"] in _HOLDING:
            view.update(contact_name=order["contact_name"], contact_phone=order["contact_phone"])
        view["my_claim"] = claim_view(my_claim) if my_claim is not None else None
    return view


def order_summary(order: dict) -> dict:
    state = OrderState(order["status"])
    return {"order_id": order["_id"], "community_id": order["community_id"],
            "community_name": order.get("community_name", ""), "category": order["category"],
            "category_label": order.get("category_label", ""), "description": order["description"],
            "address": order["address"], "lat": order["lat"], "lng": order["lng"],
            "wished_start": order["wished_start"], "wished_end": order["wished_end"], "status": state.value,
            "status_label": STATUS_LABELS[state], "fence_radius_m": order.get("fence_radius_m") or 0,
            "hours_cap": order.get("hours_cap") or 0}


def profile_view(profile: dict) -> dict:
    return {"org_id": profile["_id"], "name": profile.get("name", ""), "address": profile.get("address", ""),
            "lat": profile.get("lat"), "lng": profile.get("lng"), "open": bool(profile.get("open")),
            "categories": list(profile.get("categories") or []), "updated_at": profile.get("updated_at", "")}
