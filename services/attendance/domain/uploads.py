"""Checks on uploaded activity material (图文资料): photos and text.

A photo must be non-empty, at most 5 MiB, of an allowed type, and its first bytes must match
the declared type. Contents are identified by their SHA-256 hash, which also goes into the
hash chain.
"""
from __future__ import annotations

import hashlib

from servicekit.errors import InvalidArgument

MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
MAX_TEXT_CHARS = 20000

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _matches(content: bytes, content_type: str) -> bool:
    if content_type == "image/jpeg":
        return content.startswith(_JPEG_MAGIC)
    if content_type == "image/png":
        return content.startswith(_PNG_MAGIC)
    return content[:4] == b"RIFF" and content[8:12] == b"WEBP"


def check_photo(content: bytes, content_type: str) -> str:
    """Check an uploaded photo and return its SHA-256 hex digest.

    ``content_type`` may carry parameters (``image/png; charset=binary``) and any case.
    """
    if not isinstance(content, (bytes, bytearray)) or not content:
        raise InvalidArgument("上传的图片为空", code="UPLOAD_EMPTY", field="photo")
    if len(content) > MAX_PHOTO_BYTES:
        raise InvalidArgument(f"图片不能超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB", code="UPLOAD_TOO_LARGE",
                              field="photo")
    declared = (content_type or "").split(";")[0].strip().lower() if isinstance(content_type, str) else ""
    if declared not in PHOTO_TYPES:
        raise InvalidArgument("仅支持 JPEG、PNG、WEBP 格式的图片", code="UPLOAD_TYPE_UNSUPPORTED",
                              field="content_type")
    if not _matches(bytes(content), declared):
        raise InvalidArgument("图片内容与声明的格式不符", code="UPLOAD_TYPE_MISMATCH", field="photo")
    return hashlib.sha256(content).hexdigest()


def check_text(text: str, field: str = "text", max_chars: int = MAX_TEXT_CHARS) -> str:
    """The text stripped of surrounding blanks; it must be non-empty and at most ``max_chars``."""
    stripped = text.strip() if isinstance(text, str) else ""
    if not stripped:
        raise InvalidArgument("内容不能为空", code="TEXT_EMPTY", field=field)
    if len(stripped) > max_chars:
        raise InvalidArgument(f"内容不能超过 {max_chars} 个字", code="TEXT_TOO_LONG", field=field)
    return stripped


def content_hash_text(text: str) -> str:
    """SHA-256 hex digest of the text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
