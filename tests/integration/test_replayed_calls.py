"""A call sniffed on the bus and published again, unchanged, within its proof's lifetime is refused with
``CALL_REPLAYED`` and changes nothing (servicekit.security.replay): on the instance that ran it and on another
instance of the same service consuming the same queue. The nonces live in the service's own store
(``call_nonces``), whose unique ``_id`` decides; a message the broker redelivers runs again.
"""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace

import pymongo
import pytest

from servicekit.errors import Unauthenticated
from servicekit.messaging.rpc import OnceEncodedRpc, ReplayGuard
from servicekit.process.config import database_name
from servicekit.security.proofs import CLOCK_SKEW_SECONDS
from servicekit.security.replay import COLLECTION, CallNonces
from servicekit.storage.mongo import shared_client
from tests.support.identity import PASSWORD, login
from tests.support.processes import free_port
from tests.support.raw_bus import encode, genuine_call_headers, raw_call
from tests.support.service_fixtures import service_process

pytestmark = pytest.mark.integration

SKIPPED = {"outbox", "outbox_lease", COLLECTION}        # relay bookkeeping, and the nonces themselves


def _code(answer: dict) -> str | None:
    error = answer.get("error")
    return None if not error else json.loads(error["value"])["code"]


def _identity_counts(mongo_uri: str) -> dict:
    with pymongo.MongoClient(mongo_uri) as client:
        db = client[database_name("identity")]
        return {name: db[name].count_documents({}) for name in db.list_collection_names() if name not in SKIPPED}


def _nonces(mongo_uri: str, name: str) -> CallNonces:
    nonces = CallNonces(shared_client(mongo_uri)[database_name("replay_probe")][name])
    nonces.ensure_schema()
    return nonces


def test_a_nonce_is_run_once_by_every_instance_but_a_redelivery_runs_again(mongo_uri):
    name = f"call_nonces_{uuid.uuid4().hex[:6]}"
    first = _nonces(mongo_uri, name)
    with pymongo.MongoClient(mongo_uri, tz_aware=True) as client:     # another instance: its client, its guard
        other = CallNonces(client[database_name("replay_probe")][name])
        nonce, expires = uuid.uuid4().hex, int(time.time()) + 120
        assert first.first_use(nonce, expires) is True
        for guard in (first, other):
            with pytest.raises(Unauthenticated) as refused:
                guard.first_use(nonce, expires)
            assert refused.value.code == "CALL_REPLAYED"
        assert other.first_use(nonce, expires, redelivered=True) is False       # the broker's redelivery runs
        assert other.first_use(uuid.uuid4().hex, expires) is True
        kept = client[database_name("replay_probe")][name].find_one({"_id": nonce})
        assert kept["expires"] == datetime.fromtimestamp(expires + CLOCK_SKEW_SECONDS, tz=timezone.utc)


def test_the_nonces_carry_a_ttl_index_and_expired_ones_are_purged(mongo_uri):
    name = f"call_nonces_{uuid.uuid4().hex[:6]}"
    nonces = _nonces(mongo_uri, name)
    indexes = nonces.collection.index_information().values()
    assert any(info["key"] == [("expires", 1)] and info.get("expireAfterSeconds") == 0 for info in indexes)
    stale, live = uuid.uuid4().hex, uuid.uuid4().hex
    nonces.first_use(stale, int(time.time()) - 600)
    nonces.first_use(live, int(time.time()) + 120)
    nonces.purge_every = 0                                  # nx-27017 purges on reads only: the guard does it
    nonces.first_use(uuid.uuid4().hex, int(time.time()) + 120)
    assert nonces.collection.find_one({"_id": stale}) is None
    assert nonces.collection.find_one({"_id": live}) is not None


def _create_account(city) -> tuple[str, bytes, dict]:
    username = f"sniffed-{uuid.uuid4().hex[:8]}"
    body = encode(dict(scope=city.admin, username=username, password=PASSWORD, role="org_admin",
                       org_id=city.root["id"]))
    return username, body, genuine_call_headers("identity.create_account", body)


