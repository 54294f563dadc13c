"""Development publicity (发展党员公示): opened once per identity event, objections by those who see the notice,
handled by the superior's admins, closed after the last day or suspended by a sustained objection."""
from __future__ import annotations

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from services.content.usecases.community import Publicities
from services.identity import events as identity_events
from tests.fast.content.fakes import (BRANCH, BRANCH_B, CITY_ADMIN, COUNTY, COUNTY_ADMIN, FOREIGN_ADMIN, MEMBER,
                                      OTHER_COUNTY_ADMIN, OTHER_MEMBER, SECRETARY, TENANT)


def status_changed(new_status="development_target", member_id="m_2", branch_id=BRANCH, old_status="activist"):
    return identity_events.MEMBER_STATUS_CHANGED.build(TENANT, member_id=member_id, branch_id=branch_id,
                                                       old_status=old_status, new_status=new_status, on="2026-12-05")


@pytest.fixture
def publicities(community_store, clock, community_identity) -> Publicities:
    """The use case as the event consumer builds it (no org-path cache, no caller)."""
    return Publicities(community_store, clock, community_identity, None)


@pytest.fixture
def opened(publicities, community_store) -> dict:
    event = status_changed()
    assert publicities.on_status_changed(event) is True
    return community_store.publicities[f"pub_{event['event_id']}"]


def test_a_step_to_development_target_opens_a_publicity_in_the_superiors_column(opened, community_store):
    # today is Sunday 6 December: five working days are Monday 7 to Friday 11
    assert (opened["org_id"], opened["member_name"], opened["step"], opened["opens_on"], opened["closes_on"],
            opened["state"], opened["published"]) == \
        (COUNTY, "李四", "development_target", "2026-12-06", "2026-12-11", "open", True)
    [item] = community_store.items.values()
    assert (item["org_id"], item["column_id"], item["kind"], item["status"]) == \
        (COUNTY, f"{COUNTY}:publicity", "notice", "published")
    assert item["title"] == "关于李四同志拟确定为发展对象的公示" and "2026-12-06 至 2026-12-11" in item["body"]
    event, published = community_store.events
    assert (event["event_type"], event["member_id"], event["org_id"], event["closes_on"]) == \
        ("publicity_opened", "m_2", COUNTY, "2026-12-11")
    assert (published["event_type"], published["item_id"], published["org_id"], published["kind"]) == \
        ("content_published", item["_id"], COUNTY, "notice")
    assert community_store.commits == [{"record": opened["_id"], "items": [item["_id"]],
                                        "events": ["publicity_opened", "content_published"]}]


def test_the_tenants_publicity_days_apply(publicities, community_store):
    community_store.stored_settings = {"publicity_days": 7}
    publicities.on_status_changed(status_changed("probationary", old_status="development_target"))
    [publicity] = community_store.publicities.values()
    assert (publicity["step"], publicity["closes_on"]) == ("probationary", "2026-12-15")
    assert "拟接收为预备党员" in next(iter(community_store.items.values()))["title"]


def test_a_replayed_event_opens_nothing_new(publicities, community_store, community_identity):
    event = status_changed()
    assert publicities.on_status_changed(event) is True
    asked = len(community_identity.asked)
    assert publicities.on_status_changed(dict(event)) is False
    assert (len(community_store.publicities), len(community_store.items), len(community_store.commits)) == (1, 1, 1)
    assert len(community_identity.asked) == asked          # a replay asks identity nothing


def test_an_event_whose_commit_failed_opens_its_publicity_when_redelivered(publicities, community_store):
    event = status_changed()
    community_store.fail_commit = True
    with pytest.raises(RuntimeError):
        publicities.on_status_changed(event)
    assert not community_store.publicities and not community_store.items and not community_store.events
    community_store.fail_commit = False
    assert publicities.on_status_changed(event) is True
    assert (len(community_store.publicities), len(community_store.items), len(community_store.commits)) == (1, 1, 1)


def test_a_step_to_full_member_opens_the_publicity_of_the_probation_ended(publicities, community_store):
    assert publicities.on_status_changed(status_changed("full", old_status="probationary")) is True
    [publicity] = community_store.publicities.values()
    assert publicity["step"] == "full"
    item = next(iter(community_store.items.values()))
    assert item["title"] == "关于李四同志拟转为正式党员的公示" and "预备党员转正人选" in item["body"]


