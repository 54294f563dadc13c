"""Each operation's request in the refusal matrix: fields over its contract sample (tests/unit/gateway/samples.py),
``@name`` naming an object of the seeded world (tests/e2e/refusal_world.py). The object every request names lies in
city A, county 1, its first branch ("the branch") or that branch's ancestors."""
from __future__ import annotations

CSV_ORGS = "ref,parent_ref,name,kind,category,field\nc1,,越权党委,committee,street,\n".encode()
CSV_QUESTIONS = "题型,题干,选项A,选项B,答案,分类,难度\n单选,越权题,甲,乙,A,党章,2\n".encode()
CSV_DUES = "交易流水号,姓名,党员编号,缴费月份,金额,交易日期\nRM-1,越权,mem_x,2026-01,0.20,2026-01-05\n".encode()
FIX = {"lat": 34.2610, "lng": 108.9420, "accuracy_m": 8.0, "mock_location": False}


def members_csv(world_refs: dict) -> bytes:
    return ("branch_ref,name,gender,birth_date,id_number,phone,education,status,full_on,enrolment,mobile\n"
            f"{world_refs['branch']},越权导入,男,1990-05-17,610702199005170011,13800138000,本科,full,2018-07-01,"
            "none,false\n").encode()


ORG = {"org_id": "@branch"}
COUNTY = {"org_id": "@county"}
ACTIVITY = {"activity_id": "@activity"}
ITEM = {"item_id": "@item"}
PACKAGE = {"package_id": "@package"}
QUIZ = {"quiz_id": "@quiz"}
ORDER = {"order_id": "@order"}
TEAM = {"team_id": "@team"}
EVENT = {"event_id": "@event"}
COMMUNITY = {"org_id": "@community"}
LETTER = {"letter_id": "@letter"}

