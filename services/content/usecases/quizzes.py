"""Quizzes and knowledge contests (以考促学): made by an admin or secretary for its node's subtree, listed, read,
ranked.

A quiz belongs to an organisation node: members of the branches below take it; staff who manage the node or a
node above it, or a node below it, see it (from below, its results are limited to their own subtree). Anything
else answers QUIZ_NOT_FOUND, as an id that exists nowhere. The leaderboard of a contest is public to those who
see it; a plain quiz's results are the staff's.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from servicekit import arguments
from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import stamp

from services.content import access
from services.content.domain import quizzes as rules
from services.content.domain import settings as settings_rules
from services.content.quiz_views import mine_of, quiz_view

MAX_OPEN_DAYS = 92
BOARD_LIMIT = 50
BOARD_BY = ("member", "branch", "county")
LISTED_AFTER_CLOSE = timedelta(days=30)     # a member's list keeps a closed quiz this long (its result, its review)


def quiz_not_found() -> NotFound:
    return access.not_found("答题活动不存在或不在您的范围内", "QUIZ_NOT_FOUND", "quiz_id")


def require_staff(caller: CallerScope) -> None:
    """Staff operations: members are refused before any id is looked up."""
    caller.require_tenant()
    if not caller.managed_org_ids:
        raise PermissionDenied("只有组织管理员或党支部书记可以执行此操作", code="NOT_ORG_MANAGER")


def moment(value, field: str) -> datetime:
    """An ISO-8601 time with its zone (``2026-12-06T08:00:00Z``)."""
    text = arguments.text(value, field, max_length=40)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(f"{field} 不是有效的时间", code="TIME_INVALID", field=field) from None
    if parsed.tzinfo is None:
        raise InvalidArgument(f"{field} 须带时区，如 2026-12-06T08:00:00Z", code="TIME_INVALID", field=field)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:       # year 1 or 9999 moved past the calendar's ends by its offset
        raise InvalidArgument(f"{field} 不是有效的时间", code="TIME_INVALID", field=field) from None


class QuizTopic:
    """What the bank, quiz and attempt use cases share: collaborators, time, paths and visibility."""

    def __init__(self, store, clock, identity, org_paths, desk):
        self.store, self.clock, self.identity, self.org_paths, self.desk = store, clock, identity, org_paths, desk

    def now(self) -> datetime:
        return self.clock.now()

    def org(self, caller: CallerScope, org_id, field: str = "org_id") -> dict:
        """The node's view from identity (cached), ORG_NOT_FOUND outside the caller's reach."""
        return self.org_paths.org(self.identity, caller, arguments.text(org_id, field, max_length=64))

    def member_path(self, caller: CallerScope) -> list[str]:
        return self.org_paths.path(self.identity, caller, caller.branch_id) if caller.branch_id else []

    def caller_paths(self, caller: CallerScope) -> list[list[str]]:
        """The paths of the caller's own branch and of every node it manages."""
        paths = [self.member_path(caller)] if caller.branch_id else []
        for org_id in sorted(caller.managed_org_ids):
            paths.append(self.org_paths.path(self.identity, caller, org_id))
        return paths

    def quiz(self, quiz_id) -> dict | None:
        quiz_id = arguments.text(quiz_id, "quiz_id", max_length=64)
        return self.desk.quiz(quiz_id, lambda: self.store.quiz(quiz_id))

    def visible_quiz(self, caller: CallerScope, quiz_id) -> dict:
        """A quiz the caller sees: a member's (owned on its branch's path) or staff's (managed, above or below)."""
        quiz = self.quiz(quiz_id)
        if not access.same_tenant(caller, quiz):
            raise quiz_not_found()
        if access.manages(caller, quiz["org_path"]):
            return quiz
        if any(quiz["org_id"] in path for path in self.caller_paths(caller)):
            return quiz
        raise quiz_not_found()

    def settings(self, tenant_id: str) -> dict:
        return self.desk.settings(tenant_id, lambda: settings_rules.merged(self.store.settings_of(tenant_id)))


