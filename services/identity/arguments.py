"""Checks on RPC arguments: services never trust the types a caller sends."""
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
