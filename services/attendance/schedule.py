"""The due times of pending roster freezes and closings, kept in memory by each process.

Approving a plan schedules both (collection ``schedule``, written in the approval's transaction). The
once-a-second sweep costs nothing until something is due: see docs/performance.md, "Sweeps read only their
horizon".
"""
from __future__ import annotations

import time
from datetime import timedelta

from servicekit.timestamps import stamp

CHUNK = 500
REFRESH_SECONDS = 5.0
HORIZON_SECONDS = 60.0


class Schedule:
    """The entries due within ``horizon_seconds`` of the clock, re-read every ``refresh_seconds``, whenever the
    clock has passed what the last read covered (a test's clock jumps hours) and after ``mark_changed``."""

    def __init__(self, store, refresh_seconds: float = REFRESH_SECONDS, horizon_seconds: float = HORIZON_SECONDS,
                 monotonic=time.monotonic):
        self.store, self.refresh_seconds, self.horizon = store, refresh_seconds, timedelta(seconds=horizon_seconds)
        self.monotonic = monotonic
        self._entries: list[tuple[str, str, str]] = []     # (due_at, kind, activity_id), sorted
        self._loaded = float("-inf")
        self._covers = ""                                   # the entries due up to this stamp are cached

    def mark_changed(self) -> None:
        self._loaded = float("-inf")

    def due(self, kind: str, now) -> list[str]:
        now_text = stamp(now)
        if self.monotonic() - self._loaded > self.refresh_seconds or now_text > self._covers:
            covers = stamp(now + self.horizon)
            self._entries = sorted((e["due_at"], e["kind"], e["activity_id"])
                                   for e in self.store.schedule_entries(due_by=covers))
            self._loaded, self._covers = self.monotonic(), covers
        return [activity_id for due_at, entry_kind, activity_id in self._entries
                if entry_kind == kind and due_at <= now_text][:CHUNK]

    def done(self, kind: str, activity_ids) -> None:
        finished = set(activity_ids)
        self._entries = [e for e in self._entries if not (e[1] == kind and e[2] in finished)]
