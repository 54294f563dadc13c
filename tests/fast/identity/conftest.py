"""The identity service through nameko's ``worker_factory``: a fake store (a MagicMock shaped like the real one, so
a call to anything the store does not have fails), a fixed clock, fake secrets. No broker, no database."""
from __future__ import annotations

from types import SimpleNamespace
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from servicekit.process.clock import FixedClock
from services.identity.service import IdentityService
from services.identity.store import IdentityStore
from tests.fast.identity.fakes import NOW, ORGS, FakeCipher


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store() -> MagicMock:
    store = MagicMock(spec=IdentityStore)
    store.org.side_effect = ORGS.get
    store.orgs_by_ids.side_effect = lambda ids: {i: ORGS[i] for i in ids if i in ORGS}
    store.member.return_value = None
    store.subtree.return_value = []
    store.children.return_value = []
    store.has_members.return_value = False
    store.existing_id_indexes.return_value = set()
    store.pending_transfer_of.return_value = None
    store.account_by_login.return_value = None
    store.tenant_by_code.return_value = None
    return store


@pytest.fixture
def signer() -> MagicMock:
    signer = MagicMock()
    signer.issue.return_value = "token"
    signer.lifetime = 3600
    return signer


@pytest.fixture
def hash_gate() -> MagicMock:
    return MagicMock()


@pytest.fixture
def service(store, clock, signer, hash_gate) -> IdentityService:
    return worker_factory(IdentityService, store=store, clock=clock, hash_gate=hash_gate,
                          secrets=SimpleNamespace(signer=signer, cipher=FakeCipher()))
