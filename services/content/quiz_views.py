"""Stored questions, quizzes and attempts -> the dicts the quiz API answers (docs/content-rpc.md).

An attempt's view never carries a right answer while the attempt runs: a question's ``review`` (right options,
accepted answers, explanation, whether the member was right) is added only when ``review_open`` says so.
"""
from __future__ import annotations

from services.content.domain import quizzes as rules


def question_view(question: dict) -> dict:
    """A bank question as staff see it, answers included."""
    return {"id": question["_id"], "org_id": question["org_id"], "kind": question["kind"], "stem": question["stem"],
            "options": [dict(option) for option in question.get("options") or []],
            "correct": list(question.get("correct") or []), "accepted": list(question.get("accepted") or []),
            "category": question["category"], "tags": list(question.get("tags") or []),
            "difficulty": question["difficulty"], "explanation": question.get("explanation", ""),
            "created_by": question.get("created_by", ""), "created_at": question.get("created_at", "")}


def quiz_view(quiz: dict, phase: str, mine: dict | None = None) -> dict:
    view = {key: quiz.get(key) for key in (
        "org_id", "org_name", "kind", "title", "description", "open_at", "close_at", "time_limit_seconds",
        "max_attempts", "grading", "review", "question_count", "max_score", "created_by", "created_at")}
    view.update(id=quiz["_id"], phase=phase, finished_at=quiz.get("finished_at") or "",
                draw=[dict(rule) for rule in quiz["draw"]])
    if mine is not None:
        view["mine"] = mine
    return view


def mine_of(attempts: list[dict], result: dict | None, grading: str) -> dict:
    """What a member sees of its own attempts at a quiz on the list: how many, its counted score, the one running."""
    running = next((a["_id"] for a in attempts if a["state"] == rules.IN_PROGRESS.value), "")
    counted = rules.counted(result, grading) if result else None
    return {"attempts": len(attempts), "in_progress_attempt_id": running,
            "score": counted["score"] if counted else 0, "finished": bool(counted)}


def attempt_view(attempt: dict, questions: dict[str, dict], reviewed: bool, now_stamp: str,
                 quiz: dict | None = None) -> dict:
    finished = attempt["state"] != rules.IN_PROGRESS.value
    answers = attempt.get("answers") or {}
    rights = attempt.get("right") or {}
    shown = []
    for entry in attempt["questions"]:
        question = questions.get(entry["id"])
        if question is None:
            continue
        answer = answers.get(entry["id"]) or {}
        item = {"id": entry["id"], "kind": question["kind"], "stem": question["stem"],
                "options": rules.shown_options(question, entry["order"]), "category": question["category"],
                "points": entry["points"], "choices": list(answer.get("choices") or []),
                "text": answer.get("text", "")}
        if reviewed:
            item["review"] = {"correct": rules.shown_keys(question, entry["order"], question.get("correct") or []),
                              "accepted": list(question.get("accepted") or []),
                              "explanation": question.get("explanation", ""), "right": bool(rights.get(entry["id"]))}
        shown.append(item)
    view = {"id": attempt["_id"], "quiz_id": attempt["quiz_id"], "kind": attempt["kind"],
            "title": (quiz or {}).get("title") or attempt.get("title", ""), "number": attempt["number"],
            "state": attempt["state"], "started_at": attempt["started_at"], "deadline_at": attempt["deadline_at"],
            "server_now": now_stamp, "questions": shown, "answered": sum(1 for e in attempt["questions"]
                                                                        if answers.get(e["id"])),
            "reviewed": reviewed, "review_rule": (quiz or {}).get("review", "after_submit")}
    if finished:
        view.update(score=attempt["score"], max_score=attempt["max_score"], band=attempt["band"],
                    seconds=attempt["seconds"], finished_at=attempt["finished_at"])
    else:
        view["max_score"] = sum(entry["points"] for entry in attempt["questions"])
    return view
