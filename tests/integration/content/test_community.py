"""Role models, development publicity and the mailbox in the real content process: identity's status event opens
one publicity (a replay none), objections stay with the superior, anonymous letters hide the author from the
secretary, a named role model is published; other counties and tenants see none of it."""
from __future__ import annotations

import uuid

import pytest

from servicekit.errors import NotFound, PermissionDenied
from services.identity import events as identity_events
from tests.support.identity import PASSWORD, login
from tests.support.replay import replaying
from tests.support.scoring import today, wait_for

ACTIVIST = {"status": "activist", "status_dates": {"applicant": "2020-03-01", "activist": "2021-03-01"}}


@pytest.fixture
def replayer(mongo_uri, bus_uri):
    yield from replaying("identity", mongo_uri, bus_uri)


def secretary_of(rpc, city, branch: dict) -> dict:
    username = f"sec{uuid.uuid4().hex[:6]}"
    rpc.identity.create_account(scope=city.admin, username=username, password=PASSWORD, role="branch_secretary",
                                org_id=branch["id"])
    return login(rpc, city.code, username)


def publicities_of(rpc, city, committee: dict) -> list[dict]:
    return rpc.content.list_publicities(scope=city.admin, org_id=committee["id"])["publicities"]


def test_a_step_opens_one_publicity_and_a_replay_none(rpc, city, other_city, replayer):
    committee, branch = city.committees[0], city.branches[0][0]
    member = city.add_member(branch, "钱发展", **ACTIVIST)
    rpc.identity.change_member_status(scope=city.admin, member_id=member["id"], status="development_target",
                                      on=today())
    [opened] = wait_for(lambda: publicities_of(rpc, city, committee))
    assert (opened["member_name"], opened["org_id"], opened["step"], opened["state"], opened["opens_on"]) == \
        ("钱发展", committee["id"], "development_target", "open", today())
    notice = rpc.content.get_item(scope=city.admin, item_id=opened["item_id"])
    assert notice["title"] == "关于钱发展同志拟确定为发展对象的公示"

    # the same event twice more, then another member's step: once that one is open, the replays were consumed
    replayed = identity_events.MEMBER_STATUS_CHANGED.build(
        city.tenant_id, member_id=member["id"], branch_id=branch["id"], old_status="activist",
        new_status="development_target", on=today())
    second = city.add_member(branch, "孙预备", status="development_target", status_dates={
        "applicant": "2020-03-01", "activist": "2021-03-01", "development_target": "2022-03-01"})
    marker = identity_events.MEMBER_STATUS_CHANGED.build(
        city.tenant_id, member_id=second["id"], branch_id=branch["id"], old_status="development_target",
        new_status="probationary", on=today())
    replayer.publish(replayed, replayed, marker)
    wait_for(lambda: len(publicities_of(rpc, city, committee)) >= 3)
    listed = publicities_of(rpc, city, committee)
    assert sorted(p["member_name"] for p in listed) == ["孙预备", "钱发展", "钱发展"]
    assert sum(p["id"] == f"pub_{replayed['event_id']}" for p in listed) == 1

    # objections: a member of the branch, anonymously; the superior sees who; another county and city see nothing
    objector = city.member_login(city.add_member(branch, "周党员"), f"m{uuid.uuid4().hex[:6]}")
    rpc.content.object_to_publicity(scope=objector, publicity_id=opened["id"], reason="请核实其工作表现。",
                                    anonymous=True)
    [objection] = rpc.content.list_objections(scope=city.county_admins[0], publicity_id=opened["id"])["objections"]
    assert (objection["anonymous"], objection["account_id"]) == (True, objector["account_id"])
    for outsider in (city.county_admins[1], other_city.admin):
        with pytest.raises(NotFound):
            rpc.content.list_objections(scope=outsider, publicity_id=opened["id"])
        with pytest.raises(NotFound):
            rpc.content.get_publicity(scope=outsider, publicity_id=opened["id"])
    with pytest.raises(PermissionDenied):
        rpc.content.list_objections(scope=secretary_of(rpc, city, branch), publicity_id=opened["id"])
    handled = rpc.content.handle_objection(scope=city.county_admins[0], objection_id=objection["id"],
                                           outcome="dismissed", note="经核实，反映情况不属实。")
    assert handled["outcome"] == "dismissed"
    assert rpc.content.get_publicity(scope=city.admin, publicity_id=opened["id"])["pending_objections"] == 0

    # a sustained objection suspends the other publicity, and its notice says so in a new version
    [suspended] = [p for p in listed if p["member_name"] == "孙预备"]
    sustained = rpc.content.object_to_publicity(scope=objector, publicity_id=suspended["id"], reason="情况属实。",
                                                anonymous=False, name="周党员")
    rpc.content.handle_objection(scope=city.county_admins[0], objection_id=sustained["id"], outcome="sustained",
                                 note="经核实属实。")
    assert rpc.content.get_publicity(scope=city.admin, publicity_id=suspended["id"])["state"] == "suspended"
    notice = rpc.content.get_item(scope=city.admin, item_id=suspended["item_id"])
    assert notice["version"] == 2
    assert notice["body"].splitlines()[-1].endswith("公示期间反映的问题经核实成立，本公示中止，发展程序暂停。")


