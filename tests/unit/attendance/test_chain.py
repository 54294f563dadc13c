import hashlib
import json
import random

from services.attendance.domain.chain import GENESIS, canonical, link, link_hash, verify


def build(count):
    records, previous = [], GENESIS
    for seq in range(1, count + 1):
        record = link(previous, seq, {"kind": "checkin", "member_id": f"m{seq}", "at": f"2026-11-22T01:0{seq}:00Z",
                                      "note": "签到"})
        records.append(record)
        previous = record["hash"]
    return records


def head_of(records):
    return {"seq": records[-1]["seq"], "hash": records[-1]["hash"]}


def problems(result):
    return [(problem["seq"], problem["problem"]) for problem in result["problems"]]


def test_canonical_json_is_sorted_compact_utf8():
    assert canonical({"b": 1, "a": "党", "c": [1, {"y": 2, "x": 1}]}) == \
        '{"a":"党","b":1,"c":[1,{"x":1,"y":2}]}'.encode("utf-8")


def test_link_hash_is_sha256_over_prev_seq_and_content():
    content = {"k": "v"}
    expected = hashlib.sha256(f"{GENESIS}|1|".encode() + json.dumps(content, separators=(",", ":")).encode())
    assert link_hash(GENESIS, 1, content) == expected.hexdigest()
    assert GENESIS == "0" * 64


def test_link_builds_a_record():
    record = link(GENESIS, 1, {"k": "v"})
    assert record == {"seq": 1, "prev_hash": GENESIS, "hash": link_hash(GENESIS, 1, {"k": "v"}), "content": {"k": "v"}}


def test_a_sound_chain_verifies_in_any_order_with_its_sealed_head():
    records = build(5)
    shuffled = records[:]
    random.Random(4).shuffle(shuffled)
    result = verify(shuffled, head_of(records))
    assert result == {"ok": True, "checked": 5, "head": head_of(records), "problems": []}
    assert verify(records, None)["ok"] is True


def test_an_empty_chain():
    assert verify([], None) == {"ok": True, "checked": 0, "head": None, "problems": []}


def test_changed_content_is_detected_at_that_seq():
    records = build(5)
    records[2] = dict(records[2], content=dict(records[2]["content"], member_id="m99"))
    result = verify(records, head_of(records))
    assert result["ok"] is False
    assert problems(result) == [(3, "changed")]
    assert "第 3 条" in result["problems"][0]["message"]


def test_a_rehashed_change_breaks_the_next_link():
    records = build(5)
    forged = link(records[1]["hash"], 3, dict(records[2]["content"], member_id="m99"))
    records[2] = forged
    assert problems(verify(records, head_of(build(5)))) == [(4, "broken_link")]


def test_a_rehashed_change_of_the_last_record_is_a_head_mismatch():
    original = build(3)
    records = original[:2] + [link(original[1]["hash"], 3, {"kind": "forged"})]
    assert problems(verify(records, head_of(original))) == [(3, "head_mismatch")]
    assert verify(records, None)["ok"] is True  # without a seal, a rewritten tail cannot be told


def test_a_removed_record_in_the_middle_is_missing():
    records = build(5)
    del records[1]
    assert problems(verify(records, head_of(build(5)))) == [(2, "missing")]


def test_missing_records_at_the_start():
    records = build(4)[2:]
    assert problems(verify(records, None)) == [(1, "missing"), (2, "missing")]


def test_removing_the_last_record_with_a_sealed_head_is_a_head_mismatch():
    records = build(5)
    sealed = head_of(records)
    result = verify(records[:-1], sealed)
    assert problems(result) == [(5, "head_mismatch")]
    assert result["head"] == head_of(records[:-1])
    assert "封存" in result["problems"][0]["message"]


def test_removing_every_record_with_a_sealed_head_is_a_head_mismatch():
    records = build(2)
    assert problems(verify([], head_of(records))) == [(2, "head_mismatch")]


def test_an_added_record_after_sealing_is_a_head_mismatch():
    records = build(3)
    sealed = head_of(records)
    records.append(link(records[-1]["hash"], 4, {"kind": "backfill"}))
    assert problems(verify(records, sealed)) == [(3, "head_mismatch")]


def test_a_wrong_prev_hash_with_a_matching_hash_is_a_broken_link():
    records = build(3)
    records[1] = link("f" * 64, 2, records[1]["content"])
    records[2] = link(records[1]["hash"], 3, records[2]["content"])
    assert problems(verify(records, None)) == [(2, "broken_link")]


def test_a_duplicate_seq_is_reported():
    records = build(3)
    sealed = head_of(records)
    records.append(dict(records[1]))
    result = verify(records, sealed)
    assert problems(result) == [(2, "duplicate_seq")]
    assert result["checked"] == 4


def test_every_problem_has_a_chinese_message():
    records = build(4)
    records[0] = dict(records[0], content={"x": 1})
    del records[2]
    records.append(dict(records[1]))
    result = verify(records, {"seq": 9, "hash": "0" * 64})
    kinds = {problem["problem"] for problem in result["problems"]}
    assert kinds == {"changed", "missing", "duplicate_seq", "head_mismatch"}
    assert all("第" in problem["message"] for problem in result["problems"])
