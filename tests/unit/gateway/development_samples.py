"""Sample requests and service answers of the development records' operations (DevelopmentApi, carried out by
identity)."""
from __future__ import annotations

ENTRY = {"id": "dev_1", "kind": "talk", "on": "2026-11-20", "purpose": "admission", "talker": "王书记",
         "summary": "入党动机端正", "introducers": [], "outcome": "", "conclusion": "", "stage": "", "course": "",
         "hours": 0, "note": "", "corrects": "", "superseded_by": "", "recorded_at": "2026-11-20T08:00:00.000Z",
         "recorded_by_name": "王书记"}
RECORD = {"member_id": "mem-1", "name": "张三", "branch_id": "org-branch-1", "branch_name": "第一党支部",
          "status": "development_target",
          "steps": [{"status": "applicant", "on": "2024-01-02", "recorded_by_name": "", "recorded_at": ""},
                    {"status": "development_target", "on": "2026-11-01", "recorded_by_name": "王书记",
                     "recorded_at": "2026-11-01T08:00:00.000Z"}],
          "entries": [ENTRY],
          "publicity": [{"step": "development_target", "step_on": "2026-11-01", "state": "closed",
                         "publicity_id": "pub_1", "opens_on": "2026-11-02", "closes_on": "2026-11-06",
                         "objections": 1, "pending_objections": 0, "objections_visible": True}],
          "outstanding": [{"kind": "introducers", "before": "probationary", "message": "接收为预备党员前须有确定入党介绍人记录"}]}

DEVELOPMENT_REQUESTS = {
    "ListDevelopmentRecords": {"org_id": "org-branch-1", "status": "development_target", "page_size": 20},
    "GetDevelopmentRecord": {"member_id": "mem-1"},
    "GetMyDevelopmentRecord": {},
    "RecordDevelopmentEntry": {"member_id": "mem-1", "kind": "talk", "on": "2026-11-20", "purpose": "admission",
                               "talker": "王书记", "summary": "入党动机端正"},
}
DEVELOPMENT_RESULTS = {
    "list_development_records": {"applicants": [{"member_id": "mem-1", "name": "张三", "branch_id": "org-branch-1",
                                                 "branch_name": "第一党支部", "status": "development_target",
                                                 "status_on": "2026-11-01", "entries": 1}],
                                 "next_page_token": ""},
    "get_development_record": RECORD,
    "get_my_development_record": RECORD,
    "record_development_entry": ENTRY,
}
