"""Passwords hashed with Argon2id; the hashing work of logins bounded per process (``HashGate``)."""
from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from servicekit.process.config import env
from servicekit.errors import InvalidArgument

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


class GateFull(Exception):
    """More verifications are running and waiting than the gate admits."""


class HashGate:
    """At most ``running`` password verifications (or a registration's hashing) at once in this process and
    ``waiting`` more queued for a turn; one more is refused at once (``GateFull``), so a flood of logins or
    registrations from many addresses costs a bounded share of the CPU and does not queue the service's other
    requests behind it. ``offload`` runs the hashing (eventlet's native thread pool in a service, so its other
    green threads go on meanwhile)."""

    def __init__(self, running: int = 2, waiting: int = 6, offload=None):
        self._turns = threading.BoundedSemaphore(running)
        self._limit, self._admitted, self._lock = running + waiting, 0, threading.Lock()
        self._offload = offload or (lambda function, *args: function(*args))

    @property
    def admitted(self) -> int:
        """Verifications running or waiting now."""
        return self._admitted

    def verify(self, stored_hash: str | None, password: str) -> tuple[bool, str | None]:
        """``verify_password`` within the bounds."""
        return self._within_bounds(verify_password, stored_hash, password)

    def hash(self, password: str) -> str:
        """``hash_password`` within the same bounds: a citizen's registration, public like a login."""
        return self._within_bounds(hash_password, password)

    def _within_bounds(self, function, *args):
        with self._lock:
            if self._admitted >= self._limit:
                raise GateFull()
            self._admitted += 1
        try:
            with self._turns:
                return self._offload(function, *args)
        finally:
            with self._lock:
                self._admitted -= 1


def native_offload():
    """eventlet's thread pool when eventlet has patched threading (a nameko service: argon2 would otherwise block
    every green thread of the process), else None (a plain call)."""
    try:
        from eventlet import patcher, tpool
    except ImportError:         # pragma: no cover - eventlet comes with nameko
        return None
    return tpool.execute if patcher.is_monkey_patched("thread") else None