@pytest.mark.parametrize("new_status, old_status", [("activist", "applicant"), ("applicant", "")])
def test_other_steps_are_not_publicised(publicities, community_store, new_status, old_status):
    assert publicities.on_status_changed(status_changed(new_status, old_status=old_status)) is False
    assert not community_store.publicities and not community_store.events


def test_anyone_who_sees_the_notice_may_object(community, community_store, opened):
    objection = community.object_to_publicity(MEMBER, publicity_id=opened["_id"], reason=" 入党动机需进一步了解 ",
                                              anonymous=True)
    assert set(objection) == {"id", "publicity_id", "anonymous", "submitted_at", "state"}
    stored = community_store.objections[objection["id"]]
    assert (stored["account_id"], stored["member_id"], stored["reason"], stored["name"]) == \
        (MEMBER["account_id"], "m_1", "入党动机需进一步了解", "")
    community.object_to_publicity(CITY_ADMIN, publicity_id=opened["_id"], reason="有不同意见", name="刘同志")
    publicity = community.get_publicity(COUNTY_ADMIN, publicity_id=opened["_id"])
    assert (publicity["objections"], publicity["pending_objections"]) == (2, 2)
    # those below the superior see the notice, not its objections' numbers
    assert "objections" not in community.get_publicity(SECRETARY, publicity_id=opened["_id"])


@pytest.mark.parametrize("caller", [OTHER_MEMBER, OTHER_COUNTY_ADMIN, FOREIGN_ADMIN])
def test_who_does_not_see_the_notice_gets_not_found(community, community_store, opened, caller):
    for call in (lambda: community.get_publicity(caller, publicity_id=opened["_id"]),
                 lambda: community.object_to_publicity(caller, publicity_id=opened["_id"], reason="异议", name="某某"),
                 lambda: community.list_objections(caller, publicity_id=opened["_id"])):
        with pytest.raises(NotFound) as refused:
            call()
        assert refused.value.code == "PUBLICITY_NOT_FOUND"
    with pytest.raises(NotFound) as refused:
        community.get_publicity(MEMBER, publicity_id="pub_nothing")
    assert refused.value.code == "PUBLICITY_NOT_FOUND"
    assert not community_store.objections


@pytest.mark.parametrize("request_, code, field", [
    ({"reason": ""}, "REQUIRED", "reason"), ({"reason": "异" * 2001}, "TOO_LONG", "reason"),
    ({"reason": "异议", "anonymous": False}, "REQUIRED", "name"),
    ({"reason": "异议", "anonymous": True, "name": "张三"}, "NAME_WITH_ANONYMOUS", "name"),
    ({"reason": "异议", "anonymous": "yes"}, "INVALID_TYPE", "anonymous"),
    ({"reason": "异议\x00", "anonymous": True}, "CONTROL_CHARACTERS", "reason"),
])
def test_bad_objections_are_refused_and_nothing_is_stored(community, community_store, opened, request_, code, field):
    with pytest.raises(InvalidArgument) as refused:
        community.object_to_publicity(MEMBER, publicity_id=opened["_id"], **request_)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not community_store.objections


def test_the_superiors_admins_see_who_objected_anonymously(community, opened):
    community.object_to_publicity(MEMBER, publicity_id=opened["_id"], reason="异议", anonymous=True)
    [row] = community.list_objections(COUNTY_ADMIN, publicity_id=opened["_id"])["objections"]
    assert (row["anonymous"], row["account_id"], row["member_id"]) == (True, MEMBER["account_id"], "m_1")
    with pytest.raises(PermissionDenied) as refused:
        community.list_objections(SECRETARY, publicity_id=opened["_id"])
    assert refused.value.code == "NOT_ORG_ADMIN"


