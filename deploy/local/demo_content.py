"""The demo city's content, through the gateway like any client: a pinned city notice pushed to everyone,
articles by the city and by a county (reviewed by the city), a question bank, a quiz open this month and the
month's learning package. Run by ``demo_city.seed``; skipped when the city already has its notice."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone


NOTICE = {
    "title": "关于开展2026年度党员学习教育的通知",
    "body": ("各区县委组织部、各基层党组织：\n"
             "为深入学习贯彻党章党规，推动学习教育常态化制度化，现就开展年度党员学习教育有关事项通知如下。\n"
             "一、每月学习套餐由市委组织部统一推送，请各党支部组织党员按时完成。\n"
             "二、各党支部书记要及时掌握本支部党员学习进度，对未完成的党员做好提醒。\n"
             "三、知识竞赛成绩纳入党员积分管理。"),
    "tags": ["党章", "理论学习"],
}
ARTICLES = [
    {"title": "学习党章心得：把党章作为根本遵循", "tags": ["党章"],
     "body": "党章是党的根本大法，是全党必须遵循的总规矩。学习党章，要读原文、悟原理，做到知行合一。"},
    {"title": "重温党史：从红船精神到伟大建党精神", "tags": ["党史"],
     "body": "回望百年党史，红船精神、井冈山精神、长征精神一脉相承，激励一代代共产党员砥砺前行。"},
    {"title": "党纪学习：严守政治纪律和政治规矩", "tags": ["党纪法规"],
     "body": "政治纪律是最重要、最根本、最关键的纪律。每名党员都要自觉把纪律和规矩挺在前面。"},
    {"title": "基层党建：党支部标准化规范化建设要点", "tags": ["理论学习"],
     "body": "党支部是党的基础组织，要落实三会一课、主题党日、组织生活会等制度，提升组织力。"},
]
# (category, kind, stem, options, answer, difficulty); answer: option letters, "true"/"false", or the text
QUESTIONS = [
    ("党章", "single", "党的最高理想和最终目标是什么？", ["实现共产主义", "全面建成小康社会", "实现现代化", "消除贫困"], "A", 1),
    ("党章", "single", "党员的预备期一般为多长时间？", ["半年", "一年", "两年", "三年"], "B", 1),
    ("党章", "true_false", "党员有权在党的会议上对党的任何组织和任何党员提出有根据的批评。", [], "true", 2),
    ("党章", "multiple", "党的纪律处分有哪些？（多选）", ["警告", "严重警告", "撤销党内职务", "罚款"], "ABC", 2),
    ("党章", "fill", "党的基层组织中，正式党员____人以上的，成立党的基层委员会。（填数字）", [], "100", 3),
    ("党史", "single", "中国共产党第一次全国代表大会在哪一年召开？", ["1919年", "1921年", "1927年", "1949年"], "B", 1),
    ("党史", "single", "遵义会议召开于哪一年？", ["1934年", "1935年", "1936年", "1937年"], "B", 2),
    ("党史", "true_false", "南昌起义打响了武装反抗国民党反动派的第一枪。", [], "true", 1),
    ("党史", "fill", "中国共产党第一次全国代表大会最后一天的会议转移到浙江嘉兴____上举行。", [], "南湖红船", 2),
    ("党纪法规", "single", "党的纪律中最重要、最根本、最关键的是哪一项？", ["组织纪律", "政治纪律", "廉洁纪律", "工作纪律"], "B", 1),
    ("党纪法规", "true_false", "党员可以不参加党的组织生活。", [], "false", 1),
    ("党纪法规", "multiple", "下列属于六大纪律的有哪些？（多选）", ["政治纪律", "群众纪律", "生活纪律", "考勤纪律"], "ABC", 2),
    ("理论学习", "single", "“三会一课”中的“一课”指的是什么？", ["党课", "团课", "专题课", "网课"], "A", 1),
    ("理论学习", "single", "党支部委员会一般每月召开几次？", ["一次", "两次", "每季度一次", "每年一次"], "A", 1),
    ("理论学习", "true_false", "组织生活会一般每年召开一次。", [], "true", 1),
    ("时事政策", "single", "乡村振兴战略的总要求不包括下列哪项？", ["产业兴旺", "生态宜居", "乡风文明", "全民创业"], "D", 2),
    ("时事政策", "true_false", "高质量发展是全面建设社会主义现代化国家的首要任务。", [], "true", 1),
]


def seed_content(city, county, root: dict, county_org: dict, today: date | None = None) -> None:
    """``city`` and ``county``: logged-in ``demo_city._Api`` of the city admin and of a county admin."""
    if city.call("GET", f"/v1/orgs/{root['id']}/items?kind=notice&page_size=1")["items"]:
        return
    today = today or date.today()
    notices = _column(city, root["id"], "notices")
    notice = _publish(city, None, notices, "notice", NOTICE)
    until = (datetime.now(timezone.utc) + timedelta(days=30)).isoformat(timespec="seconds")
    city.call("POST", f"/v1/items/{notice['id']}:pin", {"pinned_until": until})
    city.call("POST", f"/v1/items/{notice['id']}:push", {"pushed": True})
    news = _column(city, root["id"], "news")
    articles = [_publish(city, None, news, "article", article) for article in ARTICLES[:3]]
    # a county's article goes to the city for review (a county's columns review before publishing)
    articles.append(_publish(county, city, _column(county, county_org["id"], "news"), "article", ARTICLES[3]))
    for category, kind, stem, options, answer, difficulty in QUESTIONS:
        choice = kind in ("single", "multiple")
        city.call("POST", "/v1/questions", {
            "org_id": root["id"], "kind": kind, "stem": stem, "options": options, "category": category,
            "difficulty": difficulty,
            "correct": list(answer) if choice else (["T" if answer == "true" else "F"] if kind == "true_false" else []),
            "accepted": [answer] if kind == "fill" else []})
    month_end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    city.call("POST", "/v1/quizzes", {
        "org_id": root["id"], "kind": "quiz", "title": f"{today.month}月党章党史学习测验",
        "description": "每人可答三次，按最高分计入。", "open_at": start.isoformat(timespec="seconds"),
        "close_at": datetime.combine(month_end, datetime.max.time(), timezone.utc).isoformat(timespec="seconds"),
        "time_limit_seconds": 900, "max_attempts": 3, "grading": "highest", "review": "after_submit",
        "draw": [{"category": "党章", "count": 3, "points": 10}, {"category": "党史", "count": 2, "points": 10}]})
    package = city.call("POST", "/v1/packages", {
        "org_id": root["id"], "month": today.strftime("%Y-%m"), "title": f"{today.month}月学习套餐",
        "due_on": month_end.isoformat(),
        "items": [{"title": a["title"], "kind": "article", "item_id": a["id"], "min_seconds": 60,
                   "cap_seconds": 600, "tags": a["tags"]} for a in articles[:2]]})
    city.call("POST", f"/v1/packages/{package['id']}:publish", {})


def _column(api, org_id: str, key: str) -> str:
    return next(c["id"] for c in api.call("GET", f"/v1/orgs/{org_id}/columns")["columns"] if c["key"] == key)


def _publish(author, reviewer, column_id: str, kind: str, text: dict) -> dict:
    item = author.call("POST", "/v1/items", {"column_id": column_id, "kind": kind, "title": text["title"],
                                             "body": text["body"], "tags": text["tags"]})
    item = author.call("POST", f"/v1/items/{item['id']}:submit", {})
    if item["status"] == "submitted" and reviewer is not None:
        item = reviewer.call("POST", f"/v1/items/{item['id']}:review", {"decision": "approve"})
    return item
