"""Protected personal fields: AES-GCM encryption and a keyed blind index, per tenant.

The master key (32 bytes) lives in the file at FIELD_ENCRYPTION_KEY_PATH; each tenant
gets its own derived keys, so one tenant's ciphertexts and index values say nothing
about another's.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from servicekit.process.config import env


def _derive(master: bytes, purpose: str, tenant_id: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"{purpose}:{tenant_id}".encode()).derive(master)


class FieldCipher:
    def __init__(self, master_key: bytes | None = None):
        self._master = master_key or Path(env("FIELD_ENCRYPTION_KEY_PATH", required=True)).read_bytes()
        if len(self._master) != 32:
            raise ValueError("the field encryption master key must be 32 bytes")

    @lru_cache(maxsize=64)
    def _keys(self, tenant_id: str) -> tuple[AESGCM, bytes]:
        return AESGCM(_derive(self._master, "encrypt", tenant_id)), _derive(self._master, "index", tenant_id)

    def encrypt(self, tenant_id: str, plaintext: str, context: str) -> str:
        aead, _ = self._keys(tenant_id)
        nonce = os.urandom(12)
        return base64.b64encode(nonce + aead.encrypt(nonce, plaintext.encode(), context.encode())).decode()

    def decrypt(self, tenant_id: str, token: str, context: str) -> str:
        aead, _ = self._keys(tenant_id)
        raw = base64.b64decode(token)
        return aead.decrypt(raw[:12], raw[12:], context.encode()).decode()

    def blind_index(self, tenant_id: str, value: str) -> str:
        _, index_key = self._keys(tenant_id)
        return hmac.new(index_key, value.encode(), hashlib.sha256).hexdigest()
