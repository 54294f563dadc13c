from datetime import date

import pytest

from servicekit.errors import Conflict, InvalidArgument
from services.identity.domain.lifecycle import (STATUSES, add_years, check_advance, history_problems,
                                                status_history)

TODAY = date(2026, 11, 22)
FULL_HISTORY = {
    "applicant": date(2019, 3, 1),
    "activist": date(2019, 9, 1),
    "development_target": date(2020, 9, 1),
    "probationary": date(2020, 12, 1),
    "full": date(2021, 12, 1),
}


def codes(problems):
    return [(problem.field, problem.code) for problem in problems]


def test_the_statuses_run_from_applicant_to_full_member():
    assert STATUSES == ("applicant", "activist", "development_target", "probationary", "full")


def test_a_complete_consistent_history_has_no_problems():
    assert history_problems("full", FULL_HISTORY, TODAY) == []


def test_an_applicant_needs_only_the_application_date():
    assert history_problems("applicant", {"applicant": date(2026, 1, 5)}, TODAY) == []
    assert codes(history_problems("applicant", {}, TODAY)) == [("applied_on", "DATE_MISSING")]


def test_an_activist_needs_the_dates_of_every_earlier_step():
    assert codes(history_problems("activist", {"activist": date(2026, 1, 5)}, TODAY)) == [
        ("applied_on", "DATE_MISSING")]


def test_old_full_members_may_lack_the_dates_before_probation():
    dates = {"probationary": date(1985, 7, 1), "full": date(1986, 7, 1)}
    assert history_problems("full", dates, TODAY) == []
    assert codes(history_problems("full", {"full": date(1986, 7, 1)}, TODAY)) == [
        ("probationary_on", "DATE_MISSING")]


def test_dates_present_in_old_records_are_still_checked():
    dates = {"activist": date(1985, 1, 1), "development_target": date(1985, 6, 1),
             "probationary": date(1985, 7, 1), "full": date(1986, 7, 1)}
    assert codes(history_problems("full", dates, TODAY)) == [
        ("development_target_on", "STATUS_INTERVAL_TOO_SHORT")]


def test_a_date_for_a_step_not_yet_reached_is_refused():
    dates = {"applicant": date(2025, 1, 1), "activist": date(2025, 6, 1)}
    assert codes(history_problems("applicant", dates, TODAY)) == [("activist_on", "DATE_FOR_LATER_STEP")]


def test_a_date_after_today_is_refused():
    assert codes(history_problems("applicant", {"applicant": date(2026, 11, 23)}, TODAY)) == [
        ("applied_on", "DATE_IN_FUTURE")]


def test_a_step_dated_before_the_previous_step_is_refused_but_the_same_day_is_fine():
    dates = {"applicant": date(2025, 5, 1), "activist": date(2025, 4, 30)}
    assert codes(history_problems("activist", dates, TODAY)) == [("activist_on", "DATE_BEFORE_PREVIOUS_STEP")]
    assert history_problems("activist", {"applicant": date(2025, 5, 1), "activist": date(2025, 5, 1)}, TODAY) == []


def test_a_development_target_less_than_a_year_after_becoming_activist_is_refused():
    dates = dict(FULL_HISTORY, development_target=date(2020, 8, 31))
    assert codes(history_problems("development_target", {k: dates[k] for k in STATUSES[:3]}, TODAY)) == [
        ("development_target_on", "STATUS_INTERVAL_TOO_SHORT")]


def test_a_full_member_after_less_than_a_year_of_probation_is_refused():
    dates = dict(FULL_HISTORY, full=date(2021, 11, 30))
    assert codes(history_problems("full", dates, TODAY)) == [("full_on", "STATUS_INTERVAL_TOO_SHORT")]


def test_an_unknown_status_is_reported_on_the_status_field():
    assert codes(history_problems("member", {}, TODAY)) == [("status", "STATUS_INVALID")]


def test_a_year_after_29_february_ends_on_1_march_when_the_next_year_has_no_29_february():
    assert add_years(date(2024, 2, 29), 1) == date(2025, 3, 1)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert add_years(date(2023, 2, 28), 1) == date(2024, 2, 28)


def test_an_activist_from_29_february_becomes_a_target_on_1_march_at_the_earliest():
    dates = {"applicant": date(2024, 1, 10), "activist": date(2024, 2, 29)}
    with pytest.raises(Conflict) as caught:
        check_advance("activist", dates, "development_target", date(2025, 2, 28), TODAY)
    assert caught.value.code == "STATUS_INTERVAL_TOO_SHORT"
    check_advance("activist", dates, "development_target", date(2025, 3, 1), TODAY)


def test_advancing_to_the_next_step_on_a_valid_date_passes():
    check_advance("applicant", {"applicant": date(2026, 1, 1)}, "activist", date(2026, 6, 1), TODAY)


@pytest.mark.parametrize("current, target", [
    ("applicant", "development_target"), ("activist", "probationary"), ("activist", "applicant"),
    ("full", "full"), ("probationary", "probationary"),
])
def test_skipping_repeating_or_going_back_a_step_is_refused(current, target):
    with pytest.raises(Conflict) as caught:
        check_advance(current, FULL_HISTORY, target, date(2026, 1, 1), TODAY)
    assert caught.value.code == "STATUS_STEP_INVALID"


def test_advancing_to_an_unknown_status_is_an_invalid_argument():
    with pytest.raises(InvalidArgument) as caught:
        check_advance("applicant", {}, "leader", date(2026, 1, 1), TODAY)
    assert caught.value.code == "STATUS_INVALID"


def test_advancing_on_a_future_date_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        check_advance("applicant", {"applicant": date(2026, 1, 1)}, "activist", date(2026, 11, 23), TODAY)
    assert (caught.value.code, caught.value.field) == ("DATE_IN_FUTURE", "on")


def test_advancing_on_a_date_before_the_previous_step_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        check_advance("applicant", {"applicant": date(2026, 1, 1)}, "activist", date(2025, 12, 31), TODAY)
    assert (caught.value.code, caught.value.field) == ("DATE_BEFORE_PREVIOUS_STEP", "on")


def test_becoming_full_needs_a_full_year_of_probation():
    dates = {"probationary": date(2025, 7, 1)}
    with pytest.raises(Conflict) as caught:
        check_advance("probationary", dates, "full", date(2026, 6, 30), TODAY)
    assert caught.value.code == "STATUS_INTERVAL_TOO_SHORT"
    check_advance("probationary", dates, "full", date(2026, 7, 1), TODAY)


def test_the_history_lists_dated_steps_in_order():
    assert status_history({"activist": date(2025, 2, 1), "applicant": date(2024, 2, 1)}) == [
        {"status": "applicant", "on": "2024-02-01"}, {"status": "activist", "on": "2025-02-01"}]
