"""The democratic appraisal's rules (民主评议党员): its state machine transition by transition, the close by the
clock, ballots and decided grades, the 优秀 share, tallies hidden under 5 voters, deciles and flags."""
from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import Conflict, InvalidArgument
from services.scoring.domain import appraisal as rules

NOW = datetime(2026, 12, 6, 2, 0, tzinfo=timezone.utc)
ROSTER = {f"m{n}": {"name": f"党员{n}"} for n in range(1, 10)}       # nine members


def appraisal(state: str, closes_in: timedelta = timedelta(hours=1)) -> dict:
    return {"state": state, "closes_at": (NOW + closes_in).strftime("%Y-%m-%dT%H:%M:%S.000Z")}


# --- the lifecycle ---------------------------------------------------------------------------------------------
def test_an_open_appraisal_closes_at_its_time_by_the_clock_given():
    doc = appraisal("open", timedelta(minutes=5))
    assert rules.state_of(doc, NOW) is rules.OPEN
    assert rules.state_of(doc, NOW + timedelta(minutes=5) - timedelta(milliseconds=1)) is rules.OPEN
    assert rules.state_of(doc, NOW + timedelta(minutes=5)) is rules.CLOSED
    assert rules.state_of(appraisal("draft", -timedelta(days=1)), NOW) is rules.DRAFT   # a draft never closes
    assert rules.state_of(appraisal("decided", -timedelta(days=1)), NOW) is rules.DECIDED


@pytest.mark.parametrize("transition, allowed", [
    (rules.OPEN_VOTE, {"draft"}), (rules.REVIEW, {"open"}), (rules.VOTE, {"open"}), (rules.DECIDE, {"closed"})])
def test_each_transition_is_allowed_only_from_its_states(transition, allowed):
    for state, doc in (("draft", appraisal("draft")), ("open", appraisal("open")),
                       ("closed", appraisal("open", -timedelta(seconds=1))), ("closed", appraisal("closed")),
                       ("decided", appraisal("decided"))):
        if state in allowed:
            target = rules.check(transition, doc, NOW)
            assert target is (transition.target or rules.State(state))
        else:
            with pytest.raises(Conflict) as refused:
                rules.check(transition, doc, NOW)
            assert (refused.value.code, refused.value.field) == (transition.code, "appraisal_id")


def test_the_transitions_lead_draft_to_open_to_decided():
    assert rules.check(rules.OPEN_VOTE, appraisal("draft"), NOW) is rules.OPEN
    assert rules.check(rules.DECIDE, appraisal("open", -timedelta(seconds=1)), NOW) is rules.DECIDED
    with pytest.raises(Conflict):          # the vote still running: no grades yet
        rules.check(rules.DECIDE, appraisal("open"), NOW)


# --- arguments -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, code", [("", "REQUIRED"), ("26", "YEAR_INVALID"), ("２０２６", "YEAR_INVALID"),
                                         ("1999", "YEAR_INVALID"), (2026, "INVALID_TYPE")])
def test_a_year_is_four_digits(value, code):
    with pytest.raises(InvalidArgument) as refused:
        rules.check_year(value)
    assert (refused.value.code, refused.value.field) == (code, "year")
    assert rules.check_year(" 2026 ") == "2026"


@pytest.mark.parametrize("value, code", [
    ("", "REQUIRED"), ("明天", "TIME_INVALID"), ("2026-12-07T10:00:00", "TIME_INVALID"),
    ("2026-12-06T09:00:00+08:00", "CLOSES_AT_PASSED"), ("2028-01-01T00:00:00Z", "CLOSES_AT_TOO_LATE"),
    (5, "INVALID_TYPE")])
