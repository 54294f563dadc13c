from datetime import date

import pytest

from servicekit.errors import InvalidArgument
from services.identity.domain.idcard import (birth_date_of, gender_of, make_id_number, mask_id_number,
                                             normalize_id_number)

KNOWN_VALID = "11010519491231002X"
TODAY = date(2026, 11, 22)


def test_a_known_valid_number_is_accepted_and_a_lowercase_x_is_uppercased():
    assert normalize_id_number(" 11010519491231002x ", TODAY) == KNOWN_VALID


def test_the_same_number_with_a_wrong_check_character_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        normalize_id_number("110105194912310021", TODAY)
    assert caught.value.code == "ID_NUMBER_INVALID"
    assert caught.value.field == "id_number"
    assert "校验" in caught.value.message


@pytest.mark.parametrize("value", ["", None, "11010519491231002", "1101051949123100200", "11010519491231A02X",
                                   "X10105194912310021", "110105194902300027"])
def test_malformed_numbers_and_impossible_birth_dates_are_refused(value):
    with pytest.raises(InvalidArgument) as caught:
        normalize_id_number(value, TODAY)
    assert caught.value.code == "ID_NUMBER_INVALID"


def test_a_birth_date_before_1900_is_refused_even_with_a_correct_check_character():
    with pytest.raises(InvalidArgument):
        normalize_id_number("440524188001010014", TODAY)


def test_a_birth_date_after_today_is_refused():
    future = make_id_number("610702", date(2027, 1, 1), 1, "male")
    with pytest.raises(InvalidArgument):
        normalize_id_number(future, TODAY)
    assert normalize_id_number(future, date(2027, 1, 1)) == future


def test_masking_keeps_the_first_six_and_last_four_characters():
    assert mask_id_number(KNOWN_VALID) == "110105********002X"


def test_birth_date_and_gender_are_read_from_the_number():
    assert birth_date_of(KNOWN_VALID) == date(1949, 12, 31)
    assert gender_of(KNOWN_VALID) == "female"
    assert gender_of("110105194912310037") == "male"


@pytest.mark.parametrize("gender", ["male", "female"])
def test_made_numbers_are_valid_and_carry_the_birth_date_and_gender(gender):
    for sequence in (0, 17, 499):
        number = make_id_number("610702", date(2000, 2, 29), sequence, gender)
        assert normalize_id_number(number, TODAY) == number
        assert birth_date_of(number) == date(2000, 2, 29)
        assert gender_of(number) == gender


def test_made_numbers_differ_by_sequence():
    numbers = {make_id_number("610702", date(1990, 5, 4), sequence, "female") for sequence in range(500)}
    assert len(numbers) == 500


def test_making_a_number_from_a_bad_region_code_is_a_programming_error():
    with pytest.raises(ValueError):
        make_id_number("61070", date(1990, 5, 4), 1, "male")
