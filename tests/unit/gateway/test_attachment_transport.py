"""The library's file operations at the HTTP edge: an upload's raw body, declared type and name reach the service;
a type not on the list is refused before it; a download is the file itself on ?download=1 and JSON otherwise."""
from __future__ import annotations

import base64
from urllib.parse import quote

from tests.unit.gateway.library_samples import ATTACHMENT, PDF_FILE

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def auth(token, **headers):
    return {"Authorization": f"Bearer {token}", **headers}


def test_an_upload_sends_the_raw_body_with_its_declared_type_and_name(http, backend, token):
    response = http.post(f"/v1/orgs/org-1/attachments?filename={quote('制度.docx')}", data=b"PK\x03\x04 a file",
                         content_type=DOCX_TYPE, headers=auth(token))
    assert response.status_code == 200
    [call] = backend.calls
    assert (call.service, call.method) == ("content", "upload_attachment")
    assert call.kwargs["org_id"] == "org-1" and call.kwargs["filename"] == "制度.docx"
    assert call.kwargs["media_type"] == DOCX_TYPE
    assert base64.b64decode(call.kwargs["content"]) == b"PK\x03\x04 a file"


def test_an_upload_of_a_type_not_on_the_list_never_reaches_the_service(http, backend, token):
    for media in ("text/html", "image/svg+xml", "application/x-msdownload"):
        response = http.post("/v1/orgs/org-1/attachments?filename=a", data=b"<html>", content_type=media,
                             headers=auth(token))
        assert response.status_code == 415 and response.get_json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert backend.calls == []


def test_a_download_is_the_file_itself_on_request_and_json_otherwise(http, backend, token):
    path = f"/v1/attachments/{ATTACHMENT['attachment_id']}"
    response = http.get(f"{path}?download=1", headers=auth(token))
    assert response.status_code == 200 and response.get_data() == PDF_FILE
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].endswith(f"filename*=UTF-8''{quote('学习材料.pdf', safe='')}")
    assert http.get(path, headers=auth(token)).get_json()["filename"] == "学习材料.pdf"
    assert [call.kwargs["attachment_id"] for call in backend.calls] == [ATTACHMENT["attachment_id"]] * 2
