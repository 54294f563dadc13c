"""What the store promises about writes (servicekit.storage.durability), chosen per kind of server, and what a
caller hears when the store does not answer."""
from __future__ import annotations

import sys

import grpc
import pymongo
import pytest
from nameko.exceptions import deserialize, serialize
from pymongo.errors import (AutoReconnect, ConnectionFailure, DuplicateKeyError, NetworkTimeout, OperationFailure,
                            ServerSelectionTimeoutError)
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from gateway.errors import describe
from gateway.http.app import error_headers
from servicekit.errors import Unavailable, error_from_dict
from servicekit.messaging.rpc import answer_each, store_outage_as_unavailable
from servicekit.process.config import ConfigError
from servicekit.storage import durability, mongo
from servicekit.storage.durability import run_transaction

MONGODB_BUILD = {"version": "7.0.14", "gitVersion": "abc", "ok": 1.0}
NX_BUILD = {"version": "7.0.0", "process": "nx_27017", "ok": 1.0}


@pytest.fixture
def client_of(monkeypatch):
    """A client that never connects, whose server answers ``buildInfo`` with the given document."""
    monkeypatch.setattr(pymongo.MongoClient, "address", property(lambda self: ("127.0.0.1", 27017)))

    def make(build_info: dict) -> pymongo.MongoClient:
        def command(self, name, *args, **kwargs):
            assert name == "buildInfo"
            return build_info
        monkeypatch.setattr(pymongo.database.Database, "command", command)
        client = pymongo.MongoClient("mongodb://127.0.0.1:1/", connect=False)
        return client
    return make


def test_a_real_mongodb_gets_majority_writes_and_reads(client_of, monkeypatch):
    monkeypatch.setenv("MONGO_WRITE_TIMEOUT_MS", "7000")
    db = mongo.durable_database(client_of(MONGODB_BUILD), "pb_identity")
    assert db.write_concern == WriteConcern("majority", wtimeout=7000)
    assert db.read_concern == ReadConcern("majority")
    assert durability.transaction_options(embedded=False) == {
        "read_concern": ReadConcern("snapshot"), "write_concern": WriteConcern("majority", wtimeout=7000)}


def test_nx_27017_gets_no_write_or_read_concern(client_of):
    client = client_of(NX_BUILD)
    db = mongo.durable_database(client, "pb_identity")
    # a read concern sent to nx-27017 was stored as a document in a transaction: it must get none at all
    assert db.write_concern == WriteConcern() and db.write_concern.document == {}
    assert db.read_concern == ReadConcern() and db.read_concern.document == {}
    assert mongo.embedded_lock_name(client) == "nx-27017-127.0.0.1-27017"
    assert durability.transaction_options(embedded=True) == {}


def test_store_transactions_start_with_the_options_of_their_server(client_of):
    class Session:
        def __init__(self):
            self.started = []
            self.in_transaction = False

        def start_transaction(self, **options):
            self.started.append(options)
            self.in_transaction = True
            return self

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.in_transaction = False

        def commit_transaction(self):
            self.in_transaction = False

    for build, expected in ((MONGODB_BUILD, {"read_concern": ReadConcern("snapshot")}), (NX_BUILD, {})):
        client = client_of(build)
        store = mongo.Store(mongo.durable_database(client, "pb_options"))
        session = Session()
        with store.transaction(session):
            pass
        assert store.run_transaction(lambda s: "done", session=session) == "done"
        assert len(session.started) == 2
        for options in session.started:
            assert options.get("read_concern") == expected.get("read_concern")
            assert ("write_concern" in options) is (build is MONGODB_BUILD)


def test_client_options_are_retryable_with_bounded_timeouts(monkeypatch):
    for name in ("MONGO_SERVER_SELECTION_TIMEOUT_MS", "MONGO_CONNECT_TIMEOUT_MS", "MONGO_SOCKET_TIMEOUT_MS"):
        monkeypatch.delenv(name, raising=False)
    assert durability.client_options() == {"retryWrites": True, "retryReads": True, "serverSelectionTimeoutMS": 5000,
                                           "connectTimeoutMS": 5000, "socketTimeoutMS": 60000}
    monkeypatch.setenv("MONGO_SOCKET_TIMEOUT_MS", "1500")
    assert durability.client_options()["socketTimeoutMS"] == 1500
    client = pymongo.MongoClient("mongodb://127.0.0.1:1/", connect=False, **durability.client_options())
    assert client.options.pool_options.socket_timeout == 1.5 and client.options.retry_writes
    for bad in ("0", "-5", "soon"):
        monkeypatch.setenv("MONGO_SOCKET_TIMEOUT_MS", bad)
        with pytest.raises(ConfigError, match="MONGO_SOCKET_TIMEOUT_MS must be a whole number above 0"):
            durability.client_options()


