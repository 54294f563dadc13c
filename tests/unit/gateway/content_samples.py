"""Contract-shaped requests (by rpc) and answers (by nameko method) of the content service's content operations
(docs/content-rpc.md)."""
from __future__ import annotations

SETTINGS = {"study_points_public": False, "publicity_days": 5, "mailbox_overdue_days": 7, "excellent_percent": 90,
            "pass_percent": 60}

COLUMN = {"id": "col-1", "org_id": "org-county", "key": "notices", "name": "通知公告", "review_required": True,
          "created_at": "2026-12-06T08:00:00.000Z"}
ITEM = {"id": "itm-1", "org_id": "org-county", "org_path": ["org-city", "org-county"], "column_id": "col-1",
        "kind": "notice", "title": "关于开展主题党日的通知", "body": "各支部：\n请于本周五前完成。", "summary": "各支部：",
        "tags": ["党章"], "attachment_ids": [], "status": "draft", "version": 1, "pinned_until": "", "pushed": False,
        "published_at": "", "author_name": "长安区委", "read_count": 0, "generated": False,
        "created_at": "2026-12-06T08:00:00.000Z", "updated_at": "2026-12-06T08:00:00.000Z", "review_reason": "",
        "withdrawal_reason": ""}

CONTENT_REQUESTS: dict[str, dict] = {
    "GetContentSettings": {},
    "SetContentSettings": {"settings": {"publicity_days": 7}},
    "ListColumns": {"org_id": "org-county"},
    "CreateColumn": {"org_id": "org-county", "name": "党建动态", "review_required": False},
    "CreateItem": {"column_id": "col-1", "kind": "notice", "title": "关于开展主题党日的通知", "body": "各支部：\n请于本周五前完成。",
                   "tags": ["党章"], "attachment_ids": ["att-1"]},
    "GetItem": {"item_id": "itm-1"},
    "UpdateItem": {"item_id": "itm-1", "title": "关于开展主题党日的通知（更正）", "tags": ["党章", "党史"]},
    "SubmitItem": {"item_id": "itm-1"},
    "ReviewItem": {"item_id": "itm-1", "decision": "reject", "reason": "标题有误"},
    "WithdrawItem": {"item_id": "itm-1", "reason": "内容过期"},
    "PinItem": {"item_id": "itm-1", "pinned_until": "2026-12-20T00:00:00Z"},
    "PushItem": {"item_id": "itm-1", "pushed": True},
    "GetItemHistory": {"item_id": "itm-1"},
    "GetFeed": {"page_size": 20, "page_token": "p2"},
    "ListItems": {"org_id": "org-county", "status": "submitted", "kind": "article", "page_size": 20},
    "ListNotices": {"org_id": "org-branch-1"},
    "GetReceipts": {"item_id": "itm-1", "page_size": 50},
    "GetBranchReceipts": {"item_id": "itm-1", "branch_id": "org-branch-1"},
    "RemindUnread": {"item_id": "itm-1", "branch_id": "org-branch-1"},
}
CONTENT_RESULTS: dict[str, dict] = {
    "get_settings": SETTINGS,
    "set_settings": {**SETTINGS, "publicity_days": 7},
    "list_columns": {"columns": [COLUMN]},
    "create_column": COLUMN,
    "create_item": ITEM,
    "get_item": {**ITEM, "read": True, "read_count": 13},
    "update_item": {**ITEM, "version": 2},
    "submit_item": {**ITEM, "status": "submitted"},
    "review_item": {**ITEM, "status": "rejected", "review_reason": "标题有误"},
    "withdraw_item": {**ITEM, "status": "withdrawn", "withdrawal_reason": "内容过期"},
    "pin_item": {**ITEM, "pinned_until": "2026-12-20T00:00:00.000Z"},
    "push_item": {**ITEM, "pushed": True},
    "item_history": {"item_id": "itm-1", "versions": [
        {"version": 1, "title": "关于开展主题党日的通知", "body": "各支部：", "summary": "各支部：", "tags": ["党章"],
         "edited_by": "acc-admin", "edited_at": "2026-12-06T08:00:00.000Z"}],
        "log": [{"action": "rejected", "by": "acc-city", "at": "2026-12-06T09:00:00.000Z", "reason": "标题有误",
                 "version": 1, "until": ""}]},
    "get_feed": {"items": [{"id": "itm-1", "org_id": "org-city", "column_id": "col-1", "kind": "notice",
                            "title": "关于开展主题党日的通知", "summary": "各支部：", "tags": ["党章"],
                            "published_at": "2026-12-06T08:00:00.000Z", "author_name": "西安市委", "pushed": True,
                            "pinned": False, "level": 0}], "next_page_token": "p3"},
    "list_items": {"items": [{k: v for k, v in ITEM.items() if k != "body"}], "next_page_token": ""},
    "list_notices": {"notices": [{"id": "itm-1", "org_id": "org-city", "title": "关于开展主题党日的通知",
                                  "author_name": "西安市委", "published_at": "2026-12-06T08:00:00.000Z", "level": 0}]},
    "notice_receipts": {"item_id": "itm-1", "title": "关于开展主题党日的通知", "org_id": "org-county", "read": 2,
                        "expected": 5, "unread": 3, "branches": [
                            {"branch_id": "org-branch-1", "branch_name": "第一党支部", "path_names": ["西安市", "第一党支部"],
                             "read": 2, "expected": 5, "unread": 3, "percent": 40.0}], "next_page_token": ""},
    "notice_branch_receipts": {"item_id": "itm-1", "branch_id": "org-branch-1", "branch_name": "第一党支部",
                               "read": [{"member_id": "mem-1", "name": "张三", "read_at": "2026-12-06T08:00:00.000Z"}],
                               "unread": [{"member_id": "mem-2", "name": "李四", "read_at": ""}], "expected": 2},
    "remind_unread": {"item_id": "itm-1", "org_id": "org-branch-1", "reminded": 1,
                      "reminded_at": "2026-12-06T08:00:00.000Z"},
}
