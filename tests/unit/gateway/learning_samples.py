"""Contract-shaped requests (by rpc) and answers (by nameko method) of the content service's learning operations
(docs/content-rpc.md)."""
from __future__ import annotations

ITEM_INPUT = {"key": "v1", "title": "党章学习视频", "kind": "video", "item_id": "", "url": "https://example.org/v1.mp4",
              "min_seconds": 120, "cap_seconds": 600, "tags": ["党章"]}
ITEM = {**ITEM_INPUT}
MEMBER_ITEM = {**ITEM, "seconds": 45, "studied": False, "studied_at": ""}
PACKAGE = {"id": "pkg-1", "tenant_id": "tenant-xa", "org_id": "org-city", "org_name": "市委",
           "org_path": ["org-city"], "month": "2026-12", "title": "十二月学习套餐", "due_on": "2026-12-31",
           "status": "published", "items": [ITEM], "item_count": 1, "created_by": "acc-admin",
           "created_at": "2026-12-01T00:00:00.000Z", "updated_at": "2026-12-01T00:00:00.000Z",
           "published_at": "2026-12-01T01:00:00.000Z", "closed_at": ""}
MEMBER_PACKAGE = {**PACKAGE, "items": [MEMBER_ITEM], "studied_count": 0}
ROW = {"group_id": "org-branch-1", "name": "第一党支部", "branches": 1, "members": 30, "started": 20, "completed": 12,
       "items_studied": 25, "completion_rate": 40.0, "items_rate": 83.3, "rank": 1}
TOTALS = {"branches": 1, "members": 30, "started": 20, "completed": 12, "items_studied": 25,
          "completion_rate": 40.0, "items_rate": 83.3}
SESSION = {"session_id": "ses-1", "package_id": "pkg-1", "item_key": "v1", "state": "open",
           "started_at": "2026-12-06T08:00:00.000Z", "last_seen_at": "2026-12-06T08:00:15.000Z", "ended_at": "",
           "session_seconds": 15, "seconds": 45, "min_seconds": 120, "cap_seconds": 600, "studied": False,
           "studied_at": "", "heartbeat_seconds": 15, "max_gap_seconds": 60, "repeat": False}

LEARNING_REQUESTS: dict[str, dict] = {
    "CreatePackage": {"org_id": "org-city", "month": "2026-12", "title": "十二月学习套餐", "due_on": "2026-12-31",
                      "items": [ITEM_INPUT]},
    "UpdatePackage": {"package_id": "pkg-1", "title": "新标题", "items": [ITEM_INPUT]},
    "PublishPackage": {"package_id": "pkg-1"},
    "ClosePackage": {"package_id": "pkg-1"},
    "GetPackage": {"package_id": "pkg-1"},
    "ListPackages": {"org_id": "org-city", "month": "2026-12", "status": "published", "page_size": 20},
    "ListMyPackages": {"month": "2026-12"},
    "GetPackageProgress": {"package_id": "pkg-1", "org_id": "org-county", "by": "county"},
    "ListPackageMembers": {"package_id": "pkg-1", "branch_id": "org-branch-1"},
    "StartStudy": {"package_id": "pkg-1", "item_key": "v1"},
    "StudyHeartbeat": {"session_id": "ses-1"},
    "EndStudy": {"session_id": "ses-1"},
    "GetStudyRanking": {"branch_id": "org-branch-1", "month": "2026-12"},
}
LEARNING_RESULTS: dict[str, dict] = {
    "create_package": {**PACKAGE, "status": "draft", "published_at": ""},
    "update_package": {**PACKAGE, "status": "draft", "title": "新标题", "published_at": ""},
    "publish_package": PACKAGE,
    "close_package": {**PACKAGE, "status": "closed", "closed_at": "2026-12-31T16:00:00.000Z"},
    "get_package": MEMBER_PACKAGE,
    "list_packages": {"packages": [PACKAGE], "next_page_token": ""},
    "list_my_packages": {"month": "2026-12", "packages": [MEMBER_PACKAGE]},
    "package_progress": {"package_id": "pkg-1", "org_id": "org-city", "by": "branch", "item_count": 1,
                         "totals": TOTALS, "rows": [ROW]},
    "package_branch_members": {"package_id": "pkg-1", "branch_id": "org-branch-1", "item_count": 1, "completed": 1,
                               "members": [{"member_id": "mem-1", "name": "张三", "studied_count": 1,
                                            "item_count": 1, "completed": True,
                                            "completed_at": "2026-12-06T08:02:00.000Z"}]},
    "start_study": {**SESSION, "last_seen_at": SESSION["started_at"], "session_seconds": 0},
    "study_heartbeat": SESSION,
    "end_study": {**SESSION, "state": "ended", "ended_at": "2026-12-06T08:00:30.000Z"},
    "study_ranking": {"branch_id": "org-branch-1", "branch_name": "第一党支部", "month": "2026-12", "public": True,
                      "members": 30, "package_count": 1, "item_count": 2, "entries": [
                          {"rank": 1, "member_id": "mem-1", "name": "张三", "items_studied": 2, "seconds": 900,
                           "me": True},
                          {"rank": 2, "member_id": "mem-2", "name": "李四", "items_studied": 1, "seconds": 300,
                           "me": False}]},
}
