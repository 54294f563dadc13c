"""The secretary's talk (诫勉谈话) through the real scoring service: who may record it, for whom, when, once."""
from datetime import date, datetime, timedelta, timezone

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, Rejected
from services.scoring.domain.periods import cycle_of
from tests.support.identity import PASSWORD, login
from tests.support.scoring import today, wait_for
from tests.integration.scoring.test_rankings_points_reconcile import held

pytestmark = pytest.mark.integration
CYCLE = "2026"                      # the themed day of 2026-06 (test_rankings_points_reconcile.MONTH)
HELD_ON = "2026-06-20"
NOTE = "指出其无故缺席主题党日的问题，本人表示接受批评，按时参加组织生活。"


@pytest.fixture
def listed(rpc, city, publisher):
    """A branch of county 1 whose themed day member 0 attended (7 points) and members 1-3 missed (-5 each),
    with the talk threshold at 5: members 1-3 are on the 2026 talk list, member 0 is not. Its secretary's scope."""
    branch = city.branches[0][0]
    day = held(city, publisher, branch, 1)

    def closed():
        try:
            ledger = rpc.scoring.get_ledger(scope=city.admin, member_id=day.members[3], cycle=CYCLE)
        except NotFound:
            return None
        return ledger["entries"]
    wait_for(closed)
    rules = rpc.scoring.get_points_rules(scope=city.admin)

    def lowered():      # the city admin is known to points once identity's tenant_created is consumed
        try:
            return rpc.scoring.set_points_rules(scope=city.admin, rules={**rules, "threshold": 5})
        except PermissionDenied:
            return None
    wait_for(lowered)
    assert rpc.scoring.list_talk_candidates(scope=city.admin, org_id=branch["id"], cycle=CYCLE)["total"] == 3
    username = "branch-sec"
    rpc.identity.create_account(scope=city.admin, username=username, password=PASSWORD, role="branch_secretary",
                                org_id=branch["id"])
    return {"branch": branch, "present": day.members[0], "absent": day.members[1:],
            "secretary": login(rpc, city.code, username)}


def candidates(rpc, scope, org_id):
    return {row["member_id"]: row for row in
            rpc.scoring.list_talk_candidates(scope=scope, org_id=org_id, cycle=CYCLE)["members"]}


def test_the_secretary_records_a_talk_and_the_talk_list_shows_it(rpc, city, listed):
    member = listed["absent"][0]
    before = candidates(rpc, listed["secretary"], listed["branch"]["id"])
    assert set(before) == set(listed["absent"]) and not any(row["talked"] for row in before.values())
    assert all("talk" not in row for row in before.values())

    talk = rpc.scoring.record_talk(scope=listed["secretary"], member_id=member, cycle=CYCLE, held_on=HELD_ON,
                                   note=f"  {NOTE}\r\n下次改正。 ")
    assert talk["member_id"] == member and talk["branch_id"] == listed["branch"]["id"] and talk["cycle"] == CYCLE
    assert talk["held_on"] == HELD_ON and talk["note"] == f"{NOTE}\n下次改正。"
    assert talk["recorded_by"] == listed["secretary"]["account_id"]
    recorded_at = datetime.fromisoformat(talk["recorded_at"].replace("Z", "+00:00"))
    assert abs(datetime.now(timezone.utc) - recorded_at) < timedelta(minutes=5)
    assert (talk["total"], talk["threshold"]) == (-5, 5)

    after = candidates(rpc, city.county_admins[0], listed["branch"]["id"])
    assert after[member]["talked"] and after[member]["talk"] == {"held_on": HELD_ON,
                                                                 "recorded_by": listed["secretary"]["account_id"]}
    assert [row["talked"] for key, row in after.items() if key != member] == [False, False]
    for scope, org_id in ((listed["secretary"], listed["branch"]["id"]), (city.county_admins[0], city.counties[0]["id"]),
                          (city.admin, city.root["id"])):
        talks = rpc.scoring.list_talks(scope=scope, org_id=org_id, cycle=CYCLE)
        assert talks["cycle"] == CYCLE and talks["total"] == 1 and talks["talks"] == [talk]
    assert rpc.scoring.list_talks(scope=city.admin, org_id=city.branches[0][1]["id"], cycle=CYCLE)["total"] == 0
    assert rpc.scoring.list_talks(scope=city.admin, org_id=listed["branch"]["id"], cycle="2025")["total"] == 0


