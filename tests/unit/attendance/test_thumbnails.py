"""A photo's thumbnail: a small upright JPEG without metadata, made from every photo check_photo takes."""
import io

import pytest
from PIL import Image, ImageCms

from servicekit.errors import InvalidArgument
from services.attendance.domain.uploads import (MIN_PHOTO_SIDE_PX, THUMB_MAX_SIDE_PX, check_photo, content_hash,
                                                thumbnail)
from tests.support.attendance import photo

RED, BLUE = (230, 0, 0), (0, 0, 230)
TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def encoded(image: Image.Image, image_format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def opened(thumb: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(thumb))
    image.load()
    return image


def close_to(pixel, colour, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def half_red_half_blue(size=(400, 200)) -> Image.Image:
    """Red on the left half, blue on the right: where the halves end up shows how the image was turned."""
    image = Image.new("RGB", size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    return image


@pytest.mark.parametrize("size, expected", [
    ((4000, 3000), (320, 240)), ((600, 1200), (160, 320)), ((321, 321), (320, 320)), ((320, 100), (320, 100)),
    ((100, 80), (100, 80)), ((MIN_PHOTO_SIDE_PX, MIN_PHOTO_SIDE_PX), (MIN_PHOTO_SIDE_PX, MIN_PHOTO_SIDE_PX)),
])
@pytest.mark.parametrize("image_format", TYPES)
def test_the_long_side_is_at_most_320_pixels_and_a_small_photo_is_not_enlarged(size, expected, image_format):
    thumb = opened(thumbnail(photo(image_format, size), TYPES[image_format]))
    assert thumb.format == "JPEG" and thumb.size == expected
    assert max(thumb.size) <= THUMB_MAX_SIDE_PX


@pytest.mark.parametrize("orientation, size, top_left, bottom_right", [
    (1, (320, 160), RED, BLUE),          # as stored
    (3, (320, 160), BLUE, RED),          # turned half round
    (6, (160, 320), RED, BLUE),          # a phone held upright: turned a quarter clockwise, the left side on top
    (8, (160, 320), BLUE, RED),          # a quarter anticlockwise, the right side on top
])
def test_the_exif_orientation_is_applied(orientation, size, top_left, bottom_right):
    exif = Image.Exif()
    exif[0x0112] = orientation
    content = encoded(half_red_half_blue(), "JPEG", exif=exif.tobytes(), quality=95)
    thumb = opened(thumbnail(content, "image/jpeg"))
    assert thumb.size == size
    assert close_to(thumb.getpixel((5, 5)), top_left)
    assert close_to(thumb.getpixel((size[0] - 6, size[1] - 6)), bottom_right)
    assert 0x0112 not in thumb.getexif()        # turned once: no viewer turns it again


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_gives_a_thumbnail_of_the_upright_shape(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    thumb = opened(thumbnail(encoded(half_red_half_blue((800, 400)), "JPEG", exif=exif.tobytes()), "image/jpeg"))
    assert thumb.size == ((160, 320) if orientation >= 5 else (320, 160))


@pytest.mark.parametrize("with_profile", [False, True])
def test_metadata_is_stripped_location_included(with_profile):
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "PhoneMaker", "Model X", 1
    exif[0x8825] = {1: "N", 2: (34.0, 15.0, 30.0), 3: "E", 4: (108.0, 56.0, 10.0)}    # GPS: where it was taken
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    content = encoded(Image.new("RGB", (1000, 800), RED), "JPEG", exif=exif.tobytes(), comment=b"secret note",
                      xmp=xmp, **({"icc_profile": srgb} if with_profile else {}))
    source = Image.open(io.BytesIO(content))
    assert {"exif", "comment", "xmp"} <= set(source.info)        # the photo carries them all
    thumb_bytes = thumbnail(content, "image/jpeg")
    thumb = opened(thumb_bytes)
    assert not {"exif", "comment", "icc_profile", "xmp"} & set(thumb.info)
    assert dict(thumb.getexif()) == {}
    for marker in (b"Exif\x00\x00", b"ICC_PROFILE", b"secret note", b"PhoneMaker", b"adobe:ns:meta"):
        assert marker not in thumb_bytes


def test_metadata_of_png_and_webp_is_stripped_too():
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    for image_format in ("PNG", "WEBP"):
        content = encoded(Image.new("RGB", (200, 200), RED), image_format, exif=exif.tobytes())
        thumb_bytes = thumbnail(content, TYPES[image_format])
        assert b"PhoneMaker" not in thumb_bytes and dict(opened(thumb_bytes).getexif()) == {}


def test_a_colour_profile_is_converted_to_srgb_and_a_broken_one_ignored():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for profile in (srgb, b"not an icc profile at all"):
        content = encoded(Image.new("RGB", (200, 200), RED), "JPEG", icc_profile=profile, quality=95)
        thumb = opened(thumbnail(content, "image/jpeg"))
        assert close_to(thumb.getpixel((10, 10)), RED, 12) and "icc_profile" not in thumb.info


def test_transparency_is_flattened_on_white():
    clear = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    clear.paste((0, 0, 230, 255), (100, 0, 200, 200))
    for image_format in ("PNG", "WEBP"):
        thumb = opened(thumbnail(encoded(clear, image_format, lossless=True), TYPES[image_format]))
        assert thumb.mode == "RGB"
        assert close_to(thumb.getpixel((10, 100)), (255, 255, 255), 8)
        assert close_to(thumb.getpixel((190, 100)), BLUE, 12)


def kinds_of_valid_photos():
    """Photos of every mode and variant the three formats hold, each one check_photo takes."""
    size = (500, 300)
    rgb = half_red_half_blue(size)
    palette_clear = rgb.convert("P")
    palette_clear.info["transparency"] = 0
    frames = [Image.new("RGB", size, colour) for colour in (RED, BLUE)]
    yield "rgb png", encoded(rgb, "PNG"), "image/png"
    yield "rgba png", encoded(rgb.convert("RGBA"), "PNG"), "image/png"
    yield "grey png", encoded(rgb.convert("L"), "PNG"), "image/png"
    yield "grey+alpha png", encoded(rgb.convert("LA"), "PNG"), "image/png"
    yield "palette png", encoded(rgb.convert("P"), "PNG"), "image/png"
    yield "palette png with a clear colour", encoded(palette_clear, "PNG"), "image/png"
    yield "1-bit png", encoded(rgb.convert("1"), "PNG"), "image/png"
    yield "16-bit grey png", encoded(Image.new("I;16", size, 40000), "PNG"), "image/png"
    yield "animated png", encoded(frames[0], "PNG", save_all=True, append_images=frames[1:]), "image/png"
    yield "rgb jpeg", encoded(rgb, "JPEG"), "image/jpeg"
    yield "grey jpeg", encoded(rgb.convert("L"), "JPEG"), "image/jpeg"
    yield "cmyk jpeg", encoded(rgb.convert("CMYK"), "JPEG"), "image/jpeg"
    yield "progressive jpeg", encoded(rgb, "JPEG", progressive=True), "image/jpeg"
    yield "4:4:4 jpeg", encoded(rgb, "JPEG", subsampling=0), "image/jpeg"
    yield "lossy webp", encoded(rgb, "WEBP"), "image/webp"
    yield "lossless webp", encoded(rgb, "WEBP", lossless=True), "image/webp"
    yield "webp with alpha", encoded(rgb.convert("RGBA"), "WEBP"), "image/webp"
    yield "animated webp", encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:]), "image/webp"


@pytest.mark.parametrize("name, content, content_type", list(kinds_of_valid_photos()),
                         ids=[name for name, _, _ in kinds_of_valid_photos()])
def test_every_photo_check_photo_takes_gets_a_thumbnail(name, content, content_type):
    check_photo(content, content_type)
    thumb_bytes = thumbnail(content, content_type)
    assert thumb_bytes.startswith(b"\xff\xd8\xff")
    thumb = opened(thumb_bytes)
    assert thumb.format == "JPEG" and thumb.mode in ("RGB", "L") and thumb.size == (320, 192)


def test_a_40_megapixel_photo_gets_a_thumbnail():
    content = encoded(Image.new("L", (8000, 5000), 90), "PNG")
    check_photo(content, "image/png")
    assert opened(thumbnail(content, "image/png")).size == (320, 200)


def test_16_bit_grey_keeps_its_tone():
    thumb = opened(thumbnail(encoded(Image.new("I;16", (200, 200), 40000), "PNG"), "image/png"))
    assert abs(thumb.getpixel((10, 10)) - 40000 // 256) <= 2


def test_the_same_photo_always_gives_the_same_bytes():
    """The thumbnail's hash is its ETag: made twice (two requests at once), it must not change."""
    content = photo("JPEG", (1200, 900))
    first, second = thumbnail(content, "image/jpeg"), thumbnail(content, "IMAGE/JPEG; charset=binary")
    assert first == second and content_hash(first) == content_hash(second)


@pytest.mark.parametrize("content, content_type, code", [
    (b"\x89PNG\r\n\x1a\n<html>not a photo</html>", "image/png", "NOT_AN_IMAGE"),
    (photo("PNG", (200, 200)), "image/jpeg", "NOT_AN_IMAGE"),
    (photo("PNG", (200, 200)), "image/gif", "UPLOAD_TYPE_UNSUPPORTED"),
    (photo("PNG", (16, 16)), "image/png", "IMAGE_TOO_SMALL"),
])
def test_what_is_no_photo_gets_the_same_codes_as_at_upload(content, content_type, code):
    with pytest.raises(InvalidArgument) as refused:
        thumbnail(content, content_type)
    assert refused.value.code == code
