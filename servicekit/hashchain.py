"""The links of a tamper-evident hash chain, shared by attendance's records and the audit log.

Link ``seq`` (from 1) holds the previous link's hash and its own: sha256 over ``prev_hash|seq|content`` with the
content as canonical JSON, so changing, removing or reordering a link breaks the chain at that point.
"""
from __future__ import annotations

import hashlib
import json

GENESIS = "0" * 64


def canonical(content: dict) -> bytes:
    """The content as canonical JSON bytes: sorted keys, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def link_hash(prev_hash: str, seq: int, content: dict) -> str:
    """sha256 hex of ``prev_hash|seq|canonical(content)``."""
    return hashlib.sha256(f"{prev_hash}|{seq}|".encode("utf-8") + canonical(content)).hexdigest()


def link(prev_hash: str, seq: int, content: dict) -> dict:
    """The link for ``content`` at ``seq`` after the link whose hash is ``prev_hash``."""
    return {"seq": seq, "prev_hash": prev_hash, "hash": link_hash(prev_hash, seq, content), "content": content}
