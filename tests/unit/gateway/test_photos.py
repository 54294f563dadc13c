"""A photo over HTTP: always the image itself, shown in place, cacheable by its content hash; errors stay JSON."""
import base64

import pytest

from gateway.operations import BY_RPC
from servicekit.errors import InvalidArgument, NotFound
from tests.unit.gateway.samples import JPEG_FILE

PATH = "/v1/activities/act-1/uploads/upl-1/photo"
PNG = b"\x89PNG\r\n\x1a\n pretend this is a photo"
HASH = "ab" * 32


def auth(token, **headers):
    return {"Authorization": f"Bearer {token}", **headers}


@pytest.fixture
def full_photo(backend):
    backend.results["get_upload_photo"] = {"upload_id": "upl-1", "size": "full", "filename": "upl-1.png",
                                           "content_type": "image/png", "content": base64.b64encode(PNG).decode(),
                                           "content_hash": "cd" * 32}
    return backend


@pytest.mark.parametrize("accept", [None, "application/json", "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"])
def test_the_thumbnail_is_the_jpeg_itself_whatever_the_client_accepts(accept, http, backend, token):
    headers = auth(token, **({"Accept": accept} if accept else {}))
    response = http.get(f"{PATH}?size=thumb", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.get_data() == JPEG_FILE
    assert response.headers["ETag"] == f'"{HASH}"'
    assert response.headers["Cache-Control"] == "private, max-age=86400"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith('inline; filename="upl-1-thumb.jpg"')
    [call] = backend.calls
    assert (call.method, call.kwargs["activity_id"], call.kwargs["upload_id"], call.kwargs["size"]) == \
        ("get_upload_photo", "act-1", "upl-1", "thumb")


def test_the_full_photo_keeps_its_own_type(http, full_photo, token):
    response = http.get(PATH, headers=auth(token))
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"
    assert response.get_data() == PNG and response.headers["ETag"] == f'"{"cd" * 32}"'
    assert response.headers["Content-Disposition"].startswith('inline; filename="upl-1.png"')
    assert full_photo.calls[0].kwargs["size"] == ""          # the service's default: full


@pytest.mark.parametrize("if_none_match", [f'"{HASH}"', f'W/"{HASH}"', f'"other", "{HASH}"', "*"])
def test_a_client_holding_the_current_copy_gets_304_without_the_bytes(if_none_match, http, backend, token):
    response = http.get(f"{PATH}?size=thumb", headers=auth(token, **{"If-None-Match": if_none_match}))
    assert response.status_code == 304 and response.get_data() == b""
    assert response.headers["ETag"] == f'"{HASH}"'
    assert response.headers["Cache-Control"] == "private, max-age=86400"
    assert len(backend.calls) == 1                # the caller's right to see it is checked every time


def test_an_older_copy_gets_the_image(http, backend, token):
    response = http.get(f"{PATH}?size=thumb", headers=auth(token, **{"If-None-Match": '"0123"'}))
    assert response.status_code == 200 and response.get_data() == JPEG_FILE


def test_the_photo_over_grpc_is_the_message_with_the_bytes(grpc_client, backend, token):
    answer = grpc_client.call("GetUploadPhoto", {"activity_id": "act-1", "upload_id": "upl-1", "size": "thumb"}, token)
    assert base64.b64decode(answer["content"]) == JPEG_FILE
    assert (answer["content_type"], answer["content_hash"], answer["size"]) == ("image/jpeg", HASH, "thumb")


def test_errors_stay_json_and_are_never_cached(http, backend, token):
    response = http.get(PATH)
    assert response.status_code == 401 and response.mimetype == "application/json"
    backend.fail_with(NotFound("照片不存在", code="UPLOAD_NOT_FOUND", field="upload_id"))
    response = http.get(PATH, headers=auth(token))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "UPLOAD_NOT_FOUND"
    assert response.headers["Cache-Control"] == "no-store" and "ETag" not in response.headers
    backend.fail_with(InvalidArgument("该资料是文字记录，不是照片", code="UPLOAD_NOT_A_PHOTO", field="upload_id"))
    response = http.get(PATH, headers=auth(token))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "UPLOAD_NOT_A_PHOTO"


def test_there_is_no_json_form_to_ask_for(http, backend, token):
    response = http.get(f"{PATH}?download=0", headers=auth(token))
    assert response.status_code == 400 and response.get_json()["error"] == {
        "code": "UNKNOWN_FIELD", "message": "unknown query parameter 'download'", "field": "download"}
    assert backend.calls == []


def test_openapi_and_docs_describe_the_image_answer(admin_http):
    operation = admin_http.get("/openapi.json").get_json()["paths"][BY_RPC["GetUploadPhoto"].path]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"image/jpeg", "image/png", "image/webp"}
    assert set(operation["responses"]["200"]["headers"]) == {"Content-Disposition", "ETag", "Cache-Control"}
    assert "304" in operation["responses"]
    assert {p["name"] for p in operation["parameters"]} == {"activity_id", "upload_id", "size", "If-None-Match"}
    page = admin_http.get("/docs").get_data(as_text=True)
    section = page[page.index('id="GetUploadPhoto"'):]
    assert "Content-Disposition: inline" in section[:section.index("</section>")]
