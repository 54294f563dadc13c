"""A content item's lifecycle, its argument rules, the feed's order and a notice's receipts (pure).

draft --submit--> submitted --approve--> published --withdraw--> withdrawn
draft --publish (a column without review)--> published
submitted --reject(reason)--> rejected --edit--> draft
draft --edit--> draft; published --edit--> published (a new version)
published --pin / push--> published

Withdrawn is the end: an item taken back is never published again (a new item is written instead).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Callable

from servicekit.arguments import text
from servicekit.errors import Conflict, InvalidArgument
from servicekit.timestamps import stamp


class State(str, Enum):
    DRAFT = "draft"             # being written; only managers of its node see it
    SUBMITTED = "submitted"     # waits for an admin of the owning node or above
    PUBLISHED = "published"     # visible to the owning node's subtree
    REJECTED = "rejected"       # sent back with a reason; an edit makes it a draft again
    WITHDRAWN = "withdrawn"     # taken back (who and why recorded); the end


DRAFT, SUBMITTED, PUBLISHED, REJECTED, WITHDRAWN = State
KINDS = ("article", "notice", "download", "learning")


@dataclass(frozen=True)
class Transition:
    """From ``sources`` to ``target`` (None: the state stays); a Conflict ``code`` from any other state, and
    ``guard(item, column)`` must hold too (else the Conflict ``guard_code``)."""
    name: str
    sources: frozenset[State]
    target: State | None
    code: str
    message: str
    guard: Callable[[dict, dict], bool] | None = None
    guard_code: str = ""
    guard_message: str = ""


def _reviewed(item: dict, column: dict) -> bool:
    return bool(column.get("review_required"))


def _not_reviewed(item: dict, column: dict) -> bool:
    return not column.get("review_required")


SUBMIT = Transition("submit", frozenset({DRAFT}), SUBMITTED, "ITEM_NOT_DRAFT", "只有草稿可以提交审核",
                    guard=_reviewed, guard_code="REVIEW_NOT_REQUIRED", guard_message="该栏目无需审核，请直接发布")
PUBLISH = Transition("publish", frozenset({DRAFT}), PUBLISHED, "ITEM_NOT_DRAFT", "只有草稿可以直接发布",
                     guard=_not_reviewed, guard_code="REVIEW_REQUIRED", guard_message="该栏目的内容须经审核后发布")
APPROVE = Transition("approve", frozenset({SUBMITTED}), PUBLISHED, "ITEM_NOT_SUBMITTED", "只能审核已提交的内容")
REJECT = Transition("reject", frozenset({SUBMITTED}), REJECTED, "ITEM_NOT_SUBMITTED", "只能审核已提交的内容")
EDIT = Transition("edit", frozenset({DRAFT, REJECTED, PUBLISHED}), None, "ITEM_NOT_EDITABLE",
                  "审核中或已撤回的内容不能修改")
WITHDRAW = Transition("withdraw", frozenset({PUBLISHED}), WITHDRAWN, "ITEM_NOT_PUBLISHED", "只有已发布的内容可以撤回")
PIN = Transition("pin", frozenset({PUBLISHED}), None, "ITEM_NOT_PUBLISHED", "只有已发布的内容可以置顶或推送")
PUSH = Transition("push", frozenset({PUBLISHED}), None, "ITEM_NOT_PUBLISHED", "只有已发布的内容可以置顶或推送")

TRANSITIONS = (SUBMIT, PUBLISH, APPROVE, REJECT, EDIT, WITHDRAW, PIN, PUSH)


def submission(column: dict) -> Transition:
    """What the author's "submit" does: to review, or straight to published in a column without review."""
    return SUBMIT if column.get("review_required") else PUBLISH


def after_edit(state: State) -> State:
    """A rejected item edited becomes a draft again; the others keep their state."""
    return DRAFT if state is REJECTED else state


def apply(transition: Transition, item: dict, column: dict | None = None) -> State:
    """The state ``transition`` takes ``item`` to; Conflict when refused."""
    state = State(item["status"])
    if state not in transition.sources:
        raise Conflict(transition.message, code=transition.code)
    if transition.guard is not None and not transition.guard(item, column or {}):
        raise Conflict(transition.guard_message, code=transition.guard_code)
    target = transition.target or state
    return after_edit(target) if transition is EDIT else target


# --- arguments --------------------------------------------------------------------------
MAX_TITLE, MAX_BODY, MAX_SUMMARY, MAX_REASON = 100, 50_000, 200, 500
MAX_TAGS, MAX_TAG, MAX_ATTACHMENTS, MAX_COLUMN_NAME = 10, 20, 20, 20
MAX_PIN_DAYS = 90


def item_fields(title, body, summary, tags, attachment_ids, kind=None, partial: bool = False) -> dict:
    """The content fields of a new item (or, ``partial``, of an edit: None leaves a field as it is)."""
    fields: dict = {}
    if kind is not None or not partial:
        if kind not in KINDS:
            raise InvalidArgument("kind 只能是 " + "、".join(KINDS), code="UNKNOWN_VALUE", field="kind")
        fields["kind"] = kind
    if title is not None or not partial:
        fields["title"] = text(title, "title", max_length=MAX_TITLE)
    if body is not None or not partial:
        fields["body"] = text(body, "body", required=False, max_length=MAX_BODY, strip=False).strip()
    if summary is not None or not partial:
        fields["summary"] = text(summary, "summary", required=False, max_length=MAX_SUMMARY)
    if tags is not None or not partial:
        fields["tags"] = tag_list(tags)
    if attachment_ids is not None or not partial:
        fields["attachment_ids"] = id_list(attachment_ids, "attachment_ids", MAX_ATTACHMENTS)
    return fields