def test_the_vote_closes_later_than_now_within_a_year_with_an_offset(value, code):
    with pytest.raises(InvalidArgument) as refused:
        rules.check_closes_at(value, NOW)
    assert refused.value.code == code
    assert rules.check_closes_at("2026-12-20T18:00:00+08:00", NOW) == datetime(2026, 12, 20, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize("members, ratio, limit", [(9, 1 / 3, 3), (8, 1 / 3, 2), (2, 1 / 3, 0), (10, 0.25, 2),
                                                   (33, 1 / 3, 11), (4, 1.0, 4)])
def test_excellent_is_at_most_the_share_rounded_down(members, ratio, limit):
    assert rules.excellent_limit(members, ratio) == limit


def test_a_ballot_grades_every_other_member_once():
    choices = [{"member_id": m, "grade": "qualified"} for m in ROSTER if m != "m1"]
    assert rules.check_ballot(choices, "m1", ROSTER) == {m: "qualified" for m in ROSTER if m != "m1"}
    cases = [
        (choices[:-1], "BALLOT_INCOMPLETE"),
        ([*choices, {"member_id": "m1", "grade": "excellent"}], "NOT_IN_APPRAISAL"),       # oneself
        ([*choices[:-1], {"member_id": "stranger", "grade": "qualified"}], "NOT_IN_APPRAISAL"),
        ([*choices, choices[0]], "DUPLICATE_MEMBER"),
        ([{**choices[0], "grade": "good"}, *choices[1:]], "UNKNOWN_VALUE"),
        ([{"member_id": "m2"}, *choices[1:]], "INVALID_TYPE"),
        ("m2=excellent", "INVALID_TYPE"),
    ]
    for bad, code in cases:
        with pytest.raises(InvalidArgument) as refused:
            rules.check_ballot(bad, "m1", ROSTER)
        assert (refused.value.code, refused.value.field) == (code, "choices"), bad


def grades(*excellent: str, grade: str = "qualified") -> list[dict]:
    return [{"member_id": m, "grade": "excellent" if m in excellent else grade, "reason": "按时参加组织生活"}
            for m in ROSTER]


def test_every_member_is_decided_with_a_reason_and_excellent_within_the_limit():
    decided = rules.check_grades(grades("m1", "m2", "m3"), ROSTER, 3)
    assert decided["m1"] == {"grade": "excellent", "reason": "按时参加组织生活"}
    assert decided["m4"]["grade"] == "qualified"
    # 不合格 is the committee's grade to give, with its reason: allowed, never required by votes
    assert rules.check_grades(grades(grade="unqualified"), ROSTER, 3)["m9"]["grade"] == "unqualified"
    cases = [
        (grades("m1", "m2", "m3", "m4"), "EXCELLENT_OVER_LIMIT"),
        (grades()[:-1], "GRADES_INCOMPLETE"),
        ([{**grades()[0], "reason": "  "}, *grades()[1:]], "REQUIRED"),
        ([{**grades()[0], "reason": "理" * 501}, *grades()[1:]], "TOO_LONG"),
        ([{**grades()[0], "reason": "含\u202e控制"}, *grades()[1:]], "CONTROL_CHARACTERS"),
        ([*grades(), grades()[0]], "DUPLICATE_MEMBER"),
        ([{**grades()[0], "member_id": "stranger"}, *grades()[1:]], "NOT_IN_APPRAISAL"),
        ([{**grades()[0], "grade": "优秀"}, *grades()[1:]], "UNKNOWN_VALUE"),
        ({"m1": "excellent"}, "INVALID_TYPE"),
    ]
    for bad, code in cases:
        with pytest.raises(InvalidArgument) as refused:
            rules.check_grades(bad, ROSTER, 3)
        assert (refused.value.code, refused.value.field) == (code, "grades"), code


# --- tallies and flags -----------------------------------------------------------------------------------------
def test_a_tally_is_shown_only_for_five_votes_or_more():
    assert not rules.tally_shown(None)
    assert not rules.tally_shown({"excellent": 2, "qualified": 1, "unqualified": 1})       # four voters
    assert rules.tally_shown({"excellent": 2, "qualified": 2, "unqualified": 1})


def test_deciles_of_the_branch_take_at_least_one_member_each_and_nobody_when_all_alike():
    points = {f"m{n}": float(n * 10) for n in range(1, 10)}      # m9 top, m1 bottom
    assert rules.deciles(points, ROSTER) == ({"m9"}, {"m1"})
    twenty = {f"x{n}": float(n) for n in range(20)}
    assert rules.deciles(twenty, twenty) == ({"x19", "x18"}, {"x0", "x1"})
    assert rules.deciles({}, ROSTER) == (set(), set())                   # no points at all: no one stands out
    assert rules.deciles({"m1": 5.0}, ["m1"]) == (set(), set())


def test_votes_against_flag_the_case_and_disagreement_with_points_is_flagged_both_ways():
    against = {"excellent": 1, "qualified": 2, "basically_qualified": 1, "unqualified": 2}     # 3 of 6 negative
    praised = {"excellent": 5, "qualified": 1}
    top, bottom = {"m9"}, {"m1"}
    assert rules.flags_of(against, "m5", top, bottom) == ["votes_against"]
    assert rules.flags_of(against, "m9", top, bottom) == ["votes_against", "negative_votes_top_points"]
    assert rules.flags_of(praised, "m1", top, bottom) == ["excellent_votes_low_points"]
    assert rules.flags_of(praised, "m9", top, bottom) == []
    assert rules.flags_of(against, "m9", top, bottom, negative_share=0.6) == []
    # four voters: no tally shown, so no flag that would tell what it holds
    assert rules.flags_of({"unqualified": 4}, "m9", top, bottom) == []
