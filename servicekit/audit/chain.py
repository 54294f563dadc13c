"""The audit log's hash chain, per tenant and service: pure functions, no I/O.

Entry ``seq`` n holds the hash of entry n-1 (``prev_hash``) and its own hash over ``prev_hash|seq|content``
(canonical JSON), as attendance's records do. Retention removes only a whole prefix of a chain and keeps a
checkpoint, the last removed entry's seq and hash, from which verification then starts.
"""
from __future__ import annotations

from servicekit.hashchain import GENESIS, canonical, link, link_hash  # noqa: F401  (part of this module's API)


def verify(entries: list[dict], checkpoint: dict | None = None) -> dict:
    """Check a chain's entries (any order) from ``checkpoint`` (``{"seq", "hash"}`` of the last pruned entry;
    None: from the start). Returns ``{"ok", "checked", "head", "first_broken"}``: ``first_broken`` is the first
    link that fails, ``{"seq", "entry_id", "problem"}`` with problem ``changed`` (its content no longer matches
    its hash), ``broken_link`` (it does not point at the entry before it), ``missing`` (a seq absent) or
    ``duplicate_seq``; None when the chain holds."""
    start_seq = int(checkpoint["seq"]) if checkpoint else 0
    previous_hash = checkpoint["hash"] if checkpoint else GENESIS
    # entries at or below the checkpoint are ones a sweep was removing when it stopped: already vouched for
    ordered = sorted((entry for entry in entries if entry["seq"] > start_seq), key=lambda entry: entry["seq"])
    expected, head, first_broken = start_seq + 1, None, None
    for entry in ordered:
        seq = entry["seq"]
        if seq < expected:
            problem = "duplicate_seq"
        elif seq > expected:
            first_broken = _broken(expected, None, "missing")
            break
        elif link_hash(entry["prev_hash"], seq, entry["content"]) != entry["hash"]:
            problem = "changed"
        elif entry["prev_hash"] != previous_hash:
            problem = "broken_link"
        else:
            previous_hash, expected = entry["hash"], seq + 1
            head = {"seq": seq, "hash": entry["hash"]}
            continue
        first_broken = _broken(seq, entry.get("_id"), problem)
        break
    if head is None and first_broken is None and checkpoint:
        head = {"seq": start_seq, "hash": previous_hash}
    return {"ok": first_broken is None, "checked": len(ordered), "head": head, "first_broken": first_broken}


def _broken(seq: int, entry_id, problem: str) -> dict:
    return {"seq": seq, "entry_id": str(entry_id) if entry_id is not None else "", "problem": problem}
