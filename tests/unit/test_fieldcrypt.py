"""FieldCipher: key ids, the format before them, associated data bound to tenant and record, rotation, the index key."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from unittest.mock import patch

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from servicekit.process.config import ConfigError
from servicekit.security.fieldcrypt import FieldCipher, UndecryptableField, key_id

NUMBER = "610702199005171234"
KEY_A, KEY_B, INDEX_KEY = (secrets.token_bytes(32) for _ in range(3))


def derived(master: bytes, info: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode()).derive(master)


def legacy_token(master: bytes, tenant_id: str, value: str) -> str:
    """A value as stored before key ids: bare base64, associated data the field name alone."""
    nonce = os.urandom(12)
    sealed = AESGCM(derived(master, f"encrypt:{tenant_id}")).encrypt(nonce, value.encode(), b"id_number")
    return base64.b64encode(nonce + sealed).decode()


def cipher(current=KEY_A, old=(), index=INDEX_KEY) -> FieldCipher:
    return FieldCipher(current, list(old), index)


def test_a_value_round_trips_and_names_its_key():
    sealed = cipher().encrypt("ten_1", NUMBER, "id_number", "mem_1")

    version, kid, _ = sealed.split(".")
    assert (version, kid) == ("v2", key_id(KEY_A)) and NUMBER not in sealed
    assert cipher().decrypt("ten_1", sealed, "id_number", "mem_1") == NUMBER
    assert cipher().encrypt("ten_1", NUMBER, "id_number", "mem_1") != sealed        # a fresh nonce each time
    assert len(key_id(KEY_A)) == 12 and key_id(KEY_A) != key_id(KEY_B)


@pytest.mark.parametrize("tenant_id, field, record_id", [
    ("ten_1", "id_number", "mem_2"),        # moved onto another member
    ("ten_2", "id_number", "mem_1"),        # moved into another tenant
    ("ten_1", "phone", "mem_1"),            # read as another field
])
def test_a_value_opens_only_for_its_tenant_member_and_field(tenant_id, field, record_id):
    sealed = cipher().encrypt("ten_1", NUMBER, "id_number", "mem_1")

    with pytest.raises(UndecryptableField):
        cipher().decrypt(tenant_id, sealed, field, record_id)


def test_values_stored_before_key_ids_still_open_under_the_key_that_made_them():
    old_format = legacy_token(KEY_A, "ten_1", NUMBER)

    assert cipher().decrypt("ten_1", old_format, "id_number", "mem_1") == NUMBER
    assert not cipher().is_current(old_format)
    assert cipher(KEY_B, [KEY_A]).decrypt("ten_1", old_format, "id_number", "mem_9") == NUMBER   # after a rotation
    with pytest.raises(UndecryptableField):
        cipher(KEY_B).decrypt("ten_1", old_format, "id_number", "mem_1")
    with pytest.raises(UndecryptableField):
        cipher().decrypt("ten_2", old_format, "id_number", "mem_1")


def test_after_a_rotation_old_values_open_and_new_ones_use_the_new_key():
    before = cipher(KEY_A).encrypt("ten_1", NUMBER, "id_number", "mem_1")
    rotated = cipher(KEY_B, [KEY_A])

    assert rotated.key_ids == [key_id(KEY_B), key_id(KEY_A)]
    assert rotated.decrypt("ten_1", before, "id_number", "mem_1") == NUMBER
    assert not rotated.is_current(before)
    after = rotated.encrypt("ten_1", NUMBER, "id_number", "mem_1")
    assert after.startswith(f"v2.{key_id(KEY_B)}.") and rotated.is_current(after)
    with pytest.raises(UndecryptableField):         # the old ring alone does not know the new key
        cipher(KEY_A).decrypt("ten_1", after, "id_number", "mem_1")
    with pytest.raises(UndecryptableField):         # once the old key is gone, what was not re-encrypted is lost
        cipher(KEY_B).decrypt("ten_1", before, "id_number", "mem_1")


def test_a_key_id_is_only_a_name_a_forged_one_opens_nothing():
    sealed = cipher(KEY_B, [KEY_A]).encrypt("ten_1", NUMBER, "id_number", "mem_1")
    _, _, body = sealed.split(".")

    with pytest.raises(UndecryptableField):
        cipher(KEY_B, [KEY_A]).decrypt("ten_1", f"v2.{key_id(KEY_A)}.{body}", "id_number", "mem_1")
    with pytest.raises(UndecryptableField):
        cipher(KEY_B, [KEY_A]).decrypt("ten_1", f"v2.000000000000.{body}", "id_number", "mem_1")
    with pytest.raises(UndecryptableField):
        cipher().decrypt("ten_1", "v2.x.not base64!", "id_number", "mem_1")


def test_the_blind_index_uses_its_own_key_per_tenant():
    index = cipher().blind_index("ten_1", NUMBER)

    assert index == cipher(KEY_B, [KEY_A]).blind_index("ten_1", NUMBER)     # encryption rotation leaves it
    assert index != cipher().blind_index("ten_2", NUMBER)
    assert index != cipher(index=secrets.token_bytes(32)).blind_index("ten_1", NUMBER)
    assert index == hmac.new(derived(INDEX_KEY, "index:ten_1"), NUMBER.encode(), hashlib.sha256).hexdigest()
    legacy = hmac.new(derived(KEY_A, "index:ten_1"), NUMBER.encode(), hashlib.sha256).hexdigest()
    assert index != legacy                          # no longer derived from the encryption key


def test_bad_keys_and_bad_associated_data_are_refused():
    with pytest.raises(ValueError, match="must not be one of"):
        cipher(KEY_B, [KEY_A], index=KEY_A)
    with pytest.raises(ValueError, match="32 bytes"):
        cipher(KEY_A[:16])
    with pytest.raises(ValueError, match="32 bytes"):
        cipher(old=[b"short"])
    with pytest.raises(ValueError, match="32 bytes"):
        cipher(index=b"short")
    with pytest.raises(ValueError, match="record id"):
        cipher().encrypt("ten_1", NUMBER, "id_number", "")
    with pytest.raises(ValueError, match="record id"):
        cipher().encrypt("ten|1", NUMBER, "id_number", "mem_1")


def test_keys_come_from_the_files_the_environment_names(tmp_path):
    (tmp_path / "current.bin").write_bytes(KEY_B)
    (tmp_path / "index.bin").write_bytes(INDEX_KEY)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "a.bin").write_bytes(KEY_A)
    settings = {"FIELD_ENCRYPTION_KEY_PATH": str(tmp_path / "current.bin"),
                "FIELD_ENCRYPTION_OLD_KEYS_DIR": str(tmp_path / "old"),
                "FIELD_INDEX_KEY_PATH": str(tmp_path / "index.bin")}

    with patch.dict(os.environ, settings):
        loaded = FieldCipher()
    assert loaded.key_ids == [key_id(KEY_B), key_id(KEY_A)] and loaded.index_kid == key_id(INDEX_KEY)

    without_index = {**settings, "FIELD_INDEX_KEY_PATH": ""}
    with patch.dict(os.environ, without_index), pytest.raises(ConfigError, match="FIELD_INDEX_KEY_PATH"):
        FieldCipher()
    without_old = {**settings, "FIELD_ENCRYPTION_OLD_KEYS_DIR": ""}
    with patch.dict(os.environ, without_old):
        assert FieldCipher().key_ids == [key_id(KEY_B)]
