import socket
import struct

import pymongo
import pytest

from servicekit.process.config import database_name
from servicekit.storage.embedded_mongo import EmbeddedMongo, EmbeddedMongoError

pytestmark = pytest.mark.integration


def test_the_session_store_accepts_a_write_and_a_read(mongo_uri):
    with pymongo.MongoClient(mongo_uri) as client:
        items = client[database_name("smoke")]["items"]
        items.insert_one({"_id": "first", "name": "汉中"})

        assert items.find_one({"_id": "first"})["name"] == "汉中"


def test_a_bool_set_into_a_stored_document_comes_back_as_a_number(mongo_uri):
    """An nx-27017 fact docs/performance.md#embedded-store-limits-and-the-separate-scoring-store states: code reads
    such a field truthy, never ``is True``."""
    with pymongo.MongoClient(mongo_uri) as client:
        items = client[database_name("smoke")]["flags"]
        items.insert_many([{"_id": "on", "flag": False}, {"_id": "off", "flag": True}])
        items.update_one({"_id": "on"}, {"$set": {"flag": True}})
        items.update_one({"_id": "off"}, {"$set": {"flag": False}})
        on, off = items.find_one({"_id": "on"})["flag"], items.find_one({"_id": "off"})["flag"]
    assert (on, off) == (1, 0) and on is not True and off is not False


def test_data_survives_a_restart_on_the_same_data_dir(tmp_path):
    with EmbeddedMongo(tmp_path / "data") as mongo, pymongo.MongoClient(mongo.uri) as client:
        client.pb_smoke.items.insert_one({"_id": "kept", "n": 1})
        first_process = mongo.process

    assert first_process.poll() is not None
    with EmbeddedMongo(tmp_path / "data") as mongo, pymongo.MongoClient(mongo.uri) as client:
        assert client.pb_smoke.items.find_one({"_id": "kept"})["n"] == 1
    assert (tmp_path / "data.nx-27017.log").exists()


def test_a_temporary_store_is_removed_on_stop():
    mongo = EmbeddedMongo().start()
    temp_dir = mongo.log_path.parent

    mongo.stop()

    assert not temp_dir.exists()


def test_a_server_that_cannot_start_reports_its_log(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(EmbeddedMongoError, match="exited with code"):
            EmbeddedMongo(tmp_path / "data", port=taken.getsockname()[1]).start()


def test_two_servers_refuse_to_share_a_data_dir(tmp_path):
    with EmbeddedMongo(tmp_path / "data"):
        with pytest.raises(EmbeddedMongoError, match="already serving"):
            EmbeddedMongo(tmp_path / "data").start()


def test_the_store_runs_the_threaded_server_unless_asked_for_the_asyncio_one(tmp_path, monkeypatch):
    monkeypatch.delenv("EMBEDDED_MONGO_SERVER", raising=False)
    with EmbeddedMongo(tmp_path / "threaded") as mongo, pymongo.MongoClient(mongo.uri) as client:
        assert "--threaded" in mongo.process.args
        client.pb_smoke.items.insert_many([{"_id": n} for n in range(50)])
        assert client.pb_smoke.items.count_documents({}) == 50
    monkeypatch.setenv("EMBEDDED_MONGO_SERVER", "asyncio")
    with EmbeddedMongo(tmp_path / "asyncio") as mongo, pymongo.MongoClient(mongo.uri) as client:
        assert "--threaded" not in mongo.process.args
        client.pb_smoke.items.insert_one({"_id": "async"})
        assert client.pb_smoke.items.find_one({"_id": "async"}) == {"_id": "async"}


@pytest.mark.parametrize("setting, value, refusal", [
    ("EMBEDDED_MONGO_SERVER", "forked", "EMBEDDED_MONGO_SERVER must be one of threaded, asyncio"),
    ("EMBEDDED_MONGO_LOG", "everything", "EMBEDDED_MONGO_LOG must be one of warnings, commands"),
    ("EMBEDDED_MONGO_SYNCHRONOUS", "OFF", "EMBEDDED_MONGO_SYNCHRONOUS must be one of FULL, NORMAL")])
def test_an_unknown_setting_is_refused_before_anything_starts(tmp_path, monkeypatch, setting, value, refusal):
    monkeypatch.setenv(setting, value)
    mongo = EmbeddedMongo(tmp_path / "data")
    with pytest.raises(EmbeddedMongoError, match=refusal):
        mongo.start()
    assert mongo.process is None and not (tmp_path / "data").exists()


def send_invalid_message(mongo: EmbeddedMongo) -> None:
    """A wire message whose header gives a length below the header's own: nx-27017 logs a warning."""
    with socket.create_connection((mongo.host, mongo.port)) as raw:
        raw.sendall(struct.pack("<iiii", 5, 1, 0, 2013))
        raw.settimeout(5)
        assert raw.recv(16) == b""                   # the server closes the connection


def test_the_store_logs_warnings_but_not_a_line_per_command(tmp_path, monkeypatch):
    monkeypatch.delenv("EMBEDDED_MONGO_LOG", raising=False)
    with EmbeddedMongo(tmp_path / "data") as mongo, pymongo.MongoClient(mongo.uri) as client:
        assert mongo.process.args[1:3] == ["-m", "servicekit.storage.nx_server"]
        for n in range(20):
            client.pb_smoke.items.insert_one({"_id": n})
        assert client.pb_smoke.items.count_documents({}) == 20
        send_invalid_message(mongo)
        client.admin.command("ping")
    log = mongo.log_path.read_text()
    assert "Invalid message length: 5" in log
    assert "Command response" not in log and " - INFO - " not in log


def test_every_command_is_logged_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBEDDED_MONGO_LOG", "commands")
    with EmbeddedMongo(tmp_path / "data") as mongo, pymongo.MongoClient(mongo.uri) as client:
        assert mongo.process.args[1:3] == ["-m", "servicekit.storage.nx_server"]     # which applies the setting
        for n in range(20):
            client.pb_smoke.items.insert_one({"_id": n})
    assert mongo.log_path.read_text().count("Command response") >= 20
