"""Progress of a month (开展进度): how far each branch's themed day has come.

Stages only move forward; events may arrive in any order, so the stage is the most
advanced one whose time is known.
"""
from __future__ import annotations

STAGES = ("issued", "submitted", "approved", "held", "closed")
STAGE_NAMES = {"issued": "已下发", "submitted": "已提交计划", "approved": "已审核通过", "held": "已开展",
               "closed": "已结束"}


def stage_of(stage_times: dict) -> str:
    reached = "issued"
    for stage in STAGES:
        if stage_times.get(stage):
            reached = stage
    return reached


def reached(stage_times: dict, stage: str) -> bool:
    """A branch has reached a stage when it or any later stage is recorded."""
    return any(stage_times.get(later) for later in STAGES[STAGES.index(stage):])


def was_held(stage_times: dict) -> bool:
    """The day was held: its roster was frozen, a member scanned, or it closed. Only then has the branch a score
    for it (an activity only issued, planned or approved has none: docs/scoring.md). ``reached(stage_times, "held")``,
    spelt out: the score consumer asks it for every activity of every batch."""
    return bool(stage_times.get("held") or stage_times.get("closed"))


def progress(rows: list[dict], group_by: str = "") -> list[dict]:
    """Counts and shares per stage, overall (group "") or per value of ``group_by`` (field or category)."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row.get(group_by, "") if group_by else "", []).append(row)
    answer = []
    for group in sorted(groups):
        members = groups[group]
        counts = {stage: sum(1 for row in members if reached(row["stages"], stage)) for stage in STAGES}
        answer.append({"group": group, "branches": len(members), "counts": counts,
                       "shares": {stage: round(count / len(members), 4) for stage, count in counts.items()}})
    return answer
