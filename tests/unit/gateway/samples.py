"""Contract-shaped requests and answers (docs/identity-rpc.md) for every operation."""
from __future__ import annotations

import base64
import copy

CALLER = {"account_id": "acc-admin", "tenant_id": "tenant-xa",
          "roles": [{"role": "org_admin", "org_id": "org-city"}], "member_id": None, "branch_id": None}

ORG = {"id": "org-branch-1", "tenant_id": "tenant-xa", "parent_id": "org-county", "name": "第一党支部",
       "kind": "branch", "category": "", "field": "rural", "level": 3,
       "path_ids": ["org-city", "org-county", "org-committee", "org-branch-1"],
       "path_names": ["西安市", "长安区", "某街道党工委", "第一党支部"],
       "created_at": "2026-11-22T08:00:00Z", "updated_at": "2026-11-22T08:00:00Z"}
MEMBER = {"id": "mem-1", "tenant_id": "tenant-xa", "branch_id": "org-branch-1", "name": "张三",
          "gender": "male", "birth_date": "1990-05-01", "id_number_masked": "610702********1234",
          "phone": "13800000000", "education": "本科", "status": "probationary",
          "status_history": [{"status": "applicant", "on": "2024-01-02"},
                             {"status": "probationary", "on": "2026-07-01"}],
          "enrolment": "none", "mobile": False,
          "created_at": "2026-11-22T08:00:00Z", "updated_at": "2026-11-22T08:00:00Z"}
ACCOUNT = {"id": "acc-admin", "tenant_id": "tenant-xa", "username": "admin",
           "roles": [{"role": "org_admin", "org_id": "org-city"}], "member_id": None}
TRANSFER = {"id": "tr-1", "tenant_id": "tenant-xa", "member_id": "mem-1", "member_name": "张三",
            "from_branch_id": "org-branch-1", "from_branch_name": "第一党支部",
            "to_branch_id": "org-branch-2", "to_branch_name": "第二党支部", "state": "pending",
            "reason": "工作调动", "reject_reason": "", "requested_at": "2026-11-22T08:00:00Z",
            "decided_at": None, "due_at": "2026-12-22T08:00:00Z", "overdue": False}
IMPORT_RESULT = {"imported": 3, "import_id": "imp-1"}
CSV_FILE = "ref,parent_ref,name,kind\nb1,,第一党支部,branch\n".encode()
XLSX_FILE = b"PK\x03\x04 pretend this is a workbook"

REQUESTS = {
    "Login": {"tenant_code": "xa", "username": "admin", "password": "s3cret!"},
    "CreateTenant": {"code": "xa", "name": "西安市", "admin_username": "admin", "admin_password": "s3cret!"},
    "GetMe": {},
    "Refresh": {"refresh_token": "ses_1.secret"},
    "Logout": {},
    "ListSessions": {"account_id": "acc-sec"},
    "RevokeSession": {"session_id": "ses_1"},
    "ChangePassword": {"old_password": "s3cret!", "new_password": "n3w-secret"},
    "VerifyLoginTotp": {"challenge_token": "chl_secret", "code": "287082"},
    "GetTotpStatus": {},
    "BeginTotpEnrolment": {},
    "ConfirmTotpEnrolment": {"code": "287082"},
    "DisableTotp": {"code": "287082"},
    "ResetAccountTotp": {"account_id": "acc-sec", "reason": "手机丢失"},
    "SetTotpPolicy": {"totp_required_for_admins": True},
    "GetOrg": {"org_id": "org-branch-1"},
    "ListSubtree": {"org_id": "org-city", "max_depth": 2, "kind": "branch", "page_size": 20},
    "CreateOrg": {"parent_id": "org-county", "name": "第一党支部", "kind": "branch", "field": "rural"},
    "UpdateOrg": {"org_id": "org-branch-1", "name": "第一党支部（新）"},
    "MoveOrg": {"org_id": "org-branch-1", "new_parent_id": "org-committee-2"},
    "DissolveOrg": {"org_id": "org-branch-1"},
    "CreateMember": {"branch_id": "org-branch-1", "name": "张三", "gender": "male", "birth_date": "1990-05-01",
                     "id_number": "610702199005011234", "phone": "13800000000",
                     "status": "probationary", "status_dates": {"applicant": "2024-01-02"}},
    "GetMember": {"member_id": "mem-1"},
    "UpdateMember": {"member_id": "mem-1", "phone": "13900000000", "mobile": True},
    "RemoveMember": {"member_id": "mem-1"},
    "ListMembers": {"org_id": "org-city", "status": "full", "mobile": False, "page_token": "p2", "q": "张"},
    "ChangeMemberStatus": {"member_id": "mem-1", "status": "full", "on": "2027-07-01"},
    "CreateAccount": {"username": "sec1", "password": "s3cret!", "role": "branch_secretary",
                      "org_id": "org-branch-1"},
    "ListAccounts": {"org_id": "org-county", "role": "branch_secretary", "page_size": 20, "page_token": "p2"},
    "ResetTenantAdminPassword": {"tenant_code": "xa", "username": "admin", "password": ""},
    "ResetAccountPassword": {"account_id": "acc-sec", "password": ""},
    "DisableAccount": {"account_id": "acc-sec", "reason": "离职"},
    "EnableAccount": {"account_id": "acc-sec"},
    "RemoveAccount": {"account_id": "acc-sec"},
    "RequestTransfer": {"member_id": "mem-1", "to_branch_id": "org-branch-2", "reason": "工作调动"},
    "AcceptTransfer": {"transfer_id": "tr-1"},
    "RejectTransfer": {"transfer_id": "tr-1", "reason": "材料不全"},
    "ListTransfers": {"org_id": "org-city", "side": "incoming", "state": "pending"},
    "ImportOrgs": {"parent_id": "org-committee", "format": "csv", "content": CSV_FILE},
    "ImportMembers": {"org_id": "org-committee", "format": "xlsx", "content": XLSX_FILE},
}

