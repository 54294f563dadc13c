import os
import stat
from pathlib import Path
from unittest.mock import patch

import pytest

from servicekit.security.fieldcrypt import FieldCipher, key_id
from servicekit.security.keys import ensure_keys, ensure_operator_password, new_password, rotate_field_key
from servicekit.security.proofs import PRINCIPALS
from servicekit.security.tokens import TokenSigner, TokenVerifier


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_creates_the_token_key_pair_and_field_key_with_private_modes(tmp_path):
    paths = ensure_keys(tmp_path / "keys")

    assert set(paths) == {"TOKEN_PRIVATE_KEY_PATH", "TOKEN_PUBLIC_KEY_PATH", "FIELD_ENCRYPTION_KEY_PATH",
                          "FIELD_ENCRYPTION_OLD_KEYS_DIR", "FIELD_INDEX_KEY_PATH", "QR_SIGNING_KEY_PATH",
                          "CALL_KEYS_DIR"}
    calls = Path(paths.pop("CALL_KEYS_DIR"))
    old_field_keys = Path(paths.pop("FIELD_ENCRYPTION_OLD_KEYS_DIR"))
    assert mode(old_field_keys) == 0o700 and list(old_field_keys.iterdir()) == []
    assert mode(calls) == 0o700 and {path.name for path in calls.iterdir()} == {
        f"{principal}.{suffix}" for principal in PRINCIPALS for suffix in ("key", "pub")}
    assert all(mode(path) == 0o600 for path in calls.glob("*.key"))
    files = {name: Path(value) for name, value in paths.items()}
    assert all(path.is_file() and path.is_absolute() for path in files.values())
    assert len(files["FIELD_ENCRYPTION_KEY_PATH"].read_bytes()) == 32
    assert mode(files["FIELD_ENCRYPTION_KEY_PATH"]) == 0o600
    assert len(files["FIELD_INDEX_KEY_PATH"].read_bytes()) == 32 and mode(files["FIELD_INDEX_KEY_PATH"]) == 0o600
    assert files["FIELD_INDEX_KEY_PATH"].read_bytes() != files["FIELD_ENCRYPTION_KEY_PATH"].read_bytes()
    assert mode(files["TOKEN_PRIVATE_KEY_PATH"]) == 0o600
    assert mode(tmp_path / "keys") == 0o700


def test_reuses_existing_keys_on_later_calls(tmp_path):
    first = ensure_keys(tmp_path)
    contents = {path.name: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}

    second = ensure_keys(tmp_path)

    assert second == first
    assert {path.name: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()} == contents


def test_the_key_pair_signs_and_verifies_tokens(tmp_path):
    paths = ensure_keys(tmp_path)
    signer = TokenSigner(open(paths["TOKEN_PRIVATE_KEY_PATH"], "rb").read())
    verifier = TokenVerifier(open(paths["TOKEN_PUBLIC_KEY_PATH"], "rb").read())

    token = signer.issue({"account_id": "a1", "tenant_id": "t1", "roles": []})

    assert verifier.verify(token)["account_id"] == "a1"


def test_refuses_a_field_key_of_the_wrong_length(tmp_path):
    (tmp_path / "field_key.bin").write_bytes(b"short")

    with pytest.raises(ValueError, match="32 bytes"):
        ensure_keys(tmp_path)


def test_refuses_a_field_index_key_of_the_wrong_length(tmp_path):
    (tmp_path / "field_index_key.bin").write_bytes(b"short")

    with pytest.raises(ValueError, match="32 bytes"):
        ensure_keys(tmp_path)


def test_rotating_the_field_key_keeps_the_old_one_where_the_cipher_reads_it(tmp_path):
    paths = ensure_keys(tmp_path)
    before = Path(paths["FIELD_ENCRYPTION_KEY_PATH"]).read_bytes()
    sealed = FieldCipher(before, [], Path(paths["FIELD_INDEX_KEY_PATH"]).read_bytes()).encrypt(
        "ten_1", "610702199005171234", "id_number", "mem_1")

    retired_kid, new_kid = rotate_field_key(tmp_path)

    assert ensure_keys(tmp_path) == paths
    after = Path(paths["FIELD_ENCRYPTION_KEY_PATH"]).read_bytes()
    assert len(after) == 32 and after != before and mode(Path(paths["FIELD_ENCRYPTION_KEY_PATH"])) == 0o600
    assert (retired_kid, new_kid) == (key_id(before), key_id(after))
    assert [p.read_bytes() for p in Path(paths["FIELD_ENCRYPTION_OLD_KEYS_DIR"]).iterdir()] == [before]
    with patch.dict(os.environ, paths):
        cipher = FieldCipher()
    assert cipher.key_ids == [new_kid, retired_kid]
    assert cipher.decrypt("ten_1", sealed, "id_number", "mem_1") == "610702199005171234"


def test_operator_password_is_created_once(tmp_path):
    password = ensure_operator_password(tmp_path)

    assert ensure_operator_password(tmp_path) == password
    assert mode(tmp_path / "operator_password") == 0o600


def test_generated_passwords_mix_character_classes():
    password = new_password()

    assert len(password) == 16
    assert any(c.isupper() for c in password) and any(c.islower() for c in password)
    assert any(c.isdigit() for c in password) and any(not c.isalnum() for c in password)
