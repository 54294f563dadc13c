"""Attachments through the entry points: checked by content, one per node and hash, downloads counted, refused
outside the caller's reach with the code of an id that does not exist."""
from __future__ import annotations

import base64
import hashlib

import pytest

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from tests.fast.content.fakes import (BRANCH, CITY, CITY_ADMIN, COUNTY, COUNTY_ADMIN, FOREIGN_ADMIN, MEMBER, OPERATOR,
                                      OTHER_COUNTY_ADMIN, OTHER_MEMBER, SECRETARY)
from tests.fast.content.library_fakes import MemoryLibrary
from tests.unit.content import sample_files as files


@pytest.fixture
def library(store):
    memory = MemoryLibrary()
    memory.wire(store)
    return memory


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def upload(service, caller=SECRETARY, org_id=BRANCH, data=files.PDF, media_type="application/pdf", filename="学习材料.pdf"):
    return service.upload_attachment(caller, org_id=org_id, media_type=media_type, filename=filename, content=b64(data))


def test_an_upload_is_stored_with_its_hash_and_the_same_bytes_again_are_the_same_attachment(service, library):
    first = upload(service)
    assert first["duplicate"] is False
    assert (first["media_type"], first["size"], first["sha256"], first["downloads"], first["org_id"]) == \
        ("application/pdf", len(files.PDF), hashlib.sha256(files.PDF).hexdigest(), 0, BRANCH)
    again = upload(service, filename="另一个名字.pdf")
    assert again["duplicate"] is True and again["attachment_id"] == first["attachment_id"]
    assert again["filename"] == "学习材料.pdf"
    assert len(library.attachments) == 1
    elsewhere = upload(service, caller=COUNTY_ADMIN, org_id=COUNTY)      # another node: its own attachment
    assert elsewhere["attachment_id"] != first["attachment_id"] and len(library.attachments) == 2


def test_a_declared_type_the_bytes_do_not_bear_out_is_refused_and_nothing_stored(service, library, store):
    with pytest.raises(InvalidArgument) as refused:
        upload(service, data=files.PNG, media_type="application/pdf", filename="通知.pdf")
    assert (refused.value.code, refused.value.field) == ("ATTACHMENT_TYPE_MISMATCH", "media_type")
    for data, code in ((files.EXE, "ATTACHMENT_TYPE_REFUSED"), (files.HTML, "ATTACHMENT_TYPE_REFUSED")):
        with pytest.raises(InvalidArgument) as refused:
            upload(service, data=data, media_type="application/octet-stream", filename="文件")
        assert refused.value.code == code
    with pytest.raises(InvalidArgument) as refused:
        service.upload_attachment(SECRETARY, org_id=BRANCH, media_type="application/pdf", filename="a.pdf",
                                  content="不是base64")
    assert refused.value.code == "ATTACHMENT_INVALID"
    with pytest.raises(InvalidArgument) as refused:
        service.upload_attachment(SECRETARY, org_id="", media_type="application/pdf", filename="a.pdf",
                                  content=b64(files.PDF))
    assert (refused.value.code, refused.value.field) == ("ORG_REQUIRED", "org_id")
    assert library.attachments == {}


def test_members_cannot_upload_or_list(service, library):
    with pytest.raises(PermissionDenied):
        upload(service, caller=MEMBER)
    with pytest.raises(PermissionDenied):
        service.list_attachments(MEMBER, org_id=BRANCH)
    with pytest.raises(PermissionDenied):
        upload(service, caller=OPERATOR)
    assert library.attachments == {}


@pytest.mark.parametrize("caller", [OTHER_COUNTY_ADMIN, FOREIGN_ADMIN])
def test_a_node_outside_the_callers_reach_is_not_found(service, library, caller):
    for attempt in (lambda: upload(service, caller=caller), lambda: service.list_attachments(caller, org_id=BRANCH),
                    lambda: upload(service, caller=caller, org_id="org_nowhere")):
        with pytest.raises(NotFound) as refused:
            attempt()
        assert refused.value.code == "ORG_NOT_FOUND"
    assert library.attachments == {}


def test_the_subtrees_attachments_are_listed_newest_first(service, library, clock):
    branch_file = upload(service)
    county_file = upload(service, caller=COUNTY_ADMIN, org_id=COUNTY, data=files.DOCX, media_type=files.DOCX_TYPE,
                         filename="制度.docx")
    library.attachments[county_file["attachment_id"]]["uploaded_at"] = "2026-12-06T09:00:00.000Z"
    listed = service.list_attachments(COUNTY_ADMIN, org_id=COUNTY)
    assert [a["attachment_id"] for a in listed["attachments"]] == [county_file["attachment_id"],
                                                                   branch_file["attachment_id"]]
    assert [a["attachment_id"] for a in service.list_attachments(SECRETARY, org_id=BRANCH)["attachments"]] == \
        [branch_file["attachment_id"]]
    paged = service.list_attachments(COUNTY_ADMIN, org_id=COUNTY, page_size=1)
    assert len(paged["attachments"]) == 1 and paged["next_page_token"]


def test_downloads_are_counted(service, library):
    stored = upload(service)
    first = service.download_attachment(MEMBER, attachment_id=stored["attachment_id"])
    assert base64.b64decode(first["content"]) == files.PDF and first["downloads"] == 1
    assert first["filename"] == "学习材料.pdf" and first["media_type"] == "application/pdf"
    assert service.download_attachment(COUNTY_ADMIN, attachment_id=stored["attachment_id"])["downloads"] == 2
    assert library.attachments[stored["attachment_id"]]["downloads"] == 2


def test_a_superiors_attachment_is_downloaded_by_its_subtree(service, library):
    city_file = upload(service, caller=CITY_ADMIN, org_id=CITY, data=files.TEXT, media_type="text/plain",
                       filename="通知.txt")
    for caller in (MEMBER, OTHER_MEMBER, COUNTY_ADMIN, OTHER_COUNTY_ADMIN):
        assert base64.b64decode(service.download_attachment(caller, attachment_id=city_file["attachment_id"])
                                ["content"]) == files.TEXT


@pytest.mark.parametrize("caller", [OTHER_COUNTY_ADMIN, OTHER_MEMBER, FOREIGN_ADMIN])
def test_a_download_outside_the_reach_is_not_found_like_a_missing_id(service, library, caller):
    stored = upload(service)
    with pytest.raises(NotFound) as outside:
        service.download_attachment(caller, attachment_id=stored["attachment_id"])
    with pytest.raises(NotFound) as missing:
        service.download_attachment(caller, attachment_id="att_missing")
    assert outside.value.code == missing.value.code == "ATTACHMENT_NOT_FOUND"
    assert library.attachments[stored["attachment_id"]]["downloads"] == 0
