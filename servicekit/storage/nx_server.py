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

An ``update_one`` that only ``$set``s plain values and ``$inc``s integers is one SQL ``UPDATE`` (``set_fields_in_sql``):
neosqlite parses the whole document before and after such an update, most of the store's time for a quiz answer
(docs/performance.md#content-a-notice-and-a-contest-on-one-morning); a test holds its results to neosqlite's own.

    python -m servicekit.storage.nx_server <nx-27017's arguments>
"""
from __future__ import annotations

import functools
import json
import logging
import math
import re
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


def _plain(value) -> bool:
    """A value JSON holds as BSON would: no dates, ids, bytes, non-finite numbers or operator-like keys."""
    if value is None or isinstance(value, (bool, str)):
        return True
    if isinstance(value, int):
        return -2 ** 63 <= value < 2 ** 63
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and key and key[0] != "$" and "." not in key and _plain(item)
                   for key, item in value.items())
    return False


@functools.lru_cache(maxsize=4096)
def _field(name: str) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    """The SQLite JSON path of a dotted field, its parents' paths and its parents' dotted names (``a.b``:
    ``$."a"."b"``, ``($."a",)``, ``("a",)``), or None for a name the store's own path must take (an array index, an
    operator, the id, a quote). Kept: a store's updates name the same fields again and again."""
    parts = name.split(".")
    if parts[0] == "_id" or not _PLAIN_NAME.fullmatch(name) or any(part.isdigit() for part in parts):
        return None
    paths = ["$" + "".join(f'."{part}"' for part in parts[:n]) for n in range(1, len(parts) + 1)]
    return paths[-1], tuple(paths[:-1]), tuple(".".join(parts[:n]) for n in range(1, len(parts)))


_PLAIN_NAME = re.compile(r"[^.$'\"\\]+(?:\.[^.$'\"\\]+)*")


def _update_plan(update: dict, upsert: bool) -> list[tuple[str, str, tuple[str, ...], object]] | None:
    """``(operator, json path, its parents' paths, parameter)`` of each field of an update that only ``$set``s
    plain values and ``$inc``s integers at plain paths (and, for an upsert, ``$setOnInsert``s, which a found
    document ignores), or None for any other update."""
    planned, given, parents = [], set(), set()
    for op, fields in update.items():
        if op not in ("$set", "$inc", "$setOnInsert") or (op == "$setOnInsert" and not upsert) \
                or not isinstance(fields, dict):
            return None
        for name, value in fields.items():
            field = _field(name)
            if field is None or name in given:
                return None
            given.add(name)
            parents.update(field[2])
            if op == "$set":
                if not _plain(value):
                    return None
                if value is True or value is False:
                    value = int(value)                   # as neosqlite binds a bool given as a field's value
                planned.append(("set", field[0], field[1], json.dumps(value, ensure_ascii=False,
                                                                      separators=(",", ":"))))
            elif op == "$inc":
                if type(value) is not int or abs(value) >= 2 ** 62:
                    return None                          # a float's sum is printed as Python prints it: theirs
                planned.append(("inc", field[0], field[1], value))
    if not planned or not parents.isdisjoint(given):
        return None                                      # "a" and "a.b": the store's own path says why not
    return planned


def set_fields_in_sql() -> None:
    """``update_one`` with only ``$set`` of plain values and ``$inc`` of integers becomes one SQL ``UPDATE`` with
    ``json_set`` (``update_one_in_sql``) for every collection of the store."""
    from neosqlite.collection import Collection

    original = Collection.update_one

    def update_one(self, filter, update, upsert=False, array_filters=None, session=None):
        return update_one_in_sql(self, original, filter, update, upsert, array_filters, session)

    Collection.update_one = update_one


def update_one_in_sql(collection, original, filter, update, upsert=False, array_filters=None, session=None):
    """neosqlite's ``update_one`` (``original``) with the same result, but an update that only ``$set``s plain values
    and ``$inc``s integers at plain paths is one SQL ``UPDATE`` with ``json_set``: neosqlite reads and parses the
    whole document before such an update and again after it (to say whether it changed), for a quiz attempt's
    answer most of the store's time for the write, inside the database's lock.

    The first document the filter matches is written; it is modified when a value or its JSON type differs (as
    MongoDB counts it) or an increment is not 0; a bool set as a field's whole value is stored as 1 or 0, as
    neosqlite stores it. An upsert that finds no document, any other update, a filter neosqlite cannot put in SQL,
    nothing to change, an increment of a value that is not an integer, or a parent that is not an object
    (``json_set`` leaves it silently) takes ``original``."""
    from neosqlite.collection.query_helper.utils import get_force_fallback
    from neosqlite.collection.type_utils import validate_session
    from neosqlite.results import UpdateResult
    from neosqlite.sql_utils import quote_table_name

    def theirs():
        return original(collection, filter, update, upsert=upsert, array_filters=array_filters, session=session)

    planned = None if array_filters or not isinstance(update, dict) else _update_plan(update, upsert)
    engine = collection.query_engine
    if planned is None or collection.name.endswith("_files") or engine.jsonb.jsonb_supported or get_force_fallback():
        return theirs()
    validate_session(session, collection._database)
    where, params = engine.sql_translator.translate_match(engine.helpers._normalize_id_query(filter))
    if not where:
        return theirs()
    table = quote_table_name(collection.name)
    row = collection.db.execute(f"SELECT id FROM {table} {where} LIMIT 1", params).fetchone()
    if row is None:
        return theirs() if upsert else UpdateResult(matched_count=0, modified_count=0, upserted_id=None)
    setting, changed, guards = [], [], set()
    set_params, changed_params = [], []
    for op, path, parents, value in planned:
        guards.update(f"coalesce(json_type(data, '{parent}'), 'object') = 'object'" for parent in parents)
        if op == "set":
            setting.append(f"'{path}', json(?)")
            changed.append(f"json_type(data, '{path}') IS NOT json_type(?) OR "
                           f"json_extract(data, '{path}') IS NOT json_extract(?, '$')")
            changed_params += [value, value]
        else:
            setting.append(f"'{path}', coalesce(json_extract(data, '{path}'), 0) + ?")
            guards.add(f"coalesce(json_type(data, '{path}'), 'integer') = 'integer'")
            changed.append(f"? <> 0 OR json_type(data, '{path}') IS NULL")
            changed_params.append(value)
        set_params.append(value)
    guard = "".join(f" AND {check}" for check in sorted(guards))
    written = collection.db.execute(
        f"UPDATE {table} SET data = json_set(data, {', '.join(setting)}) WHERE id = ?{guard} AND "
        f"({' OR '.join(changed)})", [*set_params, row[0], *changed_params]).rowcount
    if written:
        return UpdateResult(matched_count=1, modified_count=1, upserted_id=None)
    return theirs()          # nothing to change, or a guard failed: neosqlite's path says which


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
    set_fields_in_sql()
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
