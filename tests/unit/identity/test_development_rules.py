"""The development record's state machine (services.identity.domain.development), entry kind by entry kind."""
from __future__ import annotations

from datetime import date

import pytest

from servicekit.errors import Conflict, InvalidArgument
from services.identity.domain import development as rules
from services.identity.domain.development import EntryKind

TODAY = date(2026, 12, 6)
APPLICANT = {"applicant": date(2024, 3, 1)}
ACTIVIST = {**APPLICANT, "activist": date(2024, 9, 1)}
TARGET = {**ACTIVIST, "development_target": date(2025, 10, 1)}
PROBATIONARY = {**TARGET, "probationary": date(2025, 12, 1)}
FULL = {**PROBATIONARY, "full": date(2026, 12, 1)}
STATUS_OF = {"applicant": APPLICANT, "activist": ACTIVIST, "development_target": TARGET,
             "probationary": PROBATIONARY, "full": FULL}


def entry(entry_id, kind, corrects="", **detail):
    return {"_id": entry_id, "kind": kind.value, "corrects": corrects, "detail": detail}


def admit(kind, status, on, entries=(), corrects="", **detail):
    """Every guard of one new entry, in the use case's order."""
    dates = STATUS_OF[status]
    rules.check_entry(kind, status, dates, list(entries), on, TODAY, corrects)
    rules.check_step(kind, rules.required_step(kind, detail), status, dates, on)
    rules.check_single(kind, list(entries), corrects)


# --------------------------------------------------------------------------- order: the step each entry needs
@pytest.mark.parametrize("kind, detail, needs", [
    (EntryKind.TALK, {"purpose": "application"}, "applicant"),
    (EntryKind.TALK, {"purpose": "cultivation"}, "activist"),
    (EntryKind.TALK, {"purpose": "admission"}, "development_target"),
    (EntryKind.TALK, {"purpose": "probation"}, "probationary"),
    (EntryKind.INTRODUCERS, {}, "development_target"),
    (EntryKind.POLITICAL_REVIEW, {}, "development_target"),
    (EntryKind.TRAINING, {"stage": "activist"}, "activist"),
    (EntryKind.TRAINING, {"stage": "development_target"}, "development_target"),
])
def test_each_entry_is_admitted_from_its_step_on_and_refused_before(kind, detail, needs):
    statuses = list(STATUS_OF)
    for status in statuses:
        on = date(2026, 12, 1) if status == "full" else date(2026, 11, 1)
        if statuses.index(status) >= statuses.index(needs):
            admit(kind, status, on, **detail)
        else:
            with pytest.raises(Conflict) as refused:
                admit(kind, status, on, **detail)
            assert refused.value.code == "STEP_NOT_REACHED" and refused.value.field == "kind"


def test_the_political_review_before_the_member_became_a_development_target_is_refused():
    with pytest.raises(Conflict) as refused:
        admit(EntryKind.POLITICAL_REVIEW, "activist", date(2026, 11, 1))
    assert refused.value.code == "STEP_NOT_REACHED"
    assert "发展对象阶段才能记录政治审查" in refused.value.message


def test_an_entry_dated_before_the_step_it_needs_is_refused():
    with pytest.raises(InvalidArgument) as refused:
        admit(EntryKind.POLITICAL_REVIEW, "development_target", date(2025, 9, 30))
    assert (refused.value.code, refused.value.field) == ("DATE_BEFORE_STEP", "on")
    admit(EntryKind.POLITICAL_REVIEW, "development_target", date(2025, 10, 1))      # the same day is allowed


def test_an_entry_in_the_future_is_refused():
    with pytest.raises(InvalidArgument) as refused:
        admit(EntryKind.TALK, "applicant", date(2026, 12, 7), purpose="application")
    assert refused.value.code == "DATE_IN_FUTURE"


def test_a_full_members_record_takes_no_entry_dated_after_it_became_full():
    admit(EntryKind.TALK, "full", date(2026, 12, 1), purpose="probation")
    with pytest.raises(Conflict) as refused:
        admit(EntryKind.TALK, "full", date(2026, 12, 2), purpose="probation")
    assert refused.value.code == "RECORD_CLOSED"


# --------------------------------------------------------------------------- single entries, corrections
def test_a_second_political_review_is_refused_but_a_correction_of_the_first_is_admitted():
    first = entry("dev_1", EntryKind.POLITICAL_REVIEW, outcome="failed")
    with pytest.raises(Conflict) as refused:
        admit(EntryKind.POLITICAL_REVIEW, "development_target", date(2026, 11, 1), [first])
    assert refused.value.code == "ENTRY_EXISTS"
    admit(EntryKind.POLITICAL_REVIEW, "development_target", date(2026, 11, 1), [first], corrects="dev_1")


def test_talks_and_trainings_may_be_many():
    talks = [entry("dev_1", EntryKind.TALK, purpose="application"),
             entry("dev_2", EntryKind.TALK, purpose="application")]
    admit(EntryKind.TALK, "applicant", date(2026, 11, 1), talks, purpose="application")
    admit(EntryKind.TRAINING, "activist", date(2026, 11, 1), [entry("dev_3", EntryKind.TRAINING)], stage="activist")


def test_a_superseded_entry_is_not_corrected_again_and_the_correction_may_be():
    first = entry("dev_1", EntryKind.INTRODUCERS)
    correction = entry("dev_2", EntryKind.INTRODUCERS, corrects="dev_1")
    with pytest.raises(Conflict) as refused:
        admit(EntryKind.INTRODUCERS, "development_target", date(2026, 11, 1), [first, correction], corrects="dev_1")
    assert refused.value.code == "ENTRY_SUPERSEDED"
    admit(EntryKind.INTRODUCERS, "development_target", date(2026, 11, 1), [first, correction], corrects="dev_2")


