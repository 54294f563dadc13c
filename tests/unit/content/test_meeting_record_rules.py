"""A 三会一课 record as its branch column shows it (pure): the title by type and date, the body with venue, host,
recorder, topics, attendance and 补录, never the minutes or resolutions; one item id per meeting."""
from __future__ import annotations

import pytest

from services.attendance import events as attendance_events
from services.content.domain import meeting_records as rules
from services.content.domain.publishing import MAX_TITLE

MINUTES, RESOLUTION = "书记领学党章总纲，讨论发展对象张三的培养情况。", "同意列为发展对象"


def recorded(**fields) -> dict:
    values = {"meeting_id": "mtg_1", "branch_id": "org_branch", "org_path": ["org_city", "org_branch"],
              "branch_name": "一支部", "meeting_type": "lesson", "title": "学习新修订的党章", "date": "2026-12-07",
              "month": "2026-12", "venue_name": "党员活动室", "host": "王书记", "recorder": "李委员",
              "topics": ["学习新修订的党章", "交流心得"], "recorded_by": "acc_sec", "backfilled": False,
              "backfill_reason": "", "attendance": {"expected": 5, "present": 3, "excused": 1, "absent": 1}}
    values.update(fields)
    return attendance_events.MEETING_RECORDED.build("ten_1", **values)


@pytest.mark.parametrize("meeting_type, label", [("assembly", "支部党员大会"), ("committee", "支委会"),
                                                 ("group", "党小组会"), ("lesson", "党课"), ("life", "组织生活会")])
def test_the_title_names_the_type_in_chinese_the_date_and_the_meetings_title(meeting_type, label):
    assert rules.title_of(recorded(meeting_type=meeting_type)) == f"【{label}】2026年12月7日 学习新修订的党章"


def test_a_meeting_titled_by_its_type_alone_is_not_named_twice():
    assert rules.title_of(recorded(title="党课")) == "【党课】2026年12月7日"
    assert rules.title_of(recorded(title="")) == "【党课】2026年12月7日"


def test_a_long_title_is_cut_to_the_items_limit():
    title = rules.title_of(recorded(title="学" * 100))
    assert len(title) == MAX_TITLE and title.startswith("【党课】2026年12月7日 学") and title.endswith("…")


def test_the_body_gives_date_venue_host_recorder_topics_and_attendance():
    body = rules.body_of(recorded())
    assert body.split("\n") == [
        "会议类型：党课", "会议日期：2026年12月7日", "会议地点：党员活动室", "主持人：王书记", "记录人：李委员",
        "议题：", "1. 学习新修订的党章", "2. 交流心得", "出席情况：应到 5 人，实到 3 人，请假 1 人，缺席 1 人。",
        "本记录在会后按时录入。", "会议记录正文及决议由支部存档，不在栏目公开。"]


def test_a_back_filled_record_says_so_with_its_reason():
    body = rules.body_of(recorded(backfilled=True, backfill_reason="书记外出学习"))
    assert "本记录为会后补录，补录原因：书记外出学习。" in body and "按时录入" not in body


def test_minutes_and_resolutions_never_reach_the_item_even_if_an_event_carried_them():
    event = {**recorded(), "minutes": MINUTES, "resolutions": [RESOLUTION]}
    text = "\n".join([rules.title_of(event), rules.body_of(event), rules.summary_of(event), *rules.tags_of(event)])
    assert MINUTES not in text and RESOLUTION not in text and "张三" not in text


def test_the_event_has_no_minutes_or_resolutions_field():
    assert not {"minutes", "resolutions"} & set(attendance_events.MEETING_RECORDED.fields)
    assert {"title", "venue_name", "host", "recorder", "topics", "org_path"} <= \
        set(attendance_events.MEETING_RECORDED.fields)


def test_summary_and_tags():
    assert rules.summary_of(recorded()) == "2026年12月7日于党员活动室举行党课，应到 5 人，实到 3 人"
    assert rules.tags_of(recorded(meeting_type="committee")) == ["三会一课", "支委会"]


def test_the_item_id_is_one_per_meeting_and_tenant():
    assert rules.item_id("ten_1", "mtg_1") == rules.item_id("ten_1", "mtg_1")
    assert rules.item_id("ten_1", "mtg_1").startswith("itm_")
    assert len({rules.item_id("ten_1", "mtg_1"), rules.item_id("ten_1", "mtg_2"),
                rules.item_id("ten_2", "mtg_1")}) == 3


@pytest.mark.parametrize("fields", [{"tenant_id": None}, {"meeting_id": ""}, {"org_path": []},
                                    {"org_path": ["org_city", "org_other"]}])
def test_an_event_without_its_owner_makes_no_item(fields):
    assert rules.applies(recorded()) is True
    assert rules.applies({**recorded(), **fields}) is False