def test_an_admin_above_the_branch_records_a_talk_and_talks_list_newest_first_in_pages(rpc, city, listed):
    first, second, third = listed["absent"]
    rpc.scoring.record_talk(scope=city.county_admins[0], member_id=first, cycle=CYCLE, held_on="2026-06-20", note="一")
    rpc.scoring.record_talk(scope=city.admin, member_id=second, cycle=CYCLE, held_on="2026-07-01", note="二")
    rpc.scoring.record_talk(scope=listed["secretary"], member_id=third, cycle=CYCLE, held_on="2026-06-25", note="三")
    page = rpc.scoring.list_talks(scope=city.admin, org_id=city.root["id"], cycle=CYCLE, page_size=2)
    assert page["total"] == 3 and [talk["note"] for talk in page["talks"]] == ["二", "三"]
    rest = rpc.scoring.list_talks(scope=city.admin, org_id=city.root["id"], cycle=CYCLE, page_size=2,
                                  page_token=page["next_page_token"])
    assert [talk["note"] for talk in rest["talks"]] == ["一"] and rest["next_page_token"] == ""
    assert [talk["recorded_by"] for talk in (page["talks"] + rest["talks"])] == [
        city.admin["account_id"], listed["secretary"]["account_id"], city.county_admins[0]["account_id"]]


def test_the_cycle_defaults_to_the_current_one(rpc, city, listed):
    talk = rpc.scoring.record_talk(scope=listed["secretary"], member_id=listed["absent"][0], held_on=today(),
                                   note=NOTE)
    assert talk["cycle"] == cycle_of(today(), "calendar") and talk["held_on"] == today()


def test_callers_outside_the_members_subtree_or_tenant_are_refused_and_nothing_is_written(
        rpc, city, other_city, listed):
    member = listed["absent"][0]
    other_branch = city.branches[0][1]
    rpc.identity.create_account(scope=city.admin, username="sec-other", password=PASSWORD, role="branch_secretary",
                                org_id=other_branch["id"])
    member_scope = city.member_login({"id": member}, "talk-member")
    refusals = [
        (other_city.admin, NotFound, "MEMBER_NOT_FOUND"),                       # another tenant
        (city.county_admins[1], NotFound, "MEMBER_NOT_FOUND"),                  # another county
        (login(rpc, city.code, "sec-other"), NotFound, "MEMBER_NOT_FOUND"),     # another branch's secretary
        (member_scope, PermissionDenied, "NOT_MEMBER_MANAGER"),                 # the member itself
    ]
    for scope, error, code in refusals:
        with pytest.raises(error) as refused:
            rpc.scoring.record_talk(scope=scope, member_id=member, cycle=CYCLE, held_on=HELD_ON, note=NOTE)
        assert refused.value.code == code, scope["account_id"]
    for scope in (other_city.admin, city.county_admins[1]):
        with pytest.raises(NotFound) as refused:
            rpc.scoring.list_talks(scope=scope, org_id=listed["branch"]["id"], cycle=CYCLE)
        assert refused.value.code == "ORG_NOT_FOUND"
    assert rpc.scoring.list_talks(scope=city.admin, org_id=city.root["id"], cycle=CYCLE)["total"] == 0
    assert not candidates(rpc, city.admin, listed["branch"]["id"])[member]["talked"]


