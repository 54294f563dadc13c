"""Arguments of attendance's operations that more than one topic checks."""
from __future__ import annotations

from servicekit.errors import InvalidArgument

MAX_REASON_CHARS = 500


def month_argument(value, field: str, default: str) -> str:
    value = value or default
    if not isinstance(value, str) or len(value) != 7 or value[4] != "-" or not (value[:4] + value[5:]).isdigit() \
            or not 1 <= int(value[5:]) <= 12:
        raise InvalidArgument("月份格式应为 YYYY-MM", code="MONTH_INVALID", field=field)
    return value
