"""Small files of every kind an attachment may be (and a few it may not), built in memory for the library's tests."""
from __future__ import annotations

import io
import zipfile

OOXML = "application/vnd.openxmlformats-officedocument"
DOCX_TYPE = f"{OOXML}.wordprocessingml.document"
XLSX_TYPE = f"{OOXML}.spreadsheetml.sheet"


def ooxml(main_part: str, main_type: str) -> bytes:
    """A ZIP shaped like an Office Open XML file: [Content_Types].xml naming its main part."""
    content_types = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                     'package/2006/content-types"><Override PartName="/' + main_part + '" ContentType="'
                     + main_type + '"/></Types>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr(main_part, "<document/>")
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
DOCX = ooxml("word/document.xml", f"{OOXML}.wordprocessingml.document.main+xml")
XLSX = ooxml("xl/workbook.xml", f"{OOXML}.spreadsheetml.sheet.main+xml")
PPTX = ooxml("ppt/presentation.xml", f"{OOXML}.presentationml.presentation.main+xml")
DOCM = ooxml("word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml")
PLAIN_ZIP = ooxml("readme.txt", "text/plain")
OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
DOC = OLE_HEADER + "Root Entry".encode("utf-16-le") + b"\x00" * 30 + "WordDocument".encode("utf-16-le") + b"\x00" * 40
XLS = OLE_HEADER + "Root Entry".encode("utf-16-le") + b"\x00" * 30 + "Workbook".encode("utf-16-le") + b"\x00" * 40
MSI = OLE_HEADER + "Root Entry".encode("utf-16-le") + b"\x00" * 30 + "\u4840\u3b3f".encode("utf-16-le") + b"\x00" * 40
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 20 + b"\xff\xd9"
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" + b"\x00" * 40
MP3_FRAME = b"\xff\xfb\x90\x00" + b"\x00" * 40
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 20
M4A = b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00M4A isom" + b"\x00" * 20
TEXT = "学习党章心得\n第一条 党员必须……\n".encode("utf-8")
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 60
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 40
SCRIPT = b"#!/bin/sh\nrm -rf /\n"
HTML = "<!DOCTYPE html><html><body>通知</body></html>".encode("utf-8")
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
BINARY = bytes(range(256)) * 4
