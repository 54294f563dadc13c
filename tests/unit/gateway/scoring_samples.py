"""Contract-shaped requests and answers (docs/scoring-rpc.md) for every scoring operation."""
from __future__ import annotations

BREAKDOWN = {"signin": 58.33, "like": 10.0, "richness": 5.0, "comments": 2.5, "rating": 4.0}
COUNTS = {"roster": 5, "on_site_expected": 4, "present": 2, "incomplete": 1, "excused": 1, "mobile": 1,
          "mobile_liked": 1, "reflections": 2, "photos": 3, "text_chars": 150, "flags": 0}
SCORE = {"activity_id": "act-1", "branch_id": "org-branch-1", "branch_name": "第一党支部", "month": "2026-12",
         "field": "rural", "category": "", "path_ids": ["org-city", "org-branch-1"], "score": 79.83, "final": True,
         "stage": "closed", "stages": {"issued": "2026-11-22T08:00:00.000Z"}, "breakdown": BREAKDOWN,
         "rates": {"signin": 0.8333, "like": 1.0, "richness": 0.5, "comments": 0.5, "rating": 0.8}, "counts": COUNTS,
         "rating": -1, "rating_pending": True, "rating_comment": "", "outside_due_window": False,
         "closed_late": False, "open_rectifications": 0, "scored_at": "2026-12-05T04:00:00.000Z"}
ROW = {"rank": 1, "previous_rank": 3, "rank_change": 2, "branch_id": "org-branch-1", "branch_name": "第一党支部",
       "field": "rural", "category": "", "score": 79.83, "final": True, "activity_id": "act-1", "months": 1,
       "breakdown": BREAKDOWN, "counts": COUNTS, "rating_pending": True}
CHART = {"labels": ["第一党支部"], "values": [79.83]}
RULES = {"cycle": "calendar", "threshold": 10.0,
         "rules": [{"category": "attendance", "points": 5.0, "daily_cap": 10.0, "cycle_cap": 60.0}],
         "negative_list": [{"code": "LATE_DUES", "name": "未按时缴纳党费", "points": -5.0}]}
ENTRY = {"id": "deduction:req-1", "member_id": "mem-1", "cycle": "2026", "category": "negative", "points": -5.0,
         "requested_points": -5.0, "reason": "未按时缴纳党费：三个月未交", "source_kind": "person",
         "source_event_id": "", "source_account_id": "acc-admin", "corrects": "", "at": "2026-12-05T04:00:00.000Z"}
TALK = {"member_id": "mem-1", "branch_id": "org-branch-1", "cycle": "2026", "held_on": "2026-12-04",
        "note": "指出问题，提出整改要求", "recorded_by": "acc-1", "recorded_at": "2026-12-05T04:00:00.000Z",
        "total": 2.0, "threshold": 10.0}

SCORING_REQUESTS = {
    "GetBranchScore": {"branch_id": "org-branch-1", "month": "2026-12"},
    "RateActivity": {"activity_id": "act-1", "rating": 90, "comment": "很好"},
    "GetRanking": {"org_id": "org-city", "period": "2026-Q4", "field": "rural", "page_size": 20},
    "GetProgress": {"org_id": "org-city", "period": "2026-12", "group_by": "field"},
    "GetTrend": {"branch_id": "org-branch-1", "month_from": "2026-01", "month_to": "2026-12"},
    "CompareOrgs": {"org_ids": ["org-county", "org-county-2"], "period": "2026"},
    "SpotCheck": {"org_id": "org-city", "month": "2026-12", "sample_size": 3, "seed": 7},
    "SupervisionList": {"org_id": "org-city", "month": "2026-12"},
    "QuarterlyBulletin": {"org_id": "org-city", "quarter": "2026-Q4"},
    "AnnualAssessment": {"org_id": "org-city", "year": "2026"},
    "ExportReport": {"org_id": "org-city", "kind": "bulletin", "period": "2026-Q4"},
    "Reconcile": {"org_id": "org-city", "period": "2026-12"},
    "GetPointsRules": {},
    "SetPointsRules": {"rules": RULES},
    "GetLedger": {"member_id": "mem-1", "cycle": "2026"},
    "AddDeduction": {"member_id": "mem-1", "code": "LATE_DUES", "reason": "三个月未交", "request_id": "req-1"},
    "CorrectEntry": {"entry_id": "deduction:req-1", "reason": "已补交"},
    "ListTalkCandidates": {"org_id": "org-city", "cycle": "2026"},
    "RecordTalk": {"member_id": "mem-1", "cycle": "2026", "held_on": "2026-12-04", "note": "指出问题，提出整改要求"},
    "ListTalks": {"org_id": "org-city", "cycle": "2026", "page_size": 20},
}

