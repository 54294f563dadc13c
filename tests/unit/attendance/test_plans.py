from datetime import datetime, timezone

import pytest

from servicekit.errors import InvalidArgument
from services.attendance.domain import coords
from services.attendance.domain.geo import distance_m
from services.attendance.domain.plans import (CHECKIN_OPENS_BEFORE_MINUTES, DEFAULT_CHECKOUT_WINDOW_MINUTES,
                                              DEFAULT_GRACE_MINUTES, DEFAULT_RADIUS_M, MAX_DURATION_HOURS,
                                              RADIUS_RANGE, REQUIRED_ACTIONS, validate_plan, validate_radius,
                                              validate_theme)

ALL_CODES = ["recite_constitution", "pay_dues", "study_rules_history", "organisational_life",
             "democratic_deliberation", "democratic_openness"]
NOW = datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)
THEME = {"title": "学习贯彻全会精神", "month": "2026-11", "due_from": "2026-11-01", "due_to": "2026-11-30"}


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def error_of(call, *args, **kwargs):
    with pytest.raises(InvalidArgument) as caught:
        call(*args, **kwargs)
    return caught.value.code, caught.value.field


def plan(**changes):
    fields = {"date": "2026-11-22", "start_time": "09:00", "end_time": "11:30", "venue_name": "党员活动室",
              "venue_lat": 34.341575, "venue_lng": 108.93977, "optional_actions": ["参观红色教育基地"]}
    fields.update(changes)
    return fields


# ---- constants -------------------------------------------------------------------------------

def test_constants_match_the_rules():
    assert DEFAULT_RADIUS_M == 300 and RADIUS_RANGE == (50, 2000)
    assert DEFAULT_GRACE_MINUTES == 10 and CHECKIN_OPENS_BEFORE_MINUTES == 30
    assert DEFAULT_CHECKOUT_WINDOW_MINUTES == 60 and MAX_DURATION_HOURS == 8
    assert [code for code, _ in REQUIRED_ACTIONS] == ALL_CODES
    assert [label for _, label in REQUIRED_ACTIONS] == ["诵读党章", "缴纳党费", "研学党规党情", "落实组织生活",
                                                        "开展民主议事", "实行民主公开"]


# ---- theme -----------------------------------------------------------------------------------

def test_a_theme_is_normalised_with_all_six_required_actions_by_default():
    assert validate_theme("  学习贯彻全会精神 ", "2026-11", "2026-11-01", "2026-11-30") == {
        "title": "学习贯彻全会精神", "month": "2026-11", "due_from": "2026-11-01", "due_to": "2026-11-30",
        "required_actions": ALL_CODES,
    }


def test_a_subset_of_required_actions_is_kept_in_the_customary_order_without_duplicates():
    theme = validate_theme("主题", "2026-11", "2026-11-01", "2026-11-30",
                           ["democratic_openness", "pay_dues", "pay_dues"])
    assert theme["required_actions"] == ["pay_dues", "democratic_openness"]


@pytest.mark.parametrize("actions", [["pay_dues", "dance"], [], "pay_dues", [None]])
def test_unknown_or_empty_required_actions_are_rejected(actions):
    assert error_of(validate_theme, "主题", "2026-11", "2026-11-01", "2026-11-30", actions) == \
        ("ACTION_UNKNOWN", "required_actions")


@pytest.mark.parametrize("title", ["", "   ", "题" * 101, None, 5])
def test_theme_title_must_be_1_to_100_characters(title):
    assert error_of(validate_theme, title, "2026-11", "2026-11-01", "2026-11-30") == ("THEME_TITLE_INVALID", "title")


def test_a_title_of_100_characters_is_fine():
    assert validate_theme("题" * 100, "2026-11", "2026-11-01", "2026-11-30")["title"] == "题" * 100


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", "", None, 202611])
def test_month_must_be_yyyy_mm(month):
    assert error_of(validate_theme, "主题", month, "2026-11-01", "2026-11-30") == ("MONTH_INVALID", "month")


@pytest.mark.parametrize("due_from, due_to, field", [
    ("2026-11-31", "2026-11-30", "due_from"), ("2026/11/01", "2026-11-30", "due_from"),
    ("2026-11-01", "2026-11-3", "due_to"), ("2026-11-01", None, "due_to"), ("2026-11-01", "tomorrow", "due_to"),
])
def test_due_dates_must_be_real_yyyy_mm_dd_dates(due_from, due_to, field):
    assert error_of(validate_theme, "主题", "2026-11", due_from, due_to) == ("DATE_INVALID", field)


