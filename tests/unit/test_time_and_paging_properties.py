"""Properties of the text-to-time and page-token parsing the services share: any date or time a caller sends (the
calendar's first and last days with any offset included) and any page token is taken or refused with its code and
field, never an OverflowError or another exception escaping as a 500."""
from __future__ import annotations

import base64
from datetime import date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from servicekit.errors import InvalidArgument
from servicekit.storage.paging import MAX_OFFSET, page_window
from services.attendance.domain.plans import validate_plan
from services.content.usecases import quizzes
from services.volunteer.domain import teams
from tests.support.properties import bounded

NOW = datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)
THEME = {"title": "学习贯彻全会精神", "month": "2026-11", "due_from": "2026-11-01", "due_to": "2026-11-30"}
# a time's own refusal, and servicekit.arguments' for text that is missing, not text or too long
TIME_CODES = {"TIME_INVALID", "REQUIRED", "INVALID_TYPE", "TOO_LONG"}
offsets = st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59))
moments = st.datetimes(timezones=st.builds(timezone, offsets))
iso_texts = (st.builds(lambda moment: moment.isoformat(), moments)
             | st.sampled_from(["0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-05:00",
                                "9999-12-31T23:59:59.999999-23:59", "0001-01-01T00:00:00Z", "2026-12-06T08:00:00Z"])
             | st.text(max_size=45))


@bounded(150)
@given(day=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat)
       | st.sampled_from(["0001-01-01", "9999-12-31"]) | st.text(max_size=12),
       start=st.sampled_from(["00:00", "00:01", "07:30", "23:58"]), end=st.sampled_from(["00:30", "08:00", "23:59"]))
def test_a_plan_date_anywhere_in_the_calendar_is_taken_or_refused_with_a_code(day, start, end):
    fields = {"date": day, "start_time": start, "end_time": end, "venue_name": "党员活动室", "venue_lat": 33.0676,
              "venue_lng": 107.0238}
    try:
        plan = validate_plan(fields, THEME, NOW)
    except InvalidArgument as refused:
        assert refused.code and refused.field in {"date", "start_time", "end_time"}, (refused.code, refused.field)
        return
    assert plan["start_at"] > NOW and plan["end_at"] > plan["start_at"]


@bounded(150)
@given(text=iso_texts)
def test_a_quiz_or_team_event_time_is_utc_or_time_invalid(text):
    for parse in (lambda value: quizzes.moment(value, "starts_at"),
                  lambda value: teams.moment(value, "starts_at", "开始时间")):
        try:
            moment = parse(text)
        except InvalidArgument as refused:
            assert refused.code in TIME_CODES, refused.code
            assert refused.field == "starts_at"
            continue
        assert moment.utcoffset() == timedelta(0)


def token_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8", "surrogatepass")).decode()


@bounded(200)
@given(token=st.text(max_size=40) | st.builds(token_of, st.text(max_size=40))
       | st.builds(lambda n: token_of(f"o:{n}"), st.integers(min_value=0, max_value=10**40))
       | st.builds(lambda s: token_of("o:" + s), st.text("0123456789٣²", min_size=1, max_size=30)))
def test_any_page_token_gives_an_offset_a_store_takes_or_page_token_invalid(token):
    try:
        skip, limit = page_window(20, token)
    except InvalidArgument as refused:
        assert (refused.code, refused.field) == ("PAGE_TOKEN_INVALID", "page_token")
        return
    assert 0 <= skip <= MAX_OFFSET and limit == 20
