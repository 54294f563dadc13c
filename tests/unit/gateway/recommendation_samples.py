"""Contract-shaped requests (by rpc) and answers (by nameko method) of the content service's recommendation operations
(docs/content-rpc.md)."""
from __future__ import annotations

GAP = {"category": "党章", "answered": 20, "correct": 9, "rate": 0.45, "percent": 45}
BRANCH_CATEGORY = {**GAP, "gap": True, "members": 12, "members_with_gap": 5}

RECOMMENDATION_REQUESTS: dict[str, dict] = {
    "ListRecommendations": {"limit": 10},
    "GetGapReport": {"branch_id": "org-branch-1", "month": "2026-12"},
}
RECOMMENDATION_RESULTS: dict[str, dict] = {
    "list_recommendations": {
        "recommendations": [
            {"item_id": "itm_1", "title": "学习党章心得", "kind": "article", "summary": "一篇心得",
             "tags": ["党章"], "published_at": "2026-12-01T00:00:00.000Z", "score": 0.31,
             "reason_kind": "gap", "reason": "党章 类题目正确率 45%"},
            {"item_id": "itm_2", "title": "党史故事", "kind": "learning", "summary": "", "tags": ["党史"],
             "published_at": "2026-11-20T00:00:00.000Z", "score": 0.12, "reason_kind": "reading",
             "reason": "您常阅读「党史」相关内容"},
        ],
        "gaps": [GAP],
        "min_answers": 5,
    },
    "branch_gap_report": {
        "branch_id": "org-branch-1", "branch_name": "第一党支部", "month": "2026-12", "min_answers": 5,
        "gap_percent": 70,
        "categories": [BRANCH_CATEGORY, {"category": "党史", "answered": 40, "correct": 36, "rate": 0.9,
                                         "percent": 90, "gap": False, "members": 12, "members_with_gap": 0}],
        "weakest": [BRANCH_CATEGORY],
        "packages": [{"package_id": "pkg_1", "title": "十二月学习套餐", "month": "2026-12", "due_on": "2026-12-25",
                      "item_count": 3, "behind_count": 1,
                      "members_behind": [{"member_id": "mem-1", "name": "张三", "studied_count": 1,
                                          "item_count": 3}]}],
    },
}