SCORING_RESULTS = {
    "get_branch_score": SCORE,
    "rate_activity": {**SCORE, "rating": 90, "rating_pending": False, "score": 80.33},
    "get_ranking": {"period": "2026-Q4", "previous_period": "2026-Q3", "total": 1, "rows": [ROW], "chart": CHART,
                    "next_page_token": ""},
    "get_progress": {"period": "2026-12", "stages": ["issued", "closed"], "groups": [
        {"group": "rural", "branches": 2, "stages": [{"stage": "issued", "count": 2, "share": 1.0}]}]},
    "get_trend": {"branch_id": "org-branch-1", "branch_name": "第一党支部",
                  "points": [{"month": "2026-12", "score": 79.83, "final": True, "held": True}], "chart": CHART},
    "compare_orgs": {"period": "2026", "items": [{"org_id": "org-county", "name": "", "branches": 2, "average": 70.0,
                                                  "best": 80.0, "worst": 60.0}], "chart": CHART},
    "spot_check": {"month": "2026-12", "population": 9, "items": [
        {"score": SCORE, "plan": {"date": "2026-12-05"}, "title": "学习党章", "status_counts": {"present": 2},
         "photos": 3, "text_chars": 150, "flagged_records": [], "backfilled": 0, "rejections": 0,
         "rectifications_open": []}]},
    "supervision_list": {"month": "2026-12", "items": [
        {"activity_id": "act-1", "branch_id": "org-branch-1", "branch_name": "第一党支部", "field": "rural",
         "score": 50.0, "final": True, "reasons": ["LOW_SCORE"], "flags": 0}]},
    "quarterly_bulletin": {"quarter": "2026-Q4", "branches": 1, "average": 79.83, "best": [ROW], "weakest": []},
    "annual_assessment": {"year": "2026", "total": 1, "rows": [{**ROW, "grade": "合格"}], "next_page_token": ""},
    "export_report": {"filename": "季度通报-2026-Q4.xlsx", "media_type": "application/xlsx", "content": "UEsDBA=="},
    "reconcile": {"period": "2026-12", "checked": 9, "differences": [
        {"activity_id": "act-1", "branch_id": "org-branch-1", "field": "score", "live": "79.83",
         "recomputed": "80.33"}]},
    "get_points_rules": RULES,
    "set_points_rules": RULES,
    "get_ledger": {"member_id": "mem-1", "cycle": "2026", "total": 2.0, "by_category": {"attendance": 5.0},
                   "threshold": 10.0, "below_threshold": True, "entries": [ENTRY]},
    "add_deduction": ENTRY,
    "correct_entry": {**ENTRY, "id": "correction:deduction:req-1", "points": 5.0, "corrects": "deduction:req-1"},
    "list_talk_candidates": {"cycle": "2026", "threshold": 10.0, "total": 2,
                             "members": [{"member_id": "mem-1", "branch_id": "org-branch-1", "total": 2.0,
                                          "talked": True, "talk": {"held_on": "2026-12-04", "recorded_by": "acc-1"}},
                                         {"member_id": "mem-2", "branch_id": "org-branch-1", "total": 4.0,
                                          "talked": False}],
                             "next_page_token": ""},
    "record_talk": TALK,
    "list_talks": {"cycle": "2026", "total": 1, "talks": [TALK], "next_page_token": ""},
}
