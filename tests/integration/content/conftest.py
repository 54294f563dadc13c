"""Content integration tier: identity and content as real processes on the real broker and store."""
from __future__ import annotations

import pytest

from tests.support.identity import City


@pytest.fixture
def city(rpc, operator_scope, content_service):
    return City(rpc, operator_scope)


@pytest.fixture
def other_city(rpc, operator_scope, content_service):
    return City(rpc, operator_scope)
