"""The democratic appraisal's use cases through the scoring service's entry points, with fake stores and a fixed
clock: the vote closes by the clock; a refused ballot or decision writes nothing; a vote's event carries no choice;
no tally while the vote runs or for fewer than 5 votes; a member sees names only; the points ledger feeds the flags."""
from __future__ import annotations

from datetime import timedelta

import pytest

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import stamp
from tests.fast.scoring.fakes import BRANCH, BRANCH_PATH, FOREIGN_ADMIN, MEMBER, NOW, SECRETARY, TENANT, scope

ROSTER = {f"m_{n}": {"name": f"党员{n}"} for n in range(1, 7)}         # six members; MEMBER is m_1
OUTSIDER = scope("member", None, member_id="m_9", branch_id=BRANCH)


def appraisal(state: str = "open", closes_in: timedelta = timedelta(hours=1), **fields) -> dict:
    return {"_id": "apr_1", "tenant_id": TENANT, "branch_id": BRANCH, "branch_name": "一支部", "year": "2026",
            **ancestor_fields(BRANCH_PATH), "state": state, "closes_at": stamp(NOW + closes_in),
            "excellent_max_ratio": 1 / 3, "flag_negative_share": 0.3, "roster": dict(ROSTER), **fields}


@pytest.fixture
def stored(store):
    def put(doc: dict, tallies: dict | None = None) -> dict:
        store.appraisal.return_value = doc
        store.tallies.return_value = tallies or {}
        store.reviews.return_value = []
        store.voter_count.return_value = 0
        store.has_voted.return_value = False
        return doc
    return put


def ballot(voter: str, grade: str = "qualified") -> list[dict]:
    return [{"member_id": m, "grade": grade} for m in ROSTER if m != voter]


def test_a_vote_is_counted_with_an_event_that_names_the_voter_and_no_choice(service, store, stored):
    stored(appraisal())
    assert service.cast_vote(scope=MEMBER, appraisal_id="apr_1", choices=ballot("m_1", "excellent")) == {
        "appraisal_id": "apr_1", "voted": True}
    [(appraisal_id, voter, counted, event)] = [call.args for call in store.cast_vote.call_args_list]
    assert (appraisal_id, voter, counted) == ("apr_1", "m_1", dict.fromkeys(list(ROSTER)[1:], "excellent"))
    assert event["event_type"] == "vote_cast" and event["member_id"] == "m_1"
    assert "excellent" not in str(event)


def test_the_vote_closes_at_its_time_and_a_bad_ballot_writes_nothing(service, store, stored, clock):
    stored(appraisal())
    for choices, code in ((ballot("m_1")[:-1], "BALLOT_INCOMPLETE"), ("all good", "INVALID_TYPE")):
        with pytest.raises(InvalidArgument) as refused:
            service.cast_vote(scope=MEMBER, appraisal_id="apr_1", choices=choices)
        assert refused.value.code == code
    clock.advance(hours=1)                                  # closes_at reached
    with pytest.raises(Conflict) as refused:
        service.cast_vote(scope=MEMBER, appraisal_id="apr_1", choices=ballot("m_1"))
    assert refused.value.code == "APPRAISAL_NOT_OPEN"
    with pytest.raises(Conflict):
        service.submit_review(scope=MEMBER, appraisal_id="apr_1", member_id="", text="自评")
    store.cast_vote.assert_not_called()
    store.save_review.assert_not_called()


