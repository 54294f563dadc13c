"""The secretary's talk (诫勉谈话) with a member on a cycle's talk list: the rules of its record.

A record says when the talk was held (a date inside the cycle, not after today) and what was said (a note);
the service checks who records it and that the member is on the list.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

from servicekit.errors import InvalidArgument

NOTE_MAX_CHARS = 2000
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Invisible characters that can disguise what a record says: bidirectional embeddings, overrides and isolates,
# and the Unicode line and paragraph separators. Line breaks and tabs are ordinary text in a note.
_DISGUISING = {*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)), "\u2028", "\u2029"}
_ALLOWED_CONTROLS = {"\n", "\t"}


def cycle_start(cycle: str) -> date:
    """The first day of a points cycle: 1 January of "2026", 1 September of "2026-2027" (as ``cycle_of``)."""
    if len(cycle) == 4:
        return date(int(cycle), 1, 1)
    return date(int(cycle[:4]), 9, 1)


def check_held_on(value, cycle: str, today: str) -> str:
    """The talk's date (YYYY-MM-DD): not after ``today``, not before the cycle's first day. A date after the
    cycle's end is fine: the list is final once the cycle is over, and the talk often follows it."""
    if not isinstance(value, str):
        raise InvalidArgument("held_on 必须是字符串", code="INVALID_TYPE", field="held_on")
    value = value.strip()
    if not value:
        raise InvalidArgument("请填写谈话日期", code="REQUIRED", field="held_on")
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        held = date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument("谈话日期格式应为 YYYY-MM-DD", code="DATE_INVALID", field="held_on") from None
    if value > today:
        raise InvalidArgument("谈话日期不能晚于今天", code="DATE_IN_FUTURE", field="held_on")
    start = cycle_start(cycle)
    if held < start:
        raise InvalidArgument(f"谈话日期不能早于积分周期 {cycle} 的开始日期 {start.isoformat()}",
                              code="DATE_BEFORE_CYCLE", field="held_on")
    return value


def check_note(value) -> str:
    """What was said, trimmed, with Windows line ends made plain: 1 to NOTE_MAX_CHARS characters, no control
    characters other than line breaks and tabs."""
    if not isinstance(value, str):
        raise InvalidArgument("note 必须是字符串", code="INVALID_TYPE", field="note")
    note = value.replace("\r\n", "\n").strip()
    if not note:
        raise InvalidArgument("请填写谈话内容", code="REQUIRED", field="note")
    if len(note) > NOTE_MAX_CHARS:
        raise InvalidArgument(f"谈话内容不能超过 {NOTE_MAX_CHARS} 个字", code="TOO_LONG", field="note")
    if any((unicodedata.category(char) == "Cc" and char not in _ALLOWED_CONTROLS) or char in _DISGUISING
           for char in note):
        raise InvalidArgument("谈话内容不能含有控制字符", code="CONTROL_CHARACTERS", field="note")
    return note

