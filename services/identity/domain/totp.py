"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): the second factor of a login.

30-second steps counted from the Unix epoch, 6 digits, HMAC-SHA-1, the shared secret 20 random bytes shown to the
person once as base32 (what authenticator apps take) and as an ``otpauth://`` URI. A code is accepted for the step
of ``now`` and one step either side (a phone's clock a little off, a code typed as it rolled over); the step a code
matched is returned so that the caller can refuse it, or any earlier one, the next time (a code is used once).
Pure functions: the clock is the caller's ``now`` (epoch seconds).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import urllib.parse

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1                      # steps accepted either side of now's
SECRET_BYTES = 20               # RFC 4226 §4: at least 128 bits, 160 recommended (SHA-1's block of output)


def new_secret() -> str:
    """A fresh shared secret, base32 without padding (32 characters)."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")


def secret_bytes(secret: str) -> bytes:
    """The key of a base32 secret, as apps accept it: any case, spaces and missing padding allowed."""
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def step_of(now: float) -> int:
    return int(now // STEP_SECONDS)


def hotp(key: bytes, counter: int, digits: int = DIGITS, digest=hashlib.sha1) -> str:
    """RFC 4226 §5.3: HMAC of the 8-byte big-endian counter, dynamically truncated to ``digits`` decimal digits."""
    mac = hmac.new(key, struct.pack(">Q", counter), digest).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10 ** digits).zfill(digits)


def code_at(key: bytes, now: float, digits: int = DIGITS, digest=hashlib.sha1) -> str:
    """RFC 6238 §4.2: the code of the step holding ``now``."""
    return hotp(key, step_of(now), digits, digest)


def is_well_formed(code: str) -> bool:
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def matching_step(secret: str, code: str, now: float, window: int = WINDOW) -> int | None:
    """The step within ``window`` of now's whose code is ``code`` (now's first, then the earlier, then the later),
    or None. Every candidate is compared in constant time."""
    if not is_well_formed(code):
        return None
    key, current = secret_bytes(secret), step_of(now)
    found = None
    for step in sorted(range(current - window, current + window + 1), key=lambda candidate: abs(candidate - current)):
        if hmac.compare_digest(hotp(key, step), code) and found is None:
            found = step
    return found


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    """The ``otpauth://totp/`` URI authenticator apps read (Key Uri Format): issuer and account in the label and
    the issuer again as a parameter; the defaults (SHA1, 6 digits, 30 s) stated outright."""
    label = urllib.parse.quote(f"{issuer}:{account_name}", safe=":@")
    query = urllib.parse.urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS,
                                    "period": STEP_SECONDS}, quote_via=urllib.parse.quote)
    return f"otpauth://totp/{label}?{query}"
