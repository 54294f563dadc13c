"""Secrets a one-machine installation keeps on disk: created once, reused on every start."""
from __future__ import annotations

import os
import secrets
import string
from pathlib import Path

from servicekit.security.fieldcrypt import key_id
from servicekit.security.proofs import KEYS_DIR_VARIABLE, ensure_call_keys
from servicekit.security.tokens import generate_keypair

FIELD_KEY_BYTES = 32
OLD_FIELD_KEYS = "field_keys_old"       # retired field-encryption keys, still read (FIELD_ENCRYPTION_OLD_KEYS_DIR)


def ensure_keys(directory: Path) -> dict[str, str]:
    """The token key pair, the field-encryption (current and retired) and field-index keys, the QR-signing master
    key, and every principal's call keys (servicekit.security.proofs); returns their env variables."""
    directory = _private_dir(directory)
    private_path, public_path = generate_keypair(directory)
    field_key = _ensure_secret_file(directory / "field_key.bin", lambda: secrets.token_bytes(FIELD_KEY_BYTES))
    index_key = _ensure_secret_file(directory / "field_index_key.bin", lambda: secrets.token_bytes(FIELD_KEY_BYTES))
    for key in (field_key, index_key):
        if len(key.read_bytes()) != FIELD_KEY_BYTES:
            raise ValueError(f"{key} must hold exactly {FIELD_KEY_BYTES} bytes")
    old_field_keys = _private_dir(directory / OLD_FIELD_KEYS)
    qr_key = _ensure_secret_file(directory / "qr_key.bin", lambda: secrets.token_bytes(FIELD_KEY_BYTES))
    return {
        "QR_SIGNING_KEY_PATH": str(qr_key),
        "TOKEN_PRIVATE_KEY_PATH": str(private_path),
        "TOKEN_PUBLIC_KEY_PATH": str(public_path),
        "FIELD_ENCRYPTION_KEY_PATH": str(field_key),
        "FIELD_ENCRYPTION_OLD_KEYS_DIR": str(old_field_keys),
        "FIELD_INDEX_KEY_PATH": str(index_key),
        KEYS_DIR_VARIABLE: str(ensure_call_keys(directory / "calls")),
    }


def rotate_field_key(directory: Path) -> tuple[str, str]:
    """Retire the field-encryption key ``ensure_keys`` keeps in ``directory`` (moved into its old-keys directory,
    where it still decrypts) and put a new one in its place; returns (retired key id, new key id). Identity
    re-encrypts under the new key when it next starts (services.identity.rekey)."""
    directory = _private_dir(directory)
    current = directory / "field_key.bin"
    old_kid = key_id(current.read_bytes())
    retired = _private_dir(directory / OLD_FIELD_KEYS) / f"{old_kid}.bin"
    if not retired.exists():
        os.link(current, retired)       # the old key is kept before the current file changes
    fresh = directory / "field_key.bin.new"
    fresh.unlink(missing_ok=True)
    _ensure_secret_file(fresh, lambda: secrets.token_bytes(FIELD_KEY_BYTES))
    os.replace(fresh, current)
    return old_kid, key_id(current.read_bytes())


def ensure_operator_password(directory: Path) -> str:
    path = _ensure_secret_file(_private_dir(directory) / "operator_password", lambda: new_password().encode())
    return path.read_text().strip()


def new_password(length: int = 16) -> str:
    """Random, with upper and lower case letters, digits and a symbol, for generated accounts."""
    classes = (string.ascii_uppercase, string.ascii_lowercase, string.digits, "-_.@")
    chars = [secrets.choice(group) for group in classes]
    chars += [secrets.choice(string.ascii_letters + string.digits) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def _private_dir(directory: Path) -> Path:
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    return directory


def _ensure_secret_file(path: Path, make) -> Path:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(descriptor, "wb") as file:
        file.write(make())
    return path
