"""Stored documents turned into the API's dicts (keys = the proto field names)."""
from __future__ import annotations

from services.scoring.domain.progress import stage_of, was_held
from services.scoring.store import path_of


def score_view(doc: dict) -> dict:
    stages = doc.get("stages") or {}
    rectifications = set(doc.get("rect_opened") or {}) - set(doc.get("rect_closed") or {})
    held = was_held(stages)       # a day not held has no score
    return {
        "activity_id": doc["_id"], "branch_id": doc.get("branch_id", ""), "branch_name": doc.get("branch_name", ""),
        "month": doc.get("month", ""), "field": doc.get("field", ""), "category": doc.get("category", ""),
        "path_ids": path_of(doc), "score": doc.get("score", 0.0) if held else 0.0, "held": held,
        "final": bool(doc.get("final")), "stage": stage_of(stages), "stages": {k: v for k, v in stages.items() if v},
        "breakdown": (doc.get("breakdown") or {}) if held else {}, "rates": (doc.get("rates") or {}) if held else {},
        "counts": doc.get("counts") or {},
        "rating": doc.get("rating") if doc.get("rating") is not None else -1,
        "rating_pending": doc.get("rating") is None, "rating_comment": doc.get("rating_comment", ""),
        "outside_due_window": bool(doc.get("outside_due_window")), "closed_late": bool(doc.get("closed_late")),
        "open_rectifications": len(rectifications), "scored_at": doc.get("scored_at", ""),
    }


def entry_view(entry: dict) -> dict:
    source = entry.get("source") or {}
    return {"id": entry["_id"], "member_id": entry["member_id"], "cycle": entry.get("cycle", ""),
            "category": entry["category"], "points": entry["points"],
            "requested_points": entry.get("requested_points", entry["points"]), "reason": entry.get("reason", ""),
            "source_kind": source.get("kind", ""), "source_event_id": source.get("event_id", ""),
            "source_account_id": source.get("account_id", ""), "corrects": entry.get("corrects", ""),
            "at": entry.get("at", "")}


def talk_view(talk: dict) -> dict:
    return {"member_id": talk["member_id"], "branch_id": talk.get("branch_id", ""), "cycle": talk["cycle"],
            "held_on": talk["held_on"], "note": talk["note"], "recorded_by": talk["recorded_by"],
            "recorded_at": talk["recorded_at"], "total": talk.get("total", 0.0),
            "threshold": talk.get("threshold", 0.0)}


def talk_summary(talk: dict) -> dict:
    """What the talk list shows of a recorded talk (its note is read with ListTalks)."""
    return {"held_on": talk["held_on"], "recorded_by": talk["recorded_by"]}


def review_view(review: dict) -> dict:
    """A self-review or a mutual review as its author sees it (Review in appraisal.proto)."""
    return {"appraisal_id": review["appraisal_id"], "member_id": review["subject"], "kind": review["kind"],
            "text": review["text"], "submitted_at": review["submitted_at"]}
