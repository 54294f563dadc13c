"""Stored timestamps: ISO-8601 UTC text with milliseconds, read back exactly; anything else refused."""
from datetime import datetime, timedelta, timezone

import pytest

from servicekit.timestamps import parse_stamp, stamp


def test_a_stamp_reads_back_as_the_same_moment_in_utc():
    moment = datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=timezone.utc)
    assert stamp(moment) == "2026-11-22T10:00:00.123Z"
    assert parse_stamp(stamp(moment)) == moment and parse_stamp(stamp(moment)).tzinfo == timezone.utc


@pytest.mark.parametrize("moment, text", [
    (datetime(2026, 11, 22, 10, 0, 0, tzinfo=timezone.utc), "2026-11-22T10:00:00.000Z"),
    (datetime(2026, 11, 22, 10, 0, 0, 999999, tzinfo=timezone.utc), "2026-11-22T10:00:00.999Z"),   # truncated
    (datetime(2026, 11, 22, 18, 30, 5, 42000, tzinfo=timezone(timedelta(hours=8))), "2026-11-22T10:30:05.042Z"),
    (datetime(2026, 1, 1, 2, 0, 0, 1000, tzinfo=timezone(timedelta(hours=8))), "2025-12-31T18:00:00.001Z"),
])
def test_a_stamp_is_utc_to_the_millisecond_whatever_the_moment_s_zone(moment, text):
    assert stamp(moment) == text
    assert parse_stamp(text) == moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def test_microseconds_are_still_read():
    assert parse_stamp("2026-11-22T10:00:00.123456Z").microsecond == 123456


@pytest.mark.parametrize("text", ["2026-11-22 10:00:00.123Z", "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.123",
                                  "2026-11-22T10:00:00.123+00:00", "2026-13-22T10:00:00.123Z", "", "x"])
def test_anything_but_the_stored_form_is_refused(text):
    with pytest.raises(ValueError):
        parse_stamp(text)


def test_an_event_takes_its_time_as_a_moment_a_stamp_made_for_its_batch_or_now():
    from servicekit.messaging.events import EventSpec
    spec = EventSpec("sample", "thing_happened", ("thing_id",))
    moment = datetime(2026, 11, 22, 10, 0, 0, 123000, tzinfo=timezone.utc)
    assert spec.build("t1", moment, thing_id="x")["occurred_at"] == "2026-11-22T10:00:00.123Z"
    assert spec.build("t1", stamp(moment), thing_id="x")["occurred_at"] == "2026-11-22T10:00:00.123Z"
    before = stamp()
    assert before <= spec.build("t1", thing_id="x")["occurred_at"] <= stamp()
