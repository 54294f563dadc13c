"""Attachments: what a file is, judged by its bytes, and how large it may be (pure).

The declared type (the upload's Content-Type) is only a claim: the bytes are sniffed, and a claim they do not
bear out is refused, as is anything that runs when opened (executables, scripts, HTML, SVG). Office files are
recognised by their parts, not their extension: an OOXML file is a ZIP whose ``[Content_Types].xml`` names the
main part of a document, workbook or presentation (a macro-enabled one names another and is refused); a legacy
DOC or XLS is an OLE compound file holding a ``WordDocument`` or ``Workbook`` stream (an MSI installer, also
OLE, holds neither).
"""
from __future__ import annotations

import hashlib
import io
import posixpath
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from servicekit.errors import InvalidArgument

MIB = 1024 * 1024
# The gateway takes bodies of up to 64 MiB (GATEWAY_MAX_BODY_BYTES): every limit here stays below it, and the
# largest (50 MiB) still fits one RPC message once base64 has grown it by a third.
LIMITS = {"document": 20 * MIB, "image": 10 * MIB, "audio": 50 * MIB, "video": 50 * MIB, "text": 5 * MIB}
MAX_FILENAME_CHARS = 120
CONTENT_TYPES_PART = "[Content_Types].xml"
MAX_CONTENT_TYPES_BYTES = 1 * MIB
UNDECLARED = "application/octet-stream"      # a browser that does not know the type: the bytes decide


@dataclass(frozen=True)
class FileType:
    key: str
    media_type: str
    kind: str                     # document | image | audio | video | text (the size limit)
    extensions: tuple[str, ...]   # the first is added to a file name that has none of them
    declared_as: tuple[str, ...]  # the Content-Types a client may declare for it


OOXML = "application/vnd.openxmlformats-officedocument"
TYPES = {t.key: t for t in (
    FileType("pdf", "application/pdf", "document", ("pdf",), ("application/pdf",)),
    FileType("docx", f"{OOXML}.wordprocessingml.document", "document", ("docx",),
             (f"{OOXML}.wordprocessingml.document",)),
    FileType("xlsx", f"{OOXML}.spreadsheetml.sheet", "document", ("xlsx",), (f"{OOXML}.spreadsheetml.sheet",)),
    FileType("pptx", f"{OOXML}.presentationml.presentation", "document", ("pptx",),
             (f"{OOXML}.presentationml.presentation",)),
    FileType("doc", "application/msword", "document", ("doc",), ("application/msword",)),
    FileType("xls", "application/vnd.ms-excel", "document", ("xls",), ("application/vnd.ms-excel",)),
    FileType("png", "image/png", "image", ("png",), ("image/png",)),
    FileType("jpeg", "image/jpeg", "image", ("jpg", "jpeg"), ("image/jpeg", "image/jpg", "image/pjpeg")),
    FileType("mp3", "audio/mpeg", "audio", ("mp3",), ("audio/mpeg", "audio/mp3")),
    # MP4 is one container for sound and pictures: an audio/mp4 claim on a video file (or the reverse) is no lie
    FileType("m4a", "audio/mp4", "audio", ("m4a", "mp4"), ("audio/mp4", "audio/x-m4a", "audio/m4a", "video/mp4")),
    FileType("mp4", "video/mp4", "video", ("mp4", "m4v"), ("video/mp4", "audio/mp4", "audio/x-m4a")),
    FileType("text", "text/plain", "text", ("txt", "csv", "md"), ("text/plain", "text/csv", "text/markdown")),
)}
DECLARABLE = tuple(dict.fromkeys(media for t in TYPES.values() for media in t.declared_as)) + (UNDECLARED,)

OOXML_MAIN_PARTS = {
    f"{OOXML}.wordprocessingml.document.main+xml": "docx",
    f"{OOXML}.spreadsheetml.sheet.main+xml": "xlsx",
    f"{OOXML}.presentationml.presentation.main+xml": "pptx",
}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
OLE_STREAMS = {"WordDocument".encode("utf-16-le"): "doc", "Workbook".encode("utf-16-le"): "xls",
               "Book".encode("utf-16-le") + b"\x00\x00": "xls"}
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                    b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!", b"\x00asm", b"dex\n")
MARKUP = re.compile(rb"<\s*(!doctype\s+html|html|head|body|script|svg|iframe|object|embed|\?xml)[\s>/]",
                    re.IGNORECASE)
TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
NAME_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
EXECUTABLE_EXTENSIONS = {"exe", "dll", "com", "bat", "cmd", "msi", "scr", "ps1", "vbs", "js", "jar", "sh", "apk",
                         "html", "htm", "svg", "xhtml", "hta", "lnk", "app", "dmg", "docm", "xlsm", "pptm"}


