"""How much the store promises about a write, and what a caller hears when the store does not answer.

A real MongoDB (a replica set) gets what data that must not be lost needs: write concern ``majority`` with a
``wtimeout``, read concern ``majority``, ``snapshot`` reads and a ``majority`` commit in transactions, retryable
writes and reads, and bounded timeouts. nx-27017 gets only the client-side timeouts: it is one node, and it
mis-takes options a replica set understands (a read concern passed to it was stored as a document in a
transaction), so the database and transaction options are applied only once ``buildInfo`` says the server is
MongoDB (``servicekit.storage.mongo.embedded_lock_name``).

Settings (milliseconds): ``MONGO_SERVER_SELECTION_TIMEOUT_MS`` (5000: how long a call waits for a reachable
server before it is answered ``STORE_UNAVAILABLE``), ``MONGO_CONNECT_TIMEOUT_MS`` (5000),
``MONGO_SOCKET_TIMEOUT_MS`` (60000: one operation's answer), ``MONGO_WRITE_TIMEOUT_MS`` (10000: the
``wtimeout`` of a majority write), ``MONGO_TRANSACTION_ATTEMPTS`` (5: runs of a transaction on transient errors).
"""
from __future__ import annotations

import logging
import random
import time

from pymongo.errors import ConnectionFailure, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from servicekit.errors import Unavailable
from servicekit.process.config import ConfigError, env

log = logging.getLogger(__name__)

TIMEOUT_SETTINGS = (("serverSelectionTimeoutMS", "MONGO_SERVER_SELECTION_TIMEOUT_MS", 5000),
                    ("connectTimeoutMS", "MONGO_CONNECT_TIMEOUT_MS", 5000),
                    ("socketTimeoutMS", "MONGO_SOCKET_TIMEOUT_MS", 60000))
STORE_RETRY_AFTER_SECONDS = 5
BACKOFF_FIRST_SECONDS = 0.05
BACKOFF_MAX_SECONDS = 1.0


def _positive_int(name: str, default: int) -> int:
    raw = (env(name, "") or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigError(f"{name} must be a whole number above 0, not {raw!r}")
    return value


def client_options() -> dict:
    """MongoClient's options for any server: retryable writes and reads, and the timeouts of the settings."""
    options = {"retryWrites": True, "retryReads": True}
    for option, name, default in TIMEOUT_SETTINGS:
        options[option] = _positive_int(name, default)
    return options


def write_timeout_ms() -> int:
    return _positive_int("MONGO_WRITE_TIMEOUT_MS", 10000)


def transaction_attempts() -> int:
    return _positive_int("MONGO_TRANSACTION_ATTEMPTS", 5)


def database_options(embedded: bool) -> dict:
    """``Database.with_options`` keywords: majority writes and reads on MongoDB, nothing on nx-27017."""
    if embedded:
        return {}
    return {"write_concern": WriteConcern("majority", wtimeout=write_timeout_ms()),
            "read_concern": ReadConcern("majority")}


def transaction_options(embedded: bool) -> dict:
    """``start_transaction`` keywords: a snapshot read and a majority commit on MongoDB, nothing on nx-27017."""
    if embedded:
        return {}
    return {"read_concern": ReadConcern("snapshot"),
            "write_concern": WriteConcern("majority", wtimeout=write_timeout_ms())}


def _labelled(error: BaseException, label: str) -> bool:
    return isinstance(error, PyMongoError) and error.has_error_label(label)


def backoff_seconds(attempt: int) -> float:
    """The wait before run ``attempt + 1``: doubling from 50 ms, at most 1 s, jittered so that two writers that
    collided do not collide again."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def restorable(*objects):
    """A function that puts back, in place, the lists, dicts and sets among ``objects`` and in the closures of
    those that are functions, as they are now. A transaction's ``writes`` often gathers what it did into lists of
    its caller's (the events to publish, the ids it changed): run again, it would gather them twice."""
    saved = []

    def keep(value) -> None:
        if isinstance(value, (list, dict, set)):
            saved.append((value, value.copy()))

    for item in objects:
        if callable(item) and getattr(item, "__closure__", None):
            for cell in item.__closure__:
                try:
                    keep(cell.cell_contents)
                except ValueError:          # a cell not yet assigned
                    pass
        else:
            keep(item)

    def restore() -> None:
        for container, content in saved:
            if isinstance(container, list):
                container[:] = content
            else:
                container.clear()
                container.update(content)
    return restore


def run_transaction(session, work, options: dict | None = None, attempts: int | None = None, sleep=time.sleep,
                    before_retry=None):
    """``work(session)`` in a transaction of ``session``, committed; returns what ``work`` returned.

    As pymongo's ``ClientSession.with_transaction``, but bounded by a number of runs rather than 120 s (the
    caller holds the process's transaction lock meanwhile): an error labelled ``TransientTransactionError``
    (a write conflict, an election) runs ``work`` again, from the start, after a back-off; a commit labelled
    ``UnknownTransactionCommitResult`` (the answer was lost) is committed again, which MongoDB makes idempotent.
    After ``attempts`` runs, or on any other error, the error is raised with the transaction aborted.
    ``before_retry``: called before ``work`` runs again (``restorable``'s function)."""
    options = options or {}
    attempts = attempts or transaction_attempts()
    for attempt in range(1, attempts + 1):
        session.start_transaction(**options)
        try:
            result = work(session)
        except BaseException as error:
            if session.in_transaction:
                try:
                    session.abort_transaction()
                except PyMongoError:
                    log.debug("abort after a failed transaction failed too", exc_info=True)
            if attempt < attempts and _labelled(error, "TransientTransactionError"):
                log.info("transaction run %d of %d failed transiently (%s): running it again", attempt, attempts,
                         error)
                sleep(backoff_seconds(attempt))
                if before_retry is not None:
                    before_retry()
                continue
            raise
        commits = 1
        while True:
            try:
                session.commit_transaction()
                return result
            except PyMongoError as error:
                if commits < attempts and _labelled(error, "UnknownTransactionCommitResult"):
                    commits += 1
                    sleep(backoff_seconds(commits - 1))
                    continue
                if attempt < attempts and _labelled(error, "TransientTransactionError"):
                    sleep(backoff_seconds(attempt))
                    if before_retry is not None:
                        before_retry()
                    break
                raise
    raise AssertionError("unreachable: the last run returns or raises")


def is_store_unavailable(error: BaseException) -> bool:
    """The store cannot be reached (no server selected, connection lost or timed out): the request may succeed
    later, and nothing the caller sent is wrong. pymongo's ServerSelectionTimeoutError, AutoReconnect and
    NetworkTimeout are all ConnectionFailures."""
    return isinstance(error, ConnectionFailure)


def store_unavailable(error: BaseException | None = None) -> Unavailable:
    """The answer to a call the store could not serve: 503 / UNAVAILABLE with ``STORE_UNAVAILABLE`` and a
    Retry-After. The store's own message (addresses, topology) stays in this service's log."""
    if error is not None:
        log.warning("the store did not answer: %s: %s", type(error).__name__, error)
    return Unavailable("the store is not answering; try again shortly", code="STORE_UNAVAILABLE",
                       details=[{"retry_after_seconds": STORE_RETRY_AFTER_SECONDS}])
