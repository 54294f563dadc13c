"""Identity's stores for the integration tests here: the running service's own database, and a database of a
test's own."""
from __future__ import annotations

import secrets

import pytest

from servicekit.storage.mongo import open_store
from services.identity.store import IdentityStore


@pytest.fixture(scope="module")
def identity_store(identity_service, mongo_uri) -> IdentityStore:
    """The database the running identity service writes: what its calls stored, read or arranged directly."""
    return open_store(IdentityStore, "identity", mongo_uri)


@pytest.fixture
def scratch_store(mongo_uri):
    """An identity store on a database of the test's own, dropped after it (no service reads it)."""
    store = open_store(IdentityStore, f"scratch{secrets.token_hex(4)}", mongo_uri)
    yield store
    store.client.drop_database(store.db.name)
