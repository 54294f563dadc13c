"""A branch's 三会一课 record in its column (支部栏目): what attendance's ``meeting_recorded`` becomes (pure).

The item says that the meeting took place and how: its type, date, venue, host, recorder, topics, attendance and
whether the record was back-filled (补录). It never carries the minutes (会议记录正文) or the resolutions: a committee
meeting can discuss members' development, so those stay in the meeting's record in attendance, read by the branch's
secretary and its superiors; the event does not even carry them.

Idempotency: the item's id derives from the tenant and the meeting, and a meeting is recorded once, so the same
event applied twice, replayed, or applied by two instances at once makes one item (the second insert finds it).
"""
from __future__ import annotations

import hashlib
from datetime import date

from services.attendance import events as attendance_events
from services.content.domain.publishing import MAX_TITLE

KIND = "article"
COLUMN_KEY = "meetings"            # the column's natural id is "<branch id>:meetings"
COLUMN_NAME = "三会一课"
TAG = "三会一课"
ELLIPSIS = "…"


def item_id(tenant_id: str, meeting_id: str) -> str:
    """The column item of a meeting: the same for every delivery of its event."""
    return "itm_" + hashlib.sha256(f"meeting:{tenant_id}:{meeting_id}".encode()).hexdigest()[:32]


def type_label(meeting_type: str) -> str:
    return attendance_events.MEETING_TYPE_LABELS.get(meeting_type, "") or "会议"


def chinese_date(value: str) -> str:
    """2026-12-07 -> 2026年12月7日 (the text itself when it is not an ISO date)."""
    try:
        day = date.fromisoformat(value)
    except (TypeError, ValueError):
        return value or ""
    return f"{day.year}年{day.month}月{day.day}日"


def title_of(event: dict) -> str:
    """【党课】2026年12月7日 学习新修订的党章; a meeting titled by its type alone (the default) is not named twice.
    The meeting's title is cut to fit the item's title limit."""
    label = type_label(event.get("meeting_type", ""))
    head = f"【{label}】{chinese_date(event.get('date', ''))}"
    name = (event.get("title") or "").strip()
    if not name or name == label:
        return head[:MAX_TITLE]
    room = MAX_TITLE - len(head) - 1
    if len(name) > room:
        name = name[:max(room - 1, 0)] + ELLIPSIS
    return f"{head} {name}"


def body_of(event: dict) -> str:
    """The item's text (paragraphs by newline): date, venue, host, recorder, topics, attendance, back-fill. Built
    from the event's fields only, so nothing of the minutes or resolutions can slip in."""
    attendance = event.get("attendance") or {}
    topics = [topic for topic in event.get("topics") or [] if topic]
    lines = [
        f"会议类型：{type_label(event.get('meeting_type', ''))}",
        f"会议日期：{chinese_date(event.get('date', ''))}",
        f"会议地点：{event.get('venue_name') or '未填写'}",
        f"主持人：{event.get('host') or '未填写'}",
        f"记录人：{event.get('recorder') or '未填写'}",
        "议题：" + ("" if topics else "未填写"),
        *(f"{number}. {topic}" for number, topic in enumerate(topics, 1)),
        f"出席情况：应到 {int(attendance.get('expected', 0))} 人，实到 {int(attendance.get('present', 0))} 人，"
        f"请假 {int(attendance.get('excused', 0))} 人，缺席 {int(attendance.get('absent', 0))} 人。",
    ]
    if event.get("backfilled"):
        reason = (event.get("backfill_reason") or "").strip()
        lines.append("本记录为会后补录" + (f"，补录原因：{reason}" if reason else "") + "。")
    else:
        lines.append("本记录在会后按时录入。")
    lines.append("会议记录正文及决议由支部存档，不在栏目公开。")
    return "\n".join(lines)


def summary_of(event: dict) -> str:
    attendance = event.get("attendance") or {}
    venue = event.get("venue_name") or ""
    return (f"{chinese_date(event.get('date', ''))}" + (f"于{venue}" if venue else "") +
            f"举行{type_label(event.get('meeting_type', ''))}，应到 {int(attendance.get('expected', 0))} 人，"
            f"实到 {int(attendance.get('present', 0))} 人")


def tags_of(event: dict) -> list[str]:
    """三会一课 and the type's name: recommendations and search read tags."""
    return list(dict.fromkeys([TAG, type_label(event.get("meeting_type", ""))]))


def applies(event: dict) -> bool:
    """Whether the event can make an item: a tenant, a meeting, a branch and its path (the owner of the item)."""
    path = event.get("org_path") or []
    return bool(event.get("tenant_id") and event.get("meeting_id") and event.get("branch_id") and path
                and path[-1] == event["branch_id"])
