"""The item lifecycle transition by transition, argument rules, the feed's order and receipts (pure)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import Conflict, InvalidArgument
from services.content.domain import publishing as rules

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)
REVIEWED, DIRECT = {"review_required": True}, {"review_required": False}


def item(status: str) -> dict:
    return {"status": status, "version": 1}


ALLOWED = {
    rules.SUBMIT: {"draft"}, rules.PUBLISH: {"draft"}, rules.APPROVE: {"submitted"}, rules.REJECT: {"submitted"},
    rules.EDIT: {"draft", "rejected", "published"}, rules.WITHDRAW: {"published"}, rules.PIN: {"published"},
    rules.PUSH: {"published"},
}


@pytest.mark.parametrize("transition", rules.TRANSITIONS, ids=lambda t: t.name)
@pytest.mark.parametrize("state", [state.value for state in rules.State])
def test_each_transition_only_from_its_states(transition, state):
    column = REVIEWED if transition is rules.SUBMIT else DIRECT
    if state in ALLOWED[transition]:
        rules.apply(transition, item(state), column)
    else:
        with pytest.raises(Conflict) as refused:
            rules.apply(transition, item(state), column)
        assert refused.value.code == transition.code


def test_targets():
    assert rules.apply(rules.SUBMIT, item("draft"), REVIEWED) is rules.SUBMITTED
    assert rules.apply(rules.PUBLISH, item("draft"), DIRECT) is rules.PUBLISHED
    assert rules.apply(rules.APPROVE, item("submitted")) is rules.PUBLISHED
    assert rules.apply(rules.REJECT, item("submitted")) is rules.REJECTED
    assert rules.apply(rules.WITHDRAW, item("published")) is rules.WITHDRAWN
    assert rules.apply(rules.EDIT, item("rejected")) is rules.DRAFT          # an edit sends it back to draft
    assert rules.apply(rules.EDIT, item("published")) is rules.PUBLISHED
    assert rules.apply(rules.PIN, item("published")) is rules.PUBLISHED


def test_the_column_decides_review_or_direct_publishing():
    assert rules.submission(REVIEWED) is rules.SUBMIT and rules.submission(DIRECT) is rules.PUBLISH
    with pytest.raises(Conflict) as refused:
        rules.apply(rules.PUBLISH, item("draft"), REVIEWED)
    assert refused.value.code == "REVIEW_REQUIRED"
    with pytest.raises(Conflict) as refused:
        rules.apply(rules.SUBMIT, item("draft"), DIRECT)
    assert refused.value.code == "REVIEW_NOT_REQUIRED"


@pytest.mark.parametrize("args, field, code", [
    (dict(title="", kind="article"), "title", "REQUIRED"),
    (dict(title="x" * 101, kind="article"), "title", "TOO_LONG"),
    (dict(title="t", kind="poem"), "kind", "UNKNOWN_VALUE"),
    (dict(title="t", kind="article", tags="党章"), "tags", "INVALID_TYPE"),
    (dict(title="t", kind="article", tags=[""]), "tags", "TAG_INVALID"),
    (dict(title="t", kind="article", tags=[f"t{i}" for i in range(11)]), "tags", "TOO_MANY"),
    (dict(title="t", kind="article", attachment_ids=[1]), "attachment_ids", "INVALID_TYPE"),
    (dict(title="t", kind="article", body=5), "body", "INVALID_TYPE"),
])
def test_bad_item_fields_name_their_field(args, field, code):
    values = dict(title=None, body="", summary="", tags=None, attachment_ids=None, kind=None) | args
    with pytest.raises(InvalidArgument) as refused:
        rules.item_fields(values["title"], values["body"], values["summary"], values["tags"],
                          values["attachment_ids"], kind=values["kind"])
    assert (refused.value.field, refused.value.code) == (field, code)


def test_partial_fields_leave_out_what_is_not_given_and_tags_dedupe():
    assert rules.item_fields("新标题", None, None, None, None, partial=True) == {"title": "新标题"}
    assert rules.item_fields("t", "", "", [" 党章", "党章", "党史"], None, kind="article")["tags"] == ["党章", "党史"]
    assert rules.summary_of({"body": "第一段\n第二段", "summary": ""}) == "第一段"


def test_pin_expiry():
    assert rules.pin_until("", NOW) is None
    assert rules.pin_until("2026-12-10T00:00:00+08:00", NOW) == "2026-12-09T16:00:00.000Z"
    for value, code in [("2026-12-05T00:00:00Z", "PIN_IN_PAST"), ("2027-06-01T00:00:00Z", "PIN_TOO_LONG"),
                        ("tomorrow", "INVALID_TIME"), ("2026-12-10T00:00:00", "INVALID_TIME"), (5, "INVALID_TYPE")]:
        with pytest.raises(InvalidArgument) as refused:
            rules.pin_until(value, NOW)
        assert (refused.value.field, refused.value.code) == ("pinned_until", code)


def head(item_id, level, published_at, pushed=False, pinned_until=None):
    return {"_id": item_id, "org_path": ["c", "d", "e", "f"][:level + 1], "published_at": published_at,
            "pushed": pushed, "pinned_until": pinned_until}


def test_feed_order_pushed_by_level_then_pinned_then_newest():
    now = "2026-12-06T08:00:00.000Z"
    heads = [head("old", 2, "2026-11-01"), head("new", 2, "2026-12-01"),
             head("branch_push", 2, "2026-12-05", pushed=True), head("city_push", 0, "2026-11-20", pushed=True),
             head("pinned", 1, "2026-10-01", pinned_until="2026-12-31"),
             head("pin_over", 1, "2026-12-02", pinned_until="2026-12-01")]
    ordered = rules.promoted_order(heads, now) + rules.newest_order(heads, now)
    assert [h["_id"] for h in ordered] == ["city_push", "branch_push", "pinned", "pin_over", "new", "old"]


def test_exact_depth_stops_at_a_truncated_nodes_oldest_head():
    newest = [head("a", 0, "2026-12-05"), head("b", 0, "2026-12-03"), head("c", 0, "2026-12-01")]
    assert rules.exact_depth(newest, []) == 3
    assert rules.exact_depth(newest, ["2026-12-02", "2026-11-01"]) == 2


def test_receipts_rows_and_roster_split():
    row = rules.receipt_row({"org_id": "b", "name": "一支部"}, expected=4, read=1)
    assert (row["read"], row["expected"], row["unread"], row["percent"]) == (1, 4, 3, 25.0)
    assert rules.receipt_row({"org_id": "b"}, expected=0, read=0)["percent"] == 0.0
    roster = [{"member_id": "m1", "name": "甲"}, {"member_id": "m2", "name": "乙"}]
    read, unread = rules.split_roster(roster, {"m2": "2026-12-06T08:00:00.000Z"})
    assert [m["member_id"] for m in read] == ["m2"] and [m["name"] for m in unread] == ["甲"]


def test_pin_limit_is_days():
    assert rules.pin_until((NOW + timedelta(days=rules.MAX_PIN_DAYS)).isoformat(), NOW)
