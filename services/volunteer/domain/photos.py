"""Checks on completion photos (服务照片): non-empty, at most 5 MiB, JPEG, PNG or WebP whose first bytes match the
declared type and which decode whole as an image of that format (eight right bytes in front of anything else are
not a photo). A photo is identified by its SHA-256 hash."""
from __future__ import annotations

import hashlib
import io

from PIL import Image

from servicekit.errors import InvalidArgument

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000      # a small file can declare a huge image: the bound comes before decoding
FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}     # Pillow's names
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def declared_type(content_type) -> str:
    """The media type a Content-Type names, lower case and without parameters ("" for anything but text)."""
    return content_type.split(";")[0].strip().lower() if isinstance(content_type, str) else ""


def _magic_matches(content: bytes, media_type: str) -> bool:
    if media_type == "image/jpeg":
        return content.startswith(b"\xff\xd8\xff")
    if media_type == "image/png":
        return content.startswith(b"\x89PNG\r\n\x1a\n")
    return content[:4] == b"RIFF" and content[8:12] == b"WEBP"


def check_photo(content: bytes, content_type) -> str:
    """The photo's SHA-256 hex digest; InvalidArgument when it is not an acceptable photo."""
    if not isinstance(content, (bytes, bytearray)) or not content:
        raise InvalidArgument("上传的图片为空", code="UPLOAD_EMPTY", field="photo")
    if len(content) > MAX_PHOTO_BYTES:
        raise InvalidArgument(f"图片不能超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB", code="UPLOAD_TOO_LARGE",
                              field="photo")
    media_type = declared_type(content_type)
    if media_type not in FORMATS:
        raise InvalidArgument("仅支持 JPEG、PNG、WEBP 格式的图片", code="UPLOAD_TYPE_UNSUPPORTED",
                              field="content_type")
    content = bytes(content)
    if not _magic_matches(content, media_type):
        raise InvalidArgument("图片内容与声明的格式不符", code="UPLOAD_TYPE_MISMATCH", field="photo")
    try:
        with Image.open(io.BytesIO(content), formats=[FORMATS[media_type]]) as image:
            width, height = image.size
            if width * height > MAX_PHOTO_PIXELS:
                raise ValueError("too many pixels")
            image.load()
    except Exception:  # noqa: BLE001  Pillow raises many kinds for a broken file: each means "not an image"
        raise InvalidArgument("上传的文件不是有效的图片，无法解码", code="NOT_AN_IMAGE", field="photo") from None
    return hashlib.sha256(content).hexdigest()