def test_due_window_must_not_run_backwards():
    assert error_of(validate_theme, "主题", "2026-11", "2026-11-20", "2026-11-19") == ("DUE_WINDOW_INVALID", "due_to")


def test_due_window_spans_at_most_62_days():
    assert validate_theme("主题", "2026-07", "2026-07-01", "2026-08-31")["due_to"] == "2026-08-31"  # 62 days
    assert error_of(validate_theme, "主题", "2026-07", "2026-07-01", "2026-09-01") == ("DUE_WINDOW_INVALID", "due_to")
    assert validate_theme("主题", "2026-11", "2026-11-05", "2026-11-05")["due_from"] == "2026-11-05"


# ---- plan ------------------------------------------------------------------------------------

def test_a_plan_in_local_time_becomes_utc_windows():
    result = validate_plan(plan(), THEME, NOW)
    assert result == {
        "date": "2026-11-22",
        "start_at": utc(2026, 11, 22, 1, 0),
        "end_at": utc(2026, 11, 22, 3, 30),
        "checkin_opens_at": utc(2026, 11, 22, 0, 30),
        "checkin_closes_at": utc(2026, 11, 22, 1, 10),
        "checkout_closes_at": utc(2026, 11, 22, 4, 30),
        "venue": {"name": "党员活动室", "lat": 34.341575, "lng": 108.93977},
        "venue_entered": {"lat": 34.341575, "lng": 108.93977, "crs": "wgs84"},
        "grace_minutes": 10,
        "checkout_window_minutes": 60,
        "optional_actions": ["参观红色教育基地"],
        "outside_due_window": False,
    }
    assert result["start_at"].utcoffset().total_seconds() == 0


def test_an_early_morning_local_plan_falls_on_the_previous_utc_day():
    result = validate_plan(plan(start_time="07:00", end_time="08:00"), THEME, NOW)
    assert result["start_at"] == utc(2026, 11, 21, 23, 0)
    assert result["date"] == "2026-11-22"


def test_custom_grace_and_checkout_window():
    result = validate_plan(plan(grace_minutes=0, checkout_window_minutes=240), THEME, NOW)
    assert result["checkin_closes_at"] == result["start_at"]
    assert result["checkout_closes_at"] == utc(2026, 11, 22, 7, 30)
    assert validate_plan(plan(grace_minutes=60.0), THEME, NOW)["grace_minutes"] == 60


@pytest.mark.parametrize("value", [-1, 61, 1.5, "10", True])
def test_grace_minutes_range(value):
    assert error_of(validate_plan, plan(grace_minutes=value), THEME, NOW) == ("GRACE_MINUTES_INVALID", "grace_minutes")


@pytest.mark.parametrize("value", [9, 241, "60", False])
def test_checkout_window_range(value):
    assert error_of(validate_plan, plan(checkout_window_minutes=value), THEME, NOW) == \
        ("CHECKOUT_WINDOW_INVALID", "checkout_window_minutes")


def test_a_date_outside_the_due_window_is_allowed_but_marked():
    assert validate_plan(plan(date="2026-12-02"), THEME, NOW)["outside_due_window"] is True
    assert validate_plan(plan(date="2026-11-30"), THEME, NOW)["outside_due_window"] is False
    early_theme = dict(THEME, due_from="2026-11-23")
    assert validate_plan(plan(), early_theme, NOW)["outside_due_window"] is True


@pytest.mark.parametrize("value", ["2026-11-31", "22/11/2026", None, ""])
def test_plan_date_must_be_a_real_date(value):
    assert error_of(validate_plan, plan(date=value), THEME, NOW) == ("DATE_INVALID", "date")


@pytest.mark.parametrize("field, value", [("start_time", "9:00"), ("start_time", "24:00"), ("end_time", "11:60"),
                                          ("end_time", None), ("start_time", "09:00:00")])
def test_times_must_be_hh_mm(field, value):
    assert error_of(validate_plan, plan(**{field: value}), THEME, NOW) == ("TIME_INVALID", field)


def test_end_must_be_after_start():
    assert error_of(validate_plan, plan(end_time="09:00"), THEME, NOW) == ("TIME_RANGE_INVALID", "end_time")
    assert error_of(validate_plan, plan(end_time="08:00"), THEME, NOW) == ("TIME_RANGE_INVALID", "end_time")


