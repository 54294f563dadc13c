"""nx-27017's server as ``EmbeddedMongo`` starts it: its own ``main``, with its INFO and DEBUG lines off.

nx-27017 logs a line at INFO for every command and connection to its standard error, which ``EmbeddedMongo``
keeps, never rotated, in the store's log file: about 100 MB a day per idle store, and a line per write at a themed
day (docs/performance.md#embedded-store-limits-and-the-separate-scoring-store). Warnings and errors are still
logged.
``EMBEDDED_MONGO_LOG=commands`` keeps every line, to see what the services ask of the store.

SQLite's ``synchronous`` is ``EMBEDDED_MONGO_SYNCHRONOUS`` (``FULL`` by default, or ``NORMAL``) on every database
file it opens: nx-27017 sets ``NORMAL`` at each connection's open (WAL mode) and has no option for it, so the
setting is applied here after its own. In WAL mode ``NORMAL`` does not sync the log at a commit: a process crash
loses nothing, a power loss or kernel crash can lose the last commits; ``FULL`` syncs at every commit
(docs/performance.md#durability-of-the-embedded-store). A client's write concern ``w: 1`` would lower it to
``NORMAL`` again, so under ``FULL`` a write concern only ever raises it.

    python -m servicekit.storage.nx_server <nx-27017's arguments>
"""
from __future__ import annotations

import logging
import sys
import threading


def apply_synchronous(setting: str) -> None:
    """Every SQLite connection nx-27017 opens from now on runs with ``PRAGMA synchronous=<setting>``."""
    from neosqlite.connection import Connection

    configure, apply_write_concern = Connection._configure_connection, Connection._apply_write_concern

    def _configure_connection(self) -> None:
        configure(self)
        self.db.execute(f"PRAGMA synchronous = {setting}")

    def _apply_write_concern(self, write_concern) -> None:
        apply_write_concern(self, write_concern)
        if setting == "FULL":           # w: 1 means NORMAL to nx-27017: never below the store's setting
            self.db.execute("PRAGMA synchronous = FULL")

    Connection._configure_connection = _configure_connection
    Connection._apply_write_concern = _apply_write_concern


def abort_transactions_of_closed_clients() -> None:
    """A client that dies inside a transaction (kill -9 of a service) leaves it open: nx-27017 keeps a session's
    transaction on the database's one shared SQLite connection and never ends it when the socket closes. Every later
    transaction on that database then nests in it as a savepoint and every later write joins it: answered, readable,
    and never committed, lost when the store stops. So each connection's thread remembers the sessions it used; when
    its socket closes, a session left in a transaction that no other open connection has used is aborted. For the
    threaded server (the default), whose connections each have a thread."""
    from nx_27017.handler import NeoSQLiteHandler, _extract_session_id

    local = threading.local()
    users: dict[tuple, set[int]] = {}       # session key -> the connection threads that used it
    lock = threading.Lock()
    get_or_create, close_streams = NeoSQLiteHandler._get_or_create_session, NeoSQLiteHandler.close_streams_for_connection

    def _get_or_create_session(self, command_doc, db=None, db_name="test"):
        session = get_or_create(self, command_doc, db, db_name)
        if session is not None and session.in_transaction:       # only a transaction can be left open
            key = (_extract_session_id(command_doc.get("lsid")), self._session_scope(db_name))
            if key[0]:
                used = getattr(local, "sessions", None)
                if used is None:
                    used = local.sessions = set()
                if key not in used:
                    used.add(key)
                    with lock:
                        users.setdefault(key, set()).add(threading.get_ident())
        return session

    def close_streams_for_connection(self, conn_id):
        try:
            close_streams(self, conn_id)
        finally:
            for key in getattr(local, "sessions", ()):
                with lock:
                    left = users.get(key, set())
                    left.discard(threading.get_ident())
                    if left:
                        continue
                    users.pop(key, None)
                with self._lock_for(key[1] or "test"), self._sessions_lock:
                    session = self._sessions.get(key)
                    if session is None or not session.in_transaction:
                        continue
                    self._sessions.pop(key, None)
                try:
                    with self._lock_for(key[1] or "test"):
                        session.abort_transaction()
                    logging.getLogger(__name__).warning(
                        "a client closed its connection inside a transaction on %s: aborted", key[1] or "(single)")
                except Exception:  # noqa: BLE001  the store serves on; the next open of the file rolls it back
                    logging.getLogger(__name__).exception("aborting a closed client's transaction failed")
            local.sessions = set()

    NeoSQLiteHandler._get_or_create_session = _get_or_create_session
    NeoSQLiteHandler.close_streams_for_connection = close_streams_for_connection


def main(argv: list[str]) -> int | None:
    from nx_27017.nx_27017 import main as serve

    from servicekit.process.collector import settle_after_start
    from servicekit.process.config import ConfigError
    from servicekit.storage.embedded_mongo import EmbeddedMongoError, log_setting, synchronous_setting
    try:
        logged, synchronous = log_setting(), synchronous_setting()
    except EmbeddedMongoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    apply_synchronous(synchronous)
    if "--threaded" in argv:
        abort_transactions_of_closed_clients()
    if logged == "warnings":
        logging.disable(logging.INFO)           # INFO and DEBUG, whatever level nx-27017 configures
    try:
        settle_after_start("nx-27017")          # its modules, out of the collections while it serves
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.argv = ["nx-27017", *argv]
    return serve()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
