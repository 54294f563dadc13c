"""The MongoDB dependency: one client per process, one database per service.

A service's store subclasses ``Store`` (intention-named methods over its
collections) and its service class declares ``store = MongoStore(MyStore)``.
Collections and indexes are created at start-up: transactions fail on collections
that do not exist yet, and nx-27017 only plans with single-field indexes.
"""
from __future__ import annotations

import fcntl
import os
import tempfile
import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path

import pymongo
from pymongo.errors import BulkWriteError, CollectionInvalid, DuplicateKeyError, OperationFailure
from nameko.extensions import DependencyProvider
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily

from servicekit.process.config import database_name, mongo_uri
from servicekit.storage.durability import (client_options, database_options, restorable, run_transaction,
                                           transaction_options)

_clients: dict[str, pymongo.MongoClient] = {}
_clients_lock = threading.Lock()
# One transaction at a time per database and process: nx-27017 keeps one SQLite connection per database
# and loses a savepoint when two transactions on it interleave ("no such savepoint"); transactions on
# different databases do not meet. Under nameko the runner monkey-patches threading first, so these
# locks are green.
_transaction_locks: dict[str, threading.Lock] = {}


def transaction_lock(database: str) -> threading.Lock:
    with _clients_lock:
        return _transaction_locks.setdefault(database, threading.Lock())


# Between processes, the same on nx-27017 takes a file lock: two processes' transactions on one database failed
# there with "no such savepoint" although their writes were stored (287 of 600 in a test of two processes).
_embedded_servers: dict[int, tuple[weakref.ref, str | None]] = {}   # id(client) -> (the client, its lock's name)


def embedded_lock_name(client: pymongo.MongoClient) -> str | None:
    """``nx-27017-<host>-<port>`` for a client of an nx-27017 server (it names itself in ``buildInfo``), None for
    MongoDB. Named by the address, so every process using the server, and the server after a restart, agree."""
    known = _embedded_servers.get(id(client))
    if known is None or known[0]() is not client:
        embedded = client.admin.command("buildInfo").get("process") == "nx_27017"
        host, port = client.address if embedded else (None, None)
        known = (weakref.ref(client), f"nx-27017-{host}-{port}" if embedded else None)
        _embedded_servers[id(client)] = known
    return known[1]


@contextmanager
def embedded_transaction_lock(client: pymongo.MongoClient, database: str):
    """Held by one process at a time per database of an nx-27017 server (a file lock in this machine's
    temporary directory, ``nx-27017-locks/``); nothing on a real MongoDB. Taken after ``transaction_lock``, so one thread per
    process waits here, polling (green under eventlet)."""
    name = embedded_lock_name(client)
    if name is None:
        yield
        return
    handle = _lock_file(f"{name}-{database}")
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            time.sleep(0.001)
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)


_lock_files: dict[tuple[int, str], object] = {}


def _lock_file(name: str):
    """The lock's file, opened once per process (a forked child opens its own: a lock belongs to an open file)."""
    key = (os.getpid(), name)
    with _clients_lock:
        if key not in _lock_files:
            folder = Path(tempfile.gettempdir()) / "nx-27017-locks"     # empty files, one per server and database
            folder.mkdir(exist_ok=True)
            _lock_files[key] = open(folder / f"{name}.txlock", "a")
        return _lock_files[key]


def shared_client(uri: str | None = None) -> pymongo.MongoClient:
    uri = uri or mongo_uri()
    with _clients_lock:
        if uri not in _clients:
            # retryable writes and reads and bounded timeouts, on any server (servicekit.storage.durability)
            _clients[uri] = pymongo.MongoClient(uri, tz_aware=True, connect=False, **client_options())
        return _clients[uri]


def durable_database(client: pymongo.MongoClient, name: str) -> pymongo.database.Database:
    """The database with majority writes and reads on MongoDB; as it is on nx-27017, which would store a read
    concern passed to it as a document (servicekit.storage.durability)."""
    return client[name].with_options(**database_options(embedded_lock_name(client) is not None))


def store_label(uri: str) -> str:
    """The hosts of a MongoDB URI without its credentials or options: ``127.0.0.1:27017``."""
    hosts = uri.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0]
    return hosts.rsplit("@", 1)[-1]


class StoreAvailability:
    """``store_up{store}``: 1 while this process's client of a store knows a server it can write to, else 0.
    pymongo's own monitor checks each server every 10 s, so a scrape sends nothing to the store."""

    def collect(self):
        family = GaugeMetricFamily("store_up", "Whether this process's client of the store has a writable server "
                                   "(pymongo's monitor, every 10 s)", labels=["store"])
        with _clients_lock:
            clients = list(_clients.items())
        for uri, client in clients:
            family.add_metric([store_label(uri)], 1.0 if client.topology_description.has_writable_server() else 0.0)
        yield family


REGISTRY.register(StoreAvailability())


def is_duplicate(error: Exception) -> bool:
    """A unique index refused a write (pymongo's error, a bulk write's, or nx-27017's SQLite wording)."""
    if isinstance(error, DuplicateKeyError):
        return True
    if isinstance(error, BulkWriteError):
        return any(item.get("code") == 11000 for item in error.details.get("writeErrors", []))
    text = str(error).lower()
    return "duplicate key" in text or "unique constraint" in text