def test_who_may_do_what(service, store, stored):
    stored(appraisal())
    for caller in (OUTSIDER, FOREIGN_ADMIN):
        with pytest.raises(NotFound) as refused:
            service.get_appraisal(scope=caller, appraisal_id="apr_1")
        assert (refused.value.code, refused.value.field) == ("APPRAISAL_NOT_FOUND", "appraisal_id")
    store.appraisal.return_value = None
    with pytest.raises(NotFound) as nowhere:
        service.get_appraisal(scope=MEMBER, appraisal_id="apr_nowhere")
    assert nowhere.value.code == "APPRAISAL_NOT_FOUND"
    stored(appraisal())
    with pytest.raises(PermissionDenied) as refused:
        service.decide_appraisal(scope=MEMBER, appraisal_id="apr_1", decided_by="committee", grades=[])
    assert refused.value.code == "NOT_APPRAISAL_MANAGER"
    with pytest.raises(PermissionDenied) as refused:        # a secretary not on the roster manages, never votes
        service.cast_vote(scope=SECRETARY, appraisal_id="apr_1", choices=ballot("m_secretary"))
    assert refused.value.code == "NOT_IN_APPRAISAL"
    store.cast_vote.assert_not_called()


def test_no_tally_while_open_nor_under_five_votes_and_a_member_sees_names_only(service, store, stored, clock,
                                                                              points_store):
    four = {"excellent": 1, "qualified": 3}
    five = {"excellent": 0, "qualified": 1, "basically_qualified": 1, "unqualified": 3}
    stored(appraisal(), {"m_1": {**five, "member_id": "m_1"}, "m_2": {**four, "member_id": "m_2"}})
    points_store.points_of_members.return_value = {f"m_{n}": {"total": float(n)} for n in range(1, 7)}
    running = service.get_appraisal(scope=SECRETARY, appraisal_id="apr_1")
    assert running["state"] == "open" and not any(row["tally_shown"] or "tally" in row for row in running["members"])
    store.tallies.assert_not_called()
    clock.advance(hours=2)
    closed = service.get_appraisal(scope=SECRETARY, appraisal_id="apr_1")
    rows = {row["member_id"]: row for row in closed["members"]}
    assert closed["state"] == "closed"
    assert rows["m_1"]["tally"] == {"excellent": 0, "qualified": 1, "basically_qualified": 1, "unqualified": 3}
    assert rows["m_1"]["flags"] == ["votes_against"] and rows["m_1"]["points"] == 1.0
    assert not rows["m_2"]["tally_shown"] and "tally" not in rows["m_2"] and rows["m_2"]["flags"] == []
    (members, since, until), _ = points_store.points_of_members.call_args
    assert (since, until) == ("2026-01-01", "2026-12-31") and set(members) == set(ROSTER)
    as_member = service.get_appraisal(scope=MEMBER, appraisal_id="apr_1")
    assert all(set(row) == {"member_id", "name"} for row in as_member["members"])
    assert as_member["me"]["tally_shown"] and as_member["me"]["tally"]["unqualified"] == 3


def test_the_decision_needs_every_grade_with_a_reason_within_the_excellent_share(service, store, stored, clock):
    stored(appraisal("open", timedelta(minutes=-1)))            # past its time: closed
    grades = [{"member_id": m, "grade": "qualified", "reason": "合格"} for m in ROSTER]
    over = [{**row, "grade": "excellent"} if n < 3 else row for n, row in enumerate(grades)]
    with pytest.raises(InvalidArgument) as refused:
        service.decide_appraisal(scope=SECRETARY, appraisal_id="apr_1", decided_by="committee", grades=over)
    assert refused.value.code == "EXCELLENT_OVER_LIMIT"                      # six members: two at most
    store.decide_appraisal.assert_not_called()
    decided = service.decide_appraisal(scope=SECRETARY, appraisal_id="apr_1", decided_by="assembly",
                                       grades=over[1:] + grades[:1])
    assert decided["state"] == "decided" and decided["decided_counts"] == {
        "excellent": 2, "qualified": 4, "basically_qualified": 0, "unqualified": 0}
    [(appraisal_id, changes, event)] = [call.args for call in store.decide_appraisal.call_args_list]
    assert changes["grades"]["m_2"] == {"grade": "excellent", "reason": "合格"}
    assert event["event_type"] == "appraisal_decided" and event["counts"]["excellent"] == 2
    assert "m_2" not in str(event)
