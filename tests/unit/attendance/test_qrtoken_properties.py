"""Properties of the signed QR token: every token issued reads back and verifies in its own step and the next;
any change to one (a character replaced, dropped or added, a cut, another tenant's key) and any text at all is
refused with TOKEN_FORGED or TOKEN_EXPIRED, never an exception of another kind."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import assume, given
from hypothesis import strategies as st

from services.attendance.domain.qrtoken import (CHECKIN, CHECKOUT, MAX_SCANNED_CHARS, STEP_SECONDS, TokenRejected,
                                                issue, parse, scan_url, step_of, tenant_key, verify)
from tests.support.properties import bounded

KEY = tenant_key(b"m" * 32, "tenant-a")
OTHER_KEY = tenant_key(b"m" * 32, "tenant-b")
CODES = {"TOKEN_FORGED", "TOKEN_EXPIRED"}

activity_ids = st.from_regex(r"\A[A-Za-z0-9_-]{1,100}\Z")
directions = st.sampled_from([CHECKIN, CHECKOUT])
LAST_STEP = 8_000_000_000           # steps a datetime can stand for (up to the year 9999)
steps = st.none() | st.integers(min_value=0, max_value=LAST_STEP)
nows = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(timezone.utc))
# what a token is made of, and what often breaks parsers
token_alphabet = st.sampled_from("v1.inoutp_-=#/:?%+ AZaz09\x00\n\u00e9\u4e2d\U0001f600\ud800")


def outcome(token, now, key=KEY) -> str:
    """"ACCEPTED" or the refusal's code; any other exception fails the property."""
    try:
        verify(key, parse(token), now)
    except TokenRejected as refused:
        assert refused.code in CODES and refused.message
        return refused.code
    return "ACCEPTED"


def moment_of(step: int | None, now: datetime) -> datetime:
    return now if step is None else datetime.fromtimestamp(step * STEP_SECONDS, timezone.utc)


@bounded(120)
@given(activity=activity_ids, direction=directions, step=steps, now=nows, later=st.integers(0, STEP_SECONDS * 2 - 1))
def test_an_issued_token_reads_back_and_is_accepted_in_its_step_and_the_next(activity, direction, step, now, later):
    token = issue(KEY, activity, direction, step)
    parsed = parse(token)
    assert (parsed.activity_id, parsed.direction, parsed.step) == (activity, direction, step)
    assert parse(scan_url("https://dj.example.cn", token)) == parsed       # the code's whole URL reads the same
    moment = moment_of(step, now) + timedelta(seconds=later)
    assert outcome(token, moment) == "ACCEPTED"
    assert outcome(token, moment, OTHER_KEY) == "TOKEN_FORGED"


@bounded(120)
@given(activity=activity_ids, direction=directions, step=st.integers(min_value=2, max_value=LAST_STEP - 10**6),
       distance=st.integers(min_value=2, max_value=10**6), earlier=st.booleans())
def test_a_rotating_token_outside_its_two_steps_is_expired(activity, direction, step, distance, earlier):
    token = issue(KEY, activity, direction, step)
    current = step + distance if not earlier else step - min(distance, step)
    assume(current not in (step, step + 1))
    assert outcome(token, datetime.fromtimestamp(current * STEP_SECONDS, timezone.utc)) == "TOKEN_EXPIRED"


@bounded(200)
@given(activity=activity_ids, direction=directions, step=steps, now=nows, data=st.data())
def test_any_one_character_changed_dropped_or_added_is_refused(activity, direction, step, now, data):
    token = issue(KEY, activity, direction, step)
    at = data.draw(st.integers(0, len(token) - 1), label="at")
    change = data.draw(st.sampled_from(["replace", "drop", "insert"]), label="change")
    other = data.draw(token_alphabet.filter(lambda c: c != token[at]), label="character")
    changed = {"replace": token[:at] + other + token[at + 1:], "drop": token[:at] + token[at + 1:],
               "insert": token[:at] + other + token[at:]}[change]
    assume(changed != token)
    assert outcome(changed, moment_of(step, now)) in CODES


@bounded(100)
@given(activity=activity_ids, direction=directions, step=steps, now=nows, data=st.data())
def test_every_cut_of_a_token_is_refused(activity, direction, step, now, data):
    token = issue(KEY, activity, direction, step)
    start = data.draw(st.integers(0, len(token) - 1), label="start")
    end = data.draw(st.integers(start, len(token)), label="end")
    assume((start, end) != (0, len(token)))
    assert outcome(token[start:end], moment_of(step, now)) in CODES


@bounded(300)
@given(text=st.text(token_alphabet, max_size=300) | st.text(max_size=300), now=nows)
def test_any_text_is_refused_with_a_code(text, now):
    assert outcome(text, now) in CODES


@bounded(60)
@given(value=st.none() | st.integers() | st.floats(allow_nan=True) | st.binary(max_size=40) | st.booleans()
       | st.lists(st.text(max_size=5), max_size=3) | st.dictionaries(st.text(max_size=3), st.text(max_size=3)),
       now=nows)
def test_what_is_not_text_is_forged(value, now):
    assert outcome(value, now) == "TOKEN_FORGED"


@bounded(30)
@given(extra=st.integers(1, 5000), now=nows)
def test_an_over_long_scan_is_forged_without_reading_it(extra, now):
    token = issue(KEY, "act_1", CHECKIN, step_of(now))
    padded = "https://dj.example.cn/m/scan?x=" + "a" * (MAX_SCANNED_CHARS + extra) + "#" + token
    assert outcome(padded, now) == "TOKEN_FORGED"
