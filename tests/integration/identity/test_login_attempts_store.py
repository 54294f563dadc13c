"""The login attempt counters on the real store: each attempt counted once, however many run at once."""
from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest

from servicekit.storage.mongo import open_store
from services.identity.domain import throttle
from services.identity.domain.throttle import Rule
from services.identity.store import IdentityStore

pytestmark = pytest.mark.integration
NOW = 1_900_000_000.0
RULE = Rule("test", free=5, base=60.0, cap=600.0, forget=3600.0)


@pytest.fixture
def store(mongo_uri):
    store = open_store(IdentityStore, f"throttle{secrets.token_hex(4)}", mongo_uri)
    yield store
    store.client.drop_database(store.db.name)


def counter(name: str = "a") -> throttle.Counter:
    return throttle.Counter(f"counter-{name}", RULE)


def counted(store, which: throttle.Counter) -> int:
    held = store.db.login_attempts.find_one({"_id": which.id})
    return held["counted"] if held else 0


def test_parallel_attempts_are_each_counted_and_only_the_free_ones_pass(store):
    which = counter()
    with ThreadPoolExecutor(max_workers=12) as pool:
        waits = list(pool.map(lambda _: store.take_login_attempt(which, NOW), range(40)))
    assert sum(1 for waiting in waits if waiting == 0) == RULE.free
    assert all(waiting > 0 for waiting in waits if waiting)
    assert counted(store, which) == RULE.free


def test_a_refused_attempt_writes_nothing_and_the_wait_runs_from_the_last_counted(store):
    which = counter()
    for _ in range(RULE.free):
        assert store.take_login_attempt(which, NOW) == 0
    version = store.db.login_attempts.find_one({"_id": which.id})["version"]
    assert store.take_login_attempt(which, NOW + 10) == pytest.approx(50)
    assert store.db.login_attempts.find_one({"_id": which.id})["version"] == version
    assert store.take_login_attempt(which, NOW + 60) == 0
    assert counted(store, which) == RULE.free + 1


def test_an_attempt_given_back_or_cleared_no_longer_counts(store):
    given, cleared = counter("given"), counter("cleared")
    for _ in range(RULE.free):
        store.take_login_attempt(given, NOW)
        store.take_login_attempt(cleared, NOW)
    store.give_back_login_attempt(given)
    store.clear_login_attempts(cleared)
    assert store.take_login_attempt(given, NOW) == 0
    assert counted(store, cleared) == 0


def test_forgotten_counters_are_deleted_and_the_others_kept(store):
    old, recent = counter("old"), counter("recent")
    store.take_login_attempt(old, NOW)
    store.take_login_attempt(recent, NOW + 1000)
    assert store.forget_login_attempts(NOW + RULE.forget) == 1
    assert counted(store, old) == 0 and counted(store, recent) == 1