def refused(message: str, code: str, field: str = "content") -> InvalidArgument:
    return InvalidArgument(message, code=code, field=field)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sniff(data: bytes) -> FileType:
    """The file's type from its bytes; InvalidArgument (ATTACHMENT_TYPE_REFUSED or ATTACHMENT_TYPE_UNKNOWN)
    for anything not on the list."""
    head = data[:16]
    if head.startswith(EXECUTABLE_MAGIC):
        raise refused("不允许上传可执行文件或脚本", "ATTACHMENT_TYPE_REFUSED")
    if head.startswith(b"%PDF-"):
        return TYPES["pdf"]
    if head.startswith(b"PK\x03\x04"):
        return TYPES[_ooxml(data)]
    if head.startswith(OLE_MAGIC):
        return TYPES[_ole(data)]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return TYPES["png"]
    if head.startswith(b"\xff\xd8\xff"):
        return TYPES["jpeg"]
    if head.startswith(b"ID3") or _mpeg_audio_frame(head):
        return TYPES["mp3"]
    if data[4:8] == b"ftyp":
        return TYPES["m4a" if data[8:12] in (b"M4A ", b"M4B ") else "mp4"]
    return _text(data)


def _ooxml(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo(CONTENT_TYPES_PART)
            if info.file_size > MAX_CONTENT_TYPES_BYTES:
                raise KeyError(CONTENT_TYPES_PART)
            declared = archive.read(info).decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, RuntimeError, NotImplementedError, OSError, EOFError):
        raise refused("不支持的压缩文件，请上传 Word、Excel 或 PowerPoint 文档", "ATTACHMENT_TYPE_UNKNOWN") from None
    for part, key in OOXML_MAIN_PARTS.items():
        if f'ContentType="{part}"' in declared:
            return key
    if "macroEnabled" in declared:
        raise refused("不允许上传带宏的 Office 文档", "ATTACHMENT_TYPE_REFUSED")
    raise refused("不支持的压缩文件，请上传 Word、Excel 或 PowerPoint 文档", "ATTACHMENT_TYPE_UNKNOWN")


def _ole(data: bytes) -> str:
    for stream, key in OLE_STREAMS.items():
        if stream in data:
            return key
    raise refused("不支持的文件类型", "ATTACHMENT_TYPE_UNKNOWN")


def _mpeg_audio_frame(head: bytes) -> bool:
    """An MPEG-1/2 layer III frame header: eleven sync bits, a known version and layer III."""
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and (head[1] >> 1) & 0x03 == 0x01 \
        and (head[1] >> 3) & 0x03 != 0x01


def _text(data: bytes) -> FileType:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise refused("不支持的文件类型", "ATTACHMENT_TYPE_UNKNOWN") from None
    if MARKUP.search(data[:64 * 1024]):
        raise refused("不允许上传网页或 SVG 文件", "ATTACHMENT_TYPE_REFUSED")
    if TEXT_CONTROLS.search(text):
        raise refused("不支持的文件类型", "ATTACHMENT_TYPE_UNKNOWN")
    return TYPES["text"]


def declared_type(media_type) -> str:
    """The declared Content-Type without parameters, lower case; InvalidArgument when it is not one accepted."""
    declared = (media_type if isinstance(media_type, str) else "").split(";")[0].strip().lower()
    if declared not in DECLARABLE:
        raise refused("不支持的文件类型", "ATTACHMENT_TYPE_UNSUPPORTED", "media_type")
    return declared


def check(data: bytes, media_type, filename) -> tuple[FileType, str]:
    """The type the bytes are and the file name to keep; refused when empty, too large, of a type not on the
    list, when the declared type or the name's extension says otherwise, or when the name is unusable."""
    declared = declared_type(media_type)
    name = clean_filename(filename)
    if not data:
        raise refused("文件内容为空", "ATTACHMENT_EMPTY")
    found = sniff(data)
    if declared != UNDECLARED and declared not in found.declared_as:
        raise refused("文件内容与声明的类型不符", "ATTACHMENT_TYPE_MISMATCH", "media_type")
    limit = LIMITS[found.kind]
    if len(data) > limit:
        raise refused(f"此类文件不能超过 {limit // MIB} MB", "ATTACHMENT_TOO_LARGE")
    stem, dot, extension = name.rpartition(".")
    extension = extension.lower() if dot and stem else ""
    if extension and extension not in found.extensions:
        raise refused("文件扩展名与文件内容不符", "ATTACHMENT_NAME_MISMATCH", "filename")
    return found, name if extension else f"{name}.{found.extensions[0]}"


def clean_filename(filename) -> str:
    """The name as given, its folders dropped; refused when empty, too long, with characters no file system
    takes, or with an extension that runs when opened."""
    if not isinstance(filename, str) or not filename.strip():
        raise refused("请提供文件名", "FILENAME_REQUIRED", "filename")
    name = posixpath.basename(unicodedata.normalize("NFC", filename.strip()).replace("\\", "/")).strip()
    if not name or name in (".", ".."):
        raise refused("请提供文件名", "FILENAME_REQUIRED", "filename")
    if len(name) > MAX_FILENAME_CHARS:
        raise refused(f"文件名不能超过 {MAX_FILENAME_CHARS} 个字符", "FILENAME_TOO_LONG", "filename")
    if NAME_FORBIDDEN.search(name):
        raise refused("文件名含有不允许的字符", "FILENAME_INVALID", "filename")
    extensions = {part.lower() for part in name.split(".")[1:]}
    if extensions & EXECUTABLE_EXTENSIONS:
        raise refused("不允许上传可执行文件或脚本", "ATTACHMENT_TYPE_REFUSED", "filename")
    return name
