"""Identity's transfer and import operations refuse callers outside their tenant or subtree, and callers whose role
does not allow them, with their code; what they refuse, they leave as it was; and an object out of reach answers
exactly as an id that exists nowhere."""
from __future__ import annotations

import base64

import pytest

from gateway.operations import IDENTITY
from servicekit.errors import NotFound, PermissionDenied, ServiceError
from tests.support.identity import PASSWORD, login, member_fields
from tests.support.refusals import refused_by, refusal_table

pytestmark = pytest.mark.integration

NOWHERE = {"member": "mem_nowhere", "transfer": "trf_nowhere", "org": "org_nowhere", "branch": "org_nowhere",
           "to_branch": "org_nowhere"}


def csv(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def calls(target: dict) -> dict[str, tuple[dict, str]]:
    """Each transfer and import operation's arguments naming the target's objects, and the code refusing a caller
    out of reach."""
    member_row = member_fields(target["branch"], "越权导入")
    members_file = ("branch_ref,name,gender,birth_date,id_number,phone,education,status,full_on,enrolment,mobile\n"
                    f"{target['branch']},越权导入,男,{member_row['birth_date']},{member_row['id_number']},"
                    "13800138000,本科,full,2018-07-01,none,false\n")
    return {
        "request_transfer": (dict(member_id=target["member"], to_branch_id=target["to_branch"], reason="越权"),
                             "MEMBER_NOT_FOUND"),
        "accept_transfer": (dict(transfer_id=target["transfer"]), "TRANSFER_NOT_FOUND"),
        "reject_transfer": (dict(transfer_id=target["transfer"], reason="越权"), "TRANSFER_NOT_FOUND"),
        "list_transfers": (dict(org_id=target["org"], side="outgoing", state="pending"), "ORG_NOT_FOUND"),
        "import_orgs": (dict(parent_id=target["org"], format="csv",
                             content=csv("ref,parent_ref,name,kind,category,field\nc1,,越权党委,committee,street,\n")),
                        "ORG_NOT_FOUND"),
        "import_members": (dict(org_id=target["org"], format="csv", content=csv(members_file)), "ORG_NOT_FOUND"),
    }


@pytest.fixture
def world(rpc, city, other_city):
    """In county 1: a member with a pending transfer between its two branches and another member with none; logins
    of a member and the secretary of the sending branch, of a member and the secretary of a branch of county 2, and
    of another city's admin and member."""
    sending, receiving = city.branches[0]
    far = city.branches[1][0]
    moving, staying = city.add_member(sending, "转出者"), city.add_member(sending, "留下者")
    transfer = rpc.identity.request_transfer(scope=city.admin, member_id=moving["id"], to_branch_id=receiving["id"],
                                             reason="工作调动")
    for username, org in (("sec-sending", sending), ("sec-far", far)):
        rpc.identity.create_account(scope=city.admin, username=username, password=PASSWORD, role="branch_secretary",
                                    org_id=org["id"])
    return {
        "city": city, "moving": moving, "staying": staying, "transfer": transfer, "sending": sending,
        "receiving": receiving, "other_city": other_city,
        "target": {"member": staying["id"], "transfer": transfer["id"], "org": city.counties[0]["id"],
                   "branch": sending["id"], "to_branch": receiving["id"]},
        "member": city.member_login(staying, "own-member"),
        "secretary": login(rpc, city.code, "sec-sending"),
        "outsiders": {
            "another city's admin": other_city.admin,
            "another city's member": other_city.member_login(other_city.add_member(other_city.branches[0][0]),
                                                             "outsider"),
            "another county's admin": city.county_admins[1],
            "another county's branch member": city.member_login(city.add_member(far, "远支部党员"), "far-member"),
            "another county's branch secretary": login(rpc, city.code, "sec-far"),
        },
    }


def state(rpc, world) -> dict:
    """What the refused operations could change, read by the city's admin."""
    city = world["city"]
    county = city.counties[0]["id"]
    return {
        "members": [(m["id"], m["branch_id"]) for m in rpc.identity.list_members(scope=city.admin, org_id=county,
                                                                                  page_size=100)["members"]],
        "orgs": [org["id"] for org in rpc.identity.list_subtree(scope=city.admin, org_id=county,
                                                                page_size=100)["orgs"]],
        "transfers": [rpc.identity.list_transfers(scope=city.admin, org_id=county, side=side, state=state_,
                                                  page_size=100)["transfers"]
                      for side in ("outgoing", "incoming") for state_ in ("pending", "done")],
    }


def refusal(rpc, scope: dict, method: str, kwargs: dict) -> ServiceError:
    return refused_by(lambda: getattr(rpc.identity, method)(scope=scope, **kwargs), ServiceError)


def test_the_refusal_table_covers_every_transfer_and_import_operation_of_the_gateway():
    assert {op.method for op in IDENTITY if "transfer" in op.method or "import" in op.method} == set(calls(NOWHERE))


def test_every_transfer_and_import_refuses_other_tenants_counties_and_branches_and_changes_nothing(rpc, world):
    before = state(rpc, world)
    refusal_table(world["outsiders"], calls(world["target"]), lambda *call: refusal(rpc, *call), NotFound)
    assert state(rpc, world) == before


def test_an_object_out_of_reach_answers_exactly_like_an_id_that_exists_nowhere(rpc, world):
    for who, scope in world["outsiders"].items():
        for method, (kwargs, _) in calls(world["target"]).items():
            refused, expected = refusal(rpc, scope, method, kwargs), refusal(rpc, scope, method, calls(NOWHERE)[method][0])
            assert (type(refused), refused.code, refused.message, refused.field) == \
                (type(expected), expected.code, expected.message, expected.field), (who, method)
    # the receiving branch of a transfer: another city's answers like one that exists nowhere
    city, other_city = world["city"], world["other_city"]
    answers = [refusal(rpc, city.admin, "request_transfer", dict(member_id=world["staying"]["id"], to_branch_id=to))
               for to in (other_city.branches[0][0]["id"], "org_nowhere")]
    assert len({(type(a), a.code, a.message, a.field) for a in answers}) == 1
    assert answers[0].code == "BRANCH_NOT_FOUND"


def test_a_member_and_a_secretary_cannot_do_their_superiors_work_and_change_nothing(rpc, world):
    member, secretary, sending = world["member"], world["secretary"], world["sending"]
    own_branch = {**world["target"], "org": sending["id"]}
    own = calls(own_branch)
    before = state(rpc, world)
    forbidden = [
        (member, "request_transfer", {**own["request_transfer"][0], "member_id": world["staying"]["id"]},
         PermissionDenied, "NOT_MEMBER_MANAGER"),                               # itself
        (member, "request_transfer", {**own["request_transfer"][0], "member_id": world["moving"]["id"]},
         NotFound, "MEMBER_NOT_FOUND"),                                         # a fellow member
        (member, "accept_transfer", own["accept_transfer"][0], NotFound, "TRANSFER_NOT_FOUND"),
        (member, "reject_transfer", own["reject_transfer"][0], NotFound, "TRANSFER_NOT_FOUND"),
        (member, "list_transfers", own["list_transfers"][0], PermissionDenied, "NOT_ORG_MANAGER"),
        (member, "import_members", own["import_members"][0], PermissionDenied, "NOT_ORG_MANAGER"),
        (member, "import_orgs", own["import_orgs"][0], NotFound, "ORG_NOT_FOUND"),
        # the sending branch's secretary sees the transfer but only the receiving side decides it
        (secretary, "accept_transfer", own["accept_transfer"][0], PermissionDenied, "NOT_RECEIVING_SIDE"),
        (secretary, "reject_transfer", own["reject_transfer"][0], PermissionDenied, "NOT_RECEIVING_SIDE"),
        (secretary, "import_orgs", own["import_orgs"][0], PermissionDenied, "NOT_ORG_ADMIN"),
    ]
    for scope, method, kwargs, error, code in forbidden:
        refused = refusal(rpc, scope, method, kwargs)
        assert (type(refused), refused.code) == (error, code), (method, refused)
    assert state(rpc, world) == before
    # what the secretary may do: list its branch's transfers
    listed = rpc.identity.list_transfers(scope=secretary, org_id=sending["id"], side="outgoing", state="pending")
    assert [t["id"] for t in listed["transfers"]] == [world["transfer"]["id"]]
