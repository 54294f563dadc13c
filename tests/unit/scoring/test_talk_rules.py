"""The rules of a secretary's talk record (诫勉谈话): its date inside the cycle and not after today, its note."""
from datetime import date

import pytest

from servicekit.errors import InvalidArgument
from services.scoring.domain.periods import cycle_of
from services.scoring.domain.points import below_threshold, on_talk_list
from services.scoring.domain.talks import NOTE_MAX_CHARS, check_held_on, check_note, cycle_start

TODAY = "2026-05-20"


@pytest.mark.parametrize("day, kind", [("2026-01-01", "calendar"), ("2026-12-31", "calendar"),
                                       ("2026-09-01", "academic"), ("2027-08-31", "academic")])
def test_a_cycle_starts_on_the_first_day_cycle_of_puts_in_it(day, kind):
    cycle = cycle_of(day, kind)
    assert cycle_start(cycle) <= date.fromisoformat(day)
    assert cycle_of(cycle_start(cycle).isoformat(), kind) == cycle
    assert cycle_start(cycle).isoformat() in ("2026-01-01", "2026-09-01")


@pytest.mark.parametrize("held_on, cycle", [("2026-05-20", "2026"), ("2026-01-01", "2026"),
                                            (" 2026-03-02 ", "2026"), ("2025-09-01", "2025-2026"),
                                            ("2026-02-10", "2025"), ("2026-05-20", "2025-2026")])
def test_a_date_from_the_cycles_first_day_to_today_is_taken(held_on, cycle):
    assert check_held_on(held_on, cycle, TODAY) == held_on.strip()


@pytest.mark.parametrize("held_on, cycle, code", [
    ("2026-05-21", "2026", "DATE_IN_FUTURE"),
    ("2027-01-01", "2027", "DATE_IN_FUTURE"),
    ("2025-12-31", "2026", "DATE_BEFORE_CYCLE"),
    ("2025-08-31", "2025-2026", "DATE_BEFORE_CYCLE"),
    ("2026-02-30", "2026", "DATE_INVALID"),
    ("2026-5-20", "2026", "DATE_INVALID"),
    ("20260520", "2026", "DATE_INVALID"),
    ("2026-05-20T08:00", "2026", "DATE_INVALID"),
    ("", "2026", "REQUIRED"),
    ("   ", "2026", "REQUIRED"),
    (None, "2026", "INVALID_TYPE"),
    (20260520, "2026", "INVALID_TYPE"),
])
def test_a_date_outside_the_cycle_or_after_today_or_malformed_is_refused(held_on, cycle, code):
    with pytest.raises(InvalidArgument) as refused:
        check_held_on(held_on, cycle, TODAY)
    assert (refused.value.code, refused.value.field) == (code, "held_on")
    assert refused.value.message


def test_a_note_is_trimmed_and_keeps_its_line_breaks_and_tabs():
    assert check_note("  指出问题：\r\n1. 学习不够\n\t2. 党费迟交  ") == "指出问题：\n1. 学习不够\n\t2. 党费迟交"
    assert len(check_note("谈" * NOTE_MAX_CHARS)) == NOTE_MAX_CHARS
    assert check_note(" " * 50 + "谈" * NOTE_MAX_CHARS + "\n") == "谈" * NOTE_MAX_CHARS   # counted after trimming


@pytest.mark.parametrize("note, code", [
    ("", "REQUIRED"), (" \n\t ", "REQUIRED"), (None, "INVALID_TYPE"), (["谈话"], "INVALID_TYPE"),
    ("谈" * (NOTE_MAX_CHARS + 1), "TOO_LONG"),
    ("谈话\x00内容", "CONTROL_CHARACTERS"), ("谈话\x1b[31m内容", "CONTROL_CHARACTERS"),
    ("谈话\r内容", "CONTROL_CHARACTERS"), ("谈话\x7f", "CONTROL_CHARACTERS"), ("谈话\x85内容", "CONTROL_CHARACTERS"),
    ("已整改\u202e改整未", "CONTROL_CHARACTERS"), ("谈话\u2066内容\u2069", "CONTROL_CHARACTERS"),
    ("谈话\u2028内容", "CONTROL_CHARACTERS"),
])
def test_an_empty_overlong_or_disguised_note_is_refused(note, code):
    with pytest.raises(InvalidArgument) as refused:
        check_note(note)
    assert (refused.value.code, refused.value.field) == (code, "note")


def test_the_talk_list_and_a_single_members_listing_use_one_rule():
    rows = [{"member_id": "a", "total": 9.99}, {"member_id": "b", "total": 10}, {"member_id": "c", "total": -5}]
    assert [row["member_id"] for row in below_threshold(rows, 10)] == ["c", "a"]
    assert [on_talk_list(row["total"], 10) for row in rows] == [True, False, True]