# --- the transaction retry ------------------------------------------------------------------------------------

def labelled(label: str, code: int = 112) -> OperationFailure:
    return OperationFailure("WriteConflict", code, {"errorLabels": [label], "code": code})


class FakeSession:
    """Records what a transaction does; ``commit_errors`` are raised by the next commits, in order."""

    def __init__(self, commit_errors=()):
        self.in_transaction = False
        self.log: list[str] = []
        self.commit_errors = list(commit_errors)

    def start_transaction(self, **options):
        assert not self.in_transaction
        self.in_transaction = True
        self.log.append("start")

    def abort_transaction(self):
        self.in_transaction = False
        self.log.append("abort")

    def commit_transaction(self):
        self.log.append("commit")
        self.in_transaction = False         # as pymongo's: a commit ends the transaction, answered or not
        if self.commit_errors:
            raise self.commit_errors.pop(0)


def test_a_transient_error_runs_the_whole_work_again_after_a_back_off():
    runs, waits = [], []

    def work(session):
        runs.append(session)
        if len(runs) < 3:
            raise labelled("TransientTransactionError")
        return "written"
    session = FakeSession()
    assert run_transaction(session, work, attempts=5, sleep=waits.append) == "written"
    assert len(runs) == 3
    assert session.log == ["start", "abort", "start", "abort", "start", "commit"]
    assert len(waits) == 2 and all(0 < wait <= durability.BACKOFF_MAX_SECONDS for wait in waits)


def test_transient_errors_are_retried_a_bounded_number_of_times_then_raised():
    runs = []

    def work(session):
        runs.append(1)
        raise labelled("TransientTransactionError")
    session = FakeSession()
    with pytest.raises(OperationFailure) as raised:
        run_transaction(session, work, attempts=4, sleep=lambda seconds: None)
    assert raised.value.has_error_label("TransientTransactionError")
    assert len(runs) == 4 and session.log.count("abort") == 4 and not session.in_transaction


def test_an_unknown_commit_result_commits_again_without_running_the_work_again():
    runs = []
    session = FakeSession(commit_errors=[labelled("UnknownTransactionCommitResult", 91)] * 2)
    assert run_transaction(session, lambda s: runs.append(1) or "ok", attempts=5, sleep=lambda seconds: None) == "ok"
    assert runs == [1] and session.log == ["start", "commit", "commit", "commit"]


def test_a_commit_that_fails_transiently_runs_the_work_again():
    runs = []
    session = FakeSession(commit_errors=[labelled("TransientTransactionError")])
    assert run_transaction(session, lambda s: runs.append(1) or len(runs), attempts=3, sleep=lambda s: None) == 2
    assert session.log == ["start", "commit", "start", "commit"]


@pytest.mark.parametrize("error", [DuplicateKeyError("E11000 duplicate key"), ValueError("bad"),
                                   OperationFailure("Unauthorized", 13)])
def test_other_errors_are_raised_at_once_with_the_transaction_aborted(error):
    runs = []

    def work(session):
        runs.append(1)
        raise error
    session = FakeSession()
    with pytest.raises(type(error)):
        run_transaction(session, work, attempts=5, sleep=lambda seconds: pytest.fail("no wait for this error"))
    assert runs == [1] and session.log == ["start", "abort"]


def test_the_number_of_attempts_is_a_setting(monkeypatch):
    monkeypatch.setenv("MONGO_TRANSACTION_ATTEMPTS", "2")
    runs = []

    def work(session):
        runs.append(1)
        raise labelled("TransientTransactionError")
    with pytest.raises(OperationFailure):
        run_transaction(FakeSession(), work, sleep=lambda seconds: None)
    assert len(runs) == 2


# --- a store that does not answer ------------------------------------------------------------------------------

@pytest.mark.parametrize("error", [ServerSelectionTimeoutError("127.0.0.1:27017: connection refused"),
                                   AutoReconnect("connection closed"), NetworkTimeout("timed out"),
                                   ConnectionFailure("down")])
