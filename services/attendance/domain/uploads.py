"""Checks on uploaded activity material (图文资料): photos and text.

A photo must be non-empty, at most 5 MiB, of an allowed type, its first bytes must match
the declared type, and it must decode whole (Pillow) as an image of that format between
64×64 pixels and 40 megapixels: eight right bytes in front of anything else are not a photo,
and a photo counts towards the branch score's richness. Contents are identified by their
SHA-256 hash, which also goes into the hash chain.

A photo's thumbnail is a JPEG at most 320 pixels on its long side, turned upright by its EXIF
orientation and carrying no metadata (no EXIF, GPS, comment, XMP or colour profile: colours are
converted to sRGB instead), so the list of an activity's photos loads fast and leaks no location.
"""
from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageCms, ImageOps

from servicekit.errors import InvalidArgument

MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
PHOTO_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}     # Pillow's names
MIN_PHOTO_SIDE_PX = 64
MAX_PHOTO_PIXELS = 40_000_000     # a 5 MiB file can declare any size: the bound comes before decoding
MAX_TEXT_CHARS = 20000
THUMB_MAX_SIDE_PX = 320
THUMB_TYPE = "image/jpeg"
THUMB_QUALITY = 82
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _matches(content: bytes, content_type: str) -> bool:
    if content_type == "image/jpeg":
        return content.startswith(_JPEG_MAGIC)
    if content_type == "image/png":
        return content.startswith(_PNG_MAGIC)
    return content[:4] == b"RIFF" and content[8:12] == b"WEBP"


def declared_type(content_type) -> str:
    """The media type a Content-Type names, lower case and without parameters ("" for anything but text)."""
    return content_type.split(";")[0].strip().lower() if isinstance(content_type, str) else ""


def check_photo(content: bytes, content_type: str) -> str:
    """Check an uploaded photo and return its SHA-256 hex digest.

    ``content_type`` may carry parameters (``image/png; charset=binary``) and any case.
    """
    if not isinstance(content, (bytes, bytearray)) or not content:
        raise InvalidArgument("上传的图片为空", code="UPLOAD_EMPTY", field="photo")
    if len(content) > MAX_PHOTO_BYTES:
        raise InvalidArgument(f"图片不能超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB", code="UPLOAD_TOO_LARGE",
                              field="photo")
    declared = declared_type(content_type)
    if declared not in PHOTO_TYPES:
        raise InvalidArgument("仅支持 JPEG、PNG、WEBP 格式的图片", code="UPLOAD_TYPE_UNSUPPORTED",
                              field="content_type")
    content = bytes(content)
    if not _matches(content, declared):
        raise InvalidArgument("图片内容与声明的格式不符", code="UPLOAD_TYPE_MISMATCH", field="photo")
    _decode(content, PHOTO_FORMATS[declared])
    return hashlib.sha256(content).hexdigest()


def _not_an_image() -> InvalidArgument:
    return InvalidArgument("上传的文件不是有效的图片，无法解码", code="NOT_AN_IMAGE", field="photo")


def _decode(content: bytes, image_format: str) -> None:
    """Decode the whole image as ``image_format`` only (a JPEG declared as a PNG is not looked at as a JPEG), its
    size checked from the header first: a small file may declare a huge image (a decompression bomb). Pillow
    refuses on its own beyond twice ``Image.MAX_IMAGE_PIXELS``; below that the bound here decides. A JPEG is
    decoded at 1/8 scale (``draft``): all of its data is still read and entropy-decoded, for a fraction of the
    work."""
    try:
        with Image.open(io.BytesIO(content), formats=[image_format]) as image:
            _check_size(*image.size)
            image.verify()          # the PNG chunks' checksums; nothing for JPEG and WebP
        with Image.open(io.BytesIO(content), formats=[image_format]) as image:
            if image_format == "JPEG":
                image.draft(image.mode, (max(1, image.size[0] // 8), max(1, image.size[1] // 8)))
            image.load()
    except InvalidArgument:
        raise
    except Image.DecompressionBombError:
        raise _too_large() from None
    except Exception:  # noqa: BLE001  whatever the decoder raises (OSError, SyntaxError, ...), it is no image
        raise _not_an_image() from None


def _too_large() -> InvalidArgument:
    return InvalidArgument(f"图片尺寸过大（不能超过 {MAX_PHOTO_PIXELS // 1_000_000} 百万像素）", code="IMAGE_TOO_LARGE",
                           field="photo")


def _check_size(width: int, height: int) -> None:
    if width < MIN_PHOTO_SIDE_PX or height < MIN_PHOTO_SIDE_PX:
        raise InvalidArgument(f"图片尺寸过小（至少 {MIN_PHOTO_SIDE_PX}×{MIN_PHOTO_SIDE_PX} 像素）", code="IMAGE_TOO_SMALL",
                              field="photo")
    if width * height > MAX_PHOTO_PIXELS:
        raise _too_large()


def thumbnail(content: bytes, content_type: str) -> bytes:
    """The JPEG thumbnail of a photo that passed ``check_photo``: at most THUMB_MAX_SIDE_PX on its long side
    (a smaller photo keeps its size), upright, flattened on white where transparent, in sRGB, without metadata.
    CPU work of up to a few hundred ms for the largest photos: run it on a native thread."""
    declared = declared_type(content_type)
    if declared not in PHOTO_FORMATS:
        raise InvalidArgument("仅支持 JPEG、PNG、WEBP 格式的图片", code="UPLOAD_TYPE_UNSUPPORTED",
                              field="content_type")
    try:
        with Image.open(io.BytesIO(bytes(content)), formats=[PHOTO_FORMATS[declared]]) as image:
            _check_size(*image.size)
            if image.format == "JPEG":      # decode at the smallest scale still twice the thumbnail's size
                image.draft(image.mode, (2 * THUMB_MAX_SIDE_PX, 2 * THUMB_MAX_SIDE_PX))
            small = _as_srgb(ImageOps.exif_transpose(image))
        small.thumbnail((THUMB_MAX_SIDE_PX, THUMB_MAX_SIDE_PX), Image.Resampling.LANCZOS)
    except InvalidArgument:
        raise
    except Image.DecompressionBombError:
        raise _too_large() from None
    except Exception:  # noqa: BLE001  as in _decode: whatever the decoder raises, it is no image
        raise _not_an_image() from None
    small.info.clear()                  # Pillow writes a comment or XMP still in ``info`` into the JPEG
    out = io.BytesIO()
    small.save(out, "JPEG", quality=THUMB_QUALITY, optimize=True)
    return out.getvalue()


def _as_srgb(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit RGB or grey in sRGB: transparency flattened on white, 16-bit grey scaled down, an
    embedded colour profile (a phone's Display P3, a CMYK print profile) converted from rather than dropped."""
    profile = image.info.get("icc_profile")
    if image.mode.startswith("I"):
        return image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, (255, 255, 255))
        image.paste(rgba, mask=rgba.getchannel("A"))
    if profile and image.mode in ("RGB", "CMYK"):
        try:
            return ImageCms.profileToProfile(image, ImageCms.ImageCmsProfile(io.BytesIO(profile)), _SRGB,
                                             outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass                        # a broken profile: the pixels as they are
    return image if image.mode in ("RGB", "L") else image.convert("RGB")


def content_hash(content: bytes) -> str:
    """SHA-256 hex digest of the bytes."""
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
