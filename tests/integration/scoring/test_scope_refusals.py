"""Every scoring operation of the gateway's table refuses callers outside its tenant or subtree, and callers whose
role does not allow it, with its code; what it refuses, it leaves as it was; and an object out of reach answers
exactly as an id that exists nowhere."""
from __future__ import annotations

import pytest

from gateway.operations import SCORING
from servicekit.errors import NotFound, PermissionDenied, ServiceError
from tests.integration.scoring.test_rankings_points_reconcile import MONTH, held
from tests.support.identity import PASSWORD, login
from tests.support.refusals import refused_by, refusal_table
from tests.support.scoring import wait_for

pytestmark = pytest.mark.integration

CYCLE = MONTH[:4]
# operations with no object of another tenant or subtree to point at: they read or write the caller's own tenant
OWN_TENANT_ONLY = {"get_points_rules", "set_points_rules"}
NOWHERE = {"activity": "act_nowhere", "org": "org_nowhere", "branch": "org_nowhere", "member": "mem_nowhere",
           "entry": "nowhere:entry"}


def calls(target: dict) -> dict[str, tuple[dict, str]]:
    """Each operation's arguments naming the target's objects, and the code refusing a caller out of reach."""
    org = target["org"]
    return {
        "get_branch_score": (dict(activity_id=target["activity"]), "ACTIVITY_NOT_FOUND"),
        "rate_activity": (dict(activity_id=target["activity"], rating=95, comment="越权"), "ACTIVITY_NOT_FOUND"),
        "get_ranking": (dict(org_id=org, period=MONTH), "ORG_NOT_FOUND"),
        "get_progress": (dict(org_id=org, period=MONTH), "ORG_NOT_FOUND"),
        "get_trend": (dict(branch_id=target["branch"], month_from="2026-05", month_to=MONTH), "ORG_NOT_FOUND"),
        "compare_orgs": (dict(org_ids=[org], period=MONTH), "ORG_NOT_FOUND"),
        "spot_check": (dict(org_id=org, month=MONTH, sample_size=2, seed=7), "ORG_NOT_FOUND"),
        "supervision_list": (dict(org_id=org, month=MONTH), "ORG_NOT_FOUND"),
        "quarterly_bulletin": (dict(org_id=org, quarter="2026-Q2"), "ORG_NOT_FOUND"),
        "annual_assessment": (dict(org_id=org, year=CYCLE), "ORG_NOT_FOUND"),
        "export_report": (dict(org_id=org, kind="bulletin", period="2026-Q2"), "ORG_NOT_FOUND"),
        "reconcile": (dict(org_id=org, period=MONTH), "ORG_NOT_FOUND"),
        "get_ledger": (dict(member_id=target["member"], cycle=CYCLE), "MEMBER_NOT_FOUND"),
        "add_deduction": (dict(member_id=target["member"], code="LATE_DUES", reason="越权"), "MEMBER_NOT_FOUND"),
        "correct_entry": (dict(entry_id=target["entry"], reason="越权"), "ENTRY_NOT_FOUND"),
        "list_talk_candidates": (dict(org_id=org, cycle=CYCLE), "ORG_NOT_FOUND"),
        "record_talk": (dict(member_id=target["member"], cycle=CYCLE, held_on=f"{MONTH}-20", note="越权谈话"),
                        "MEMBER_NOT_FOUND"),
        "list_talks": (dict(org_id=org, cycle=CYCLE), "ORG_NOT_FOUND"),
    }


@pytest.fixture
def world(rpc, city, other_city, publisher):
    """County 1's first branch held its themed day (members 0-1 present, 2-3 absent) and member 0 has a deduction;
    logins of that branch's member 0 and secretary, of the other branch's member and secretary, and of another
    city's admin and member."""
    branch, neighbour = city.branches[0]
    day = held(city, publisher, branch, 2)

    def ledgers():
        try:
            found = [rpc.scoring.get_ledger(scope=city.admin, member_id=member, cycle=CYCLE)["entries"]
                     for member in day.members]
        except NotFound:
            return None
        return [len(entries) for entries in found] == [2, 2, 1, 1]
    wait_for(ledgers)

    def scored():
        try:
            return rpc.scoring.get_branch_score(scope=city.admin, activity_id=day.activity_id)["final"]
        except NotFound:
            return None
    wait_for(scored)
    deducted = rpc.scoring.add_deduction(scope=city.admin, member_id=day.members[0], code="LATE_DUES",
                                         reason="三个月未交")
    for username, org in (("sec-own", branch), ("sec-next", neighbour)):
        rpc.identity.create_account(scope=city.admin, username=username, password=PASSWORD, role="branch_secretary",
                                    org_id=org["id"])
    other_member = other_city.add_member(other_city.branches[0][0], "外市党员")
    return {
        "city": city, "day": day, "branch": branch, "neighbour": neighbour,
        "target": {"activity": day.activity_id, "org": branch["id"], "branch": branch["id"],
                   "member": day.members[0], "entry": deducted["id"]},
        "member": city.member_login({"id": day.members[0]}, "own-member"),
        "secretary": login(rpc, city.code, "sec-own"),
        "outsiders": {
            "another city's admin": other_city.admin,
            "another city's member": other_city.member_login(other_member, "outsider"),
            "another county's admin": city.county_admins[1],
            "another branch's member": city.member_login(city.add_member(neighbour, "邻支部党员"), "next-member"),
            "another branch's secretary": login(rpc, city.code, "sec-next"),
        },
    }


