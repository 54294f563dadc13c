"""An activity's photos through the gateway: the image itself over HTTP (cacheable), the message over gRPC."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import urllib.error
import urllib.request

import grpc
import pytest
from PIL import Image

from gateway.client import ApiError, HttpClient
from tests.support.attendance import ThemedDay, photo
from tests.support.identity import PASSWORD, City

pytestmark = pytest.mark.e2e


@pytest.fixture
def day(rpc, operator_scope, attendance_service, gateway_process):
    return ThemedDay(rpc, City(rpc, operator_scope)).prepared()


def token_of(rpc, day, username: str) -> str:
    return rpc.identity.login(tenant_code=day.city.code, username=username, password=PASSWORD)["access_token"]


def fetch(url: str, token: str, **headers) -> tuple[int, dict, bytes]:
    """A plain GET: status, headers (lower-case names) and body, whatever the status."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", **headers})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def test_a_photo_and_its_thumbnail_over_http(day, http, rpc, gateway_process):
    secretary = HttpClient(http.base_url, token_of(rpc, day, day.secretary_username))
    png = photo("PNG", (1000, 500))
    upload = secretary.call("AddPhoto", {"activity_id": day.activity["id"], "content_type": "image/png",
                                         "content": png})
    url = f"{gateway_process.http_url}/v1/activities/{day.activity['id']}/uploads/{upload['id']}/photo"
    member = token_of(rpc, day, day.member_usernames[0])           # a member of the branch sees them too

    status, headers, body = fetch(url, member)
    assert (status, headers["content-type"], body) == (200, "image/png", png)
    assert headers["etag"] == f'"{upload["content_hash"]}"' == f'"{hashlib.sha256(png).hexdigest()}"'
    assert headers["cache-control"] == "private, max-age=86400"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-disposition"].startswith(f'inline; filename="{upload["id"]}.png"')
    assert int(headers["content-length"]) == len(png)

    status, thumb_headers, thumb = fetch(url + "?size=thumb", member)
    assert (status, thumb_headers["content-type"]) == (200, "image/jpeg")
    image = Image.open(io.BytesIO(thumb))
    assert image.format == "JPEG" and image.size == (320, 160)
    assert thumb_headers["etag"] == f'"{hashlib.sha256(thumb).hexdigest()}"' != headers["etag"]
    assert thumb_headers["content-disposition"].startswith(f'inline; filename="{upload["id"]}-thumb.jpg"')

    status, not_modified, empty = fetch(url + "?size=thumb", member, **{"If-None-Match": thumb_headers["etag"]})
    assert (status, empty) == (304, b"")
    assert not_modified["etag"] == thumb_headers["etag"] and not_modified["cache-control"] == "private, max-age=86400"
    assert fetch(url + "?size=thumb", member, **{"If-None-Match": headers["etag"]})[0] == 200    # another copy

    assert secretary.download("GetUploadPhoto", {"activity_id": day.activity["id"], "upload_id": upload["id"],
                                                 "size": "thumb"})[1] == thumb


def test_refusals_over_http_are_json_with_their_codes(day, http, rpc, gateway_process, operator_scope):
    secretary = HttpClient(http.base_url, token_of(rpc, day, day.secretary_username))
    upload = secretary.call("AddPhoto", {"activity_id": day.activity["id"], "content_type": "image/jpeg",
                                         "content": photo("JPEG", (200, 200))})
    text = secretary.call("AddTextRecord", {"activity_id": day.activity["id"], "text": "会议记录"})
    base = f"{gateway_process.http_url}/v1/activities/{day.activity['id']}/uploads"
    stranger = City(rpc, operator_scope)
    cases = [(f"{base}/{upload['id']}/photo", token_of(rpc, day, "county2"), 404, "ACTIVITY_NOT_FOUND"),
             (f"{base}/{upload['id']}/photo",
              rpc.identity.login(tenant_code=stranger.code, username="city-admin", password=PASSWORD)["access_token"],
              404, "ACTIVITY_NOT_FOUND"),
             (f"{base}/upl_{'0' * 32}/photo", secretary.token, 404, "UPLOAD_NOT_FOUND"),
             (f"{base}/{text['id']}/photo?size=thumb", secretary.token, 400, "UPLOAD_NOT_A_PHOTO"),
             (f"{base}/{upload['id']}/photo?size=poster", secretary.token, 400, "UNKNOWN_VALUE")]
    for url, token, expected_status, code in cases:
        status, headers, body = fetch(url, token)
        assert (status, headers["content-type"]) == (expected_status, "application/json; charset=utf-8"), url
        assert json.loads(body)["error"]["code"] == code, url
        assert headers["cache-control"] == "no-store" and "etag" not in headers      # an error is never cached
    status, _, _ = fetch(f"{base}/{upload['id']}/photo", "")
    assert status == 401


def test_a_photo_over_grpc_and_its_refusals(day, http, grpc_client, rpc):
    secretary = HttpClient(http.base_url, token_of(rpc, day, day.secretary_username))
    jpeg = photo("JPEG", (640, 480))
    upload = secretary.call("AddPhoto", {"activity_id": day.activity["id"], "content_type": "image/jpeg",
                                         "content": jpeg})
    text = secretary.call("AddTextRecord", {"activity_id": day.activity["id"], "text": "会议记录"})
    member = token_of(rpc, day, day.member_usernames[1])
    request = {"activity_id": day.activity["id"], "upload_id": upload["id"]}
    full = grpc_client.call("GetUploadPhoto", request, member)
    assert base64.b64decode(full["content"]) == jpeg
    assert (full["content_type"], full["content_hash"], full["size"]) == ("image/jpeg", upload["content_hash"], "full")
    thumb = grpc_client.call("GetUploadPhoto", {**request, "size": "thumb"}, member)
    assert Image.open(io.BytesIO(base64.b64decode(thumb["content"]))).size == (320, 240)
    refusals = [({**request, "upload_id": text["id"]}, member, grpc.StatusCode.INVALID_ARGUMENT, "UPLOAD_NOT_A_PHOTO"),
                ({**request, "upload_id": "upl_missing"}, member, grpc.StatusCode.NOT_FOUND, "UPLOAD_NOT_FOUND"),
                (request, token_of(rpc, day, "county2"), grpc.StatusCode.NOT_FOUND, "ACTIVITY_NOT_FOUND")]
    for message, token, status, code in refusals:
        with pytest.raises(ApiError) as refused:
            grpc_client.call("GetUploadPhoto", message, token)
        assert (refused.value.status, refused.value.code) == (status, code)
