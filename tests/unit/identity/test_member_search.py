import pytest

from servicekit.errors import InvalidArgument
from neosqlite.collection.datetime_utils import is_datetime_value

from services.identity.domain.search import NAME_MARK, MemberSearch, fold, member_keys, parse_query


def matches(query: str, name: str, phone: str = "13812345678") -> bool:
    """Evaluate ``conditions`` against ``member_keys`` the way the store does: any condition, all of its terms."""
    keys = {f"search.{field}": value for field, value in member_keys(name, phone).items()}
    member = {**keys, "phone": phone}

    def meets(condition):
        for field, wanted in condition.items():
            value = member.get(field)
            if isinstance(wanted, dict):
                if value is None or value < wanted["$gte"] or ("$lt" in wanted and value >= wanted["$lt"]):
                    return False
            elif value != wanted:
                return False
        return True
    return any(meets(condition) for condition in parse_query(query).conditions())


def test_a_name_is_keyed_by_itself_and_each_of_its_first_suffixes():
    assert member_keys("张小明", "13812345678") == {
        "name": "~张小明", "name_1": "~小明", "name_2": "~明", "phone_tail": "5678"}
    assert member_keys("欧阳小明", "") == {
        "name": "~欧阳小明", "name_1": "~阳小明", "name_2": "~小明", "name_3": "~明"}


def test_keys_are_folded_full_width_case_and_blanks_away():
    assert member_keys("ＺＨＡＮＧ Wei", "")["name"] == NAME_MARK + "zhangwei"
    assert fold(" 张　小明 ") == "张小明"


@pytest.mark.parametrize("query", ["张", "小明", "张小明", "小", "明", "张小", "  张小明 "])
def test_any_part_of_a_chinese_name_finds_it(query):
    assert matches(query, "张小明")


@pytest.mark.parametrize("query", ["李", "张明", "小明明", "张小明明", "明张"])
def test_what_is_not_a_part_of_the_name_does_not_find_it(query):
    assert not matches(query, "张小明")


def test_every_part_of_a_four_character_name_finds_it():
    name = "欧阳小明"
    parts = {name[start:end] for start in range(4) for end in range(start + 1, 5)}
    assert all(matches(part, name) for part in parts)


def test_a_latin_name_is_found_whatever_the_case_or_width():
    assert matches("angw", "Zhang WEI") and matches("ＺＨＡＮＧ", "zhang wei")


def test_a_part_beginning_after_the_fourth_character_of_a_longer_name_is_not_found():
    name = "阿依古丽·买买提"
    assert matches("丽·买买提", name) and matches("阿依古丽", name)
    assert not matches("买买提", name)


def test_a_prefix_range_does_not_stop_at_the_last_basic_plane_character():
    assert matches("张", "张\U00020000明") and matches("张\uffff", "张\uffff明")


def test_a_phone_is_found_by_its_whole_number_or_its_last_four_digits():
    assert parse_query("13812345678") == MemberSearch("13812345678", by_phone=True)
    assert matches("13812345678", "张三") and matches("5678", "张三")
    assert matches("138-1234-5678", "张三") and matches("+86 138 1234 5678", "张三")
    assert matches("１３８１２３４５６７８", "张三")          # full-width digits, as an IME may type them
    assert not matches("13812345679", "张三") and not matches("1234", "张三")


def test_a_phone_search_matches_the_tail_index_and_checks_the_whole_number():
    assert parse_query("13812345678").conditions() == [{"search.phone_tail": "5678", "phone": "13812345678"}]
    assert parse_query("5678").conditions() == [{"search.phone_tail": "5678"}]


def test_a_name_search_is_one_range_per_name_key():
    conditions = parse_query("小明").conditions()
    assert [list(condition) for condition in conditions] == [
        ["search.name"], ["search.name_1"], ["search.name_2"], ["search.name_3"]]
    assert conditions[0]["search.name"] == {"$gte": "~小明", "$lt": "~小昏"}


@pytest.mark.parametrize("query", ["2024/01/01", "2024-01-01T08:30:00", "01/15/2023 张", "١٩٩٠/٠١/٠١", "1990 01 01 a"])
def test_no_search_hands_the_store_a_string_it_would_take_for_a_date(query):
    # nx-27017 answers a condition holding such a string by reading every member instead of the index
    assert not any(is_datetime_value(condition) for condition in parse_query(query).conditions())
    assert matches(query, query)


@pytest.mark.parametrize("blank", [None, "", "   ", "\u3000"])
def test_a_blank_query_is_no_search(blank):
    assert parse_query(blank) is None


@pytest.mark.parametrize("query, code", [
    ("张" * 33, "TOO_LONG"), ("x" * 10_000, "TOO_LONG"), ("张\x00三", "CONTROL_CHARACTERS"),
    ("张\u200b三", "CONTROL_CHARACTERS"), ("\u202e张三", "CONTROL_CHARACTERS"), ("张\ud800", "CONTROL_CHARACTERS"),
    ("123", "PHONE_QUERY_INVALID"), ("138123456789", "PHONE_QUERY_INVALID"), (42, "INVALID_TYPE"),
    (["张"], "INVALID_TYPE"),
])
def test_bad_queries_are_refused_with_a_code_on_the_q_field(query, code):
    with pytest.raises(InvalidArgument) as error:
        parse_query(query)
    assert (error.value.code, error.value.field) == (code, "q")


def test_the_length_limit_applies_after_normalising():
    assert parse_query("张" * 32).text == "张" * 32
    assert parse_query(" " * 40 + "张三" + " " * 40).text == "张三"