def state(rpc, world) -> dict:
    """What the refused operations could change, read by the city's admin."""
    city, day = world["city"], world["day"]
    return {
        "score": rpc.scoring.get_branch_score(scope=city.admin, activity_id=day.activity_id),
        "ledgers": [rpc.scoring.get_ledger(scope=city.admin, member_id=member, cycle=CYCLE)
                    for member in day.members],
        "rules": rpc.scoring.get_points_rules(scope=city.admin),
        "talks": rpc.scoring.list_talks(scope=city.admin, org_id=city.root["id"], cycle=CYCLE),
    }


def refusal(rpc, scope: dict, method: str, kwargs: dict) -> ServiceError:
    return refused_by(lambda: getattr(rpc.scoring, method)(scope=scope, **kwargs), ServiceError)


def test_the_refusal_table_covers_every_scoring_operation_of_the_gateway():
    assert {operation.method for operation in SCORING} == set(calls(NOWHERE)) | OWN_TENANT_ONLY


def test_every_operation_refuses_other_tenants_counties_and_branches_and_changes_nothing(rpc, world):
    before = state(rpc, world)
    refusal_table(world["outsiders"], calls(world["target"]), lambda *call: refusal(rpc, *call), NotFound)
    assert state(rpc, world) == before


def test_an_object_out_of_reach_answers_exactly_like_an_id_that_exists_nowhere(rpc, world):
    """Code, message and field alike, for a branch with a themed day and an organisation without one (which
    scoring asks identity to place)."""
    city, neighbour = world["city"], world["neighbour"]
    for who, scope in world["outsiders"].items():
        # an organisation with no themed day that is out of this caller's reach too
        empty = city.counties[1]["id"] if "branch" in who else neighbour["id"]
        nowhere = {method: refusal(rpc, scope, method, kwargs) for method, (kwargs, _) in calls(NOWHERE).items()}
        for target in (world["target"], {**world["target"], "org": empty, "branch": empty}):
            for method, (kwargs, _) in calls(target).items():
                refused, expected = refusal(rpc, scope, method, kwargs), nowhere[method]
                assert (type(refused), refused.code, refused.message, refused.field) == \
                    (type(expected), expected.code, expected.message, expected.field), (who, method, target)


def test_a_member_and_a_secretary_cannot_do_their_superiors_work_and_change_nothing(rpc, world):
    city, day, branch = world["city"], world["day"], world["branch"]
    member, secretary = world["member"], world["secretary"]
    own = calls(world["target"])                # the target member is the member itself
    rules = rpc.scoring.get_points_rules(scope=city.admin)
    before = state(rpc, world)
    forbidden = [
        (member, "rate_activity", own["rate_activity"][0], "NOT_SUPERIOR"),
        (secretary, "rate_activity", own["rate_activity"][0], "NOT_SUPERIOR"),
        (city.county_admins[0], "set_points_rules", dict(rules={**rules, "threshold": 1}), "NOT_CITY_ADMIN"),
        (secretary, "set_points_rules", dict(rules={**rules, "threshold": 1}), "NOT_CITY_ADMIN"),
        (member, "set_points_rules", dict(rules={**rules, "threshold": 1}), "NOT_CITY_ADMIN"),
        (member, "add_deduction", own["add_deduction"][0], "NOT_MEMBER_MANAGER"),       # its own points
        (member, "correct_entry", own["correct_entry"][0], "NOT_MEMBER_MANAGER"),       # its own entry
        (member, "record_talk", own["record_talk"][0], "NOT_MEMBER_MANAGER"),
    ]
    # the branch's rankings, reports, reconciliation and talk lists are its managers', not its members'
    forbidden += [(member, method, kwargs, "NOT_ORG_MANAGER")
                  for method, (kwargs, code) in own.items() if code == "ORG_NOT_FOUND" and method != "get_trend"]
    for scope, method, kwargs, code in forbidden:
        refused = refusal(rpc, scope, method, kwargs)
        assert (type(refused), refused.code) == (PermissionDenied, code), (method, refused)
    # another member of the same branch is out of a member's reach altogether
    for method in ("get_ledger", "add_deduction", "record_talk"):
        refused = refusal(rpc, member, method, {**own[method][0], "member_id": day.members[1]})
        assert (type(refused), refused.code) == (NotFound, "MEMBER_NOT_FOUND"), method
    assert state(rpc, world) == before
    # what the member may do: its own branch's score and trend and its own ledger
    assert rpc.scoring.get_branch_score(scope=member, activity_id=day.activity_id)["branch_id"] == branch["id"]
    assert rpc.scoring.get_trend(scope=member, branch_id=branch["id"], month_from=MONTH, month_to=MONTH)["points"]
    assert rpc.scoring.get_ledger(scope=member, cycle=CYCLE)["member_id"] == day.members[0]
