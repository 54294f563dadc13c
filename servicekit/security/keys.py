"""Secrets a one-machine installation keeps on disk: created once, reused on every start."""
from __future__ import annotations

import os
import secrets
import string
from pathlib import Path

from servicekit.security.tokens import generate_keypair

FIELD_KEY_BYTES = 32


def ensure_keys(directory: Path) -> dict[str, str]:
    """The token key pair, the field-encryption and QR-signing master keys; returns their env variables."""
    directory = _private_dir(directory)
    private_path, public_path = generate_keypair(directory)
    field_key = _ensure_secret_file(directory / "field_key.bin", lambda: secrets.token_bytes(FIELD_KEY_BYTES))
    if len(field_key.read_bytes()) != FIELD_KEY_BYTES:
        raise ValueError(f"{field_key} must hold exactly {FIELD_KEY_BYTES} bytes")
    qr_key = _ensure_secret_file(directory / "qr_key.bin", lambda: secrets.token_bytes(FIELD_KEY_BYTES))
    return {
        "QR_SIGNING_KEY_PATH": str(qr_key),
        "TOKEN_PRIVATE_KEY_PATH": str(private_path),
        "TOKEN_PUBLIC_KEY_PATH": str(public_path),
        "FIELD_ENCRYPTION_KEY_PATH": str(field_key),
    }


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
