"""Sample requests and service answers of the democratic appraisal's operations (AppraisalApi, carried out by
scoring; docs/scoring-rpc.md#democratic-appraisal)."""
from __future__ import annotations

COUNTS = {"excellent": 2, "qualified": 5, "basically_qualified": 1, "unqualified": 0}
APPRAISAL = {"id": "apr_0123456789abcdef", "branch_id": "org-branch-1", "branch_name": "第一党支部", "year": "2026",
             "state": "closed", "closes_at": "2026-12-20T10:00:00.000Z", "member_count": 8, "voter_count": 7,
             "self_review_count": 8, "excellent_limit": 2, "decided_by": "", "decided_at": "",
             "decided_counts": {}, "manager": True, "me": {"on_roster": False},
             "members": [{"member_id": "mem-1", "name": "张三", "self_review": "一年来认真学习，按时参加组织生活。",
                          "mutual_reviews": ["工作认真负责"], "tally_shown": True, "tally": COUNTS, "points": 86.5,
                          "flags": [], "grade": "", "reason": ""}]}
MINE = {**APPRAISAL, "state": "decided", "manager": False, "decided_by": "committee",
        "decided_at": "2026-12-22T02:00:00.000Z", "decided_counts": COUNTS, "members": [],
        "me": {"on_roster": True, "voted": True, "self_review": "认真学习", "given": [
            {"member_id": "mem-2", "text": "积极肯干"}], "tally_shown": True, "tally": COUNTS, "grade": "excellent",
            "reason": "带头参加志愿服务，群众评价好"}}

APPRAISAL_REQUESTS = {
    "CreateAppraisal": {"org_id": "org-branch-1", "year": "2026", "closes_at": "2026-12-20T18:00:00+08:00"},
    "OpenAppraisal": {"appraisal_id": "apr_0123456789abcdef"},
    "GetAppraisal": {"appraisal_id": "apr_0123456789abcdef"},
    "ListAppraisals": {"org_id": "org-county", "year": "2026", "page_size": 20},
    "ListMyAppraisals": {},
    "SubmitReview": {"appraisal_id": "apr_0123456789abcdef", "member_id": "mem-2", "text": "工作积极，作风扎实"},
    "CastVote": {"appraisal_id": "apr_0123456789abcdef", "choices": [{"member_id": "mem-2", "grade": "excellent"},
                                                                    {"member_id": "mem-3", "grade": "qualified"}]},
    "DecideAppraisal": {"appraisal_id": "apr_0123456789abcdef", "decided_by": "committee", "grades": [
        {"member_id": "mem-1", "grade": "excellent", "reason": "带头参加志愿服务，群众评价好"}]},
    "SetAppraisalSettings": {"excellent_max_ratio": 0.3, "flag_negative_share": 0.25},
}
APPRAISAL_RESULTS = {
    "create_appraisal": {**APPRAISAL, "state": "draft", "voter_count": 0, "members": []},
    "open_appraisal": {**APPRAISAL, "state": "open", "voter_count": 0, "members": []},
    "get_appraisal": APPRAISAL,
    "list_appraisals": {"total": 1, "appraisals": [{**APPRAISAL, "members": []}], "next_page_token": ""},
    "list_my_appraisals": {"total": 1, "appraisals": [MINE], "next_page_token": ""},
    "submit_review": {"appraisal_id": "apr_0123456789abcdef", "member_id": "mem-2", "kind": "mutual",
                      "text": "工作积极，作风扎实", "submitted_at": "2026-12-10T02:00:00.000Z"},
    "cast_vote": {"appraisal_id": "apr_0123456789abcdef", "voted": True},
    "decide_appraisal": {**APPRAISAL, "state": "decided", "decided_by": "committee",
                         "decided_at": "2026-12-22T02:00:00.000Z", "decided_counts": COUNTS},
    "set_appraisal_settings": {"excellent_max_ratio": 0.3, "flag_negative_share": 0.25},
}
