"""Attachments are judged by their bytes: the claim, the name and the size must agree with what the bytes are."""
from __future__ import annotations

import pytest

from gateway.operations import ATTACHMENT_MEDIA_TYPES
from servicekit.errors import InvalidArgument
from services.content.domain import attachments as rules
from tests.unit.content import sample_files as files


@pytest.mark.parametrize("data, key", [
    (files.PDF, "pdf"), (files.DOCX, "docx"), (files.XLSX, "xlsx"), (files.PPTX, "pptx"), (files.DOC, "doc"),
    (files.XLS, "xls"), (files.PNG, "png"), (files.JPEG, "jpeg"), (files.MP3, "mp3"), (files.MP3_FRAME, "mp3"),
    (files.MP4, "mp4"), (files.M4A, "m4a"), (files.TEXT, "text"),
])
def test_the_bytes_name_the_type(data, key):
    assert rules.sniff(data).key == key


@pytest.mark.parametrize("data, code", [
    (files.EXE, "ATTACHMENT_TYPE_REFUSED"), (files.ELF, "ATTACHMENT_TYPE_REFUSED"),
    (files.SCRIPT, "ATTACHMENT_TYPE_REFUSED"), (files.HTML, "ATTACHMENT_TYPE_REFUSED"),
    (files.SVG, "ATTACHMENT_TYPE_REFUSED"), (files.DOCM, "ATTACHMENT_TYPE_REFUSED"),
    (files.PLAIN_ZIP, "ATTACHMENT_TYPE_UNKNOWN"), (files.MSI, "ATTACHMENT_TYPE_UNKNOWN"),
    (files.BINARY, "ATTACHMENT_TYPE_UNKNOWN"), (b"PK\x03\x04broken", "ATTACHMENT_TYPE_UNKNOWN"),
])
def test_what_runs_or_is_unknown_is_refused(data, code):
    with pytest.raises(InvalidArgument) as refused:
        rules.sniff(data)
    assert refused.value.code == code


def test_a_declared_type_the_bytes_do_not_bear_out_is_a_mismatch():
    with pytest.raises(InvalidArgument) as refused:
        rules.check(files.PNG, "application/pdf", "通知.pdf")
    assert (refused.value.code, refused.value.field) == ("ATTACHMENT_TYPE_MISMATCH", "media_type")
    with pytest.raises(InvalidArgument) as refused:
        rules.check(files.DOCX, files.XLSX_TYPE, "表格.xlsx")
    assert refused.value.code == "ATTACHMENT_TYPE_MISMATCH"


def test_an_undeclared_type_lets_the_bytes_decide_and_parameters_are_ignored():
    assert rules.check(files.PDF, "application/octet-stream", "材料.pdf")[0].key == "pdf"
    assert rules.check(files.TEXT, "text/plain; charset=UTF-8", "心得.txt")[0].media_type == "text/plain"
    assert rules.check(files.MP4, "audio/mp4", "讲座.mp4")[0].key == "mp4"


def test_the_name_must_fit_the_bytes_and_gets_an_extension_when_it_has_none():
    assert rules.check(files.PDF, "application/pdf", "学习材料")[1] == "学习材料.pdf"
    assert rules.check(files.JPEG, "image/jpeg", "C:\\照片\\合影.JPG")[1] == "合影.JPG"
    with pytest.raises(InvalidArgument) as refused:
        rules.check(files.PDF, "application/pdf", "材料.docx")
    assert (refused.value.code, refused.value.field) == ("ATTACHMENT_NAME_MISMATCH", "filename")
    for name, code in (("", "FILENAME_REQUIRED"), ("a" * 121 + ".pdf", "FILENAME_TOO_LONG"),
                       ("a<b>.pdf", "FILENAME_INVALID"), ("setup.exe.pdf", "ATTACHMENT_TYPE_REFUSED"), (None, "FILENAME_REQUIRED")):
        with pytest.raises(InvalidArgument) as refused:
            rules.check(files.PDF, "application/pdf", name)
        assert (refused.value.code, refused.value.field) == (code, "filename")


def test_limits_by_kind():
    big_text = b"a" * (rules.LIMITS["text"] + 1)
    with pytest.raises(InvalidArgument) as refused:
        rules.check(big_text, "text/plain", "a.txt")
    assert refused.value.code == "ATTACHMENT_TOO_LARGE"
    assert rules.check(b"a" * rules.LIMITS["text"], "text/plain", "a.txt")[0].key == "text"
    with pytest.raises(InvalidArgument) as refused:
        rules.check(b"", "text/plain", "a.txt")
    assert refused.value.code == "ATTACHMENT_EMPTY"


def test_an_unsupported_declared_type_is_refused():
    with pytest.raises(InvalidArgument) as refused:
        rules.check(files.HTML, "text/html", "a.html")
    assert (refused.value.code, refused.value.field) == ("ATTACHMENT_TYPE_UNSUPPORTED", "media_type")


def test_the_gateway_accepts_exactly_the_declarable_types():
    assert set(ATTACHMENT_MEDIA_TYPES) == set(rules.DECLARABLE)
