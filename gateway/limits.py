"""How large a request each operation may send: its HTTP body, its gRPC message.

A file upload may be as large as its service accepts; every other body is small (``SMALL_BODY_BYTES``), with a
few named exceptions whose fields are long by design. An operation missing here that takes a file is a mistake
the tests catch (``tests/unit/gateway/test_edge.py``). ``GATEWAY_MAX_BODY_BYTES`` still caps every limit, so an
operator can lower them all at once. A request over its limit is answered 413 ``BODY_TOO_LARGE`` (gRPC
``RESOURCE_EXHAUSTED``) naming the limit; the HTTP server refuses it as the head declares it or as the body grows,
before it is read whole.
"""
from __future__ import annotations

from gateway.errors import GatewayError
from gateway.operations import Operation

KIB = 1024
MIB = 1024 * KIB
SMALL_BODY_BYTES = 64 * KIB

BODY_LIMITS: dict[str, int] = {
    # files, as the services refuse them beyond (their domain's own limits)
    "ImportOrgs": 64 * MIB,                 # services.identity.domain.importing.MAX_FILE_BYTES: a whole city at once
    "ImportMembers": 64 * MIB,
    "ImportDuesPayments": 64 * MIB,         # a bank statement, read like the member import (the same file bounds)
    "ImportBankQuestions": 8 * MIB,         # services.content.domain.question_import.MAX_FILE_BYTES
    "UploadAttachment": 50 * MIB,           # audio and video (services.content.domain.attachments)
    "AddPhoto": 5 * MIB,                    # services.attendance.domain.uploads.MAX_PHOTO_BYTES
    "AddCompletionPhoto": 5 * MIB,          # services.volunteer.domain.photos.MAX_PHOTO_BYTES
    # JSON with long text: an item's body is up to 50,000 characters, 300 KB when a client escapes them as \uXXXX
    "CreateItem": 512 * KIB,
    "UpdateItem": 512 * KIB,
    "CreatePackage": 256 * KIB,             # 30 items of links, titles and tags
    "UpdatePackage": 256 * KIB,
    "RecordMeeting": 256 * KIB,             # minutes up to 20,000 characters, with topics and resolutions
}
# what a gRPC answer may be (an export, an attachment as one message): requests are bounded above, not answers
MAX_ANSWER_BYTES = 64 * MIB
# a gRPC message carries the other fields of an upload beside its file
MESSAGE_ALLOWANCE_BYTES = SMALL_BODY_BYTES


def body_limit(rpc: str | None, ceiling: int | None = None) -> int:
    """The most bytes the HTTP body of ``rpc`` may have (None: a request no operation serves)."""
    limit = BODY_LIMITS.get(rpc, SMALL_BODY_BYTES) if rpc else SMALL_BODY_BYTES
    return limit if ceiling is None else min(limit, ceiling)


def message_limit(operation: Operation, ceiling: int | None = None) -> int:
    """The most bytes a gRPC request message of ``operation`` may have."""
    limit = body_limit(operation.rpc) + (MESSAGE_ALLOWANCE_BYTES if operation.upload else 0)
    return limit if ceiling is None else min(limit, ceiling)


def too_large(limit: int) -> GatewayError:
    return GatewayError("PAYLOAD_TOO_LARGE", "BODY_TOO_LARGE",
                        f"the body may be at most {described(limit)} ({limit} bytes) for this request")


def described(limit: int) -> str:
    """``limit`` as a person reads it: 5 MiB, 64 KiB, or bytes."""
    for unit, size in (("MiB", MIB), ("KiB", KIB)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"