FIELDS: dict[str, dict] = {
    # identity
    "CreateTenant": {"code": "rm-refused", "name": "越权市", "admin_username": "admin", "admin_password": "Passw0rd!x"},
    "RevokeSession": {"session_id": "@session"},
    "ListSessions": {"account_id": "@account"},
    "RecordScan": {"token": "@qr_token", "fix": "@fix"},
    "GetOrg": ORG, "ListSubtree": ORG, "UpdateOrg": {**ORG, "name": "越权改名"},
    "CreateOrg": {"parent_id": "@branch", "name": "越权组织", "kind": "group"},
    "MoveOrg": {**ORG, "new_parent_id": "@committee"}, "DissolveOrg": ORG,
    "CreateMember": {"branch_id": "@branch"},
    "GetMember": {"member_id": "@member"}, "UpdateMember": {"member_id": "@member", "name": "越权改名"},
    "RemoveMember": {"member_id": "@member"}, "ListMembers": {**ORG, "q": ""},
    "ChangeMemberStatus": {"member_id": "@activist", "status": "probationary"},
    "CreateAccount": {"username": "refused-account", "password": "Passw0rd!x", "role": "branch_secretary",
                      "org_id": "@branch"},
    "ListAccounts": ORG,
    "ResetTenantAdminPassword": {"tenant_code": "@tenant_code", "username": "admin", "password": "Passw0rd!x"},
    "ResetAccountPassword": {"account_id": "@account", "password": "Passw0rd!x"},
    "DisableAccount": {"account_id": "@account", "reason": "越权"}, "EnableAccount": {"account_id": "@account"},
    "RemoveAccount": {"account_id": "@account"},
    "RequestTransfer": {"member_id": "@member", "to_branch_id": "@neighbour", "reason": "越权"},
    "AcceptTransfer": {"transfer_id": "@transfer"}, "RejectTransfer": {"transfer_id": "@transfer", "reason": "越权"},
    "ListTransfers": ORG,
    "ListDevelopmentRecords": {**ORG, "status": ""}, "GetDevelopmentRecord": {"member_id": "@activist"},
    "RecordDevelopmentEntry": {"member_id": "@activist", "kind": "talk", "purpose": "application",
                               "on": "2024-03-10", "talker": "越权", "summary": "越权谈话"},
    "ImportOrgs": {"parent_id": "@branch", "format": "csv", "content": CSV_ORGS},
    "ImportMembers": {**ORG, "format": "csv", "content": "@members_csv"},
    # identity: party dues
    "SetDuesStandard": {"member_id": "@member", "category": "student", "income_fen": 0, "from_month": ""},
    "ListBranchDues": ORG, "RecordDuesPayment": {"member_id": "@member", "months": ["2026-01"], "amount_fen": 20},
    "ImportDuesPayments": {**ORG, "format": "csv", "content": CSV_DUES},
    "ListDuesPayments": {**ORG, "member_id": ""}, "GetDuesReceipt": {"receipt_no": "@dues_receipt"},
    "GetDuesTotals": ORG, "ExportDuesTotals": ORG,
    # attendance
    "IssueTheme": {**COUNTY, "month": "@month", "due_from": "@due_from", "due_to": "@due_to"},
    "ListThemes": ORG, "ListActivities": ORG,
    "GetActivity": ACTIVITY, "SubmitPlan": {**ACTIVITY, "date": "@due_to"}, "ReviewPlan": ACTIVITY,
    "GetQrCode": {**ACTIVITY, "direction": "in", "mode": "print"},
    "SetPrintedCode": {**ACTIVITY, "allowed": True, "reason": "越权"},
    "ListScans": ACTIVITY, "RequestLeave": ACTIVITY, "DecideLeave": {"leave_id": "@leave", "decision": "approved"},
    "ListLeaves": ACTIVITY, "PostReflection": {**ACTIVITY, "text": "越权心得"}, "ListReflections": ACTIVITY,
    "LikeActivity": ACTIVITY, "AddPhoto": {**ACTIVITY, "content": "@png"}, "AddTextRecord": ACTIVITY,
    "ListUploads": ACTIVITY, "GetUploadPhoto": {**ACTIVITY, "upload_id": "@photo_upload"},
    "BackfillScan": {**ACTIVITY, "member_id": "@member", "direction": "in", "reason": "越权补录"},
    "OpenRectification": {**ACTIVITY, "due_on": "@due_to"},
    "CloseRectification": {"rectification_id": "@rectification"}, "ListRectifications": ORG,
    "VerifyChain": ACTIVITY, "GetStatistics": {**ORG, "month_from": "@month", "month_to": "@month"},
    "ExportStatistics": {**ORG, "month_from": "@month", "month_to": "@month"},
    # 三会一课 (MeetingApi, attendance)
    "SetMeetingSettings": {"frequencies": {"lesson": "monthly"}},
    "PlanMeeting": {"branch_id": "@branch", "date": "@due_to"}, "ListMeetings": ORG,
    "GetMeeting": {"meeting_id": "@meeting"}, "RecordMeeting": {"meeting_id": "@meeting"},
    "RescheduleMeeting": {"meeting_id": "@meeting", "date": "@due_to"}, "CancelMeeting": {"meeting_id": "@meeting"},
    "GetMeetingLedger": {**ORG, "month": "@month"},
    # scoring
    "GetBranchScore": {"branch_id": "@branch", "month": "@month"},
    "RateActivity": {**ACTIVITY, "rating": 95},
    "GetRanking": {**ORG, "period": "@month", "field": ""}, "GetProgress": {**ORG, "period": "@month"},
    "GetTrend": {"branch_id": "@branch"}, "CompareOrgs": {"org_ids": ["@branch"], "period": "@month"},
    "SpotCheck": {**ORG, "month": "@month"}, "SupervisionList": {**ORG, "month": "@month"},
    "QuarterlyBulletin": ORG, "AnnualAssessment": ORG, "ExportReport": ORG, "Reconcile": {**ORG, "period": "@month"},
    "GetLedger": {"member_id": "@me"}, "AddDeduction": {"member_id": "@me", "request_id": "refused-1"},
    "CorrectEntry": {"entry_id": "@entry"}, "ListTalkCandidates": ORG,
    "RecordTalk": {"member_id": "@me"}, "ListTalks": ORG,
    # scoring: the democratic appraisal
    "CreateAppraisal": {**ORG, "closes_at": "@tomorrow"}, "OpenAppraisal": {"appraisal_id": "@appraisal"},
    "GetAppraisal": {"appraisal_id": "@appraisal"}, "ListAppraisals": {**ORG, "year": ""},
    "SubmitReview": {"appraisal_id": "@appraisal", "member_id": ""}, "CastVote": {"appraisal_id": "@appraisal"},
    "DecideAppraisal": {"appraisal_id": "@appraisal"},
    # content
    "ListColumns": ORG, "CreateColumn": ORG, "CreateItem": {"column_id": "@column", "attachment_ids": []},
    "GetItem": ITEM, "UpdateItem": ITEM, "SubmitItem": ITEM, "ReviewItem": ITEM, "WithdrawItem": ITEM,
    "PinItem": {**ITEM, "pinned_until": "@tomorrow"}, "PushItem": ITEM, "GetItemHistory": ITEM,
    "ListItems": {**ORG, "status": "", "kind": ""}, "ListNotices": ORG, "GetReceipts": ITEM,
    "GetBranchReceipts": {**ITEM, "branch_id": "@branch"}, "RemindUnread": {**ITEM, "branch_id": "@branch"},
    "UploadAttachment": ORG, "ListAttachments": ORG, "DownloadAttachment": {"attachment_id": "@attachment"},
    "CreatePackage": {**ORG, "month": "@month", "due_on": "@due_to"}, "UpdatePackage": PACKAGE,
    "PublishPackage": PACKAGE, "ClosePackage": PACKAGE, "GetPackage": PACKAGE,
    "ListPackages": {**ORG, "month": "", "status": ""},
    "GetPackageProgress": {**PACKAGE, "org_id": "@county", "by": "branch"},
    "ListPackageMembers": {**PACKAGE, "branch_id": "@branch"}, "StartStudy": PACKAGE,
    "StudyHeartbeat": {"session_id": "@study_session"}, "EndStudy": {"session_id": "@study_session"},
    "GetStudyRanking": {"branch_id": "@branch", "month": "@month"},
    "CreateBankQuestion": ORG, "ListBankQuestions": {**ORG, "category": "", "difficulty": 0, "kind": ""},
    "RetireBankQuestion": {"question_id": "@question"},
    "ImportBankQuestions": {**ORG, "format": "csv", "content": CSV_QUESTIONS},
    "CreateQuiz": {**ORG, "open_at": "@now", "close_at": "@tomorrow"}, "ListQuizzes": {**ORG, "kind": ""},
    "GetQuiz": QUIZ, "GetQuizLeaderboard": QUIZ, "StartQuizAttempt": QUIZ,
    "GetQuizAttempt": {"attempt_id": "@attempt"},
    "SaveQuizAnswer": {"attempt_id": "@attempt", "question_id": "@attempt_question", "choices": ["A"]},
    "SubmitQuizAttempt": {"attempt_id": "@attempt"},
    "GetGapReport": {"branch_id": "@branch", "month": "@month"},
    "ProposeRoleModels": {"branch_id": "@branch", "period": "@last_month"},
    "NameRoleModel": {"branch_id": "@branch", "period": "@last_month", "member_id": "@member"},
    "ListRoleModels": {**ORG, "kind": ""}, "ListPublicities": {**ORG, "state": ""},
    "GetPublicity": {"publicity_id": "@publicity"}, "ObjectToPublicity": {"publicity_id": "@publicity"},
    "ListObjections": {"publicity_id": "@publicity"}, "HandleObjection": {"objection_id": "@objection"},
    "ListLetters": {**ORG, "state": ""}, "GetLetter": LETTER, "AnswerLetter": LETTER, "WithdrawLetter": LETTER,
    # volunteer
    "GetOrder": ORDER, "CancelOrder": ORDER, "ConfirmOrder": ORDER, "DisputeOrder": ORDER,
    "ListOrders": {**COMMUNITY, "status": "", "category": "", "overdue": False},
    "ReviewOrder": ORDER, "MergeOrder": {**ORDER, "into_order_id": "@order"},
    "DispatchOrder": {**ORDER, "mode": "claim", "team_id": ""}, "ResolveDispute": ORDER,
    "ClaimOrder": ORDER, "WithdrawClaim": ORDER, "CheckInService": {**ORDER, **FIX},
    "CheckOutService": {**ORDER, **FIX}, "ReportCompletion": ORDER, "AddCompletionPhoto": {**ORDER, "content": "@jpeg"},
    "GetCompletionPhoto": {"photo_id": "@photo"},
    "GetCommunityProfile": COMMUNITY, "SetCommunityProfile": COMMUNITY,
    "CreateTeam": COMMUNITY, "ListTeams": COMMUNITY, "GetTeam": TEAM, "JoinTeam": TEAM, "LeaveTeam": TEAM,
    "RemoveTeamMember": {**TEAM, "member_id": "@member"}, "CreateTeamEvent": {**TEAM, "starts_at": "@starts",
                                                                            "ends_at": "@ends"},
    "ListTeamEvents": TEAM, "GetTeamEvent": EVENT, "SignUpEvent": EVENT, "CancelSignUp": EVENT,
    "CheckInEvent": {**EVENT, **FIX}, "CheckOutEvent": {**EVENT, **FIX}, "CloseTeamEvent": EVENT,
    "ReportToCommunity": {"community_id": "@community", "reported_on": ""},
    "ListReportedMembers": COMMUNITY, "ListUnreportedMembers": ORG,
    "GetMemberHours": {"member_id": "@member"},
    "GetVolunteerStatistics": {**ORG, "since": "", "until": ""},
    "ListHoursRanking": {**ORG, "since": "", "until": ""},
    "ExportVolunteerStatistics": {**ORG, "since": "", "until": ""},
}
