"""Passwords hashed with Argon2id; failed logins limited per account."""
from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from servicekit.config import env
from servicekit.errors import InvalidArgument

MAX_FAILURES = 5
FIRST_LOCK = timedelta(minutes=15)
MIN_LENGTH = 8


def hasher() -> PasswordHasher:
    """OWASP's Argon2id profile (19 MiB, t=2) by default; PASSWORD_HASH_PROFILE=fast only for tests."""
    if env("PASSWORD_HASH_PROFILE") == "fast":
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


_HASHER = hasher()
_DUMMY_HASH = _HASHER.hash("not-a-real-password")


def check_strength(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_LENGTH or len(password) > 128:
        raise InvalidArgument("密码长度须为8到128位", code="PASSWORD_TOO_WEAK", field="password")
    kinds = sum(any(test(ch) for ch in password) for test in (str.isdigit, str.isalpha, lambda c: not c.isalnum()))
    if kinds < 2:
        raise InvalidArgument("密码须包含字母、数字、符号中的至少两类", code="PASSWORD_TOO_WEAK", field="password")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(matches, a new hash when the stored one uses outdated parameters)."""
    try:
        _HASHER.verify(stored_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False, None
    if stored_hash is None:
        return False, None
    return True, _HASHER.hash(password) if _HASHER.check_needs_rehash(stored_hash) else None


def after_failure(failed_logins: int, lock_count: int, now: datetime) -> tuple[int, int, datetime | None]:
    """Next (failed_logins, lock_count, locked_until): every 5th failure locks, each lock twice as long."""
    failed_logins += 1
    if failed_logins < MAX_FAILURES:
        return failed_logins, lock_count, None
    return 0, lock_count + 1, now + FIRST_LOCK * (2 ** min(lock_count, 6))
