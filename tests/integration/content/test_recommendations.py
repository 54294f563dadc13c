"""Recommendations and the gap report with the real service, broker and store: a member's quiz answers make a
gap that recommends items of its category with the rate as reason, what it read is left out, and the branch's
report shows the gap and who is behind on this month's package; other counties and cities are refused."""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from servicekit.errors import NotFound, PermissionDenied


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def learning_column(rpc, caller, org_id) -> str:
    return next(c["id"] for c in rpc.content.list_columns(scope=caller, org_id=org_id)["columns"]
                if c["key"] == "learning")


def publish(rpc, city, title: str, tags: list[str]) -> dict:
    item = rpc.content.create_item(scope=city.admin, column_id=learning_column(rpc, city.admin, city.root["id"]),
                                   kind="article", title=title, body=f"{title}的正文。", tags=tags)
    return rpc.content.submit_item(scope=city.admin, item_id=item["id"])      # the root's columns: no review


def take_quiz_with_two_right(rpc, city, member) -> None:
    for n in range(6):
        rpc.content.create_bank_question(scope=city.admin, org_id=city.root["id"], kind="single",
                                         stem=f"第{n}题：党的根本宗旨是？", options=["全心全意为人民服务", "发展经济", "改革开放"],
                                         correct=["A"], category="党章", difficulty=2)
    now = datetime.now(timezone.utc)
    quiz = rpc.content.create_quiz(scope=city.admin, org_id=city.root["id"], kind="quiz", title="党章测试",
                                   open_at=iso(now - timedelta(minutes=1)), close_at=iso(now + timedelta(hours=1)),
                                   time_limit_seconds=600, max_attempts=1, grading="highest", review="after_submit",
                                   draw=[{"category": "党章", "count": 6, "points": 1}])
    attempt = rpc.content.start_quiz_attempt(scope=member, quiz_id=quiz["id"])
    for question in attempt["questions"][:2]:
        label = next(o["key"] for o in question["options"] if o["text"] == "全心全意为人民服务")
        rpc.content.save_quiz_answer(scope=member, attempt_id=attempt["id"], question_id=question["id"],
                                     choices=[label])
    assert rpc.content.submit_quiz_attempt(scope=member, attempt_id=attempt["id"])["score"] == 2


def test_a_gap_recommends_its_category_and_the_branch_report_shows_it(rpc, city, other_city):
    branch = city.branches[0][0]
    member = city.member_login(city.add_member(branch, "王短板"), f"gap-{uuid.uuid4().hex[:8]}")
    city.add_member(branch, "李同支")
    charter = publish(rpc, city, "学习党章心得", ["党章"])
    history = publish(rpc, city, "党史故事", ["党史"])
    village = publish(rpc, city, "乡村振兴经验", ["乡村振兴"])
    rpc.content.get_item(scope=member, item_id=history["id"])                    # read: never recommended again
    take_quiz_with_two_right(rpc, city, member)

    answer = rpc.content.list_recommendations(scope=member)
    picks = {pick["item_id"]: pick for pick in answer["recommendations"]}
    assert answer["recommendations"][0]["item_id"] == charter["id"]
    assert picks[charter["id"]]["reason"] == "党章 类题目正确率 33%" and picks[charter["id"]]["reason_kind"] == "gap"
    assert history["id"] not in picks and village["id"] in picks
    assert answer["gaps"] == [{"category": "党章", "answered": 6, "correct": 2, "rate": 0.3333, "percent": 33}]

    month = time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))
    package = rpc.content.create_package(scope=city.admin, org_id=city.root["id"], month=month, title="本月套餐",
                                         due_on=f"{month}-28", items=[{"key": "v1", "title": "视频", "kind": "video",
                                                                       "url": "https://example.org/v.mp4"}])
    rpc.content.publish_package(scope=city.admin, package_id=package["id"])
    for manager in (city.admin, city.county_admins[0]):
        report = rpc.content.branch_gap_report(scope=manager, branch_id=branch["id"])
        assert report["month"] == month
        assert [(row["category"], row["percent"], row["gap"]) for row in report["weakest"]] == [("党章", 33, True)]
        [behind] = report["packages"]
        assert behind["package_id"] == package["id"]
        assert sorted(m["name"] for m in behind["members_behind"]) == ["李同支", "王短板"]

    # another county, another city, an id that exists nowhere: the same not found; a member: refused
    for outsider in (city.county_admins[1], other_city.admin):
        for branch_id in (branch["id"], "org_nowhere"):
            with pytest.raises(NotFound) as refused:
                rpc.content.branch_gap_report(scope=outsider, branch_id=branch_id)
            assert refused.value.code == "ORG_NOT_FOUND"
    with pytest.raises(PermissionDenied) as refused:
        rpc.content.branch_gap_report(scope=member, branch_id=branch["id"])
    assert refused.value.code == "NOT_ORG_MANAGER"
    with pytest.raises(PermissionDenied):
        rpc.content.list_recommendations(scope=city.admin)
    # another city's member sees none of this city's items
    stranger = other_city.member_login(other_city.add_member(other_city.branches[0][0], "外市"),
                                       f"x-{uuid.uuid4().hex[:8]}")
    assert not {p["item_id"] for p in rpc.content.list_recommendations(scope=stranger)["recommendations"]} & \
        {charter["id"], history["id"], village["id"]}
