"""Seeing an activity's photos through the real service: who may, at which size, and what is refused."""
from __future__ import annotations

import base64
import hashlib
import io

import pymongo
import pytest
from PIL import Image

from servicekit.process.config import database_name
from servicekit.errors import InvalidArgument, NotFound
from services.attendance.domain.uploads import thumbnail
from tests.support.attendance import ThemedDay, photo

pytestmark = pytest.mark.integration


def upright_photo_with_location() -> bytes:
    """An 800×400 JPEG stored on its side (EXIF orientation 6, as phones write) with a GPS position."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (34.0, 15.0, 30.0), 3: "E", 4: (108.0, 56.0, 10.0)}
    out = io.BytesIO()
    Image.new("RGB", (800, 400), (200, 30, 30)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def add_photo(rpc, day, content: bytes, content_type: str) -> dict:
    return rpc.attendance.add_photo(scope=day.secretary, activity_id=day.activity["id"], content_type=content_type,
                                    content=base64.b64encode(content).decode())


def get_photo(rpc, scope, activity_id, upload_id, size="") -> tuple[dict, bytes]:
    answer = rpc.attendance.get_upload_photo(scope=scope, activity_id=activity_id, upload_id=upload_id, size=size)
    return answer, base64.b64decode(answer["content"])


@pytest.fixture
def day(rpc, city, attendance_service):
    return ThemedDay(rpc, city).prepared()


@pytest.fixture
def photos(rpc, day):
    jpeg = upright_photo_with_location()
    png = photo("PNG", (100, 80))
    return {"jpeg": (add_photo(rpc, day, jpeg, "image/jpeg"), jpeg),
            "png": (add_photo(rpc, day, png, "image/png"), png),
            "text": rpc.attendance.add_text_record(scope=day.secretary, activity_id=day.activity["id"],
                                                   text="会议记录：学习党章。")}


def test_the_full_photo_is_the_upload_itself(rpc, day, photos):
    for upload, content in (photos["jpeg"], photos["png"]):
        answer, body = get_photo(rpc, day.secretary, day.activity["id"], upload["id"])
        assert body == content
        assert answer["content_type"] == upload["content_type"]
        assert answer["content_hash"] == upload["content_hash"] == hashlib.sha256(content).hexdigest()
        assert answer["size"] == "full" and answer["filename"].startswith(upload["id"])
    assert get_photo(rpc, day.secretary, day.activity["id"], photos["png"][0]["id"], "full")[1] == photos["png"][1]


def test_the_thumbnail_is_a_small_upright_jpeg_without_the_location(rpc, day, photos):
    upload, content = photos["jpeg"]
    answer, body = get_photo(rpc, day.secretary, day.activity["id"], upload["id"], "thumb")
    image = Image.open(io.BytesIO(body))
    assert answer["content_type"] == "image/jpeg" and image.format == "JPEG"
    assert image.size == (160, 320)                 # stored 800×400 on its side: shown upright, long side 320
    assert dict(image.getexif()) == {} and b"Exif" not in body[:64]
    assert answer["content_hash"] == hashlib.sha256(body).hexdigest() != upload["content_hash"]
    assert answer["filename"] == f"{upload['id']}-thumb.jpg"
    png_answer, png_thumb = get_photo(rpc, day.secretary, day.activity["id"], photos["png"][0]["id"], "thumb")
    assert png_answer["content_type"] == "image/jpeg" and Image.open(io.BytesIO(png_thumb)).size == (100, 80)


def test_whoever_may_list_the_uploads_may_see_the_photos(rpc, day, photos):
    upload, content = photos["jpeg"]
    readers = {"secretary": day.secretary, "member": day.member_scopes[0], "mobile member": day.mobile_scopes[0],
               "county admin": day.county_admin, "city admin": day.city.admin}
    for who, scope in readers.items():
        assert rpc.attendance.list_uploads(scope=scope, activity_id=day.activity["id"])["uploads"], who
        assert get_photo(rpc, scope, day.activity["id"], upload["id"])[1] == content, who
        assert get_photo(rpc, scope, day.activity["id"], upload["id"], "thumb")[0]["content_type"] == "image/jpeg"


def test_other_tenants_counties_and_branches_are_told_the_activity_is_not_found(rpc, day, photos, other_city):
    upload = photos["jpeg"][0]
    neighbour = day.city.add_member(day.city.branches[0][1], "邻支部党员")
    outsiders = {"other tenant's admin": other_city.admin,
                 "other county's admin": day.city.county_admins[1],
                 "other branch's member": day.city.member_login(neighbour, "neighbour-photo")}
    for who, scope in outsiders.items():
        for size in ("full", "thumb"):
            with pytest.raises(NotFound) as refused:
                get_photo(rpc, scope, day.activity["id"], upload["id"], size)
            assert refused.value.code == "ACTIVITY_NOT_FOUND", who
            assert "content" not in str(refused.value.to_dict())


def test_an_unknown_upload_or_another_activitys_photo_is_not_found(rpc, day, photos, city):
    other_day = ThemedDay(rpc, city, county=1).prepared()
    theirs = add_photo(rpc, other_day, photo("JPEG", (200, 200)), "image/jpeg")
    for upload_id in ("upl_" + "0" * 32, theirs["id"], "", photos["jpeg"][0]["id"] + "x"):
        with pytest.raises(NotFound) as missing:           # the city admin reads both activities
            get_photo(rpc, city.admin, day.activity["id"], upload_id, "thumb")
        assert (missing.value.code, missing.value.field) == ("UPLOAD_NOT_FOUND", "upload_id"), upload_id
    # the other branch's secretary asking for its own photo under this activity learns nothing of either
    with pytest.raises(NotFound) as foreign:
        get_photo(rpc, other_day.secretary, day.activity["id"], theirs["id"])
    assert foreign.value.code == "ACTIVITY_NOT_FOUND"
    assert get_photo(rpc, other_day.secretary, other_day.activity["id"], theirs["id"])[0]["upload_id"] == theirs["id"]


def test_a_written_record_asked_as_a_photo_and_a_bad_size_have_their_own_codes(rpc, day, photos):
    with pytest.raises(InvalidArgument) as text:
        get_photo(rpc, day.secretary, day.activity["id"], photos["text"]["id"], "thumb")
    assert (text.value.code, text.value.field) == ("UPLOAD_NOT_A_PHOTO", "upload_id")
    with pytest.raises(InvalidArgument) as size:
        get_photo(rpc, day.secretary, day.activity["id"], photos["jpeg"][0]["id"], "huge")
    assert (size.value.code, size.value.field) == ("UNKNOWN_VALUE", "size")


def test_a_photo_stored_before_thumbnails_gets_one_made_and_kept(rpc, day, photos, mongo_uri):
    db = pymongo.MongoClient(mongo_uri)[database_name("attendance")]
    upload, content = photos["jpeg"]
    stored = db.photos.find_one({"_id": upload["id"]})
    assert stored["thumb"] == thumbnail(content, "image/jpeg")            # made at upload, beside the photo
    db.photos.update_one({"_id": upload["id"]}, {"$unset": {"thumb": "", "thumb_hash": ""}})
    answer, body = get_photo(rpc, day.secretary, day.activity["id"], upload["id"], "thumb")
    assert body == stored["thumb"] and answer["content_hash"] == stored["thumb_hash"]
    kept = db.photos.find_one({"_id": upload["id"]})
    assert kept["thumb"] == body and kept["thumb_hash"] == answer["content_hash"]
    assert get_photo(rpc, day.secretary, day.activity["id"], upload["id"])[1] == content      # the photo untouched
