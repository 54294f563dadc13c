"""A call runs once: the nonces of the calls a service has run, kept in the service's own store until their proofs
expire (``call_nonces``), so a copy of a call sniffed on the bus is refused with ``CALL_REPLAYED``.

The store, not a cache of the process: several instances of a service consume one RPC queue, and a copy may land on
another instance than the original. ``_id`` is the proof's nonce, so the store's unique ``_id`` decides which of two
copies arriving at once runs: one insert per call, no read. ``expires`` (the proof's expiry plus the clock skew a
proof is allowed) carries a TTL index; nx-27017 purges only when a collection is read, which this one never is, so
the guard deletes what has expired itself every ``PURGE_EVERY_SECONDS``.

A message the broker hands over again (``redelivered``: its first delivery was never acknowledged, because the
instance stopped or died before answering it) runs although its nonce is recorded: nameko acknowledges a call only
after answering it, so a redelivered call is one whose caller has had no answer. Only the broker sets the flag; a copy
published by someone else arrives as a new message and is refused.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

from servicekit.errors import Unauthenticated
from servicekit.security.proofs import CLOCK_SKEW_SECONDS
from servicekit.storage.mongo import is_duplicate

log = logging.getLogger(__name__)

COLLECTION = "call_nonces"
PURGE_EVERY_SECONDS = 60.0


class CallNonces:
    def __init__(self, collection, purge_every: float = PURGE_EVERY_SECONDS):
        self.collection = collection
        self.purge_every = purge_every
        self._purged_at = time.monotonic()
        self._lock = threading.Lock()

    def ensure_schema(self) -> None:
        if COLLECTION not in self.collection.database.list_collection_names():
            try:
                self.collection.database.create_collection(COLLECTION)
            except Exception:  # noqa: BLE001  another instance created it first
                pass
        self.collection.create_index("expires", expireAfterSeconds=0)

    def first_use(self, nonce: str, expires: int, redelivered: bool = False) -> bool:
        """Record ``nonce``; raise ``CALL_REPLAYED`` when a call with it has been run before (by any instance),
        unless the broker redelivers the same message. Returns whether the nonce was new."""
        kept_until = datetime.fromtimestamp(expires + CLOCK_SKEW_SECONDS, tz=timezone.utc)
        self._purge_now_and_then()
        try:
            self.collection.insert_one({"_id": nonce, "expires": kept_until})
        except Exception as error:  # noqa: BLE001  pymongo's or nx-27017's wording of a duplicate key
            if not is_duplicate(error):
                raise
            if redelivered:
                log.warning("a redelivered call runs again (nonce %s): its first delivery was never answered", nonce)
                return False
            raise Unauthenticated("this call has been run already", code="CALL_REPLAYED") from None
        return True

    def _purge_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._purged_at < self.purge_every or not self._lock.acquire(blocking=False):
            return
        try:
            self._purged_at = now
            self.collection.delete_many({"expires": {"$lt": datetime.now(timezone.utc)}})
        except Exception:  # noqa: BLE001  tried again at the next purge; a failed purge refuses no call
            log.warning("could not purge expired call nonces", exc_info=True)
        finally:
            self._lock.release()
