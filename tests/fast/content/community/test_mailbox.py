"""The secretary mailbox (书记信箱): letters to the branch or the superior, anonymity to the secretary, answers,
overdue letters first, who sees what."""
from __future__ import annotations

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from tests.fast.content.fakes import (BRANCH, BRANCH2, CITY, CITY_ADMIN, COUNTY, COUNTY_ADMIN, COUNTY_B,
                                      FOREIGN_ADMIN, MEMBER, OTHER_COUNTY_ADMIN, SECRETARY, scope)

OTHER_IN_BRANCH = scope("member", None, member_id="m_2", branch_id=BRANCH)
SECRETARY2 = scope("branch_secretary", BRANCH2, member_id="m_3", branch_id=BRANCH2)


def write(community, to_kind="branch", anonymous=False, caller=MEMBER, subject="关于活动时间的建议"):
    return community.write_letter(caller, to_kind=to_kind, subject=subject, body="建议主题党日安排在周末。",
                                  anonymous=anonymous)


def test_an_anonymous_letter_shows_the_secretary_no_author_at_all(community, community_store):
    letter = write(community, anonymous=True)
    assert letter["author"] == {"member_id": "m_1", "name": "张三", "account_id": MEMBER["account_id"]}
    for seen in (community.get_letter(SECRETARY, letter_id=letter["id"]),
                 community.list_letters(SECRETARY, org_id=BRANCH)["letters"][0]):
        assert "author" not in seen and not any("author" in key for key in seen)
        assert "m_1" not in str(seen) and "张三" not in str(seen)
    # the superior's admins still see who wrote it
    assert community.get_letter(COUNTY_ADMIN, letter_id=letter["id"])["author"]["name"] == "张三"
    [event] = community_store.events
    assert (event["event_type"], event["to_org_id"], event["to_kind"], event["anonymous"]) == \
        ("question_asked", BRANCH, "branch", True)
    assert "m_1" not in str(event)


def test_a_named_letter_shows_the_secretary_its_author(community):
    letter = write(community)
    assert community.get_letter(SECRETARY, letter_id=letter["id"])["author"]["member_id"] == "m_1"


def test_a_letter_to_the_superior_goes_past_the_secretary(community):
    letter = write(community, to_kind="superior")
    assert letter["to_org_id"] == COUNTY
    with pytest.raises(NotFound) as refused:
        community.get_letter(SECRETARY, letter_id=letter["id"])
    assert refused.value.code == "LETTER_NOT_FOUND"
    assert community.list_letters(SECRETARY, org_id=BRANCH)["total"] == 0
    assert community.list_letters(COUNTY_ADMIN, org_id=COUNTY)["letters"][0]["author"]["name"] == "张三"
    with pytest.raises(NotFound):
        community.answer_letter(SECRETARY, letter_id=letter["id"], answer="收到")


@pytest.mark.parametrize("caller", [OTHER_COUNTY_ADMIN, FOREIGN_ADMIN, OTHER_IN_BRANCH, SECRETARY2])
def test_nobody_else_sees_a_letter(community, caller):
    letter = write(community, to_kind="superior")
    for call in (lambda: community.get_letter(caller, letter_id=letter["id"]),
                 lambda: community.answer_letter(caller, letter_id=letter["id"], answer="收到"),
                 lambda: community.withdraw_letter(caller, letter_id=letter["id"])):
        with pytest.raises(NotFound) as refused:
            call()
        assert refused.value.code == "LETTER_NOT_FOUND"
    with pytest.raises(NotFound):
        community.get_letter(MEMBER, letter_id="ltr_nothing")


def test_another_countys_admin_lists_none_of_them(community):
    write(community)
    write(community, to_kind="superior")
    assert community.list_letters(OTHER_COUNTY_ADMIN, org_id=COUNTY_B)["total"] == 0
    with pytest.raises(NotFound):
        community.list_letters(OTHER_COUNTY_ADMIN, org_id=COUNTY)
    assert community.list_letters(CITY_ADMIN, org_id=CITY)["total"] == 2


