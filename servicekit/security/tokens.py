"""Access tokens per RFC 8725: EdDSA pinned, typ at+jwt, iss/aud/exp/iat checked.

The identity service signs with the private key; the gateway verifies with the public
key only, so nothing but identity can mint a token.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import sys
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from servicekit.process.config import env
from servicekit.errors import Unauthenticated

ALGORITHM = "EdDSA"
TOKEN_TYPE = "at+jwt"
ISSUER = "partybuilding-identity"
AUDIENCE = "partybuilding-gateway"
CLAIMS = ("account_id", "tenant_id", "roles", "member_id", "branch_id")
SHARED_CLAIMS = ("tenant_id", "branch_id")   # values many tokens share: the caching verifier keeps one copy
ROLE_SETS_SHARED = 10_000       # distinct role lists the caching verifier keeps one copy of
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub")
# an access token lives 10 minutes (TOKEN_LIFETIME_SECONDS): clients refresh it, pages on 401 TOKEN_EXPIRED
DEFAULT_LIFETIME_SECONDS = 600
BASE64URL = re.compile(rb"[A-Za-z0-9_-]*")       # JWS compact segments are unpadded (RFC 7515, section 2)


def generate_keypair(directory: Path) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair (PEM) into directory unless one is there already."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / "token_private.pem", directory / "token_public.pem"
    if not private_path.exists():
        key = Ed25519PrivateKey.generate()
        private_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
        private_path.chmod(0o600)
        public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def _read(path_variable: str) -> bytes:
    return Path(env(path_variable, required=True)).read_bytes()


class TokenSigner:
    def __init__(self, private_pem: bytes | None = None, lifetime_seconds: int | None = None):
        self._key = serialization.load_pem_private_key(private_pem or _read("TOKEN_PRIVATE_KEY_PATH"), None)
        self.lifetime = lifetime_seconds or int(env("TOKEN_LIFETIME_SECONDS", str(DEFAULT_LIFETIME_SECONDS)))

    def issue(self, scope: dict) -> str:
        now = int(time.time())
        claims = {key: scope.get(key) for key in CLAIMS}
        claims.update(iss=ISSUER, aud=AUDIENCE, sub=scope["account_id"], iat=now, nbf=now,
                      exp=now + self.lifetime, jti=uuid.uuid4().hex)
        if scope.get("session_id"):
            claims["sid"] = scope["session_id"]     # what logout and revocation name (the jti family)
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"typ": TOKEN_TYPE})


class TokenVerifier:
    """Checks a token with the public key alone. Issued by ``TokenSigner`` (PyJWT), checked here directly: one
    algorithm and one key make the check short, where PyJWT's pure-Python checks around the signature cost more
    than the signature itself. The signature is checked by libsodium (PyNaCl), faster than OpenSSL for Ed25519
    (the largest single cost of a member's first scan in the gateway); it refuses what OpenSSL refuses
    (a non-canonical S, a wrong length) and more (small-order points), never less.
    ``tests/unit/test_token_verify.py`` holds it to PyJWT's answers, token by token."""

    def __init__(self, public_pem: bytes | None = None, clock: Callable[[], float] = time.time,
                 revocations=None):
        self.clock = clock                  # seconds since the epoch: what ``exp`` is checked against
        # ``servicekit.security.revocations.RevocationList`` (or None): sessions and accounts cut off
        self.revocations = revocations
        key = serialization.load_pem_public_key(public_pem or _read("TOKEN_PUBLIC_KEY_PATH"))
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the token public key must be an Ed25519 key")
        self._key = VerifyKey(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    def verify(self, token: str) -> dict:
        """Return the scope dict carried by a valid token, or raise Unauthenticated."""
        claims = self.verified_claims(token)
        if self.revocations is not None:
            self.revocations.check(claims.get("sid"), claims.get("account_id"), claims["iat"])
        return scope_of_claims(claims)

    def verified_claims(self, token: str) -> dict:
        """All claims of a valid token: header ``alg`` EdDSA and ``typ`` at+jwt, the signature, then
        ``exp`` (integer, not past), ``iat`` and ``nbf`` (not in the future), ``iss``, ``aud`` (ours, alone
        or in a list) and ``sub`` (a string), each required."""
        try:
            signed, _, signature = token.encode("ascii").rpartition(b".")
            header_part, _, payload_part = signed.partition(b".")
            header = json.loads(_segment(header_part))
            if not isinstance(header, dict) or header.get("alg") != ALGORITHM or "crit" in header:
                raise ValueError("algorithm")
            self._key.verify(signed, _segment(signature))
            claims = json.loads(_segment(payload_part))
            if not isinstance(claims, dict):
                raise ValueError("claims")
        except (UnicodeError, ValueError, BadSignatureError):       # JSONDecodeError and a bad length: ValueError
            raise Unauthenticated("token invalid", code="TOKEN_INVALID") from None
        if header.get("typ") != TOKEN_TYPE:
            raise Unauthenticated("wrong token type", code="TOKEN_INVALID")
        check_claims(claims, int(self.clock()))
        return claims


def _segment(part: bytes) -> bytes:
    """One base64url segment of a compact JWS, strictly: its alphabet only, no padding, no stray bits of length."""
    if b"." in part or len(part) % 4 == 1 or not BASE64URL.fullmatch(part):
        raise ValueError("segment")
    try:
        return base64.urlsafe_b64decode(part + b"=" * (-len(part) % 4))
    except binascii.Error:
        raise ValueError("segment") from None


def check_claims(claims: dict, now: int) -> None:
    """What ``jwt.decode`` checks of a verified token's claims, in its order, with our issuer and audience
    and every claim of ``REQUIRED_CLAIMS`` required (times as finite numbers, ``exp`` an integer)."""
    if any(name not in claims for name in REQUIRED_CLAIMS) or not isinstance(claims["sub"], str) \
            or not isinstance(claims.get("jti", ""), str):
        raise Unauthenticated("token invalid", code="TOKEN_INVALID")
    iat, nbf, exp = claims["iat"], claims.get("nbf", 0), claims["exp"]
    if not (_is_time(iat) and _is_time(nbf) and _is_time(exp) and isinstance(exp, int)) or iat > now or nbf > now:
        raise Unauthenticated("token invalid", code="TOKEN_INVALID")
    if exp <= now:
        raise Unauthenticated("token expired", code="TOKEN_EXPIRED")
    audience = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if claims["iss"] != ISSUER or not all(isinstance(name, str) for name in audience) or AUDIENCE not in audience:
        raise Unauthenticated("token invalid", code="TOKEN_INVALID")


def _is_time(value) -> bool:
    return type(value) is int or (type(value) is float and math.isfinite(value))      # not a bool, NaN or infinity


def scope_of_claims(claims: dict) -> dict:
    scope = {key: claims.get(key) for key in CLAIMS}
    if isinstance(claims.get("sid"), str) and claims["sid"]:
        scope["session_id"] = claims["sid"]
    return scope


class CachingTokenVerifier(TokenVerifier):
    """Remembers tokens it verified until they expire (a member's sign-out reuses its sign-in's
    token), bounded to ``capacity`` entries (``GATEWAY_TOKEN_CACHE``); a cached answer is re-checked
    against the clock.

    The default holds a whole city's members (a smaller cache made many sign-outs verify their signature
    again). An entry is kept small for that: the token's SHA-256 digest (not the token), its expiry and the
    scope's values, with equal roles, tenants and branches shared, about 0.45 KB per token."""

    def __init__(self, public_pem: bytes | None = None, capacity: int | None = None,
                 clock: Callable[[], float] = time.time, revocations=None):
        super().__init__(public_pem, clock, revocations)
        self.capacity = capacity if capacity is not None else int(env("GATEWAY_TOKEN_CACHE", "250000"))
        # digest -> (exp, iat, sid, *scope values), roles by number
        self._cache: OrderedDict[bytes, tuple] = OrderedDict()
        self._role_numbers: dict[str, int] = {}                  # equal roles, one copy: their text -> number
        self._role_sets: list[tuple] = []                          # number -> the roles, frozen
        self._lock = threading.Lock()

    def verify(self, token: str) -> dict:
        key = hashlib.sha256(token.encode()).digest()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > self.clock():
            if self.revocations is not None:       # checked on every use: the cache never outlives a revocation
                self.revocations.check(cached[2], cached[3], cached[1])
            return self._scope(cached[3:], cached[2])
        claims = self.verified_claims(token)
        sid = claims.get("sid") if isinstance(claims.get("sid"), str) and claims.get("sid") else None
        if self.revocations is not None:
            self.revocations.check(sid, claims.get("account_id"), claims["iat"])
        scope = scope_of_claims(claims)
        scope.pop("session_id", None)
        roles = self._kept_roles(scope["roles"])
        if roles is None:            # not grants of plain values: answered as they came, for CallerScope to refuse
            return scope_of_claims(claims)
        values = tuple(roles if name == "roles"
                       else sys.intern(value) if name in SHARED_CLAIMS and isinstance(value, str) else value
                       for name, value in scope.items())
        with self._lock:
            self._cache[key] = (claims["exp"], claims["iat"], sid, *values)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return self._scope(values, sid)

    def _kept_roles(self, roles) -> int | tuple | None:
        """The roles as an entry keeps them: the number of their one shared frozen copy (a tuple of each grant's
        items), so that an entry is one flat tuple of plain values, which the cyclic collector stops tracking (nested
        tuples per entry made full collections long enough to stall the gateway's loop:
        docs/performance.md#garbage-collector-settings). Past ``ROLE_SETS_SHARED`` distinct role sets, the frozen
        roles themselves; None where they are not grants of plain values."""
        frozen = _frozen_roles(roles)
        if frozen is roles:
            return None
        text = repr(frozen)      # equal roles from the one issuer print alike (a quarter of json.dumps' cost)
        with self._lock:
            number = self._role_numbers.get(text)
            if number is None and len(self._role_sets) < ROLE_SETS_SHARED:
                number = self._role_numbers[text] = len(self._role_sets)
                self._role_sets.append(frozen)
        return frozen if number is None else number

    def _scope(self, values: tuple, sid: str | None) -> dict:
        """A scope for the caller: its own copy, roles as lists of dicts."""
        scope = dict(zip(CLAIMS, values))
        roles = scope["roles"]
        frozen = self._role_sets[roles] if type(roles) is int else roles
        scope["roles"] = [dict(grant) for grant in frozen]
        if sid is not None:
            scope["session_id"] = sid
        return scope


PLAIN = (str, int, float, bool, type(None))


def _frozen_roles(roles):
    """``roles`` frozen, a plain tuple of each grant's (name, value) items (which the collector stops tracking, as it
    does every tuple of plain values), when it is a list of dicts of plain values; else as it is (a malformed
    claim, which ``CallerScope.from_dict`` refuses with its own code)."""
    if type(roles) is not list or not all(type(grant) is dict and all(type(value) in PLAIN for value in grant.values())
                                          for grant in roles):
        return roles
    return tuple(tuple(grant.items()) for grant in roles)
