"""The democratic appraisal (民主评议党员) through the real scoring service and store: one vote per member held by
the store against writers racing each other; the roster taken when the appraisal opens; who may see and do what;
the tenant's share of 优秀; no vote kept beside its voter."""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from servicekit.storage.mongo import open_store
from services.scoring import events as published
from services.scoring.store import ScoringStore
from tests.support.identity import PASSWORD, login
from tests.support.scoring import wait_for

pytestmark = pytest.mark.integration
YEAR = "2026"


def closes_in(minutes: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def branch_of_five(rpc, city):
    """A branch of county 1 with five members (each with a login) and its secretary's scope."""
    branch = city.branches[0][0]
    members = [city.add_member(branch, name) for name in ("甲", "乙", "丙", "丁", "戊")]
    scopes = {member["id"]: city.member_login(member, f"int-apr-{n}") for n, member in enumerate(members)}
    rpc.identity.create_account(scope=city.admin, username="int-apr-sec", password=PASSWORD,
                                role="branch_secretary", org_id=branch["id"])
    return {"branch": branch, "members": [m["id"] for m in members], "scopes": scopes,
            "secretary": login(rpc, city.code, "int-apr-sec")}


def choices(voter: str, members: list[str], grade: str = "qualified") -> list[dict]:
    return [{"member_id": m, "grade": grade} for m in members if m != voter]


def test_the_roster_is_taken_when_the_appraisal_opens_and_only_its_members_act(rpc, city, other_city,
                                                                               branch_of_five):
    branch, secretary = branch_of_five["branch"], branch_of_five["secretary"]
    draft = rpc.scoring.create_appraisal(scope=secretary, org_id=branch["id"], year=YEAR, closes_at=closes_in(30))
    assert draft["member_count"] == 5 and draft["state"] == "draft"
    joined = city.add_member(branch, "己")              # joins before the opening: on the roster
    opened = rpc.scoring.open_appraisal(scope=secretary, appraisal_id=draft["id"])
    assert opened["member_count"] == 6 and opened["state"] == "open"
    late = city.add_member(branch, "庚")                # joins after: not on it
    late_scope = city.member_login(late, "int-apr-late")
    with pytest.raises(NotFound) as refused:
        rpc.scoring.get_appraisal(scope=late_scope, appraisal_id=draft["id"])
    assert refused.value.code == "APPRAISAL_NOT_FOUND"
    assert rpc.scoring.list_my_appraisals(scope=late_scope)["total"] == 0
    voter = branch_of_five["members"][0]
    roster = [*branch_of_five["members"], joined["id"]]
    with pytest.raises(InvalidArgument) as refused:          # the latecomer is on no ballot
        rpc.scoring.cast_vote(scope=branch_of_five["scopes"][voter], appraisal_id=draft["id"],
                              choices=[*choices(voter, roster), {"member_id": late["id"], "grade": "qualified"}])
    assert refused.value.code == "NOT_IN_APPRAISAL"

    # out of reach: another city's admin, the neighbour branch's member; a member is not a manager
    neighbour = city.add_member(city.branches[0][1], "邻")
    for scope in (other_city.admin, city.member_login(neighbour, "int-apr-neighbour")):
        with pytest.raises(NotFound) as refused:
            rpc.scoring.get_appraisal(scope=scope, appraisal_id=draft["id"])
        assert (refused.value.code, refused.value.field) == ("APPRAISAL_NOT_FOUND", "appraisal_id")
    with pytest.raises(PermissionDenied) as refused:
        rpc.scoring.decide_appraisal(scope=branch_of_five["scopes"][voter], appraisal_id=draft["id"],
                                     decided_by="committee", grades=[])
    assert refused.value.code == "NOT_APPRAISAL_MANAGER"
    with pytest.raises(PermissionDenied) as refused:       # a manager without a member record does not vote
        rpc.scoring.cast_vote(scope=secretary, appraisal_id=draft["id"], choices=choices("", roster))
    assert refused.value.code == "MEMBER_ONLY"
    # the county admin sees it in its subtree; the branch's member does not list it
    listed = rpc.scoring.list_appraisals(scope=city.county_admins[0], org_id=city.counties[0]["id"], year=YEAR)
    assert [a["id"] for a in listed["appraisals"]] == [draft["id"]]
    with pytest.raises(PermissionDenied) as refused:
        rpc.scoring.list_appraisals(scope=branch_of_five["scopes"][voter], org_id=branch["id"], year="")
    assert refused.value.code == "NOT_ORG_MANAGER"


def test_a_member_racing_itself_votes_once_and_the_store_keeps_no_ballot(rpc, city, branch_of_five):
    branch, members = branch_of_five["branch"], branch_of_five["members"]
    appraisal = rpc.scoring.create_appraisal(scope=branch_of_five["secretary"], org_id=branch["id"], year=YEAR,
                                             closes_at=closes_in(30))["id"]
    rpc.scoring.open_appraisal(scope=branch_of_five["secretary"], appraisal_id=appraisal)
    store = open_store(ScoringStore, "scoring")
    voter = members[0]
    ballot = dict.fromkeys(members[1:], "excellent")
    event = published.VOTE_CAST.build(city.tenant_id, appraisal_id=appraisal, branch_id=branch["id"],
                                      member_id=voter)

    def cast(_):
        try:
            store.cast_vote(appraisal, voter, ballot, {**event, "event_id": f"{event['event_id']}{_}"})
            return "counted"
        except Conflict as refused:
            return refused.code
    with ThreadPoolExecutor(8) as pool:
        outcomes = Counter(pool.map(cast, range(16)))
    assert outcomes == {"counted": 1, "VOTE_EXISTS": 15}
    with pytest.raises(Conflict) as refused:                 # and through the service
        rpc.scoring.cast_vote(scope=branch_of_five["scopes"][voter], appraisal_id=appraisal,
                              choices=choices(voter, members))
    assert refused.value.code == "VOTE_EXISTS"
    tallies = store.tallies(appraisal)
    assert {member: tally.get("excellent", 0) for member, tally in tallies.items()} == {
        voter: 0, **dict.fromkeys(members[1:], 1)}
    assert store.voter_count(appraisal) == 1
    # nothing that names the voter holds a choice, and no choice holds a voter
    assert list(store.db.appraisal_voters.find({"appraisal_id": appraisal})) == [
        {"_id": f"{appraisal}:{voter}", "appraisal_id": appraisal}]
    assert all(voter not in str(doc) or doc["member_id"] == voter for doc in tallies.values())
    outbox = list(store.db.outbox.find({"payload.appraisal_id": appraisal, "routing_key": "vote_cast"}))
    assert len(outbox) == 1 and "excellent" not in str(outbox[0])


def test_the_city_admin_sets_the_share_of_excellent(rpc, city, branch_of_five):
    def set_share():        # the city admin is known to points once identity's tenant_created is consumed
        try:
            return rpc.scoring.set_appraisal_settings(scope=city.admin, excellent_max_ratio=0.5,
                                                      flag_negative_share=0)
        except PermissionDenied:
            return None
    assert wait_for(set_share) == {"excellent_max_ratio": 0.5, "flag_negative_share": 0.3}
    with pytest.raises(InvalidArgument) as refused:
        rpc.scoring.set_appraisal_settings(scope=city.admin, excellent_max_ratio=1.5, flag_negative_share=0)
    assert (refused.value.code, refused.value.field) == ("OUT_OF_RANGE", "excellent_max_ratio")
    with pytest.raises(PermissionDenied) as refused:
        rpc.scoring.set_appraisal_settings(scope=city.county_admins[0], excellent_max_ratio=0.2,
                                           flag_negative_share=0)
    assert refused.value.code == "NOT_CITY_ADMIN"
    draft = rpc.scoring.create_appraisal(scope=branch_of_five["secretary"], org_id=branch_of_five["branch"]["id"],
                                         year=YEAR, closes_at=closes_in(30))
    assert draft["excellent_limit"] == 2                       # five members, at most half
