from datetime import date, datetime

import pytest

from servicekit.errors import InvalidArgument
from services.identity.domain.idcard import make_id_number
from services.identity.domain.members import (member_problems, parse_bool, parse_date,
                                              validate_member_update)

TODAY = date(2026, 11, 22)
ID_NUMBER = make_id_number("610702", date(1990, 4, 15), 12, "female")


def new_member(**changes):
    fields = {"name": "李红", "gender": "female", "birth_date": "1990-04-15", "id_number": ID_NUMBER,
              "phone": "13912345678", "education": "本科", "status": "activist",
              "applied_on": "2024-03-01", "activist_on": "2024/9/1", "enrolment": "graduated", "mobile": "否"}
    fields.update(changes)
    return fields


def codes(problems):
    return {problem.field: problem.code for problem in problems}


def test_a_valid_member_is_normalized_to_typed_values():
    member, problems = member_problems(new_member(), TODAY)
    assert problems == []
    assert member == {
        "name": "李红", "gender": "female", "birth_date": date(1990, 4, 15), "id_number": ID_NUMBER,
        "phone": "13912345678", "education": "本科", "enrolment": "graduated", "mobile": False,
        "status": "activist", "status_dates": {"applicant": date(2024, 3, 1), "activist": date(2024, 9, 1)},
    }


def test_typed_values_and_a_status_dates_dict_are_accepted_as_given_over_rpc():
    fields = new_member(birth_date=date(1990, 4, 15), mobile=True, applied_on=None, activist_on=None,
                        status_dates={"applicant": date(2024, 3, 1), "activist": "2024-09-01"})
    member, problems = member_problems(fields, TODAY)
    assert problems == []
    assert member["mobile"] is True
    assert member["status_dates"] == {"applicant": date(2024, 3, 1), "activist": date(2024, 9, 1)}


def test_blank_gender_and_birth_date_are_taken_from_the_id_number():
    member, problems = member_problems(new_member(gender="", birth_date=""), TODAY)
    assert problems == []
    assert (member["gender"], member["birth_date"]) == ("female", date(1990, 4, 15))


def test_a_birth_date_or_gender_that_disagrees_with_the_id_number_is_refused():
    _, problems = member_problems(new_member(birth_date="1990-04-16", gender="male"), TODAY)
    assert codes(problems) == {"birth_date": "BIRTH_DATE_MISMATCH", "gender": "GENDER_MISMATCH"}


@pytest.mark.parametrize("field, value, code", [
    ("name", "", "NAME_INVALID"),
    ("name", "名" * 31, "NAME_INVALID"),
    ("gender", "unknown", "GENDER_INVALID"),
    ("id_number", ID_NUMBER[:-1] + ("0" if ID_NUMBER[-1] != "0" else "1"), "ID_NUMBER_INVALID"),
    ("phone", "12912345678", "PHONE_INVALID"),
    ("phone", "1391234567", "PHONE_INVALID"),
    ("phone", "", "PHONE_INVALID"),
    ("education", "幼儿园", "EDUCATION_INVALID"),
    ("enrolment", "dropped", "ENROLMENT_INVALID"),
    ("mobile", "maybe", "BOOLEAN_INVALID"),
    ("birth_date", "15/04/1990", "DATE_INVALID"),
    ("status", "leader", "STATUS_INVALID"),
])
def test_each_bad_field_is_reported_under_its_own_name(field, value, code):
    _, problems = member_problems(new_member(**{field: value}), TODAY)
    assert codes(problems) == {field: code}


def test_every_bad_field_is_reported_at_once_but_only_the_first_problem_per_field():
    _, problems = member_problems(new_member(name="", phone="1", activist_on="2030-01-01",
                                             applied_on="2031-01-01"), TODAY)
    assert codes(problems) == {"name": "NAME_INVALID", "phone": "PHONE_INVALID",
                               "applied_on": "DATE_IN_FUTURE", "activist_on": "DATE_IN_FUTURE"}