def test_a_secretary_does_not_record_a_talk_with_itself(rpc, city, listed):
    own = listed["absent"][1]
    rpc.identity.create_account(scope=city.admin, username="sec-member", password=PASSWORD, role="branch_secretary",
                                org_id=listed["branch"]["id"], member_id=own, reason="本支部党员任支部书记")
    with pytest.raises(PermissionDenied) as refused:
        rpc.scoring.record_talk(scope=login(rpc, city.code, "sec-member"), member_id=own, cycle=CYCLE,
                                held_on=HELD_ON, note=NOTE)
    assert refused.value.code == "OWN_TALK"
    assert rpc.scoring.record_talk(scope=city.county_admins[0], member_id=own, cycle=CYCLE, held_on=HELD_ON,
                                   note=NOTE)["member_id"] == own


def test_a_member_not_on_the_cycles_talk_list_is_refused(rpc, city, listed):
    with pytest.raises(Rejected) as refused:
        rpc.scoring.record_talk(scope=listed["secretary"], member_id=listed["present"], cycle=CYCLE,
                                held_on=HELD_ON, note=NOTE)
    assert (refused.value.code, refused.value.field) == ("NOT_ON_TALK_LIST", "member_id")
    assert "7" in refused.value.message and "5" in refused.value.message
    assert rpc.scoring.list_talks(scope=city.admin, org_id=city.root["id"], cycle=CYCLE)["total"] == 0


def test_a_second_talk_of_the_same_member_and_cycle_is_refused_and_the_first_kept(rpc, city, listed):
    member = listed["absent"][0]
    first = rpc.scoring.record_talk(scope=listed["secretary"], member_id=member, cycle=CYCLE, held_on=HELD_ON,
                                    note=NOTE)
    for scope in (listed["secretary"], city.admin):
        with pytest.raises(Conflict) as refused:
            rpc.scoring.record_talk(scope=scope, member_id=member, cycle=CYCLE, held_on="2026-07-01", note="再谈一次")
        assert refused.value.code == "TALK_EXISTS"
    assert rpc.scoring.list_talks(scope=city.admin, org_id=city.root["id"], cycle=CYCLE)["talks"] == [first]
    # another cycle is another listing: the member (no points in 2025, so below 5) may be talked to for it
    earlier = rpc.scoring.record_talk(scope=listed["secretary"], member_id=member, cycle="2025",
                                      held_on="2025-12-30", note=NOTE)
    assert (earlier["cycle"], earlier["total"]) == ("2025", 0)


def test_bad_input_is_refused_with_its_code_and_writes_nothing(rpc, city, listed):
    member = listed["absent"][0]
    tomorrow = (date.fromisoformat(today()) + timedelta(days=1)).isoformat()
    cases = [
        ({"held_on": tomorrow}, "DATE_IN_FUTURE", "held_on"),
        ({"held_on": "2025-12-31"}, "DATE_BEFORE_CYCLE", "held_on"),
        ({"held_on": "2026-02-30"}, "DATE_INVALID", "held_on"),
        ({"held_on": ""}, "REQUIRED", "held_on"),
        ({"note": "   "}, "REQUIRED", "note"),
        ({"note": "谈" * 2001}, "TOO_LONG", "note"),
        ({"note": "谈话\x00内容"}, "CONTROL_CHARACTERS", "note"),
        ({"note": 42}, "INVALID_TYPE", "note"),
        ({"cycle": "2026-2028"}, "CYCLE_INVALID", "cycle"),
        ({"member_id": ""}, "REQUIRED", "member_id"),
    ]
    for change, code, field in cases:
        request = {"member_id": member, "cycle": CYCLE, "held_on": HELD_ON, "note": NOTE, **change}
        with pytest.raises(InvalidArgument) as refused:
            rpc.scoring.record_talk(scope=listed["secretary"], **request)
        assert (refused.value.code, refused.value.field) == (code, field), change
    assert rpc.scoring.list_talks(scope=city.admin, org_id=city.root["id"], cycle=CYCLE)["total"] == 0
    assert not any(row["talked"] for row in candidates(rpc, city.admin, listed["branch"]["id"]).values())
