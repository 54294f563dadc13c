"""Integration tier: the identity service as a real process on the real broker and store."""
from __future__ import annotations

import pytest

from tests.support.identity import City


@pytest.fixture
def city(rpc, operator_scope):
    return City(rpc, operator_scope)


@pytest.fixture
def other_city(rpc, operator_scope):
    return City(rpc, operator_scope)
