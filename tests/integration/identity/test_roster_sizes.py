"""identity's branch_roster_sizes in the real process: per branch, the number of members branch_rosters lists
(probationary and full, of the tenant asked), with no names."""
from __future__ import annotations

import pytest
from tests.support.proofs import acting_as

pytestmark = pytest.mark.integration

DEVELOPMENT_TARGET = {"status": "development_target", "status_dates": {
    "applicant": "2020-03-01", "activist": "2021-03-01", "development_target": "2022-03-01"}}
PROBATIONARY = {"status": "probationary", "status_dates": {
    "applicant": "2020-03-01", "activist": "2021-03-01", "development_target": "2022-03-01",
    "probationary": "2023-03-01"}}


def test_sizes_agree_with_the_rosters(rpc, city, other_city):
    first, second, empty = city.branches[0][0], city.branches[0][1], city.branches[1][0]
    for name in ("甲", "乙"):
        city.add_member(first, name)
    city.add_member(first, "丙", **PROBATIONARY)
    city.add_member(first, "丁", **DEVELOPMENT_TARGET)            # not yet a party member: not on the roster
    city.add_member(second, "戊")
    other_city.add_member(other_city.branches[0][0], "己")
    ids = [first["id"], second["id"], empty["id"]]

    with acting_as("content"):                  # peers' operations: they take no caller scope
        sizes = rpc.identity.branch_roster_sizes(tenant_id=city.tenant_id, branch_ids=ids)
        rosters = rpc.identity.branch_rosters(tenant_id=city.tenant_id, branch_ids=ids)
        # another tenant's id asks about another tenant's branch: nothing of it is counted
        elsewhere = rpc.identity.branch_roster_sizes(tenant_id=city.tenant_id,
                                                     branch_ids=[other_city.branches[0][0]["id"]])
    assert sizes == {first["id"]: 3, second["id"]: 1, empty["id"]: 0}
    assert sizes == {branch_id: len(roster) for branch_id, roster in rosters.items()}
    assert elsewhere == {other_city.branches[0][0]["id"]: 0}
