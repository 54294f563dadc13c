"""A citizen's (群众) own account: the fields of a registration, checked and normalised.

A citizen logs in with its mobile number as the username; it has a name, no member record and never an
organisation grant. Pure rules: the password's strength is ``services.identity.passwords``' one rule.
"""
from __future__ import annotations

from dataclasses import dataclass

from servicekit.errors import InvalidArgument

from .members import MAX_NAME_LENGTH, phone_problem


@dataclass(frozen=True)
class Registration:
    phone: str          # 11 digits, the login name
    name: str


def registration(phone: object, name: object) -> Registration:
    """The checked phone (spaces, dashes and a +86 prefix dropped) and name, or the first problem raised."""
    phone, problem = phone_problem(phone)
    if problem is not None:
        raise problem.to_error()
    if not isinstance(name, str):
        raise InvalidArgument("姓名必须是文字", code="INVALID_TYPE", field="name")
    name = name.strip()
    if not name:
        raise InvalidArgument("请填写姓名", code="REQUIRED", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"姓名不能超过 {MAX_NAME_LENGTH} 个字", code="TOO_LONG", field="name")
    return Registration(phone, name)


def mask_phone(phone: str) -> str:
    """``138****5678``: enough for its owner to recognise, nothing for anyone else."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "****"