def test_a_sustained_objection_suspends_the_publicity(community, community_store, opened):
    objection = community.object_to_publicity(MEMBER, publicity_id=opened["_id"], reason="异议", anonymous=True)
    with pytest.raises(NotFound) as refused:
        community.handle_objection(OTHER_COUNTY_ADMIN, objection_id=objection["id"], outcome="sustained", note="属实")
    assert refused.value.code == "OBJECTION_NOT_FOUND"
    with pytest.raises(PermissionDenied):
        community.handle_objection(SECRETARY, objection_id=objection["id"], outcome="sustained", note="属实")
    with pytest.raises(InvalidArgument) as refused:
        community.handle_objection(COUNTY_ADMIN, objection_id=objection["id"], outcome="maybe", note="属实")
    assert refused.value.field == "outcome"
    handled = community.handle_objection(COUNTY_ADMIN, objection_id=objection["id"], outcome="sustained",
                                         note="经核实，反映问题属实，暂缓发展。")
    assert (handled["state"], handled["outcome"], handled["handled_by"]) == \
        ("handled", "sustained", COUNTY_ADMIN["account_id"])
    assert community_store.publicities[opened["_id"]]["state"] == "suspended"
    notice = community_store.items[opened["items"][0]["_id"]]
    assert notice["version"] == 2
    assert notice["body"].endswith("公示期间反映的问题经核实成立，本公示中止，发展程序暂停。")
    with pytest.raises(Conflict) as refused:
        community.handle_objection(COUNTY_ADMIN, objection_id=objection["id"], outcome="dismissed", note="不属实")
    assert refused.value.code == "OBJECTION_HANDLED"
    with pytest.raises(Conflict) as refused:
        community.object_to_publicity(MEMBER, publicity_id=opened["_id"], reason="再次反映", anonymous=True)
    assert refused.value.code == "PUBLICITY_NOT_OPEN"


def test_it_closes_after_its_last_day_once_every_objection_is_handled(community, community_store, clock, opened):
    objection = community.object_to_publicity(MEMBER, publicity_id=opened["_id"], reason="异议", anonymous=True)
    clock.advance(days=5)                        # Friday 11 December: the last day
    assert community.close_due_publicities() == 0
    clock.advance(days=1)
    with pytest.raises(Conflict) as refused:
        community.object_to_publicity(MEMBER, publicity_id=opened["_id"], reason="迟到的异议", anonymous=True)
    assert refused.value.code == "PUBLICITY_NOT_OPEN"
    assert community.close_due_publicities() == 0      # an objection still waits for its handling
    community.handle_objection(CITY_ADMIN, objection_id=objection["id"], outcome="dismissed", note="经核实不属实")
    assert community.close_due_publicities() == 1
    assert community.get_publicity(MEMBER, publicity_id=opened["_id"])["state"] == "closed"
    notice = community_store.items[opened["items"][0]["_id"]]
    assert (notice["version"], notice["body"].splitlines()[-1]) == \
        (2, "【公示结果】2026-12-12：公示期满，期间收到的异议已核实处理，公示结束。")
    assert community_store.events[-1]["event_type"] == "content_published"
    assert community.close_due_publicities() == 0          # closed once: the notice is not edited again
    assert community_store.items[opened["items"][0]["_id"]]["version"] == 2


def test_a_publicity_without_objections_says_so_when_it_closes(community, community_store, clock, opened):
    clock.advance(days=6)
    assert community.close_due_publicities() == 1
    body = community_store.items[opened["items"][0]["_id"]]["body"]
    assert body.splitlines()[-1] == "【公示结果】2026-12-12：公示期满，未收到异议，公示结束。"
    assert body.startswith(opened["items"][0]["body"])


def test_publicities_are_listed_for_managers_of_the_subtree(community, opened, publicities):
    publicities.on_status_changed(status_changed(member_id="m_4", branch_id=BRANCH_B))
    assert [p["member_name"] for p in community.list_publicities(COUNTY_ADMIN, org_id=COUNTY)["publicities"]] == \
        ["李四"]
    assert community.list_publicities(CITY_ADMIN, org_id="org_city", state="open")["total"] == 2
    assert community.list_publicities(SECRETARY, org_id=BRANCH)["total"] == 1
    with pytest.raises(NotFound):
        community.list_publicities(OTHER_COUNTY_ADMIN, org_id=COUNTY)
    with pytest.raises(PermissionDenied):
        community.list_publicities(MEMBER, org_id=BRANCH)
    with pytest.raises(InvalidArgument):
        community.list_publicities(COUNTY_ADMIN, org_id=COUNTY, state="paused")
