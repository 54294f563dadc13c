"""Access tokens per RFC 8725: EdDSA pinned, typ at+jwt, iss/aud/exp/iat checked.

The identity service signs with the private key; the gateway verifies with the public
key only, so nothing but identity can mint a token.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from servicekit.config import env
from servicekit.errors import Unauthenticated

ALGORITHM = "EdDSA"
TOKEN_TYPE = "at+jwt"
ISSUER = "partybuilding-identity"
AUDIENCE = "partybuilding-gateway"
CLAIMS = ("account_id", "tenant_id", "roles", "member_id", "branch_id")


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
        self.lifetime = lifetime_seconds or int(env("TOKEN_LIFETIME_SECONDS", "3600"))

    def issue(self, scope: dict) -> str:
        now = int(time.time())
        claims = {key: scope.get(key) for key in CLAIMS}
        claims.update(iss=ISSUER, aud=AUDIENCE, sub=scope["account_id"], iat=now, nbf=now,
                      exp=now + self.lifetime, jti=uuid.uuid4().hex)
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"typ": TOKEN_TYPE})


class TokenVerifier:
    def __init__(self, public_pem: bytes | None = None):
        self._key = serialization.load_pem_public_key(public_pem or _read("TOKEN_PUBLIC_KEY_PATH"))

    def verify(self, token: str) -> dict:
        """Return the scope dict carried by a valid token, or raise Unauthenticated."""
        return scope_of_claims(self.verified_claims(token))

    def verified_claims(self, token: str) -> dict:
        """All claims of a valid token (algorithm, type, issuer, audience, expiry checked)."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != TOKEN_TYPE or header.get("alg") != ALGORITHM:
                raise Unauthenticated("wrong token type", code="TOKEN_INVALID")
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                                options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token expired", code="TOKEN_EXPIRED") from None
        except jwt.PyJWTError:
            raise Unauthenticated("token invalid", code="TOKEN_INVALID") from None
        return claims


def scope_of_claims(claims: dict) -> dict:
    return {key: claims.get(key) for key in CLAIMS}


class CachingTokenVerifier(TokenVerifier):
    """Remembers tokens it verified until they expire (a member's sign-out reuses its sign-in's
    token), bounded to ``capacity`` entries; a cached answer is re-checked against the clock."""

    def __init__(self, public_pem: bytes | None = None, capacity: int = 100_000):
        super().__init__(public_pem)
        self.capacity = capacity
        self._cache: OrderedDict[str, tuple[int, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str) -> dict:
        with self._lock:
            cached = self._cache.get(token)
        if cached is not None and cached[0] > time.time():
            return dict(cached[1])
        claims = self.verified_claims(token)
        scope = scope_of_claims(claims)
        with self._lock:
            self._cache[token] = (claims["exp"], scope)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return dict(scope)