class Quizzes(QuizTopic):
    def create(self, caller: CallerScope, org_id, kind, title, description, open_at, close_at, time_limit_seconds,
               max_attempts, grading, review, draw) -> dict:
        require_staff(caller)
        org = self.org(caller, org_id)
        access.require_manager(caller, org["path_ids"])
        kind = arguments.choice(kind, "kind", rules.QUIZ_KINDS, required=True)
        title = arguments.text(title, "title", max_length=rules.MAX_TITLE)
        description = arguments.text(description, "description", required=False, max_length=rules.MAX_DESCRIPTION)
        opens, closes = moment(open_at, "open_at"), moment(close_at, "close_at")
        now = self.now()
        if closes <= opens:
            raise InvalidArgument("结束时间须晚于开始时间", code="CLOSE_BEFORE_OPEN", field="close_at")
        if closes <= now:
            raise InvalidArgument("结束时间已过", code="CLOSE_IN_PAST", field="close_at")
        if closes - opens > timedelta(days=MAX_OPEN_DAYS):
            raise InvalidArgument(f"开放时间不能超过 {MAX_OPEN_DAYS} 天", code="OPEN_TOO_LONG", field="close_at")
        limit = arguments.integer(time_limit_seconds, "time_limit_seconds", rules.MIN_TIME_LIMIT, rules.MAX_TIME_LIMIT,
                                  default=1800)
        attempts = arguments.integer(max_attempts, "max_attempts", 1, rules.MAX_ATTEMPTS,
                                     default=1 if kind == "contest" else 3)
        grading = arguments.choice(grading, "grading", rules.GRADINGS) or "highest"
        review = arguments.choice(review, "review", rules.REVIEWS) or "after_submit"
        draw_rules, problems = rules.draw_rules(draw)
        rules.raise_first(problems)
        available: dict[str, int] = {}
        for question in self.store.pool_questions(caller.tenant_id, org["path_ids"],
                                                  [rule["category"] for rule in draw_rules]):
            available[question["category"]] = available.get(question["category"], 0) + 1
        rules.raise_first(rules.shortfalls(draw_rules, available))
        quiz = {"_id": f"quz_{uuid.uuid4().hex}", "tenant_id": caller.tenant_id, "org_id": org["id"],
                "org_path": list(org["path_ids"]), **ancestor_fields(org["path_ids"]), "org_name": org["name"],
                "kind": kind, "title": title, "description": description, "open_at": stamp(opens),
                "close_at": stamp(closes), "time_limit_seconds": limit, "max_attempts": attempts, "grading": grading,
                "review": review, "draw": draw_rules, "question_count": sum(r["count"] for r in draw_rules),
                "max_score": sum(r["count"] * r["points"] for r in draw_rules), "created_by": caller.account_id,
                "created_at": stamp(now), "finished_at": None}
        if kind == "contest":
            quiz["finish_due"] = quiz["close_at"]
        self.store.add_quiz(quiz)
        return quiz_view(quiz, rules.phase(quiz, now).value)

    def list(self, caller: CallerScope, org_id, kind, page_size, page_token) -> dict:
        """The quizzes owned in a managed node's subtree."""
        require_staff(caller)
        org = self.org(caller, org_id)
        access.require_manager(caller, org["path_ids"])
        kind = arguments.choice(kind, "kind", rules.QUIZ_KINDS)
        skip, limit = page_window(page_size, page_token)
        quizzes = self.store.quizzes_in(list(org["path_ids"]), {"kind": kind} if kind else {}, skip, limit + 1)
        page, token = page_of(quizzes, skip, limit)
        now = self.now()
        return {"quizzes": [quiz_view(q, rules.phase(q, now).value) for q in page], "next_page_token": token}

    def list_mine(self, caller: CallerScope) -> dict:
        """A member's quizzes and contests: those owned on its branch's path, open or upcoming, or closed within
        ``LISTED_AFTER_CLOSE``, each with the member's own standing."""
        member_id = access.require_member(caller)
        now = self.now()
        quizzes = self.store.quizzes_owned_by(caller.tenant_id, self.member_path(caller),
                                              stamp(now - LISTED_AFTER_CLOSE))
        views = []
        for quiz in quizzes:
            attempts = self.store.attempts_of(member_id, quiz["_id"])
            result = self.store.result_of(quiz["_id"], member_id) if attempts else None
            views.append(quiz_view(quiz, rules.phase(quiz, now).value, mine_of(attempts, result, quiz["grading"])))
        order = {"open": 0, "upcoming": 1, "closed": 2, "finished": 2}
        views.sort(key=lambda v: (order[v["phase"]], v["close_at"]))
        return {"quizzes": views}

    def get(self, caller: CallerScope, quiz_id) -> dict:
        quiz = self.visible_quiz(caller, quiz_id)
        mine = None
        if caller.member_id and caller.branch_id and quiz["org_id"] in self.member_path(caller):
            attempts = self.store.attempts_of(caller.member_id, quiz["_id"])
            result = self.store.result_of(quiz["_id"], caller.member_id) if attempts else None
            mine = mine_of(attempts, result, quiz["grading"])
        return quiz_view(quiz, rules.phase(quiz, self.now()).value, mine)

    def leaderboard(self, caller: CallerScope, quiz_id, by, limit) -> dict:
        """Ranked by member (score, then less time), by branch or by county (average counted score, participants).
        Staff who see the quiz from below its owner get their subtree's rows only."""
        quiz = self.visible_quiz(caller, quiz_id)
        by = arguments.choice(by, "by", BOARD_BY) or "member"
        limit = arguments.integer(limit, "limit", 1, 500, default=BOARD_LIMIT)
        staff_above = access.manages(caller, quiz["org_path"])
        if quiz["kind"] != "contest" and not caller.managed_org_ids:
            raise PermissionDenied("答题成绩仅组织管理员和书记可以查看", code="RESULTS_STAFF_ONLY")
        rows = self._board_rows(quiz)
        if not staff_above and quiz["kind"] != "contest":
            managed = caller.managed_org_ids
            rows = [row for row in rows if managed & set(row["branch_path"])]
        if by == "member":
            ranked = rules.ranked_members(rows)
            shown = ranked[:limit]
            names = self._names(quiz["tenant_id"], {row["branch_id"] for row in shown})
            entries = [self._member_entry(row, names) for row in shown]
            me = next((self._member_entry(row, names) for row in ranked if row["member_id"] == caller.member_id), None)
            answer = {"by": by, "entries": entries, "participants": len(ranked)}
            if me is not None:
                answer["me"] = me
            return {"quiz_id": quiz["_id"], "title": quiz["title"], **answer}
        key, name = ("branch_id", "branch_name") if by == "branch" else ("county_id", "county_name")
        groups = rules.ranked_groups(rows, key, name)
        return {"quiz_id": quiz["_id"], "title": quiz["title"], "by": by, "participants": len(rows),
                "groups": groups[:limit]}

    def _board_rows(self, quiz: dict) -> list[dict]:
        def load():
            rows = []
            for result in self.store.results_of(quiz["_id"]):
                counted = rules.counted(result, quiz["grading"])
                rows.append({"member_id": result["member_id"], "branch_id": result["branch_id"],
                             "branch_name": result.get("branch_name", ""), "county_id": result.get("county_id", ""),
                             "county_name": result.get("county_name", ""), "branch_path": result.get("branch_path", []),
                             "score": counted["score"], "seconds": counted["seconds"],
                             "finished_at": counted["finished_at"], "attempts": result["attempts"]})
            return rows
        return self.desk.board(quiz["_id"], load)

    def _names(self, tenant_id: str, branch_ids: set[str]) -> dict[str, str]:
        if not branch_ids:
            return {}
        rosters = self.identity.branch_rosters(tenant_id=tenant_id, branch_ids=sorted(branch_ids))
        return {m["member_id"]: m["name"] for members in rosters.values() for m in members}

    @staticmethod
    def _member_entry(row: dict, names: dict[str, str]) -> dict:
        return {"rank": row["rank"], "member_id": row["member_id"], "name": names.get(row["member_id"], ""),
                "branch_id": row["branch_id"], "branch_name": row["branch_name"], "county_name": row["county_name"],
                "score": row["score"], "seconds": row["seconds"], "attempts": row["attempts"]}