def test_overdue_letters_come_first_and_a_late_answer_says_so(community, community_store, clock):
    old = write(community, subject="旧信")
    clock.advance(days=5)
    recent = write(community, subject="新信")
    clock.advance(days=3)                                       # the first is 8 days old: overdue after 7
    listed = community.list_letters(SECRETARY, org_id=BRANCH)
    assert [(letter["id"], letter["overdue"]) for letter in listed["letters"]] == \
        [(old["id"], True), (recent["id"], False)]
    assert listed["overdue"] == 1
    assert [letter["id"] for letter in community.list_letters(SECRETARY, org_id=BRANCH, state="overdue")["letters"]] \
        == [old["id"]]
    answered = community.answer_letter(SECRETARY, letter_id=old["id"], answer="  已研究，下月起安排在周六。 ")
    assert (answered["state"], answered["answer"], answered["answered_late"], answered["overdue"]) == \
        ("answered", "已研究，下月起安排在周六。", True, False)
    assert community_store.events[-1]["event_type"] == "question_answered" and community_store.events[-1]["overdue"]
    assert [letter["id"] for letter in community.list_letters(SECRETARY, org_id=BRANCH)["letters"]] == \
        [recent["id"], old["id"]]
    mine = community.list_my_letters(MEMBER)["letters"]
    assert [(letter["id"], letter["answer"]) for letter in mine] == \
        [(recent["id"], ""), (old["id"], "已研究，下月起安排在周六。")]


def test_the_tenants_overdue_days_apply(community, community_store, clock):
    community_store.stored_settings = {"mailbox_overdue_days": 2}
    letter = write(community)
    clock.advance(days=2, seconds=1)
    assert community.get_letter(MEMBER, letter_id=letter["id"])["overdue"] is True


def test_a_letter_is_answered_once_and_only_by_a_recipient(community, community_store):
    letter = write(community)
    with pytest.raises(PermissionDenied) as refused:
        community.answer_letter(MEMBER, letter_id=letter["id"], answer="自问自答")
    assert refused.value.code == "NOT_RECIPIENT"
    with pytest.raises(InvalidArgument) as refused:
        community.answer_letter(SECRETARY, letter_id=letter["id"], answer=" ")
    assert (refused.value.code, refused.value.field) == ("REQUIRED", "answer")
    community.answer_letter(SECRETARY, letter_id=letter["id"], answer="收到，谢谢。")
    with pytest.raises(Conflict) as refused:
        community.answer_letter(COUNTY_ADMIN, letter_id=letter["id"], answer="再答")
    assert refused.value.code == "LETTER_CLOSED"
    with pytest.raises(Conflict):
        community.withdraw_letter(MEMBER, letter_id=letter["id"])
    assert community_store.event_types() == ["question_asked", "question_answered"]


def test_the_author_withdraws_an_unanswered_letter(community):
    letter = write(community)
    assert community.withdraw_letter(MEMBER, letter_id=letter["id"])["state"] == "withdrawn"
    assert community.list_letters(SECRETARY, org_id=BRANCH, state="withdrawn")["total"] == 1


def test_members_see_only_their_own_letters(community):
    write(community)
    write(community, caller=OTHER_IN_BRANCH)
    assert [letter["author"]["member_id"] for letter in community.list_my_letters(MEMBER)["letters"]] == ["m_1"]
    with pytest.raises(PermissionDenied):
        community.list_letters(MEMBER, org_id=BRANCH)


@pytest.mark.parametrize("request_, code, field", [
    ({"to_kind": "mayor"}, "UNKNOWN_VALUE", "to_kind"), ({"to_kind": ""}, "REQUIRED", "to_kind"),
    ({"subject": ""}, "REQUIRED", "subject"), ({"subject": "题" * 101}, "TOO_LONG", "subject"),
    ({"body": "   "}, "REQUIRED", "body"), ({"body": "字" * 2001}, "TOO_LONG", "body"),
    ({"body": ["建议"]}, "INVALID_TYPE", "body"), ({"anonymous": "yes"}, "INVALID_TYPE", "anonymous"),
])
def test_bad_letters_are_refused_and_nothing_is_stored(community, community_store, request_, code, field):
    letter = {"to_kind": "branch", "subject": "建议", "body": "内容", "anonymous": False, **request_}
    with pytest.raises(InvalidArgument) as refused:
        community.write_letter(MEMBER, **letter)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not community_store.letters and not community_store.events


def test_only_members_write_letters(community, community_store):
    with pytest.raises(PermissionDenied) as refused:
        write(community, caller=COUNTY_ADMIN)
    assert refused.value.code == "MEMBER_ONLY"
    assert not community_store.letters
