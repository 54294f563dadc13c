"""A lookup by id out of the caller's reach (another city, another county, another branch) answers exactly what an
id that exists nowhere answers: the same error, code, message and field, so no answer tells that it exists."""
from __future__ import annotations

import pytest

from servicekit.errors import ServiceError
from tests.fast.scoring.fakes import FOREIGN_ADMIN, OTHER_BRANCH, TENANT, activity, member, scope

OTHER_COUNTY_ADMIN = scope("org_admin", "org_county2")
OTHER_BRANCH_MEMBER = scope("member", None, member_id="m_9", branch_id=OTHER_BRANCH)
OTHER_BRANCH_SECRETARY = scope("branch_secretary", OTHER_BRANCH, member_id="m_8", branch_id=OTHER_BRANCH)
OUTSIDERS = {"another city's admin": FOREIGN_ADMIN, "another county's admin": OTHER_COUNTY_ADMIN,
             "another branch's member": OTHER_BRANCH_MEMBER, "another branch's secretary": OTHER_BRANCH_SECRETARY}


def answer(call) -> tuple:
    with pytest.raises(ServiceError) as refused:
        call()
    return type(refused.value).__name__, refused.value.code, refused.value.message, refused.value.field


@pytest.mark.parametrize("who", OUTSIDERS)
def test_a_trend_of_a_branch_out_of_reach_answers_like_a_branch_that_does_not_exist(service, store, who):
    store.activities_of_branch.return_value = []
    nowhere = answer(lambda: service.get_trend(scope=OUTSIDERS[who], branch_id="org_nowhere",
                                               month_from="2026-10", month_to="2026-11"))
    store.activities_of_branch.return_value = [activity()]
    elsewhere = answer(lambda: service.get_trend(scope=OUTSIDERS[who], branch_id="org_branch",
                                                 month_from="2026-10", month_to="2026-11"))
    assert elsewhere == nowhere == ("NotFound", "ORG_NOT_FOUND", "组织不存在或不在您的管辖范围内", "branch_id")


def entry(**fields) -> dict:
    return {"_id": "act_1:m_1:attendance", "tenant_id": TENANT, "member_id": "m_1", "category": "attendance",
            "points": 5, "day": "2026-11-20", "cycle": "2026", **fields}


@pytest.mark.parametrize("who", OUTSIDERS)
def test_correcting_an_entry_out_of_reach_answers_like_an_entry_that_does_not_exist(service, points_store, who):
    points_store.ledger_entry.return_value = None
    nowhere = answer(lambda: service.correct_entry(scope=OUTSIDERS[who], entry_id="nowhere", reason="更正"))
    points_store.ledger_entry.return_value = entry()
    points_store.member.return_value = member("m_1")
    elsewhere = answer(lambda: service.correct_entry(scope=OUTSIDERS[who], entry_id=entry()["_id"], reason="更正"))
    assert elsewhere == nowhere == ("NotFound", "ENTRY_NOT_FOUND", "积分记录不存在", "entry_id")
    points_store.add_entry.assert_not_called()


def test_a_member_sees_its_own_entry_but_may_not_correct_it(service, points_store):
    points_store.ledger_entry.return_value = entry()
    points_store.member.return_value = member("m_1")
    own = scope("member", None, member_id="m_1", branch_id="org_branch")
    assert answer(lambda: service.correct_entry(scope=own, entry_id=entry()["_id"], reason="更正"))[:2] == \
        ("PermissionDenied", "NOT_MEMBER_MANAGER")
    points_store.add_entry.assert_not_called()
