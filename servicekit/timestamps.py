"""Timestamps as the platform stores and sends them: ISO-8601 UTC text to the millisecond."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

# the platform's civil time: dates a member or an official sees (a birthday, "today", a month) are China's
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """ISO-8601 UTC text to the millisecond, truncated: ``2026-11-22T10:00:00.123Z`` (isoformat, about a third of
    what strftime took: every scan stamps its fix's time)."""
    if moment.tzinfo is not timezone.utc:
        moment = moment.astimezone(timezone.utc)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def stamp(moment: datetime | None = None) -> str:
    """A stored timestamp: ISO-8601 UTC text, which sorts and compares the same in MongoDB and nx-27017
    (nx-27017 turns a datetime written by ``$set`` into text, so datetimes would mix two types)."""
    return iso(moment or utc_now())


_STORED_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def parse_stamp(text: str) -> datetime:
    """A stored timestamp back to a datetime (UTC); ValueError for anything not of the stored form."""
    if isinstance(text, str) and _STORED_STAMP.fullmatch(text):     # what stamp() writes: the fast path
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