class Store:
    """Base of every service store: the database, its collections and transactions."""

    collections: dict[str, list] = {}   # name -> list of single-field index specs ("field" or ("field", {"unique": True}))
    # name -> fields whose single-field index an earlier version created and this one no longer wants: every write
    # of a document pays for each of its collection's indexes, so one no query uses is dropped at start-up
    retired_indexes: dict[str, list[str]] = {}

    def __init__(self, db: pymongo.database.Database):
        self.db = db
        self.client = db.client

    def ensure_schema(self) -> None:
        existing = set(self.db.list_collection_names())
        for name, indexes in self.all_collections().items():
            if name not in existing:
                try:
                    self.db.create_collection(name)
                except CollectionInvalid:
                    pass  # another process or dependency created it first
            for spec in indexes:
                field, options = (spec, {}) if isinstance(spec, str) else spec
                self.db[name].create_index(field, **options)
        self.migrate()
        self.drop_retired_indexes()

    def migrate(self) -> None:
        """Bring what an earlier version stored into this version's shape (before its retired indexes go)."""

    def drop_retired_indexes(self) -> list[str]:
        """Drop the indexes of ``retired_indexes`` that exist; returns them as ``collection.field``."""
        dropped = []
        existing = set(self.db.list_collection_names()) if self.retired_indexes else set()
        for name, fields in self.retired_indexes.items():
            if name not in existing:        # asking a collection for its indexes would create it on nx-27017
                continue
            present = {tuple(info["key"]) for info in self.db[name].index_information().values()}
            for field in fields:
                if ((field, 1),) in present:
                    try:
                        self.db[name].drop_index([(field, pymongo.ASCENDING)])
                    except OperationFailure:
                        continue        # another process starting at the same time dropped it first
                    dropped.append(f"{name}.{field}")
        return dropped

    def insert_new(self, name: str, documents: list[dict]) -> int:
        """Insert the documents whose ``_id`` the collection does not hold yet (those it holds are left as they
        are); returns how many were inserted."""
        if not documents:
            return 0
        try:
            return len(self.db[name].insert_many(documents, ordered=False).inserted_ids)
        except BulkWriteError as error:
            if any(e.get("code") != 11000 for e in error.details.get("writeErrors", [])):
                raise
            return error.details.get("nInserted", 0)

    @classmethod
    def all_collections(cls) -> dict[str, list]:
        """The collections declared by this class and every base (a base such as ``OutboxStore`` adds its own)."""
        merged: dict[str, list] = {}
        for klass in reversed(cls.__mro__):
            merged.update(vars(klass).get("collections", {}))
        return merged

    @property
    def embedded(self) -> bool:
        """Whether the store is nx-27017 (asked once per client: ``buildInfo``)."""
        return embedded_lock_name(self.client) is not None

    def run_transaction(self, work, session=None, keeps=()):
        """``work(session)`` in a transaction, committed; returns what it returned. On MongoDB, a transient error
        (a write conflict, an election) runs ``work`` again from the start, a bounded number of times, and a commit
        whose answer was lost is committed again (``durability.run_transaction``). Before ``work`` runs again, the
        lists, dicts and sets its closure holds (and those of ``keeps``: functions or containers) are put back as
        they were (``durability.restorable``); any other state ``work`` changes outside the store is its own to
        undo. On nx-27017, which labels no error transient, ``work`` runs once. Locks and ``session`` as
        ``transaction``."""
        with transaction_lock(self.db.name), embedded_transaction_lock(self.client, self.db.name):
            embedded = self.embedded
            options = transaction_options(embedded)
            # on nx-27017, one run: nothing to copy for a retry that would not come
            restore, attempts = (None, 1) if embedded else (restorable(work, *keeps), None)
            if session is not None:
                return run_transaction(session, work, options, attempts, before_retry=restore)
            with self.client.start_session() as session:
                return run_transaction(session, work, options, attempts, before_retry=restore)

    @contextmanager
    def transaction(self, session=None):
        """A session in a transaction: every write given ``session=`` commits or none does.

        Transactions on one database run one at a time in a process (``transaction_lock``), and on nx-27017 across
        the processes of this machine too (``embedded_transaction_lock``).
        ``session``: a session of the caller's to run the transaction in (one whose id it has recorded),
        else a new one. A block cannot be run again: a transient error reaches the caller; ``run_transaction``
        retries."""
        with transaction_lock(self.db.name), embedded_transaction_lock(self.client, self.db.name):
            options = transaction_options(self.embedded)
            if session is not None:
                with session.start_transaction(**options):
                    yield session
                return
            with self.client.start_session() as session:
                with session.start_transaction(**options):
                    yield session


def open_store(store_class: type[Store], service_name: str, uri: str | None = None) -> Store:
    client = shared_client(uri)
    store = store_class(durable_database(client, database_name(service_name)))
    store.ensure_schema()
    return store


class MongoStore(DependencyProvider):
    """A service's store. ``database_of``: the name (from the service's) of another database of the
    service's own, whose transactions never wait for those of the first; default: the service's."""

    def __init__(self, store_class: type[Store], database_of=None):
        self.store_class = store_class
        self.database_of = database_of or (lambda service_name: service_name)
        self.store: Store | None = None

    def setup(self):
        self.store = open_store(self.store_class, self.database_of(self.container.service_name))

    def get_dependency(self, worker_ctx):
        return self.store
