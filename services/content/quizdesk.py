"""What a content process keeps of quizzes between calls, so that starting and grading an attempt stay cheap.

When 20,000 members start the same contest within a minute, each start would otherwise read the quiz and its
whole question pool; each submission the questions again and the tenant's settings. The desk keeps, per process,
for a short time (``TTL_SECONDS``): quizzes, each quiz's question pool by category, the live questions each
node owns (the daily question's pool is a branch path's), the tenant's settings, and the leaderboard rows of a
quiz (``BOARD_SECONDS``, so a refreshing leaderboard page does not read every result each time). The bank's
writes in this process forget the pools at once (``questions_changed``); other processes see them within the TTL.

It also keeps the attempts in progress it started or read (``keep_running``), without their answers: what a saved
answer is checked against (the member, the quiz, the questions drawn, the deadline) does not change while an
attempt runs, so a batch of answers reads no attempt it keeps. Its state may be stale (another process finished
it): the write of an answer matches only an attempt still in progress before its deadline, so such an answer is
refused as finished all the same. An attempt finished in this process is forgotten (``attempt_finished``).
"""
from __future__ import annotations

import time

from nameko.extensions import DependencyProvider

TTL_SECONDS = 60.0
BOARD_SECONDS = 5.0
KEPT = 2_000
RUNNING_KEPT = 50_000    # attempts in progress kept: a contest's 20,000 starters, about 1 KB each


class QuizDesk:
    def __init__(self, ttl: float = TTL_SECONDS, board_ttl: float = BOARD_SECONDS):
        self.ttl, self.board_ttl = ttl, board_ttl
        self._entries: dict[tuple, tuple[float, object]] = {}
        self._running: dict[str, dict] = {}     # attempt id -> the attempt in progress, without its answers

    def _kept(self, key: tuple, ttl: float, load):
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        value = load()
        if len(self._entries) >= KEPT:
            self._entries.clear()
        self._entries[key] = (now, value)
        return value

    def quiz(self, quiz_id: str, load):
        return self._kept(("quiz", quiz_id), self.ttl, load)

    def pool(self, quiz_id: str, load) -> dict[str, list[dict]]:
        """``{category: [question]}`` a quiz draws from."""
        return self._kept(("pool", quiz_id), self.ttl, load)

    def owned_questions(self, tenant_id: str, org_id: str, load) -> dict[str, dict]:
        """``{id: question}`` of the live questions a node owns (the daily question draws from a path's)."""
        return self._kept(("owned", tenant_id, org_id), self.ttl, load)

    def settings(self, tenant_id: str, load) -> dict:
        return self._kept(("settings", tenant_id), self.ttl, load)

    def board(self, quiz_id: str, load) -> list[dict]:
        return self._kept(("board", quiz_id), self.board_ttl, load)

    def questions_changed(self) -> None:
        """The bank changed: every pool is read again."""
        for key in [key for key in self._entries if key[0] in ("pool", "owned")]:
            self._entries.pop(key, None)

    def quiz_changed(self, quiz_id: str) -> None:
        self._entries.pop(("quiz", quiz_id), None)

    def running_attempts(self, attempt_ids) -> dict[str, dict]:
        """``{id: attempt}`` of the kept attempts among ``attempt_ids``, each a copy without its answers."""
        running = self._running
        return {attempt_id: dict(running[attempt_id]) for attempt_id in attempt_ids if attempt_id in running}

    def keep_running(self, attempts) -> None:
        """Keep the attempts among ``attempts`` that are in progress (a full desk starts again empty)."""
        for attempt in attempts:
            if attempt.get("state") != "in_progress":
                continue
            if len(self._running) >= RUNNING_KEPT:
                self._running.clear()
            self._running[attempt["_id"]] = {name: value for name, value in attempt.items() if name != "answers"}

    def attempt_finished(self, attempt_id: str) -> None:
        self._running.pop(attempt_id, None)

    def forget(self) -> None:
        self._entries.clear()
        self._running.clear()


class QuizDeskProvider(DependencyProvider):
    """One ``QuizDesk`` per process."""

    def setup(self):
        self.desk = QuizDesk()

    def get_dependency(self, worker_ctx):
        return self.desk
