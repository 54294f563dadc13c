import hashlib
import io
import zlib

import pytest
from PIL import Image

from servicekit.errors import InvalidArgument
from services.attendance.domain.qrtoken import render_png
from services.attendance.domain.uploads import (MAX_PHOTO_BYTES, MAX_PHOTO_PIXELS, MAX_TEXT_CHARS,
                                                MIN_PHOTO_SIDE_PX, PHOTO_TYPES, check_photo, check_text,
                                                content_hash_text)
from tests.support.attendance import photo, png_declaring

JPEG = photo("JPEG")
PNG = render_png("hello")
WEBP = photo("WEBP")


def error_of(call, *args, **kwargs):
    with pytest.raises(InvalidArgument) as caught:
        call(*args, **kwargs)
    return caught.value.code


def test_limits():
    assert MAX_PHOTO_BYTES == 5 * 1024 * 1024 and MAX_TEXT_CHARS == 20000
    assert PHOTO_TYPES == {"image/jpeg", "image/png", "image/webp"}


@pytest.mark.parametrize("content, content_type", [(JPEG, "image/jpeg"), (PNG, "image/png"), (WEBP, "image/webp"),
                                                   (JPEG, "IMAGE/JPEG; charset=binary")])
def test_a_valid_photo_returns_its_sha256(content, content_type):
    assert check_photo(content, content_type) == hashlib.sha256(content).hexdigest()


def test_an_empty_upload():
    assert error_of(check_photo, b"", "image/png") == "UPLOAD_EMPTY"
    assert error_of(check_photo, None, "image/png") == "UPLOAD_EMPTY"


def test_a_photo_of_exactly_5_mib_is_fine_and_one_byte_more_is_too_large():
    largest = JPEG + b"\x00" * (MAX_PHOTO_BYTES - len(JPEG))        # bytes after the image's end are ignored
    check_photo(largest, "image/jpeg")
    assert error_of(check_photo, largest + b"\x00", "image/jpeg") == "UPLOAD_TOO_LARGE"


@pytest.mark.parametrize("content_type", ["image/gif", "application/pdf", "", None, "image/svg+xml"])
def test_unsupported_types(content_type):
    assert error_of(check_photo, JPEG, content_type) == "UPLOAD_TYPE_UNSUPPORTED"


@pytest.mark.parametrize("content, content_type", [
    (PNG, "image/jpeg"), (JPEG, "image/png"), (JPEG, "image/webp"), (b"RIFF\x00\x00\x00\x00WAVEfmt ", "image/webp"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png"), (b"\xff\xd8", "image/jpeg"),
])
def test_content_that_does_not_match_the_declared_type(content, content_type):
    assert error_of(check_photo, content, content_type) == "UPLOAD_TYPE_MISMATCH"


def test_text_is_stripped():
    assert check_text("  今天学习了党章。\n") == "今天学习了党章。"


@pytest.mark.parametrize("text", ["", "  \n\t ", None, 12])
def test_empty_text(text):
    with pytest.raises(InvalidArgument) as caught:
        check_text(text, field="reflection")
    assert (caught.value.code, caught.value.field) == ("TEXT_EMPTY", "reflection")


def test_text_length_limit_counts_characters_after_stripping():
    assert check_text(" " + "党" * MAX_TEXT_CHARS + " ") == "党" * MAX_TEXT_CHARS
    assert error_of(check_text, "党" * (MAX_TEXT_CHARS + 1)) == "TEXT_TOO_LONG"
    assert check_text("一二三", max_chars=3) == "一二三"
    assert error_of(check_text, "一二三四", max_chars=3) == "TEXT_TOO_LONG"


def test_content_hash_of_text_is_sha256_of_utf8():
    assert content_hash_text("心得") == hashlib.sha256("心得".encode("utf-8")).hexdigest()


@pytest.mark.parametrize("content, content_type", [
    (b"\x89PNG\r\n\x1a\n<html><body>not a photo</body></html>", "image/png"),   # the magic, then anything
    (b"\x89PNG\r\n\x1a\n" + b"0" * 8, "image/png"),                              # a 16-byte "PNG"
    (b"\xff\xd8\xff\xe0" + b"1" * 64, "image/jpeg"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 100, "image/webp"),
    (photo("PNG", (200, 200))[:300], "image/png"),                                  # cut short
    (photo("JPEG", (200, 200))[:400], "image/jpeg"),
    (photo("WEBP", (200, 200))[:60], "image/webp"),
    (png_declaring(100, 100, zlib.compress(b"\x00" * 50)), "image/png"),             # too little image data
    (png_declaring(100, 100, b"not deflate"), "image/png"),
])
def test_content_that_does_not_decode_as_an_image_is_not_a_photo(content, content_type):
    assert error_of(check_photo, content, content_type) == "NOT_AN_IMAGE"


def test_a_photo_with_a_broken_checksum_is_not_a_photo():
    good = bytearray(photo("PNG", (100, 100)))
    good[-30] ^= 0xFF                                   # inside the image data: its CRC no longer matches
    assert error_of(check_photo, bytes(good), "image/png") == "NOT_AN_IMAGE"


@pytest.mark.parametrize("image_format, content_type", [("JPEG", "image/jpeg"), ("PNG", "image/png"),
                                                        ("WEBP", "image/webp")])
def test_a_real_photo_of_every_type_and_the_smallest_size_is_taken(image_format, content_type):
    content = photo(image_format, (MIN_PHOTO_SIDE_PX, MIN_PHOTO_SIDE_PX))
    assert check_photo(content, content_type) == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize("size", [(MIN_PHOTO_SIDE_PX - 1, 500), (500, MIN_PHOTO_SIDE_PX - 1), (16, 16), (1, 1)])
@pytest.mark.parametrize("image_format, content_type", [("JPEG", "image/jpeg"), ("PNG", "image/png"),
                                                        ("WEBP", "image/webp")])
def test_a_photo_smaller_than_64_pixels_a_side_is_refused(size, image_format, content_type):
    assert error_of(check_photo, photo(image_format, size), content_type) == "IMAGE_TOO_SMALL"


@pytest.mark.parametrize("width, height", [(MAX_PHOTO_PIXELS // 1000 + 1, 1000), (20000, 20000), (2 ** 31 - 1, 64)])
def test_a_photo_declaring_more_than_40_megapixels_is_refused_before_it_is_decoded(width, height):
    """A few hundred bytes may declare a huge image (a decompression bomb): the header's size decides."""
    assert error_of(check_photo, png_declaring(width, height, zlib.compress(b"")), "image/png") == "IMAGE_TOO_LARGE"


def test_a_photo_of_40_megapixels_is_taken():
    out = io.BytesIO()
    Image.new("L", (8000, 5000)).save(out, "PNG")          # 40,000,000 pixels exactly, a few kB compressed
    assert check_photo(out.getvalue(), "image/png")


@pytest.mark.parametrize("image_format, content_type", [("JPEG", "image/png"), ("PNG", "image/webp"),
                                                        ("WEBP", "image/jpeg")])
def test_an_image_of_another_format_than_declared_is_refused(image_format, content_type):
    assert error_of(check_photo, photo(image_format), content_type) in ("UPLOAD_TYPE_MISMATCH", "NOT_AN_IMAGE")


def test_a_gif_under_a_png_header_is_not_a_photo():
    out = io.BytesIO()
    Image.new("RGB", (100, 100)).save(out, "GIF")
    assert error_of(check_photo, b"\x89PNG\r\n\x1a\n" + out.getvalue(), "image/png") == "NOT_AN_IMAGE"
