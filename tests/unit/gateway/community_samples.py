"""Contract-shaped requests (by rpc) and answers (by nameko method) of the content service's community operations
(docs/content-rpc.md)."""
from __future__ import annotations

ROLE_MODEL = {"id": "rm_org_b_monthly_star_2026-11", "branch_id": "org_b", "branch_name": "第一支部",
              "kind": "monthly_star", "period": "2026-11", "since": "2026-11-01", "until": "2026-11-30",
              "member_id": "mem_1", "member_name": "张三", "citation": "带头完成学习套餐，帮扶困难群众。",
              "points": 18.5, "proposed": True, "named_by": "acc_1", "named_at": "2026-12-01T02:00:00.000Z",
              "item_ids": ["itm_aa", "itm_bb"], "published": True}
PUBLICITY = {"id": "pub_e1", "member_id": "mem_2", "member_name": "李四", "branch_id": "org_b",
             "branch_name": "第一支部", "org_id": "org_t", "org_name": "第一镇党委", "step": "development_target",
             "opens_on": "2026-12-07", "closes_on": "2026-12-11", "state": "open", "item_id": "itm_cc",
             "objections": 1, "pending_objections": 1}
OBJECTION = {"id": "obj_1", "publicity_id": "pub_e1", "anonymous": True, "submitted_at": "2026-12-08T01:00:00.000Z",
             "state": "handled", "reason": "该同志入党动机需进一步了解。", "name": "", "account_id": "acc_9",
             "member_id": "mem_9", "outcome": "dismissed", "note": "经核实，反映情况不属实。", "handled_by": "acc_3",
             "handled_at": "2026-12-09T01:00:00.000Z"}
LETTER = {"id": "ltr_1", "branch_id": "org_b", "to_kind": "branch", "to_org_id": "org_b", "subject": "建议",
          "body": "建议主题党日安排在周末。", "anonymous": False, "state": "answered", "overdue": False,
          "asked_at": "2026-12-01T02:00:00.000Z", "due_at": "2026-12-08T02:00:00.000Z", "answer": "已采纳。",
          "answered_at": "2026-12-02T02:00:00.000Z", "answered_late": False,
          "author": {"member_id": "mem_1", "name": "张三", "account_id": "acc_1"}}
ANONYMOUS_LETTER = {**{k: v for k, v in LETTER.items() if k != "author"}, "id": "ltr_2", "anonymous": True,
                    "state": "open", "overdue": True, "answer": "", "answered_at": ""}

COMMUNITY_REQUESTS: dict[str, dict] = {
    "ProposeRoleModels": {"branch_id": "org_b", "kind": "monthly_star", "period": "2026-11"},
    "NameRoleModel": {"branch_id": "org_b", "kind": "monthly_star", "period": "2026-11", "member_id": "mem_1",
                      "citation": "带头完成学习套餐，帮扶困难群众。"},
    "ListRoleModels": {"org_id": "org_c", "kind": "weekly_pioneer", "page_size": 20, "page_token": ""},
    "ListPublicities": {"org_id": "org_c", "state": "open", "page_size": 20},
    "GetPublicity": {"publicity_id": "pub_e1"},
    "ObjectToPublicity": {"publicity_id": "pub_e1", "reason": "该同志入党动机需进一步了解。", "anonymous": True},
    "ListObjections": {"publicity_id": "pub_e1"},
    "HandleObjection": {"objection_id": "obj_1", "outcome": "dismissed", "note": "经核实，反映情况不属实。"},
    "WriteLetter": {"to_kind": "branch", "subject": "建议", "body": "建议主题党日安排在周末。", "anonymous": False},
    "ListMyLetters": {"page_size": 20},
    "ListLetters": {"org_id": "org_b", "state": "overdue", "page_size": 20},
    "GetLetter": {"letter_id": "ltr_1"},
    "AnswerLetter": {"letter_id": "ltr_1", "answer": "已采纳。"},
    "WithdrawLetter": {"letter_id": "ltr_2"},
}
COMMUNITY_RESULTS: dict[str, dict] = {
    "propose_role_models": {"branch_id": "org_b", "kind": "monthly_star", "period": "2026-11", "since": "2026-11-01",
                            "until": "2026-11-30", "basis": "points", "candidates": [
                                {"member_id": "mem_1", "name": "张三", "points": 18.5,
                                 "by_category": {"attendance": 10, "quiz": 8.5}, "named_before": False,
                                 "reason": "本期积分 18.5 分（参加主题党日 10、学习答题 8.5）"}],
                            "named": ROLE_MODEL},
    "name_role_model": ROLE_MODEL,
    "list_role_models": {"total": 1, "role_models": [ROLE_MODEL], "next_page_token": ""},
    "list_publicities": {"total": 1, "publicities": [PUBLICITY], "next_page_token": ""},
    "get_publicity": PUBLICITY,
    "object_to_publicity": {"id": "obj_1", "publicity_id": "pub_e1", "anonymous": True,
                            "submitted_at": "2026-12-08T01:00:00.000Z", "state": "pending"},
    "list_objections": {"publicity_id": "pub_e1", "objections": [OBJECTION]},
    "handle_objection": OBJECTION,
    "write_letter": {**LETTER, "state": "open", "answer": "", "answered_at": ""},
    "list_my_letters": {"total": 1, "letters": [LETTER], "next_page_token": ""},
    "list_letters": {"total": 2, "overdue": 1, "letters": [ANONYMOUS_LETTER, LETTER], "next_page_token": ""},
    "get_letter": LETTER,
    "answer_letter": LETTER,
    "withdraw_letter": {**ANONYMOUS_LETTER, "state": "withdrawn", "overdue": False},
}