def test_a_correction_names_an_entry_of_the_record_and_of_its_own_kind():
    talk = entry("dev_1", EntryKind.TALK, purpose="application")
    with pytest.raises(InvalidArgument) as unknown:
        admit(EntryKind.TALK, "applicant", date(2026, 11, 1), [talk], corrects="dev_9", purpose="application")
    assert unknown.value.code == "ENTRY_NOT_FOUND"
    with pytest.raises(InvalidArgument) as mismatch:
        admit(EntryKind.TRAINING, "activist", date(2026, 11, 1), [talk], corrects="dev_1", stage="activist")
    assert mismatch.value.code == "CORRECTION_KIND_MISMATCH"


def test_live_entries_leave_out_the_corrected_ones():
    entries = [entry("dev_1", EntryKind.TALK), entry("dev_2", EntryKind.TALK, corrects="dev_1"),
               entry("dev_3", EntryKind.TRAINING)]
    assert [e["_id"] for e in rules.live_entries(entries)] == ["dev_2", "dev_3"]


# --------------------------------------------------------------------------- introducers
APPLICANT_DOC = {"_id": "m_a", "tenant_id": "t1", "branch_id": "b1", "status": "development_target"}


def member(member_id, status="full", branch_id="b1", tenant_id="t1"):
    return {"_id": member_id, "tenant_id": tenant_id, "branch_id": branch_id, "status": status, "name": member_id}


def test_two_full_members_of_the_branch_introduce():
    rules.check_introducers(APPLICANT_DOC, [member("m_1"), member("m_2")], ["m_1", "m_2"])


@pytest.mark.parametrize("introducers, ids, code", [
    ([member("m_1")], ["m_1"], "INTRODUCERS_COUNT"),
    ([member("m_1"), member("m_1")], ["m_1", "m_1"], "INTRODUCERS_COUNT"),
    ([member("m_1"), member("m_2"), member("m_3")], ["m_1", "m_2", "m_3"], "INTRODUCERS_COUNT"),
    ([APPLICANT_DOC, member("m_2")], ["m_a", "m_2"], "INTRODUCER_IS_APPLICANT"),
    ([member("m_1"), member("m_2", status="probationary")], ["m_1", "m_2"], "INTRODUCER_NOT_FULL_MEMBER"),
    ([member("m_1"), member("m_2", branch_id="b2")], ["m_1", "m_2"], "INTRODUCER_NOT_IN_BRANCH"),
    ([member("m_1"), member("m_2", tenant_id="t2")], ["m_1", "m_2"], "INTRODUCER_NOT_IN_BRANCH"),
    ([member("m_1"), None], ["m_1", "m_x"], "INTRODUCER_NOT_IN_BRANCH"),
])
def test_introducers_must_be_two_full_members_of_the_applicants_branch(introducers, ids, code):
    with pytest.raises(InvalidArgument) as refused:
        rules.check_introducers(APPLICANT_DOC, introducers, ids)
    assert (refused.value.code, refused.value.field) == (code, "introducer_ids")


# --------------------------------------------------------------------------- outstanding, publicity
def test_before_admission_the_record_lacks_introducers_a_passed_review_and_a_training():
    assert [row["kind"] for row in rules.outstanding("development_target", [])] == [
        "introducers", "political_review", "training"]
    entries = [entry("dev_1", EntryKind.INTRODUCERS), entry("dev_2", EntryKind.POLITICAL_REVIEW, outcome="failed"),
               entry("dev_3", EntryKind.TRAINING, stage="development_target")]
    assert [row["kind"] for row in rules.outstanding("development_target", entries)] == ["political_review"]
    entries.append(entry("dev_4", EntryKind.POLITICAL_REVIEW, corrects="dev_2", outcome="passed"))
    assert rules.outstanding("development_target", entries) == []
    assert rules.outstanding("activist", []) == [] and rules.outstanding("full", []) == []


def test_each_publicised_step_reached_shows_its_publicity_or_that_it_is_missing():
    publicities = [{"id": "pub_1", "step": "development_target", "state": "closed", "opens_on": "2025-10-02",
                    "closes_on": "2025-10-09", "objections": 2, "pending_objections": 0}]
    rows = rules.publicity_rows(PROBATIONARY, publicities)
    assert [(row["step"], row["state"], row["objections"]) for row in rows] == [
        ("development_target", "closed", 2), ("probationary", "missing", 0)]
    assert [row["state"] for row in rules.publicity_rows(FULL, None)] == ["unknown"] * 3
    hidden = rules.publicity_rows(PROBATIONARY, publicities, objections_visible=False)
    assert [(row["state"], row["objections"], row["objections_visible"]) for row in hidden] == [
        ("closed", 0, False), ("missing", 0, False)]
    assert rules.publicity_rows(ACTIVIST, []) == []


def test_the_latest_publicity_of_a_step_counts():
    publicities = [{"id": "pub_1", "step": "probationary", "state": "suspended", "opens_on": "2025-12-01",
                    "closes_on": "2025-12-05"},
                   {"id": "pub_2", "step": "probationary", "state": "open", "opens_on": "2026-01-05",
                    "closes_on": "2026-01-09", "objections": 0, "pending_objections": 0}]
    [_, row] = rules.publicity_rows(PROBATIONARY, publicities)
    assert (row["publicity_id"], row["state"]) == ("pub_2", "open")


def test_an_unknown_kind_is_refused_with_its_field():
    with pytest.raises(InvalidArgument) as refused:
        rules.entry_kind("party")
    assert (refused.value.code, refused.value.field) == ("UNKNOWN_VALUE", "kind")
