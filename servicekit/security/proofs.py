"""Proofs that a call or an event comes from a known part of the platform, not from whoever reached the broker.

Each principal (the gateway and every service) holds its own Ed25519 private key and the public keys of all.

- **A call** (a nameko RPC request) carries the caller's principal, an expiry, a nonce (random, new for every
  call) and a signature over ``call``, the routing key (``service.method``), the principal, the expiry, the nonce
  and the exact body bytes. A service runs it only when the signature checks out with that principal's public key
  and it has not expired: a scope in the body is then known to come from the gateway (which verified the person's
  token) or from a peer service. The service runs a nonce once (``servicekit.security.replay``), so a copied call
  is refused. One signature covers a whole batch (the scans of one gateway batch travel as one call).
- **An event** carries the publisher's principal and a signature over ``event``, the exchange, the principal and
  the body. A consumer applies it only when the principal is the service that owns the exchange
  (``attendance.events`` is attendance's) and the signature checks out. Events are idempotent by id, so an event
  has no expiry: a replayed genuine event changes nothing.

Keys live in one directory (``CALL_KEYS_DIR``): ``<principal>.pub`` for every principal and the private
``<principal>.key`` of those this machine runs (all of them on a one-machine installation; one per pod in a
cluster). A process names its own principal once, at start (``use_principal``).
"""
from __future__ import annotations

import base64
import logging
import os
import secrets
import threading
import time
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from servicekit.errors import PermissionDenied, Unauthenticated

log = logging.getLogger(__name__)

PRINCIPALS = ("gateway", "identity", "attendance", "scoring", "content", "volunteer")
KEYS_DIR_VARIABLE = "CALL_KEYS_DIR"
PRINCIPAL_HEADER, EXPIRES_HEADER, SIGNATURE_HEADER = "pb-principal", "pb-expires", "pb-signature"
NONCE_HEADER = "pb-nonce"
CALL_LIFETIME_SECONDS = 120      # longer than any caller waits (30 s), short enough that a copied call soon dies
CLOCK_SKEW_SECONDS = 30          # an expiry further ahead than lifetime + skew was not made by us


def ensure_call_keys(directory: Path) -> Path:
    """One key pair per principal under ``directory`` (created once, kept); the directory for ``CALL_KEYS_DIR``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    for principal in PRINCIPALS:
        private_path, public_path = directory / f"{principal}.key", directory / f"{principal}.pub"
        if private_path.exists() and public_path.exists():
            continue
        key = Ed25519PrivateKey.generate()
        raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
        descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(raw)
        public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                              serialization.PublicFormat.Raw))
    return directory


class ProofKeys:
    """The public keys of every principal, and the private keys this process uses, read when first needed."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.public: dict[str, Ed25519PublicKey] = {}
        for principal_name in PRINCIPALS:
            path = self.directory / f"{principal_name}.pub"
            if path.exists():
                self.public[principal_name] = Ed25519PublicKey.from_public_bytes(path.read_bytes())
        self._private: dict[str, Ed25519PrivateKey] = {}

    def private(self, principal: str) -> Ed25519PrivateKey:
        key = self._private.get(principal)
        if key is None:
            path = self.directory / f"{principal}.key"
            if not path.exists():
                raise RuntimeError(f"{path} is missing: the private key of {principal!r} (run bin/setup, or mount it)")
            key = self._private[principal] = Ed25519PrivateKey.from_private_bytes(path.read_bytes())
        return key


_state = {"principal": None, "keys": None}
_lock = threading.Lock()


def use_principal(principal: str, load: bool = False) -> None:
    """Name this process's principal: every call it makes and every event it publishes is signed as it.
    ``load``: read the keys now, so that a process missing them stops at start with the reason."""
    if principal not in PRINCIPALS:
        raise ValueError(f"unknown principal {principal!r}; known: {', '.join(PRINCIPALS)}")
    with _lock:
        _state["principal"] = principal
    if load:
        _keys().private(principal)


def current_principal() -> str | None:
    return _state["principal"]


def _keys() -> ProofKeys:
    keys = _state["keys"]
    if keys is None:
        with _lock:
            keys = _state["keys"]
            if keys is None:
                directory = os.environ.get(KEYS_DIR_VARIABLE)
                if not directory:
                    raise RuntimeError(f"{KEYS_DIR_VARIABLE} is not set: the platform's call keys are needed")
                keys = _state["keys"] = ProofKeys(Path(directory))
    return keys


def forget_keys() -> None:
    """Read the key directory again on next use (a test that changes ``CALL_KEYS_DIR``)."""
    with _lock:
        _state["keys"] = None


