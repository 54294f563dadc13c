"""Supervision outputs: the monthly list (一月一督查), the quarterly bulletin (一季一通报), the annual assessment."""
from __future__ import annotations

LOW_SCORE = 60.0
MANY_FLAGS = 3
MANY_FLAGS_SHARE = 0.10
BEST_COUNT = 20
WEAKEST_COUNT = 10
GRADES = ((90.0, "优秀"), (80.0, "良好"), (60.0, "合格"), (0.0, "不合格"))
REASON_NAMES = {"NOT_HELD": "未开展", "LATE": "未按期开展", "LOW_SCORE": "得分偏低", "MANY_FLAGS": "异常签到较多",
                "RECTIFICATION_OPEN": "整改未完成"}


def supervision_reasons(row: dict, month_over: bool) -> list[str]:
    """Why a branch's themed day of a month needs supervision; [] when it does not.

    row: stages, outside_due_window, closed_late, score, counts (flags, roster), open_rectifications."""
    reasons = []
    if not row["stages"].get("closed") and month_over:
        reasons.append("NOT_HELD")
    if row.get("outside_due_window") or row.get("closed_late"):
        reasons.append("LATE")
    if row["stages"].get("closed") and row["score"] < LOW_SCORE:
        reasons.append("LOW_SCORE")
    flags, roster = row["counts"].get("flags", 0), row["counts"].get("roster", 0)
    if flags >= MANY_FLAGS or (roster and flags / roster >= MANY_FLAGS_SHARE and flags > 0):
        reasons.append("MANY_FLAGS")
    if row.get("open_rectifications", 0) > 0:
        reasons.append("RECTIFICATION_OPEN")
    return reasons


def grade(score: float) -> str:
    for floor, name in GRADES:
        if score >= floor:
            return name
    return GRADES[-1][1]


def graded(row: dict) -> str:
    """A ranking row's grade; "" for a branch with no real score (its day not held): no grade from nothing."""
    return grade(row["score"]) if row.get("held", True) else ""


def bulletin(ranked: list[dict]) -> dict:
    """The best branches and the weakest, from rows ranked best first: only branches with a real score count
    (``branches``, the average, both lists); ``not_held`` counts the others."""
    scored = [row for row in ranked if row.get("held", True)]
    weakest = scored[-WEAKEST_COUNT:][::-1] if len(scored) > BEST_COUNT else []
    scores = [row["score"] for row in scored]
    return {"best": scored[:BEST_COUNT], "weakest": weakest, "branches": len(scored),
            "not_held": len(ranked) - len(scored), "average": round(sum(scores) / len(scores), 2) if scores else 0.0}
