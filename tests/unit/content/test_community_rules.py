"""The community topic's pure rules: the letter, publicity and objection state machines transition by transition,
publicity days, role-model periods and proposals."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from servicekit.errors import Conflict, InvalidArgument
from services.content.domain import community as rules

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)


def letter(state="open", due_at="2026-12-13T08:00:00.000Z", **fields):
    return {"_id": fields.pop("_id", "ltr_1"), "state": state, "asked_at": "2026-12-06T08:00:00.000Z",
            "due_at": due_at, **fields}


def publicity(state="open", opens_on="2026-12-07", closes_on="2026-12-11"):
    return {"state": state, "opens_on": opens_on, "closes_on": closes_on}


# ------------------------------------------------------------------------- letters
@pytest.mark.parametrize("transition, target", [(rules.ANSWER_LETTER, rules.LetterState.ANSWERED),
                                                (rules.WITHDRAW_LETTER, rules.LetterState.WITHDRAWN)])
def test_an_open_letter_is_answered_or_withdrawn(transition, target):
    assert rules.letter_transition(transition, letter()) is target


@pytest.mark.parametrize("state", ["answered", "withdrawn"])
@pytest.mark.parametrize("transition", rules.LETTER_TRANSITIONS)
def test_a_closed_letter_moves_no_more(transition, state):
    with pytest.raises(Conflict) as refused:
        rules.letter_transition(transition, letter(state))
    assert refused.value.code == "LETTER_CLOSED"


def test_overdue_is_an_open_letter_past_its_due_time():
    assert not rules.is_overdue(letter(), NOW)
    assert rules.is_overdue(letter(due_at="2026-12-06T07:59:59.999Z"), NOW)
    assert not rules.is_overdue(letter("answered", due_at="2026-12-01T00:00:00.000Z"), NOW)


def test_recipients_order_overdue_first_then_open_then_newest_closed():
    late = letter(_id="a", due_at="2026-12-01T00:00:00.000Z", asked_at="2026-11-20T00:00:00.000Z")
    later = letter(_id="b", due_at="2026-12-02T00:00:00.000Z")
    waiting = letter(_id="c")
    old_done = letter("answered", _id="d", closed_at="2026-12-01T00:00:00.000Z")
    new_done = letter("withdrawn", _id="e", closed_at="2026-12-05T00:00:00.000Z")
    ordered = rules.in_recipients_order([new_done, waiting, old_done, later, late], NOW)
    assert [row["_id"] for row in ordered] == ["a", "b", "c", "e", "d"]


# ------------------------------------------------------------------------- publicity
def test_an_objection_is_received_from_the_first_to_the_last_day():
    for today in ("2026-12-07", "2026-12-11"):
        assert rules.publicity_transition(rules.OBJECT, publicity(), today) is rules.PublicityState.OPEN
    for today in ("2026-12-06", "2026-12-12"):
        with pytest.raises(Conflict) as refused:
            rules.publicity_transition(rules.OBJECT, publicity(), today)
        assert refused.value.code == "PUBLICITY_NOT_OPEN"


def test_a_publicity_closes_after_its_last_day_with_no_objection_pending():
    assert rules.publicity_transition(rules.CLOSE_PUBLICITY, publicity(), "2026-12-12") is rules.PublicityState.CLOSED
    for today, pending in (("2026-12-11", 0), ("2026-12-12", 1)):
        with pytest.raises(Conflict) as refused:
            rules.publicity_transition(rules.CLOSE_PUBLICITY, publicity(), today, pending)
        assert refused.value.code == "PUBLICITY_NOT_DUE"


def test_a_sustained_objection_suspends_an_open_publicity():
    assert rules.publicity_transition(rules.SUSPEND_PUBLICITY, publicity(), "2026-12-08") is \
        rules.PublicityState.SUSPENDED


@pytest.mark.parametrize("state", ["closed", "suspended"])
@pytest.mark.parametrize("transition", rules.PUBLICITY_TRANSITIONS)
def test_an_ended_publicity_moves_no_more(transition, state):
    with pytest.raises(Conflict) as refused:
        rules.publicity_transition(transition, publicity(state), "2026-12-12")
    assert refused.value.code == "PUBLICITY_NOT_OPEN"


def test_an_objection_is_handled_once():
    assert rules.objection_transition({"state": "pending"}) is rules.ObjectionState.HANDLED
    with pytest.raises(Conflict) as refused:
        rules.objection_transition({"state": "handled"})
    assert refused.value.code == "OBJECTION_HANDLED"


@pytest.mark.parametrize("opens, days, last", [
    (date(2026, 12, 7), 5, date(2026, 12, 11)),    # Monday: Monday to Friday
    (date(2026, 12, 6), 5, date(2026, 12, 11)),    # Sunday: the count starts on Monday
    (date(2026, 12, 10), 5, date(2026, 12, 16)),   # Thursday: over the weekend
    (date(2026, 12, 11), 1, date(2026, 12, 11)),
])
def test_publicity_days_are_working_days(opens, days, last):
    assert rules.closes_on(opens, days) == last


def test_development_target_probationary_and_full_are_publicised_as_identitys_record_expects():
    from services.identity.domain.development import PUBLICISED_STEPS
    assert [s for s in ("applicant", "activist", "development_target", "probationary", "full")
            if rules.is_publicised(s)] == ["development_target", "probationary", "full"] == list(PUBLICISED_STEPS)


# ------------------------------------------------------------------------- role models
@pytest.mark.parametrize("kind, period, first, last", [
    ("weekly_pioneer", "2026-W49", date(2026, 11, 30), date(2026, 12, 6)),
    ("weekly_pioneer", "2026-W53", date(2026, 12, 28), date(2027, 1, 3)),
    ("monthly_star", "2026-12", date(2026, 12, 1), date(2026, 12, 31)),
    ("monthly_star", "2028-02", date(2028, 2, 1), date(2028, 2, 29)),
])
def test_period_days(kind, period, first, last):
    assert rules.period_days(kind, period) == (first, last)
    assert rules.current_period(kind, first) == period


@pytest.mark.parametrize("kind, period", [("weekly_pioneer", "2025-W53"), ("weekly_pioneer", "2026-12"),
                                          ("monthly_star", "2026-00"), ("monthly_star", "2026-W01"),
                                          ("monthly_star", "")])
def test_bad_periods(kind, period):
    with pytest.raises(InvalidArgument) as refused:
        rules.period_days(kind, period)
    assert (refused.value.code, refused.value.field) == ("PERIOD_INVALID", "period")


def test_proposals_leave_out_deductions_absences_and_no_points_and_cap_at_five():
    roster = [{"member_id": f"m{i}", "name": f"党员{i}"} for i in range(9)]
    totals = {"m0": {"total": 10, "by_category": {"attendance": 10}},
              "m1": {"total": 20, "by_category": {"attendance": 25, "negative": -5}},
              "m2": {"total": 8, "by_category": {"attendance": 10, "absence": -2}},
              "m3": {"total": 0, "by_category": {}},
              **{f"m{i}": {"total": i, "by_category": {"quiz": i}} for i in range(4, 9)}}
    proposed = rules.propose(roster, totals)
    assert [c["member_id"] for c in proposed] == ["m0", "m8", "m7", "m6", "m5"]
    assert proposed[0]["reason"] == "本期积分 10 分（参加主题党日 10）"
    assert rules.propose(roster, {"m5": {"total": 2.5, "by_category": {"quiz": 2.5}}})[0]["reason"] == \
        "本期积分 2.5 分（学习答题 2.5）"
