"""A tamper-evident hash chain over an activity's records (杜绝人为操作、弄虚作假).

Each record is linked to the one before it: its hash covers the previous hash, its sequence
number (from 1) and its canonical content. Changing, removing or reordering a record breaks
the chain at that point; removing records from the tail is caught by the head sealed at
closing.
"""
from __future__ import annotations

from servicekit.hashchain import GENESIS, canonical, link, link_hash  # noqa: F401  (part of this module's API)

PROBLEM_MESSAGES = {
    "changed": "第 {seq} 条记录的内容被修改",
    "missing": "第 {seq} 条记录缺失",
    "broken_link": "第 {seq} 条记录与前一条记录的链接不一致",
    "head_mismatch": "记录链末尾与结束时封存的第 {seq} 条记录不一致，记录可能被删除或篡改",
    "duplicate_seq": "第 {seq} 条记录重复出现",
}


def _problem(seq: int, problem: str) -> dict:
    return {"seq": seq, "problem": problem, "message": PROBLEM_MESSAGES[problem].format(seq=seq)}


def verify(records: list[dict], sealed_head: dict | None) -> dict:
    """Check a chain (records in any order) and, when given, the head sealed at closing.

    Returns {"ok", "checked", "head", "problems"}: ``head`` is the last record's seq and hash
    (None for an empty chain); each problem names the seq where it was found.
    """
    problems: list[dict] = []
    ordered = sorted(records, key=lambda record: record["seq"])
    expected_seq = 1
    previous_hash = GENESIS
    last: dict | None = None
    for record in ordered:
        seq = record["seq"]
        if last is not None and seq == last["seq"]:
            problems.append(_problem(seq, "duplicate_seq"))
            continue
        gap = seq > expected_seq
        for missing in range(expected_seq, seq):
            problems.append(_problem(missing, "missing"))
        if link_hash(record["prev_hash"], seq, record["content"]) != record["hash"]:
            problems.append(_problem(seq, "changed"))
        elif not gap and record["prev_hash"] != previous_hash:
            # After a gap the link necessarily points at the missing record: reported as missing.
            problems.append(_problem(seq, "broken_link"))
        previous_hash = record["hash"]
        expected_seq = seq + 1
        last = record
    head = {"seq": last["seq"], "hash": last["hash"]} if last else None
    if sealed_head is not None:
        if head is None or sealed_head.get("seq") != head["seq"] or sealed_head.get("hash") != head["hash"]:
            problems.append(_problem(sealed_head.get("seq", 0), "head_mismatch"))
    return {"ok": not problems, "checked": len(ordered), "head": head, "problems": problems}
