import hashlib

import pytest

from servicekit.errors import InvalidArgument
from services.attendance.domain.qrtoken import render_png
from services.attendance.domain.uploads import (MAX_PHOTO_BYTES, MAX_TEXT_CHARS, PHOTO_TYPES, check_photo,
                                                check_text, content_hash_text)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 100
PNG = render_png("hello")
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 100


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
    largest = JPEG + b"\x00" * (MAX_PHOTO_BYTES - len(JPEG))
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