def test_the_same_signed_call_published_twice_runs_once(rpc, bus_uri, mongo_uri, city):
    username, body, headers = _create_account(city)
    answer = raw_call(bus_uri, "identity", "create_account", body, headers)
    assert answer.get("error") is None, answer
    assert "org_admin" in {grant["role"] for grant in login(rpc, city.code, username)["roles"]}
    before = _identity_counts(mongo_uri)
    again = raw_call(bus_uri, "identity", "create_account", body, headers)
    assert _code(again) == "CALL_REPLAYED" and again.get("result") is None, again
    assert _identity_counts(mongo_uri) == before
    # the same operation and arguments with a proof of its own is a new call, and runs (refused here only because
    # the username is taken: the service, not the guard)
    fresh = raw_call(bus_uri, "identity", "create_account", body, genuine_call_headers("identity.create_account", body))
    assert _code(fresh) not in ("CALL_REPLAYED", None), fresh


@pytest.fixture
def second_identity(bus_uri, mongo_uri, tmp_path, identity_service):
    """Another identity instance consuming the same RPC queue (ready once it has logged its start)."""
    log_dir = tmp_path / "second"
    log_dir.mkdir()

    def started():
        return "started services.identity.service:IdentityService" in (log_dir / "identity.log").read_text()
    yield from service_process("identity", "IdentityService",
                               {"AMQP_URI": bus_uri, "MONGO_URI": mongo_uri, "PASSWORD_HASH_PROFILE": "fast",
                                "METRICS_PORT": str(free_port())}, log_dir, started)


def test_a_copy_is_refused_by_another_instance_of_the_service(rpc, bus_uri, mongo_uri, city, identity_service,
                                                              second_identity):
    username, body, headers = _create_account(city)
    answer = raw_call(bus_uri, "identity", "create_account", body, headers)
    assert answer.get("error") is None, answer
    before = _identity_counts(mongo_uri)
    logged = {instance: instance.log_path.stat().st_size for instance in (identity_service, second_identity)}
    for _ in range(8):                                      # the broker hands them to both instances in turn
        again = raw_call(bus_uri, "identity", "create_account", body, headers)
        assert _code(again) == "CALL_REPLAYED", again
    assert _identity_counts(mongo_uri) == before
    for instance, offset in logged.items():                 # each instance refused copies itself
        with open(instance.log_path, "rb") as log:
            log.seek(offset)
            assert b"CALL_REPLAYED" in log.read(), instance.log_path
    assert login(rpc, city.code, username)["roles"]


class Delivered:
    def __init__(self, routing_key, body, headers, redelivered=False):
        self.delivery_info = {"routing_key": routing_key, "redelivered": redelivered}
        self.body, self.headers = body, headers


def test_the_entry_point_refuses_a_copy_before_any_worker_and_runs_a_redelivery(mongo_uri):
    entry = OnceEncodedRpc()
    entry.spawned = []
    entry.container = SimpleNamespace(spawn_worker=lambda *args, **kwargs: entry.spawned.append(args))
    entry.method_name, entry.check_signature = "get_org", lambda args, kwargs: None
    entry.replay_guard = ReplayGuard()
    entry.replay_guard.nonces = _nonces(mongo_uri, f"call_nonces_{uuid.uuid4().hex[:6]}")
    body = encode({"scope": {}, "org_id": "o1"})
    headers = genuine_call_headers("identity.get_org", body)
    entry.handle_message(json.loads(body), Delivered("identity.get_org", body, headers))
    with pytest.raises(Unauthenticated) as refused:
        entry.handle_message(json.loads(body), Delivered("identity.get_org", body, dict(headers)))
    assert refused.value.code == "CALL_REPLAYED" and len(entry.spawned) == 1
    # the broker hands the first message over again (never acknowledged): it runs
    entry.handle_message(json.loads(body), Delivered("identity.get_org", body, headers, redelivered=True))
    assert len(entry.spawned) == 2
