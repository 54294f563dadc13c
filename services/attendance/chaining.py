"""Appending to an activity's hash chain.

Every record of an activity (scans, reflections, likes, photos, written records) is a
link: ``seq`` 1, 2, 3..., the previous link's hash and its own hash over its content
(``domain.chain``). One process appends under a lock and keeps each activity's head in
memory; the ``chain_key`` (``<activity>:<seq>``) is unique, so a second process racing
for the same position fails its transaction instead of forking the chain, and retries
from the stored head.
"""
from __future__ import annotations

import eventlet.semaphore

from services.attendance.domain import chain


class ChainWriter:
    def __init__(self, store):
        self.store = store
        self.lock = eventlet.semaphore.Semaphore()
        self._heads: dict[str, tuple[int, str]] = {}

    def head(self, activity_id: str) -> tuple[int, str]:
        if activity_id not in self._heads:
            self._heads[activity_id] = self.store.chain_head(activity_id) or (0, chain.GENESIS)
        return self._heads[activity_id]

    def warm(self, activity_ids) -> int:
        """Read the heads of these activities now, where not known: the sweep that froze their rosters does, before
        sign-in opens, so that their first scans read none. Each under the lock, as a scan batch takes it, so a
        read never overwrites a head that a batch advanced meanwhile. Returns how many heads were read."""
        read = 0
        for activity_id in activity_ids:
            with self.lock:
                if activity_id not in self._heads:
                    self.head(activity_id)
                    read += 1
        return read

    def empty_chains(self, activity_ids) -> set[str]:
        """Those of these activities that have no link yet, as far as this process knows (their heads read
        where not known): no record of theirs is stored."""
        return {activity_id for activity_id in activity_ids if self.head(activity_id)[0] == 0}

    def links(self, entries: list[tuple[dict, dict]]) -> list[dict]:
        """Chain ``(document, content)`` pairs in order: each document gets seq, prev_hash, hash, content.

        Call with ``self.lock`` held, then ``confirm`` after the write commits or ``forget`` if it failed."""
        for document, content in entries:
            activity_id = document["activity_id"]
            seq, prev_hash = self.head(activity_id)
            linked = chain.link(prev_hash, seq + 1, content)
            document.update(seq=linked["seq"], prev_hash=linked["prev_hash"], hash=linked["hash"],
                            content=content, chain_key=f"{activity_id}:{linked['seq']}")
            self._heads[activity_id] = (linked["seq"], linked["hash"])
        return [document for document, _ in entries]

    def forget(self, activity_ids) -> None:
        """Drop cached heads (after a failed write): the next append reloads them from the store."""
        for activity_id in set(activity_ids):
            self._heads.pop(activity_id, None)

    def append(self, entries: list[tuple[dict, dict]], write) -> list[dict]:
        """Chain the entries and run ``write(documents)`` (which must commit them), all under the lock."""
        with self.lock:
            documents = self.links(entries)
            try:
                write(documents)
            except Exception:
                self.forget(doc["activity_id"] for doc in documents)
                raise
            return documents
