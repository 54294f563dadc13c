"""Appending to an activity's hash chain.

Every record of an activity (scans, reflections, likes, photos, written records) is a
link: ``seq`` 1, 2, 3..., the previous link's hash and its own hash over its content
(``domain.chain``). One process appends under a lock and keeps each activity's head in
memory; the ``chain_key`` (``<activity>:<seq>``) is unique, so a second process racing
for the same position fails its transaction instead of forking the chain. A scan batch
also asks, inside its write's transaction, what other instances appended after the heads
it chained on (``AttendanceStore.appended_since``) and chains again after them (``relink``),
so several instances share activities without failing each other's batches; a single
record (``append``) whose position was taken is chained again after the stored head.
"""
from __future__ import annotations

import uuid

import eventlet.semaphore

from services.attendance.domain import chain


class ChainWriter:
    """``learn(records)``: called with every record this writer reads of a chain (when it reads a head, and what
    other instances appended), so that a process that knows a head has seen every record up to it (the scan desk's
    ``KnownRecords``: a scan's own record unknown there and not appended since is not stored)."""

    def __init__(self, store, learn=None):
        self.store, self.learn = store, learn
        self.lock = eventlet.semaphore.Semaphore()
        self._heads: dict[str, tuple[int, str]] = {}
        # this writer to the store's append mark, and the mark its last batch left (AttendanceStore.record_scans)
        self.mark_token, self.last_mark = uuid.uuid4().hex, None

    def head(self, activity_id: str) -> tuple[int, str]:
        if activity_id not in self._heads:
            self._heads[activity_id] = self.store.chain_head(activity_id, learn=self.learn) or (0, chain.GENESIS)
        return self._heads[activity_id]

    def follows(self, activity_id: str) -> bool:
        """Whether this process knows the activity's head (and, with ``learn``, every record up to it)."""
        return activity_id in self._heads

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

    def stored_heads(self, activity_ids, chunk: int = 500) -> dict[str, tuple[int, str]]:
        """The heads of these activities as the store holds them: this process's, caught up with what other
        instances appended since (``AttendanceStore.appended_since``: one read per ``chunk`` activities and
        round), e.g. to seal them at closing. Call with ``self.lock`` held."""
        heads = {activity_id: self.head(activity_id) for activity_id in activity_ids}
        ids = list(heads)
        for start in range(0, len(ids), chunk):
            appended = self.store.appended_since({activity_id: heads[activity_id][0]
                                                  for activity_id in ids[start:start + chunk]})
            self._follow(appended)
            heads.update((activity_id, self._heads[activity_id]) for activity_id in appended)
        return heads

    def _follow(self, appended: dict[str, list[dict]]) -> None:
        """Learn records other instances appended after this process's heads, and move the heads past them."""
        for activity_id, docs in appended.items():
            if self.learn is not None:
                self.learn(docs)
            self._heads[activity_id] = (docs[-1]["seq"], docs[-1]["hash"])

    def relink(self, documents: list[dict], appended: dict[str, list[dict]]) -> set[str]:
        """Chain again, after the records another instance ``appended`` to their activities since this process read
        their heads (``AttendanceStore.appended_since``), the documents of those activities. Call inside the write's
        transaction (``AttendanceStore.record_scans``), with ``self.lock`` held; returns the activities relinked."""
        self._follow(appended)
        heads = set(appended)
        for document in documents:
            activity_id = document["activity_id"]
            if activity_id in heads:
                seq, prev_hash = self._heads[activity_id]
                linked = chain.link(prev_hash, seq + 1, document["content"])
                document.update(seq=linked["seq"], prev_hash=linked["prev_hash"], hash=linked["hash"],
                                chain_key=f"{activity_id}:{linked['seq']}")
                self._heads[activity_id] = (linked["seq"], linked["hash"])
        return heads

    def forget(self, activity_ids) -> None:
        """Drop cached heads (after a failed write): the next append reloads them from the store."""
        for activity_id in set(activity_ids):
            self._heads.pop(activity_id, None)

    def append(self, entries: list[tuple[dict, dict]], write, attempts: int = 3) -> list[dict]:
        """Chain the entries and run ``write(documents)`` (which must commit them), all under the lock. A write
        refused because another instance took the position (the store holds other records after the head this
        process knew, none of them these documents) is chained again after the stored head; any other failure,
        such as the record itself existing, is raised."""
        with self.lock:
            for attempt in range(attempts):
                documents = self.links(entries)
                try:
                    write(documents)
                    return documents
                except Exception:
                    self.forget(doc["activity_id"] for doc in documents)
                    if attempt + 1 < attempts and self._taken_by_others(documents):
                        continue
                    raise
            raise AssertionError("unreachable")

    def _taken_by_others(self, documents: list[dict]) -> bool:
        heads: dict[str, int] = {}
        for document in documents:
            heads.setdefault(document["activity_id"], document["seq"] - 1)
        appended = [doc["_id"] for docs in self.store.appended_since(heads).values() for doc in docs]
        return bool(appended) and not {document["_id"] for document in documents} & set(appended)
