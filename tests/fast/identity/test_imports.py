"""Imports refuse a caller or a file format before the file is read or anything is written."""
from __future__ import annotations

import pytest

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from tests.fast.identity.fakes import BRANCH, CITY_ADMIN, FOREIGN_ADMIN, SECRETARY, writes_of


def test_an_unknown_format_is_refused_before_the_file_is_read(service, store):
    with pytest.raises(InvalidArgument) as refused:
        service.import_orgs(CITY_ADMIN, parent_id="org_city", format="pdf", content="AAAA")
    assert (refused.value.code, refused.value.field) == ("FILE_FORMAT_UNSUPPORTED", "format")
    assert writes_of(store) == []


def test_a_secretary_may_not_import_organisations(service, store):
    with pytest.raises(PermissionDenied) as refused:
        service.import_orgs(SECRETARY, parent_id=BRANCH["_id"], format="csv", content="AAAA")
    assert refused.value.code == "NOT_ORG_ADMIN"
    assert writes_of(store) == []


def test_members_are_not_imported_into_another_tenant(service, store):
    with pytest.raises(NotFound):
        service.import_members(FOREIGN_ADMIN, org_id="org_city", format="csv", content="AAAA")
    assert writes_of(store) == []
