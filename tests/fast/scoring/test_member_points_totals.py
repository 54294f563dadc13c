"""member_points_totals: a branch's members' points between two days, for content's role models (internal rpc)."""
from __future__ import annotations

import pytest

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from tests.fast.scoring.fakes import BRANCH, BRANCH_PATH, COUNTY_ADMIN, FOREIGN_ADMIN, MEMBER, SECRETARY, member


def test_the_secretary_gets_each_members_points_of_the_days(service, points_store):
    points_store.members_under.return_value = [member("m_1"), member("m_2"), member("m_3", [*BRANCH_PATH, "grp"])]
    points_store.points_of_members.return_value = {
        "m_1": {"total": 7.333, "by_category": {"attendance": 5, "quiz": 2.333}}}
    answer = service.member_points_totals(scope=SECRETARY, branch_id=BRANCH, since="2026-11-30", until="2026-12-06")
    points_store.members_under.assert_called_once_with(BRANCH, 2)
    # only the branch's own members are asked for (a member of a group below it belongs elsewhere)
    points_store.points_of_members.assert_called_once_with(["m_1", "m_2"], "2026-11-30", "2026-12-06")
    assert answer == {"branch_id": BRANCH, "since": "2026-11-30", "until": "2026-12-06", "members": [
        {"member_id": "m_1", "total": 7.33, "by_category": {"attendance": 5, "quiz": 2.33}}]}


def test_an_admin_above_may_ask_too(service, points_store):
    points_store.members_under.return_value = []
    points_store.points_of_members.return_value = {}
    assert service.member_points_totals(scope=COUNTY_ADMIN, branch_id=BRANCH, since="2026-12-01",
                                        until="2026-12-31")["members"] == []


@pytest.mark.parametrize("scope, error, code", [(MEMBER, PermissionDenied, "NOT_ORG_MANAGER"),
                                                (FOREIGN_ADMIN, NotFound, "ORG_NOT_FOUND")])
def test_members_and_other_tenants_are_refused(service, points_store, scope, error, code):
    with pytest.raises(error) as refused:
        service.member_points_totals(scope=scope, branch_id=BRANCH, since="2026-12-01", until="2026-12-31")
    assert refused.value.code == code
    points_store.points_of_members.assert_not_called()


@pytest.mark.parametrize("since, until, code, field", [
    ("2026-12-1", "2026-12-31", "DATE_INVALID", "since"), ("2026-12-01", "2026-02-30", "DATE_INVALID", "until"),
    ("2026-12-31", "2026-12-01", "RANGE_INVALID", "until"), ("2025-01-01", "2026-12-31", "RANGE_TOO_LONG", "until"),
    (None, "2026-12-31", "DATE_INVALID", "since")])
def test_bad_days_are_refused(service, points_store, since, until, code, field):
    with pytest.raises(InvalidArgument) as refused:
        service.member_points_totals(scope=SECRETARY, branch_id=BRANCH, since=since, until=until)
    assert (refused.value.code, refused.value.field) == (code, field)
    points_store.members_under.assert_not_called()
