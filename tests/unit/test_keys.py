import stat
from pathlib import Path

import pytest

from servicekit.security.keys import ensure_keys, ensure_operator_password, new_password
from servicekit.security.tokens import TokenSigner, TokenVerifier


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_creates_the_token_key_pair_and_field_key_with_private_modes(tmp_path):
    paths = ensure_keys(tmp_path / "keys")

    assert set(paths) == {"TOKEN_PRIVATE_KEY_PATH", "TOKEN_PUBLIC_KEY_PATH", "FIELD_ENCRYPTION_KEY_PATH",
                          "QR_SIGNING_KEY_PATH"}
    files = {name: Path(value) for name, value in paths.items()}
    assert all(path.is_file() and path.is_absolute() for path in files.values())
    assert len(files["FIELD_ENCRYPTION_KEY_PATH"].read_bytes()) == 32
    assert mode(files["FIELD_ENCRYPTION_KEY_PATH"]) == 0o600
    assert mode(files["TOKEN_PRIVATE_KEY_PATH"]) == 0o600
    assert mode(tmp_path / "keys") == 0o700


def test_reuses_existing_keys_on_later_calls(tmp_path):
    first = ensure_keys(tmp_path)
    contents = {name: open(path, "rb").read() for name, path in first.items()}

    second = ensure_keys(tmp_path)

    assert second == first
    assert {name: open(path, "rb").read() for name, path in second.items()} == contents


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


def test_operator_password_is_created_once(tmp_path):
    password = ensure_operator_password(tmp_path)

    assert ensure_operator_password(tmp_path) == password
    assert mode(tmp_path / "operator_password") == 0o600


def test_generated_passwords_mix_character_classes():
    password = new_password()

    assert len(password) == 16
    assert any(c.isupper() for c in password) and any(c.islower() for c in password)
    assert any(c.isdigit() for c in password) and any(not c.isalnum() for c in password)