def _bytes(body) -> bytes:
    """The body as sent: py-amqp hands a body with a content encoding over decoded (UTF-8 round-trips exactly)."""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _signed_call(routing_key: str, principal: str, expires: int, body: bytes, nonce: str = "") -> bytes:
    body = _bytes(body)
    return b"call\n%s\n%s\n%d\n%s\n%s" % (routing_key.encode(), principal.encode(), expires, nonce.encode(), body)


def _signed_event(exchange: str, principal: str, body: bytes) -> bytes:
    body = _bytes(body)
    return b"event\n%s\n%s\n%s" % (exchange.encode(), principal.encode(), body)


def _own_key() -> tuple[str, Ed25519PrivateKey]:
    principal = _state["principal"]
    if principal is None:
        raise RuntimeError("this process has not named its principal (servicekit.security.proofs.use_principal)")
    return principal, _keys().private(principal)


def call_headers(routing_key: str, body: bytes, now: float | None = None) -> dict:
    """The headers that prove a call to ``routing_key`` with exactly ``body`` comes from this process."""
    principal, key = _own_key()
    expires = int((time.time() if now is None else now) + CALL_LIFETIME_SECONDS)
    # Ed25519 is deterministic: without a nonce two identical calls within a second would carry one signature
    nonce = secrets.token_hex(16)
    signature = key.sign(_signed_call(routing_key, principal, expires, body, nonce))
    return {PRINCIPAL_HEADER: principal, EXPIRES_HEADER: expires, NONCE_HEADER: nonce,
            SIGNATURE_HEADER: base64.b64encode(signature).decode()}


def event_headers(exchange: str, body: bytes, publisher: str | None = None) -> dict:
    """The headers that prove ``publisher``'s event (default: this process's principal); the outbox relay of a
    service passes its service, whose private key it must hold."""
    if publisher is None:
        principal, key = _own_key()
    else:
        principal, key = publisher, _keys().private(publisher)
    signature = key.sign(_signed_event(exchange, principal, body))
    return {PRINCIPAL_HEADER: principal, SIGNATURE_HEADER: base64.b64encode(signature).decode()}


def _signature_of(headers: dict) -> tuple[str, bytes]:
    principal, signature = headers.get(PRINCIPAL_HEADER), headers.get(SIGNATURE_HEADER)
    if isinstance(principal, bytes):
        principal = principal.decode(errors="replace")
    if isinstance(signature, bytes):
        signature = signature.decode(errors="replace")
    if not principal or not signature:
        raise Unauthenticated("the call carries no proof of its caller", code="CALL_UNSIGNED")
    try:
        return principal, base64.b64decode(signature, validate=True)
    except (ValueError, TypeError):
        raise Unauthenticated("the call's proof is malformed", code="CALL_PROOF_INVALID") from None


def verify_call(routing_key: str, body: bytes, headers: dict | None, now: float | None = None) -> str:
    """The principal that made this call; raises Unauthenticated when the proof is missing, wrong or expired."""
    headers = headers or {}
    principal, signature = _signature_of(headers)
    try:
        expires = int(headers.get(EXPIRES_HEADER))
    except (TypeError, ValueError):
        raise Unauthenticated("the call's proof is malformed", code="CALL_PROOF_INVALID") from None
    nonce = call_nonce(headers)
    public = _keys().public.get(principal)
    try:
        if public is None:
            raise InvalidSignature
        public.verify(signature, _signed_call(routing_key, principal, expires, body, nonce))
    except InvalidSignature:
        raise Unauthenticated("the call's proof does not check out", code="CALL_PROOF_INVALID") from None
    now = time.time() if now is None else now
    if expires < now or expires > now + CALL_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS:
        raise Unauthenticated("the call's proof has expired", code="CALL_PROOF_EXPIRED")
    return principal


def call_nonce(headers: dict) -> str:
    """The nonce of a call's proof (32 hex digits); CALL_PROOF_INVALID when it is missing or malformed."""
    nonce = headers.get(NONCE_HEADER)
    if isinstance(nonce, bytes):
        nonce = nonce.decode(errors="replace")
    if not isinstance(nonce, str) or len(nonce) != 32 or any(c not in "0123456789abcdef" for c in nonce):
        raise Unauthenticated("the call's proof is malformed", code="CALL_PROOF_INVALID")
    return nonce


def verify_event(exchange: str, body: bytes, headers: dict | None) -> str:
    """The publisher of an event on ``exchange`` (``<service>.events``), which must be that service."""
    owner = exchange.split(".", 1)[0]
    principal, signature = _signature_of(headers or {})
    if principal != owner:
        raise PermissionDenied(f"{principal} may not publish on {exchange}", code="EVENT_PUBLISHER_WRONG")
    public = _keys().public.get(principal)
    try:
        if public is None:
            raise InvalidSignature
        public.verify(signature, _signed_event(exchange, principal, body))
    except InvalidSignature:
        raise Unauthenticated("the event's proof does not check out", code="EVENT_PROOF_INVALID") from None
    return principal