def test_lifecycle_rules_apply_to_the_status_dates():
    _, problems = member_problems(new_member(status="full"), TODAY)
    assert codes(problems) == {"probationary_on": "DATE_MISSING", "full_on": "DATE_MISSING"}


def test_a_phone_written_with_spaces_dashes_or_country_code_is_normalized():
    for phone in ("139-1234-5678", "+86 139 1234 5678"):
        member, problems = member_problems(new_member(phone=phone), TODAY)
        assert problems == [] and member["phone"] == "13912345678"


def test_education_aliases_map_to_the_list_and_blank_is_allowed():
    assert member_problems(new_member(education="大学本科"), TODAY)[0]["education"] == "本科"
    assert member_problems(new_member(education=""), TODAY)[0]["education"] == ""


def test_blank_status_enrolment_and_mobile_take_their_defaults():
    member, problems = member_problems(new_member(status="", activist_on="", enrolment="", mobile=""), TODAY)
    assert problems == []
    assert (member["status"], member["enrolment"], member["mobile"]) == ("applicant", "none", False)


def test_an_applicant_must_be_eighteen_on_the_application_date():
    birth = date(2008, 2, 29)
    young = make_id_number("610702", birth, 3, "male")
    fields = new_member(id_number=young, gender="", birth_date="", status="applicant", activist_on="",
                        applied_on="2026-02-28")
    _, problems = member_problems(fields, TODAY)
    assert codes(problems) == {"applied_on": "TOO_YOUNG"}
    fields["applied_on"] = "2026-03-01"
    assert member_problems(fields, TODAY)[1] == []


@pytest.mark.parametrize("value", [date(2024, 3, 1), datetime(2024, 3, 1, 8, 30), "2024-03-01", "2024/03/01",
                                   "2024/3/1", " 2024-03-01 00:00:00 "])
def test_dates_are_parsed_from_the_usual_spellings(value):
    assert parse_date(value, "applied_on") == date(2024, 3, 1)


@pytest.mark.parametrize("value", ["2024-02-30", "01/03/2024", "yesterday", ""])
def test_unreal_or_unreadable_dates_are_refused_naming_the_field(value):
    with pytest.raises(InvalidArgument) as caught:
        parse_date(value, "applied_on")
    assert (caught.value.code, caught.value.field) == ("DATE_INVALID", "applied_on")


def test_booleans_accept_english_chinese_and_digits():
    assert [parse_bool(value) for value in (True, "true", "是", "1", "TRUE")] == [True] * 5
    assert [parse_bool(value) for value in (False, "false", "否", "0", "")] == [False] * 5


def test_an_update_is_normalized_and_unchanged_fields_are_left_out():
    assert validate_member_update({"name": " 王五 ", "phone": "139 1234 5678", "education": None,
                                   "enrolment": "enrolled", "mobile": "是"}) == {
        "name": "王五", "phone": "13912345678", "enrolment": "enrolled", "mobile": True}


def test_an_update_of_a_field_that_is_not_updatable_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        validate_member_update({"id_number": ID_NUMBER})
    assert (caught.value.code, caught.value.field) == ("FIELD_NOT_UPDATABLE", "id_number")


def test_an_update_with_a_bad_value_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        validate_member_update({"phone": "110"})
    assert caught.value.code == "PHONE_INVALID"
    with pytest.raises(InvalidArgument) as caught:
        validate_member_update({"name": ""})
    assert caught.value.code == "NAME_INVALID"


def test_empty_entries_in_the_status_dates_dict_count_as_absent():
    fields = new_member(applied_on=None, activist_on=None, status="applicant",
                        status_dates={"applicant": "2024-03-01", "activist": None, "full": ""})
    member, problems = member_problems(fields, TODAY)
    assert problems == []
    assert member["status_dates"] == {"applicant": date(2024, 3, 1)}


def test_an_unknown_status_in_the_status_dates_dict_is_refused():
    _, problems = member_problems(new_member(status_dates={"leader": "2024-03-01"}), TODAY)
    assert codes(problems) == {"status_dates": "STATUS_INVALID"}