def test_a_store_outage_is_answered_unavailable_with_a_code(error):
    try:
        raise error
    except ConnectionFailure:
        kind, answered, traceback = store_outage_as_unavailable(sys.exc_info())
    assert kind is Unavailable and answered.code == "STORE_UNAVAILABLE"
    assert "27017" not in answered.message                 # the store's address stays in the service's log
    rebuilt = deserialize(serialize(answered))           # as the gateway's RPC proxy receives it
    assert isinstance(rebuilt, Unavailable) and rebuilt.code == "STORE_UNAVAILABLE"
    reply = describe(rebuilt)
    assert (reply.http_status, reply.grpc_code, reply.code) == (503, grpc.StatusCode.UNAVAILABLE, "STORE_UNAVAILABLE")
    assert reply.retry_after == durability.STORE_RETRY_AFTER_SECONDS
    assert error_headers(reply)["Retry-After"] == str(durability.STORE_RETRY_AFTER_SECONDS)
    assert ("retry-after", str(durability.STORE_RETRY_AFTER_SECONDS)) in reply.grpc_trailing_metadata()


@pytest.mark.parametrize("error", [DuplicateKeyError("E11000"), OperationFailure("Unauthorized", 13),
                                   ValueError("a bug")])
def test_other_errors_pass_as_they_are(error):
    exc_info = (type(error), error, None)
    assert store_outage_as_unavailable(exc_info) is exc_info
    assert store_outage_as_unavailable(None) is None


def test_a_batch_item_the_store_could_not_serve_is_answered_unavailable_the_others_not():
    def handle(item):
        if item == "b":
            raise AutoReconnect("connection reset")
        if item == "c":
            raise RuntimeError("a bug")
        return item.upper()
    answers = answer_each(["a", "b", "c"], handle)
    assert answers[0] == {"result": "A"}
    assert answers[1]["error"]["code"] == "STORE_UNAVAILABLE" and answers[1]["error"]["kind"] == "UNAVAILABLE"
    assert isinstance(error_from_dict(answers[1]["error"]), Unavailable)
    assert answers[2]["error"]["code"] == "INTERNAL"


# --- the embedded store's synchronous setting -----------------------------------------------------------------

def test_the_embedded_store_syncs_every_commit_unless_told_otherwise(monkeypatch, tmp_path):
    from neosqlite.connection import Connection

    from servicekit.storage.embedded_mongo import EmbeddedMongoError, synchronous_setting
    from servicekit.storage.nx_server import apply_synchronous

    monkeypatch.delenv("EMBEDDED_MONGO_SYNCHRONOUS", raising=False)
    assert synchronous_setting() == "FULL"
    assert synchronous_setting("normal") == "NORMAL"
    with pytest.raises(EmbeddedMongoError, match="EMBEDDED_MONGO_SYNCHRONOUS must be one of FULL, NORMAL"):
        synchronous_setting("OFF")

    levels = {}
    for setting in ("FULL", "NORMAL"):
        for name in ("_configure_connection", "_apply_write_concern"):        # restored after the test
            monkeypatch.setattr(Connection, name, getattr(Connection, name))
        apply_synchronous(setting)
        connection = Connection(str(tmp_path / f"{setting}.db"))
        opened = connection.db.execute("PRAGMA synchronous").fetchone()[0]
        connection._apply_write_concern({"w": 1})         # what nx-27017 does with a client's w: 1
        after_w1 = connection.db.execute("PRAGMA synchronous").fetchone()[0]
        assert connection.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        levels[setting] = (opened, after_w1)
        connection.close()
        monkeypatch.undo()
    # SQLite's numbers: 1 NORMAL, 2 FULL; a write concern never lowers FULL
    assert levels == {"FULL": (2, 2), "NORMAL": (1, 1)}


def test_what_the_work_gathered_in_its_callers_lists_is_put_back_before_it_runs_again(client_of):
    store = mongo.Store(mongo.durable_database(client_of(MONGODB_BUILD), "pb_retry"))
    changed, events = [], [{"event_type": "given"}]
    session = FakeSession()

    def writes(s):
        run = session.log.count("start")
        changed.append(f"run{run}")
        events.append({"event_type": "gathered", "run": run})
        if run == 1:
            raise labelled("TransientTransactionError")
        return run
    assert store.run_transaction(lambda s: writes(s), session=session, keeps=(writes, events)) == 2
    assert changed == ["run2"] and events == [{"event_type": "given"}, {"event_type": "gathered", "run": 2}]
    assert session.log == ["start", "abort", "start", "commit"]


def test_on_nx_27017_nothing_is_copied_and_the_work_runs_once(client_of):
    store = mongo.Store(mongo.durable_database(client_of(NX_BUILD), "pb_retry_nx"))
    gathered = []

    def writes(session):
        gathered.append(1)
        raise labelled("TransientTransactionError")     # nx-27017 labels none; were it to, no second run
    session = FakeSession()
    with pytest.raises(OperationFailure):
        store.run_transaction(writes, session=session)
    assert gathered == [1] and session.log == ["start", "abort"]