RESULTS = {
    "login": {"access_token": "header.claims.signature", "token_type": "Bearer", "expires_in": 3600,
              "account": ACCOUNT},
    "create_tenant": {"tenant": {"id": "tenant-xa", "code": "xa", "name": "西安市"},
                      "root_org": {**ORG, "id": "org-city", "kind": "city", "level": 0, "parent_id": None},
                      "admin_account": ACCOUNT},
    "get_me": {"account": ACCOUNT, "member": None, "orgs": [ORG]},
    "refresh": {"access_token": "header.claims.signature", "token_type": "Bearer", "expires_in": 3600,
                "account": ACCOUNT, "refresh_token": "ses_1.next", "refresh_expires_in": 604800,
                "session_id": "ses_1"},
    "logout": {"revoked_sessions": 1},
    "list_sessions": {"sessions": [{"id": "ses_1", "created_at": "2026-11-22T08:00:00Z", "refreshed_at": "",
                                    "expires_at": "2026-11-29T08:00:00Z", "client_address": "203.0.113.7",
                                    "current": False}]},
    "revoke_session": {"revoked_sessions": 1},
    "change_password": {"revoked_sessions": 2},
    "verify_login_totp": {"access_token": "tok", "token_type": "Bearer", "expires_in": 3600, "account": ACCOUNT,
                          "refresh_token": "ses_1.r", "refresh_expires_in": 604800, "session_id": "ses_1"},
    "get_totp_status": {"totp_enabled": True, "enrolment_pending": False, "mandatory": True,
                        "tenant_requires_for_admins": True, "enabled_at": "2026-11-22T08:00:00.000Z"},
    "begin_totp_enrolment": {"totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                             "totp_uri": "otpauth://totp/x:admin%40xa?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"},
    "confirm_totp_enrolment": {"totp_enabled": True},
    "disable_totp": {"totp_enabled": False},
    "reset_account_totp": {"totp_enabled": False},
    "set_totp_policy": {"totp_required_for_admins": True},
    "reset_account_password": {"account": ACCOUNT, "generated_password": "Gen3rated-once"},
    "disable_account": {**ACCOUNT, "disabled": True},
    "enable_account": ACCOUNT,
    "remove_account": {"account_id": "acc-sec"},
    "get_org": ORG,
    "list_subtree": {"orgs": [ORG], "next_page_token": "next"},
    "create_org": ORG,
    "update_org": ORG,
    "move_org": ORG,
    "dissolve_org": {},
    "create_member": MEMBER,
    "get_member": MEMBER,
    "update_member": MEMBER,
    "remove_member": {},
    "list_members": {"members": [MEMBER], "next_page_token": ""},
    "change_member_status": MEMBER,
    "create_account": ACCOUNT,
    "list_accounts": {"accounts": [{"id": "acc-sec", "username": "sec1", "roles": [
        {"role": "branch_secretary", "org_id": "org-branch-1", "org_name": "第一党支部"}], "member_id": "mem-1",
        "member_name": "张三", "created_at": "2026-11-22T08:00:00Z"}], "next_page_token": "p3"},
    "reset_tenant_admin_password": {"account": ACCOUNT, "generated_password": "Gen3rated-once"},
    "request_transfer": TRANSFER,
    "accept_transfer": {**TRANSFER, "state": "accepted", "decided_at": "2026-11-23T08:00:00Z"},
    "reject_transfer": {**TRANSFER, "state": "rejected", "reject_reason": "材料不全"},
    "list_transfers": {"transfers": [TRANSFER], "next_page_token": ""},
    "import_orgs": IMPORT_RESULT,
    "import_members": IMPORT_RESULT,
}


def request_for(rpc: str) -> dict:
    return copy.deepcopy(REQUESTS[rpc])


# --- attendance (docs/attendance-rpc.md) ---------------------------------------------
PLAN = {"date": "2026-12-05", "start_at": "2026-12-05T02:00:00.000Z", "end_at": "2026-12-05T03:30:00.000Z",
        "venue": {"name": "党员活动室", "lat": 33.07, "lng": 107.02}, "optional_actions": ["参观"],
        "grace_minutes": 10, "checkout_window_minutes": 60, "checkin_opens_at": "2026-12-05T01:30:00.000Z",
        "checkin_closes_at": "2026-12-05T02:10:00.000Z", "checkout_closes_at": "2026-12-05T04:30:00.000Z",
        "outside_due_window": False, "venue_entered": {"lat": 33.0675, "lng": 107.0291, "crs": "gcj02"}}
ACTIVITY = {"id": "act-1", "tenant_id": "tenant-xa", "theme_id": "thm-1", "branch_id": "org-branch-1",
            "branch_name": "第一党支部", "month": "2026-12", "title": "学习党章", "required_actions": ["pay_dues"],
            "due_from": "2026-12-01", "due_to": "2026-12-20", "status": "approved", "plan": PLAN, "review": {},
            "radius_m": 300, "roster_frozen": False, "roster_size": 0, "on_site_expected": 0, "mobile_count": 0,
            "totals": {}, "closed_at": ""}
THEME = {"id": "thm-1", "tenant_id": "tenant-xa", "org_id": "org-city", "month": "2026-12", "title": "学习党章",
         "required_actions": ["pay_dues"], "due_from": "2026-12-01", "due_to": "2026-12-20", "radius_m": 300,
         "branch_count": 2, "issued_by": "acc-admin", "issued_at": "2026-11-22T08:00:00.000Z"}
SCAN = {"id": "act-1:in:mem-1", "activity_id": "act-1", "member_id": "mem-1", "direction": "in",
        "at": "2026-12-05T01:50:00.000Z", "distance_m": 12.5, "flags": [], "seq": 1, "hash": "ab" * 32,
        "backfilled": False, "backfilled_by": "", "backfill_reason": ""}
LEAVE = {"id": "lv-1", "activity_id": "act-1", "member_id": "mem-1", "member_name": "张三", "reason": "出差",
         "state": "pending", "decision_note": "", "decided_by": "", "decided_at": "",
         "requested_at": "2026-11-22T08:00:00.000Z", "lapsed_at": "", "lapsed_reason": "", "lapsed_from": ""}
LAPSED_LEAVE = {**LEAVE, "id": "lv-2", "state": "lapsed", "decided_by": "acc-sec",
                "decided_at": "2026-11-23T08:00:00.000Z", "lapsed_at": "2026-11-24T08:00:00.000Z",
                "lapsed_reason": "会议已改期", "lapsed_from": "approved"}
UPLOAD = {"id": "upl-1", "activity_id": "act-1", "kind": "photo", "added_by": "acc-sec", "content_type": "image/png",
          "size": 10, "content_hash": "cd" * 32, "text": "", "added_at": "2026-12-05T03:00:00.000Z",
          "backfilled": False, "backfill_reason": ""}
REFLECTION = {"id": "act-1:reflection:mem-1", "activity_id": "act-1", "member_id": "mem-1", "member_name": "张三",
              "text": "深受教育", "posted_at": "2026-12-05T03:40:00.000Z", "backfilled": False}
RECTIFICATION = {"id": "rec-1", "activity_id": "act-1", "branch_id": "org-branch-1", "title": "补充记录",
                 "due_on": "2026-12-31", "state": "open", "overdue": False, "opened_by": "acc-admin",
                 "opened_at": "2026-12-06T00:00:00.000Z", "closed_by": "", "closed_at": "", "closing_note": ""}
PNG_FILE = b"\x89PNG\r\n\x1a\n0000"
JPEG_FILE = b"\xff\xd8\xff\xe0 pretend this is a thumbnail"

REQUESTS.update({
    "IssueTheme": {"org_id": "org-city", "month": "2026-12", "title": "学习党章", "due_from": "2026-12-01",
                   "due_to": "2026-12-20", "required_actions": ["pay_dues"], "radius_m": 300},
    "ListThemes": {"org_id": "org-city"},
    "ListActivities": {"org_id": "org-city", "month": "2026-12", "status": "approved"},
    "GetActivity": {"activity_id": "act-1"},
    "SubmitPlan": {"activity_id": "act-1", "date": "2026-12-05", "start_time": "10:00", "end_time": "11:30",
                   "venue_name": "党员活动室", "venue_lat": 33.07, "venue_lng": 107.02, "optional_actions": ["参观"],
                   "grace_minutes": 10, "venue_crs": "gcj02"},
    "ReviewPlan": {"activity_id": "act-1", "decision": "approved", "radius_m": 500},
    "GetQrCode": {"activity_id": "act-1", "direction": "in", "mode": "rotating"},
    "SetPrintedCode": {"activity_id": "act-1", "allowed": True, "reason": "场地无法投屏"},
    "RecordScan": {"token": "v1.act-1.in.p.sig", "fix": {"lat": 33.07, "lng": 107.02, "accuracy_m": 10.0,
                                                          "mock_location": False, "device_id": "d1",
                                                          "taken_at": "2026-12-05T01:50:00Z"}},
    "ListScans": {"activity_id": "act-1", "flagged_only": True},
    "RequestLeave": {"activity_id": "act-1", "reason": "出差"},
    "DecideLeave": {"leave_id": "lv-1", "decision": "approved"},
    "ListLeaves": {"activity_id": "act-1"},
    "PostReflection": {"activity_id": "act-1", "text": "深受教育"},
    "ListReflections": {"activity_id": "act-1"},
    "LikeActivity": {"activity_id": "act-1"},
    "AddPhoto": {"activity_id": "act-1", "content_type": "image/png", "content": PNG_FILE},
    "AddTextRecord": {"activity_id": "act-1", "text": "会议记录"},
    "ListUploads": {"activity_id": "act-1"},
    "GetUploadPhoto": {"activity_id": "act-1", "upload_id": "upl-1", "size": "thumb"},
    "BackfillScan": {"activity_id": "act-1", "member_id": "mem-1", "direction": "in", "reason": "手机没电"},
    "OpenRectification": {"activity_id": "act-1", "title": "补充记录", "due_on": "2026-12-31"},
    "CloseRectification": {"rectification_id": "rec-1", "note": "已补充"},
    "ListRectifications": {"org_id": "org-city", "state": "open"},
    "VerifyChain": {"activity_id": "act-1"},
    "GetStatistics": {"org_id": "org-city", "month_from": "2026-12", "by": "branch"},
    "ExportStatistics": {"org_id": "org-city", "month_from": "2026-12"},
})

RESULTS.update({
    "issue_theme": {"theme": THEME, "activities_created": 2},
    "list_themes": {"themes": [THEME], "next_page_token": ""},
    "list_activities": {"activities": [ACTIVITY], "next_page_token": ""},
    "get_activity": ACTIVITY,
    "submit_plan": {**ACTIVITY, "status": "submitted"},
    "review_plan": ACTIVITY,
    "get_qr_code": {"token": "v1.act-1.in.1.sig", "url": "http://127.0.0.1:8080/m/scan#v1.act-1.in.1.sig",
                    "valid_until": "2026-12-05T01:51:00.000Z", "step_seconds": 30, "png": "iVBORw0KGgo=",
                    "svg": "<svg/>"},
    "set_printed_code": {**ACTIVITY, "printed_code_allowed": True, "printed_code_reason": "场地无法投屏",
                         "printed_code_set_by": "acc-admin", "printed_code_set_at": "2026-12-04T08:00:00.000Z"},
    "record_scan": {"record": SCAN, "repeat": False, "message": "签到成功"},
    "list_scans": {"scans": [SCAN], "next_page_token": ""},
    "request_leave": LEAVE,
    "decide_leave": {**LEAVE, "state": "approved"},
    "list_leaves": {"leaves": [LEAVE, LAPSED_LEAVE]},
    "post_reflection": REFLECTION,
    "list_reflections": {"reflections": [REFLECTION], "next_page_token": ""},
    "like_activity": {"activity_id": "act-1", "likes": 1, "repeat": False},
    "add_photo": UPLOAD,
    "add_text_record": {**UPLOAD, "kind": "text", "content_type": "text/plain", "text": "会议记录"},
    "list_uploads": {"uploads": [UPLOAD]},
    "get_upload_photo": {"upload_id": "upl-1", "size": "thumb", "filename": "upl-1-thumb.jpg",
                         "content_type": "image/jpeg", "content": base64.b64encode(JPEG_FILE).decode(),
                         "content_hash": "ab" * 32},
    "backfill_scan": {**SCAN, "backfilled": True, "backfilled_by": "acc-admin", "backfill_reason": "手机没电"},
    "open_rectification": RECTIFICATION,
    "close_rectification": {**RECTIFICATION, "state": "closed"},
    "list_rectifications": {"rectifications": [RECTIFICATION], "next_page_token": ""},
    "verify_chain": {"ok": True, "checked": 3, "head_seq": 3, "head_hash": "ef" * 32, "sealed": True,
                     "problems": []},
    "get_statistics": {"by": "branch", "rows": [{"branch_id": "org-branch-1", "present": 3}]},
    "export_statistics": {"filename": "考勤统计.xlsx", "content_type": "application/xlsx", "content": "UEsDBA=="},
})

# --- scoring (docs/scoring-rpc.md) -----------------------------------------------------
from tests.unit.gateway.scoring_samples import SCORING_REQUESTS, SCORING_RESULTS  # noqa: E402

REQUESTS.update(SCORING_REQUESTS)
RESULTS.update(SCORING_RESULTS)

# --- the democratic appraisal (AppraisalApi, carried out by scoring) ---------------------------------------------
from tests.unit.gateway.appraisal_samples import APPRAISAL_REQUESTS, APPRAISAL_RESULTS  # noqa: E402

REQUESTS.update(APPRAISAL_REQUESTS)
RESULTS.update(APPRAISAL_RESULTS)

# --- content (docs/content-rpc.md): one samples module per topic ------------------------
from tests.unit.gateway.community_samples import COMMUNITY_REQUESTS, COMMUNITY_RESULTS  # noqa: E402
from tests.unit.gateway.content_samples import CONTENT_REQUESTS, CONTENT_RESULTS  # noqa: E402
from tests.unit.gateway.learning_samples import LEARNING_REQUESTS, LEARNING_RESULTS  # noqa: E402
from tests.unit.gateway.library_samples import LIBRARY_REQUESTS, LIBRARY_RESULTS  # noqa: E402
from tests.unit.gateway.quiz_samples import QUIZ_REQUESTS, QUIZ_RESULTS  # noqa: E402
from tests.unit.gateway.recommendation_samples import RECOMMENDATION_REQUESTS, RECOMMENDATION_RESULTS  # noqa: E402

for _requests, _results in ((CONTENT_REQUESTS, CONTENT_RESULTS), (LIBRARY_REQUESTS, LIBRARY_RESULTS),
                            (LEARNING_REQUESTS, LEARNING_RESULTS),
                            (QUIZ_REQUESTS, QUIZ_RESULTS), (RECOMMENDATION_REQUESTS, RECOMMENDATION_RESULTS),
                            (COMMUNITY_REQUESTS, COMMUNITY_RESULTS)):
    REQUESTS.update(_requests)
    RESULTS.update(_results)

# --- volunteer (docs/volunteer-rpc.md), and identity's RegisterCitizen ------------------------------------
from tests.unit.gateway.volunteer_samples import VOLUNTEER_REQUESTS, VOLUNTEER_RESULTS  # noqa: E402

REQUESTS.update(VOLUNTEER_REQUESTS)
RESULTS.update(VOLUNTEER_RESULTS)

# --- the audit log (AuditApi, carried out by identity) ------------------------------------------------------------
from tests.unit.gateway.audit_samples import AUDIT_REQUESTS, AUDIT_RESULTS  # noqa: E402

REQUESTS.update(AUDIT_REQUESTS)
RESULTS.update(AUDIT_RESULTS)

# --- development records (DevelopmentApi, carried out by identity) ------------------------------------------------
from tests.unit.gateway.development_samples import DEVELOPMENT_REQUESTS, DEVELOPMENT_RESULTS  # noqa: E402

REQUESTS.update(DEVELOPMENT_REQUESTS)
RESULTS.update(DEVELOPMENT_RESULTS)

# --- 三会一课 (MeetingApi, carried out by attendance) ------------------------------------------------------------
from tests.unit.gateway.meetings_samples import MEETINGS_REQUESTS, MEETINGS_RESULTS  # noqa: E402

REQUESTS.update(MEETINGS_REQUESTS)
RESULTS.update(MEETINGS_RESULTS)

# --- party dues (DuesApi, carried out by identity) -------------------------------------------------------------
from tests.unit.gateway.dues_samples import DUES_REQUESTS, DUES_RESULTS  # noqa: E402

REQUESTS.update(DUES_REQUESTS)
RESULTS.update(DUES_RESULTS)
