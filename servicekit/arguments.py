"""Checks on RPC arguments every service shares: services never trust the types a caller sends."""
from __future__ import annotations

from servicekit.errors import InvalidArgument


def text(value, field: str, required: bool = True, max_length: int = 200, strip: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} 必须是字符串", code="INVALID_TYPE", field=field)
    if strip:
        value = value.strip()
    if required and not value:
        raise InvalidArgument(f"{field} 不能为空", code="REQUIRED", field=field)
    if len(value) > max_length:
        raise InvalidArgument(f"{field} 不能超过 {max_length} 个字符", code="TOO_LONG", field=field)
    return value


def boolean(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{field} 必须是布尔值", code="INVALID_TYPE", field=field)
    return value


def integer(value, field: str, low: int, high: int, default: int | None = None) -> int:
    if value in (None, 0) and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{field} 必须是整数", code="INVALID_TYPE", field=field)
    if not low <= value <= high:
        raise InvalidArgument(f"{field} 必须在 {low} 到 {high} 之间", code="OUT_OF_RANGE", field=field)
    return value


def choice(value, field: str, allowed, required: bool = False) -> str:
    """One of ``allowed``; "" is accepted (meaning "not given") unless ``required``."""
    value = text(value, field, required=required)
    if value and value not in allowed:
        raise InvalidArgument(f"{field} 只能是 {'、'.join(allowed)}", code="UNKNOWN_VALUE", field=field)
    return value