def summary_of(fields: dict) -> str:
    """The summary given, else the body's first line cut to 80 characters."""
    if fields.get("summary"):
        return fields["summary"]
    first = (fields.get("body") or "").strip().split("\n", 1)[0]
    return first[:80]


def tag_list(tags) -> list[str]:
    if tags in (None, ""):
        return []
    if not isinstance(tags, (list, tuple)) or not all(isinstance(tag, str) for tag in tags):
        raise InvalidArgument("tags 必须是字符串列表", code="INVALID_TYPE", field="tags")
    result: list[str] = []
    for tag in (tag.strip() for tag in tags):
        if not tag or len(tag) > MAX_TAG:
            raise InvalidArgument(f"每个标签须为 1 到 {MAX_TAG} 个字符", code="TAG_INVALID", field="tags")
        if tag not in result:
            result.append(tag)
    if len(result) > MAX_TAGS:
        raise InvalidArgument(f"标签不能超过 {MAX_TAGS} 个", code="TOO_MANY", field="tags")
    return result


def id_list(ids, field: str, most: int) -> list[str]:
    if ids in (None, ""):
        return []
    if not isinstance(ids, (list, tuple)) or not all(isinstance(i, str) and i for i in ids):
        raise InvalidArgument(f"{field} 必须是编号列表", code="INVALID_TYPE", field=field)
    if len(ids) > most:
        raise InvalidArgument(f"{field} 不能超过 {most} 个", code="TOO_MANY", field=field)
    return list(dict.fromkeys(ids))


def reason(value, required: bool = True) -> str:
    return text(value, "reason", required=required, max_length=MAX_REASON)


def decision(value) -> str:
    if value not in ("approve", "reject"):
        raise InvalidArgument("decision 只能是 approve 或 reject", code="UNKNOWN_VALUE", field="decision")
    return value


def pin_until(value, now: datetime) -> str | None:
    """The pin's expiry as a stored stamp: a future time within ``MAX_PIN_DAYS``; "" or None unpins."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InvalidArgument("pinned_until 必须是时间字符串", code="INVALID_TYPE", field="pinned_until")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument("pinned_until 不是有效的时间", code="INVALID_TIME", field="pinned_until") from None
    if moment.tzinfo is None:
        raise InvalidArgument("pinned_until 须带时区", code="INVALID_TIME", field="pinned_until")
    if moment <= now:
        raise InvalidArgument("置顶截止时间须晚于现在", code="PIN_IN_PAST", field="pinned_until")
    if moment > now + timedelta(days=MAX_PIN_DAYS):
        raise InvalidArgument(f"置顶不能超过 {MAX_PIN_DAYS} 天", code="PIN_TOO_LONG", field="pinned_until")
    return stamp(moment)


def column_name(value) -> str:
    return text(value, "name", max_length=MAX_COLUMN_NAME)


# --- the feed ---------------------------------------------------------------------------
def pinned_now(head: dict, now_stamp: str) -> bool:
    return bool(head.get("pinned_until")) and head["pinned_until"] > now_stamp


def promoted_now(head: dict, now_stamp: str) -> bool:
    return bool(head.get("pushed")) or pinned_now(head, now_stamp)


def promoted_order(heads: list[dict], now_stamp: str) -> list[dict]:
    """The promoted items first in a feed: pushed before pinned, a higher level's (nearer the root) before a
    lower's, then newest."""
    chosen = [head for head in heads if promoted_now(head, now_stamp)]
    chosen.sort(key=lambda h: h.get("published_at") or "", reverse=True)
    chosen.sort(key=lambda h: (not h.get("pushed"), len(h.get("org_path") or ())))
    return chosen


def newest_order(heads: list[dict], now_stamp: str) -> list[dict]:
    """The rest of a feed, newest first."""
    rest = [head for head in heads if not promoted_now(head, now_stamp)]
    rest.sort(key=lambda h: (h.get("published_at") or "", h["_id"]), reverse=True)
    return rest


def exact_depth(newest: list[dict], truncated_oldest: list[str]) -> int:
    """How many of ``newest`` (merged from cached heads) are certainly the newest of all: those not older than
    the oldest head any truncated node kept."""
    if not truncated_oldest:
        return len(newest)
    floor = max(truncated_oldest)
    return sum(1 for head in newest if (head.get("published_at") or "") >= floor)


# --- receipts ---------------------------------------------------------------------------
def receipt_row(branch: dict, expected: int, read: int) -> dict:
    read = min(read, expected) if expected else read
    return {"branch_id": branch["org_id"], "branch_name": branch.get("name", ""),
            "path_names": list(branch.get("path_names") or []), "read": read, "expected": expected,
            "unread": max(expected - read, 0), "percent": round(100.0 * read / expected, 1) if expected else 0.0}


def split_roster(roster: list[dict], readers: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """(read, unread) members of a branch's roster, with read_at for the read."""
    read = [{"member_id": m["member_id"], "name": m.get("name", ""), "read_at": readers[m["member_id"]]}
            for m in roster if m["member_id"] in readers]
    unread = [{"member_id": m["member_id"], "name": m.get("name", ""), "read_at": ""}
              for m in roster if m["member_id"] not in readers]
    return read, unread
