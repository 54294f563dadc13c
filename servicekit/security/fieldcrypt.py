"""Protected personal fields: AES-GCM encryption under a keyring, and a keyed blind index, per tenant.

Keys (32 bytes each, in files):
- FIELD_ENCRYPTION_KEY_PATH: the current encryption master key; everything new is encrypted under it.
- FIELD_ENCRYPTION_OLD_KEYS_DIR (optional): every file in it is a retired encryption master key, kept so that
  what was encrypted under it still decrypts until it is re-encrypted (services.identity.rekey).
- FIELD_INDEX_KEY_PATH: the blind-index master key, never one of the encryption keys, so the index (which must
  stay stable for lookups) and the ciphertexts are not tied to one secret.

A key's id is a fingerprint of the key itself (``key_id``): nothing to configure, and a ciphertext names the key
it needs. Each tenant gets its own derived keys, so one tenant's ciphertexts and index values say nothing about
another's.

A ciphertext is ``v2.<key id>.<base64(nonce + ciphertext + tag)>``; its associated data binds it to the field, the
tenant and the record (``<field>|<tenant id>|<record id>``), so a value copied onto another member or into
another tenant does not decrypt. The format before key ids (bare base64, associated data the field name alone)
still decrypts, under whichever key of the ring made it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from servicekit.process.config import env

KEY_BYTES = 32
VERSION = "v2"
NONCE_BYTES = 12


class UndecryptableField(ValueError):
    """No key of the ring opens this value for this field, tenant and record (a wrong key, a value moved from
    another record, or a damaged one)."""


def key_id(key: bytes) -> str:
    """A short public name of ``key``: a one-way fingerprint, so naming it reveals nothing of it."""
    return hashlib.sha256(b"partybuilding field key id\x00" + key).hexdigest()[:12]


def _derive(master: bytes, purpose: str, tenant_id: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"{purpose}:{tenant_id}".encode()).derive(master)


def _checked(key: bytes, what: str) -> bytes:
    if len(key) != KEY_BYTES:
        raise ValueError(f"the {what} must be {KEY_BYTES} bytes")
    return key


def read_old_keys(directory: str | os.PathLike | None) -> list[bytes]:
    """The retired keys in ``directory`` (every regular file not starting with a dot), by name; none if unset."""
    if not directory:
        return []
    folder = Path(directory)
    if not folder.is_dir():
        raise ValueError(f"{folder} (FIELD_ENCRYPTION_OLD_KEYS_DIR) is not a directory")
    return [path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file() and not path.name.startswith(".")]


def _associated(field: str, tenant_id: str, record_id: str) -> bytes:
    parts = (field, tenant_id or "", record_id or "")
    if not field or not record_id or any("|" in part for part in parts):
        raise ValueError("a protected field needs a field name and a record id, none with '|'")
    return "|".join(parts).encode()


class FieldCipher:
    def __init__(self, current_key: bytes | None = None, old_keys: Iterable[bytes] | None = None,
                 index_key: bytes | None = None):
        """Keys from the arguments, else from the files the environment names (see the module's text); the retired
        keys come from the environment only with the current one."""
        if current_key is None:
            current_key = Path(env("FIELD_ENCRYPTION_KEY_PATH", required=True)).read_bytes()
            if old_keys is None:
                old_keys = read_old_keys(env("FIELD_ENCRYPTION_OLD_KEYS_DIR"))
        if index_key is None:
            index_key = Path(env("FIELD_INDEX_KEY_PATH", required=True)).read_bytes()
        self._ring: dict[str, bytes] = {}
        for key in (current_key, *(old_keys or ())):
            self._ring.setdefault(key_id(_checked(key, "field encryption key")), key)
        self.current_kid = key_id(current_key)
        self._index_master = _checked(index_key, "field index key")
        if any(hmac.compare_digest(self._index_master, key) for key in self._ring.values()):
            raise ValueError("the field index key must not be one of the field encryption keys")
        self.index_kid = key_id(index_key)

    @property
    def key_ids(self) -> list[str]:
        """The ring's key ids, the current one first."""
        return list(self._ring)

    @lru_cache(maxsize=256)
    def _aead(self, kid: str, tenant_id: str) -> AESGCM:
        return AESGCM(_derive(self._ring[kid], "encrypt", tenant_id))

    @lru_cache(maxsize=256)
    def _index_key(self, tenant_id: str) -> bytes:
        return _derive(self._index_master, "index", tenant_id)

    def encrypt(self, tenant_id: str, plaintext: str, field: str, record_id: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead(self.current_kid, tenant_id).encrypt(
            nonce, plaintext.encode(), _associated(field, tenant_id, record_id))
        return f"{VERSION}.{self.current_kid}.{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, tenant_id: str, token: str, field: str, record_id: str) -> str:
        """Raises ``UndecryptableField`` unless the value was made for this field, tenant and record under a key of
        the ring."""
        version, _, rest = token.partition(".")
        if version == VERSION:
            kid, _, body = rest.partition(".")
            candidates = [kid] if kid in self._ring else []
            associated = _associated(field, tenant_id, record_id)
        else:       # before key ids: no prefix, the field name alone as associated data, key unnamed
            candidates, body, associated = list(self._ring), token, field.encode()
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            raise UndecryptableField("not a protected field value") from None
        for kid in candidates:
            try:
                return self._aead(kid, tenant_id).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated).decode()
            except InvalidTag:
                continue
        raise UndecryptableField("no key of the ring opens this value for this field, tenant and record")

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is in today's format under the current key (re-encrypting it would change nothing)."""
        return token.startswith(f"{VERSION}.{self.current_kid}.")

    def blind_index(self, tenant_id: str, value: str) -> str:
        return hmac.new(self._index_key(tenant_id), value.encode(), hashlib.sha256).hexdigest()