def test_duration_is_at_most_eight_hours():
    assert validate_plan(plan(start_time="08:00", end_time="16:00"), THEME, NOW)["end_at"] == utc(2026, 11, 22, 8, 0)
    assert error_of(validate_plan, plan(start_time="08:00", end_time="16:01"), THEME, NOW) == \
        ("DURATION_TOO_LONG", "end_time")


def test_a_plan_must_start_in_the_future():
    now = utc(2026, 11, 22, 1, 0)  # 09:00 in Shanghai
    assert error_of(validate_plan, plan(), THEME, now) == ("PLAN_IN_PAST", "start_time")
    assert validate_plan(plan(), THEME, utc(2026, 11, 22, 0, 59))["start_at"] == now


@pytest.mark.parametrize("name", ["", "  ", "室" * 101, None])
def test_venue_name_is_required(name):
    assert error_of(validate_plan, plan(venue_name=name), THEME, NOW) == ("VENUE_NAME_INVALID", "venue_name")


@pytest.mark.parametrize("field, value", [("venue_lat", 95), ("venue_lat", None), ("venue_lng", float("nan"))])
def test_venue_coordinates_must_be_valid(field, value):
    assert error_of(validate_plan, plan(**{field: value}), THEME, NOW) == ("COORDINATES_INVALID", field)


def test_venue_coordinates_of_another_type_are_a_type_error():
    assert error_of(validate_plan, plan(venue_lng="108.9"), THEME, NOW) == ("INVALID_TYPE", "venue_lng")


@pytest.mark.parametrize("system", ["gcj02", "bd09", " GCJ02 "])
def test_a_venue_typed_from_a_chinese_map_is_stored_in_wgs84_with_what_was_entered(system):
    true_venue = (34.341575, 108.93977)
    typed = coords.from_wgs84(*true_venue, system.strip().lower())
    result = validate_plan(plan(venue_lat=typed[0], venue_lng=typed[1], venue_crs=system), THEME, NOW)
    assert distance_m(result["venue"]["lat"], result["venue"]["lng"], *true_venue) < 0.01
    assert result["venue"]["name"] == "党员活动室"
    assert result["venue_entered"] == {"lat": typed[0], "lng": typed[1], "crs": system.strip().lower()}
    assert distance_m(*typed, *true_venue) > 300          # taken as WGS-84 it would miss a 300 m fence


@pytest.mark.parametrize("system", ["", None, "wgs84", "WGS84"])
def test_a_venue_without_a_system_or_in_wgs84_is_kept_as_it_is(system):
    result = validate_plan(plan(venue_crs=system), THEME, NOW)
    assert result["venue"] == {"name": "党员活动室", "lat": 34.341575, "lng": 108.93977}
    assert result["venue_entered"]["crs"] == "wgs84"


@pytest.mark.parametrize("system", ["gcj-02", "baidu", "epsg:4326", 4326, ["gcj02"], True])
def test_an_unknown_coordinate_system_is_refused(system):
    assert error_of(validate_plan, plan(venue_crs=system), THEME, NOW) == ("VENUE_CRS_INVALID", "venue_crs")


def test_optional_actions_are_trimmed_deduplicated_and_default_to_none():
    fields = plan(optional_actions=[" 志愿服务 ", "志愿服务", "捐款"])
    assert validate_plan(fields, THEME, NOW)["optional_actions"] == ["志愿服务", "捐款"]
    assert validate_plan(plan(optional_actions=None), THEME, NOW)["optional_actions"] == []
    fields = plan()
    del fields["optional_actions"]
    assert validate_plan(fields, THEME, NOW)["optional_actions"] == []
    ten = [f"动作{i}" for i in range(10)]
    assert validate_plan(plan(optional_actions=ten), THEME, NOW)["optional_actions"] == ten


@pytest.mark.parametrize("actions", [[f"动作{i}" for i in range(11)], ["动" * 51], [""], [3], "志愿服务"])
def test_optional_actions_limits(actions):
    assert error_of(validate_plan, plan(optional_actions=actions), THEME, NOW) == \
        ("OPTIONAL_ACTIONS_INVALID", "optional_actions")


def test_radius_validation():
    assert validate_radius(300) == 300
    assert validate_radius(50) == 50 and validate_radius(2000) == 2000 and validate_radius(500.0) == 500
    for value in (49, 2001, 300.5, "300", True, None):
        assert error_of(validate_radius, value) == ("RADIUS_INVALID", "radius_m")


def test_messages_are_chinese():
    with pytest.raises(InvalidArgument) as caught:
        validate_plan(plan(end_time="08:00"), THEME, NOW)
    assert "结束时间" in caught.value.message
