"""Member search (党员检索): the keys a member is found by, and how a search text is read.

A member is found by a part of its name or by its phone (the whole number, or its last four digits).
nx-27017 answers array (multikey) index queries wrongly and plans with single-field indexes only, so the keys
are scalar fields of the member's ``search`` sub-document, one index each: ``name`` (the whole name),
``name_1``..``name_3`` (the name from its 2nd, 3rd and 4th character) and ``phone_tail``. A part of a name is
the beginning of one of these, so a name search is one index range per field and never reads the members
that do not match. A part starting after the 4th character of a longer name is not found.
Names are compared in ``fold``'s form on both sides, each name key and name search text behind ``NAME_MARK``.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from servicekit.errors import InvalidArgument

QUERY_MAX_LENGTH = 32
NAME_FIELDS = ("name", "name_1", "name_2", "name_3")
PHONE_TAIL_LENGTH = 4
PHONE_LENGTH = 11
# Begins every name key and name search text: nx-27017 takes a query string that begins like a date ("2024/01/01",
# digits of any script) for a datetime and then reads every document instead of the index.
NAME_MARK = "~"
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs"}     # control, invisible format characters, lone surrogates
_PHONE_NOISE = str.maketrans("", "", " -")


def fold(text: str) -> str:
    """The form names are compared in: NFKC (full-width letters and digits as ASCII), case-folded, without
    blanks, so "张 小明" and "ＺＨＡＮＧ" are found by "张小明" and "zhang"."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def member_keys(name: str, phone: str) -> dict:
    """The ``search`` sub-document of a member with this name and phone."""
    folded = fold(name)
    keys = {field: NAME_MARK + folded[start:] for start, field in enumerate(NAME_FIELDS) if folded[start:]}
    if phone:
        keys["phone_tail"] = phone[-PHONE_TAIL_LENGTH:]
    return keys


@dataclass(frozen=True)
class MemberSearch:
    text: str               # the search text, folded (a name search) or the digits (a phone search)
    by_phone: bool

    def conditions(self) -> list[dict]:
        """One query condition per search-key index that may hold a match; a member matches if it meets any."""
        if self.by_phone:
            tail = {"search.phone_tail": self.text[-PHONE_TAIL_LENGTH:]}
            return [tail if len(self.text) == PHONE_TAIL_LENGTH else {**tail, "phone": self.text}]
        bounds = {"$gte": NAME_MARK + self.text}
        after = _after_prefix(NAME_MARK + self.text)
        if after is not None:
            bounds["$lt"] = after
        return [{f"search.{field}": bounds} for field in NAME_FIELDS]


def parse_query(value, field: str = "q") -> MemberSearch | None:
    """The search a ``q`` argument asks for; None when it is blank (no search). All digits (blanks, dashes and a
    leading +86 allowed) is a phone search: the 11-digit number or its last 4 digits."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} 必须是字符串", code="INVALID_TYPE", field=field)
    too_long = InvalidArgument(f"检索内容不能超过 {QUERY_MAX_LENGTH} 个字符", code="TOO_LONG", field=field)
    if len(value) > QUERY_MAX_LENGTH * 8:           # before normalising: NFKC never shrinks text this much
        raise too_long
    text = unicodedata.normalize("NFKC", value).strip()
    if len(text) > QUERY_MAX_LENGTH:
        raise too_long
    if any(unicodedata.category(char) in _REFUSED_CATEGORIES for char in text):
        raise InvalidArgument("检索内容不能含有控制字符或不可见字符", code="CONTROL_CHARACTERS", field=field)
    if not text:
        return None
    digits = text.translate(_PHONE_NOISE)
    digits = digits[3:] if digits.startswith("+86") else digits
    if digits.isascii() and digits.isdigit():
        if len(digits) not in (PHONE_LENGTH, PHONE_TAIL_LENGTH):
            raise InvalidArgument("按手机号检索请输入完整的 11 位手机号或其后 4 位", code="PHONE_QUERY_INVALID",
                                  field=field)
        return MemberSearch(digits, by_phone=True)
    return MemberSearch(fold(text), by_phone=False)


def _after_prefix(text: str) -> str | None:
    """The least string after every string that begins with ``text``, in code point order (the order of UTF-8
    bytes, in which the store compares strings); None if there is none."""
    while text:
        following = ord(text[-1]) + 1
        if following == 0xD800:
            following = 0xE000              # surrogates are not characters
        if following <= 0x10FFFF:
            return text[:-1] + chr(following)
        text = text[:-1]
    return None