def test_an_anonymous_letter_hides_its_author_from_the_secretary_only(rpc, city, other_city):
    branch = city.branches[1][0]
    writer = city.member_login(city.add_member(branch, "吴写信"), f"m{uuid.uuid4().hex[:6]}")
    secretary = secretary_of(rpc, city, branch)
    letter = rpc.content.write_letter(scope=writer, to_kind="branch", subject="意见", body="希望多组织志愿服务。",
                                      anonymous=True)
    seen = rpc.content.get_letter(scope=secretary, letter_id=letter["id"])
    assert "author" not in seen and "吴写信" not in str(seen)
    assert rpc.content.list_letters(scope=secretary, org_id=branch["id"])["letters"][0]["id"] == letter["id"]
    assert rpc.content.get_letter(scope=city.county_admins[1], letter_id=letter["id"])["author"]["name"] == "吴写信"
    for outsider in (city.county_admins[0], other_city.admin):
        with pytest.raises(NotFound):
            rpc.content.get_letter(scope=outsider, letter_id=letter["id"])
    to_superior = rpc.content.write_letter(scope=writer, to_kind="superior", subject="反映", body="情况说明。")
    with pytest.raises(NotFound):
        rpc.content.get_letter(scope=secretary, letter_id=to_superior["id"])
    rpc.content.answer_letter(scope=secretary, letter_id=letter["id"], answer="感谢建议，下月安排。")
    mine = rpc.content.list_my_letters(scope=writer)["letters"]
    assert [(row["subject"], row["state"], row["answer"]) for row in mine] == \
        [("反映", "open", ""), ("意见", "answered", "感谢建议，下月安排。")]


def test_a_named_role_model_is_published_in_the_branch_and_county_columns(rpc, city, other_city, scoring_service):
    branch, county = city.branches[0][1], city.counties[0]
    star = city.add_member(branch, "郑先锋")
    secretary = secretary_of(rpc, city, branch)
    proposal = rpc.content.propose_role_models(scope=secretary, branch_id=branch["id"], kind="monthly_star")
    assert proposal["basis"] == "points" and proposal["candidates"] == []      # no points this month yet
    named = rpc.content.name_role_model(scope=secretary, branch_id=branch["id"], kind="monthly_star",
                                        member_id=star["id"], citation="带头参加志愿服务。")
    assert (named["member_name"], named["published"], len(named["item_ids"])) == ("郑先锋", True, 2)
    branch_item, county_item = (rpc.content.get_item(scope=city.admin, item_id=item_id)
                                for item_id in named["item_ids"])
    assert "郑先锋" in branch_item["title"] and county_item["title"] == branch_item["title"]
    assert [row["id"] for row in rpc.content.list_role_models(scope=city.county_admins[0], org_id=county["id"])[
        "role_models"]] == [named["id"]]
    for outsider in (city.county_admins[1], other_city.admin):
        with pytest.raises(NotFound):
            rpc.content.propose_role_models(scope=outsider, branch_id=branch["id"], kind="monthly_star")
