"""The operation table: every API operation, once, for HTTP, gRPC, OpenAPI and /docs.

A row names an rpc of a proto service, its HTTP method and path (``{field}`` binds a
request field), the nameko method that carries it out, whether it needs a token
and a one-line summary. Request and response types come from the proto service.
To add a service: write its .proto, then one ``api_operations(...)`` block below.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from protos.partybuilding.v1 import attendance_pb2, identity_pb2
from protos.partybuilding.v1 import meetings_pb2
from protos.partybuilding.v1 import scoring_pb2
from protos.partybuilding.v1 import appraisal_pb2
from protos.partybuilding.v1 import content_pb2
from protos.partybuilding.v1 import community_pb2
from protos.partybuilding.v1 import library_pb2
from protos.partybuilding.v1 import learning_pb2
from protos.partybuilding.v1 import quiz_pb2
from protos.partybuilding.v1 import recommendation_pb2
from protos.partybuilding.v1 import volunteer_pb2
from protos.partybuilding.v1 import audit_pb2
from protos.partybuilding.v1 import dues_pb2
from protos.partybuilding.v1 import development_pb2
from servicekit.spreadsheets import XLSX_MEDIA_TYPE

PATH_PARAM = re.compile(r"\{(\w+)\}")
UPLOAD_MEDIA_TYPES = {
    "text/csv": "csv",
    XLSX_MEDIA_TYPE: "xlsx",
}


@dataclass(frozen=True)
class Upload:
    """The HTTP body is a raw file: it fills content_field, its type fills format_field.

    ``media_types`` maps each accepted Content-Type to the value format_field gets;
    ``query_fields`` are other request fields that may come as query parameters.
    """
    content_field: str = "content"
    format_field: str = "format"
    media_types: tuple[tuple[str, str], ...] = tuple(UPLOAD_MEDIA_TYPES.items())
    query_fields: tuple[str, ...] = ()

    @property
    def media_map(self) -> dict[str, str]:
        return dict(self.media_types)


@dataclass(frozen=True)
class Download:
    """The answer is a file: over HTTP the client may ask for the file itself instead of its JSON (``Accept``
    naming ``media_type``, or ``?download=1``); the answer's fields give its name, media type and bytes.
    ``ascii_name`` begins the plain-ASCII file name sent for clients that cannot read a UTF-8 one."""
    ascii_name: str
    media_type: str = XLSX_MEDIA_TYPE
    filename_field: str = "filename"
    media_field: str = "content_type"
    content_field: str = "content"
    # An image a page shows in place (``<img src>``, a new tab): over HTTP the answer is always the file, with
    # Content-Disposition inline, ``etag_field`` as its ETag (If-None-Match answers 304) and a private cache life.
    inline: bool = False
    etag_field: str = ""
    max_age: int = 0
    media_types: tuple[str, ...] = ()       # every media type the file may come in, when not only media_type

    @property
    def all_media_types(self) -> tuple[str, ...]:
        return self.media_types or (self.media_type,)


FILE_UPLOAD = Upload()
PHOTO_MEDIA_TYPES = {"image/jpeg": "image/jpeg", "image/png": "image/png", "image/webp": "image/webp"}
PHOTO_UPLOAD = Upload("content", "content_type", tuple(PHOTO_MEDIA_TYPES.items()), ("backfill_reason",))
# a photo never changes under its upload id: a day's private caching spares reloading every thumbnail
PHOTO_DOWNLOAD = Download("photo", "image/jpeg", inline=True, etag_field="content_hash", max_age=86400,
                          media_types=tuple(PHOTO_MEDIA_TYPES))
PUBLIC = False


@dataclass(frozen=True)
class Row:
    rpc: str
    http_method: str
    path: str
    method: str
    auth: bool = True
    summary: str = ""
    upload: Upload | None = None
    batch_method: str = ""         # nameko method taking many requests at once (see gateway.batching)
    batch_senders: int = 0         # its batches in flight at once (0: GATEWAY_BATCH_SENDERS)
    batch_wait: float = 0.0        # seconds its oldest request waits for more (0: GATEWAY_BATCH_WAIT_MS)
    client_address: bool = False   # the service is also sent the caller's address (``gateway.client_address``)
    download: Download | None = None
    citizens: bool = False         # a citizen's account may call it (every other row refuses one at the gateway)


@dataclass(frozen=True)
class Operation:
    rpc: str
    api: str                       # full name of the proto service, e.g. partybuilding.v1.IdentityApi
    request: type[Message]
    response: type[Message]
    http_method: str
    path: str
    service: str                   # nameko service name
    method: str                    # nameko method name
    auth: bool
    summary: str
    upload: Upload | None = None
    batch_method: str = ""
    client_address: bool = False
    download: Download | None = None
    batch_senders: int = 0
    citizens: bool = False
    batch_wait: float = 0.0

    @property
    def grpc_path(self) -> str:
        return f"/{self.api}/{self.rpc}"

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(PATH_PARAM.findall(self.path))


def api_operations(api: ServiceDescriptor, service: str, rows: list[Row]) -> tuple[Operation, ...]:
    """Bind rows to a proto service: every rpc needs exactly one row, every row an rpc."""
    by_rpc = {row.rpc: row for row in rows}
    if len(by_rpc) != len(rows) or set(by_rpc) != set(api.methods_by_name):
        raise ValueError(f"{api.full_name}: rows {sorted(by_rpc)} do not match rpcs {sorted(api.methods_by_name)}")
    operations = []
    for method in api.methods:
        row = by_rpc[method.name]
        request, response = GetMessageClass(method.input_type), GetMessageClass(method.output_type)
        if "scope" in request.DESCRIPTOR.fields_by_name:
            raise ValueError(f"{row.rpc}: 'scope' is reserved for the caller's scope")
        if row.client_address and "client_address" in request.DESCRIPTOR.fields_by_name:
            raise ValueError(f"{row.rpc}: 'client_address' is the gateway's to fill, never the caller's")
        for name in PATH_PARAM.findall(row.path):
            if name not in request.DESCRIPTOR.fields_by_name:
                raise ValueError(f"{row.rpc}: path parameter {name} is not a field of {request.DESCRIPTOR.name}")
        operations.append(Operation(row.rpc, api.full_name, request, response, row.http_method, row.path,
                                    service, row.method, row.auth, row.summary, row.upload,
                                    row.batch_method, row.client_address, row.download, row.batch_senders,
                                    row.citizens, row.batch_wait))
    return tuple(operations)


IDENTITY = api_operations(identity_pb2.DESCRIPTOR.services_by_name["IdentityApi"], "identity", [
    #   rpc                  HTTP      path                                         nameko method           auth
    Row("Login",              "POST",   "/v1/auth/login",                            "login",                PUBLIC,
        summary="Log in with tenant code, username and password; get a bearer token", client_address=True),
    Row("RegisterCitizen",    "POST",   "/v1/citizens",                              "register_citizen",     PUBLIC,
        summary="A citizen (群众) opens its own account with its mobile number; then it logs in",
        client_address=True),
    Row("CreateTenant",       "POST",   "/v1/tenants",                               "create_tenant",
        summary="Create a tenant with its root organisation and admin (operator only)"),
    Row("GetMe",              "GET",    "/v1/me",                                    "get_me",
        summary="The calling account, its member record and its organisations", citizens=True),
    Row("Refresh",            "POST",   "/v1/auth/refresh",                          "refresh",              PUBLIC,
        summary="Swap a refresh token for a new access and refresh token", client_address=True),
    Row("Logout",             "POST",   "/v1/auth/logout",                           "logout",
        summary="End the caller's own session", citizens=True),
    Row("ListSessions",       "GET",    "/v1/sessions",                              "list_sessions",
        summary="The live sessions of one's own account or of an account in an admin's subtree", citizens=True),
    Row("RevokeSession",      "POST",   "/v1/sessions/{session_id}:revoke",          "revoke_session",
        summary="Revoke one session (one's own, or an admin's over its subtree)", citizens=True),
    Row("ChangePassword",     "POST",   "/v1/me:change-password",                    "change_password",
        summary="Change one's own password; every other session is revoked", citizens=True),
    Row("VerifyLoginTotp",    "POST",   "/v1/auth/login:totp",                       "verify_login_totp",    PUBLIC,
        summary="The login's second step: its challenge and a current TOTP code; get a bearer token",
        client_address=True),
    Row("GetTotpStatus",      "GET",    "/v1/me/totp",                               "get_totp_status",
        summary="Whether one's own second factor (TOTP) is on, pending or mandatory"),
    Row("BeginTotpEnrolment", "POST",   "/v1/me/totp:begin",                         "begin_totp_enrolment",
        summary="Start enrolling one's own TOTP: a new secret and otpauth URI, shown once"),
    Row("ConfirmTotpEnrolment", "POST", "/v1/me/totp:confirm",                       "confirm_totp_enrolment",
        summary="Switch one's own TOTP on with the first valid code of the new secret"),
    Row("DisableTotp",        "POST",   "/v1/me/totp:disable",                       "disable_totp",
        summary="Switch one's own TOTP off with a current code"),
    Row("ResetAccountTotp",   "POST",   "/v1/accounts/{account_id}:reset-totp",      "reset_account_totp",
        summary="Remove the TOTP of an account in the admin's subtree, with a recorded reason"),
    Row("SetTotpPolicy",      "POST",   "/v1/tenant/totp-policy",                    "set_totp_policy",
        summary="Make TOTP mandatory for the tenant's city and county admins, or not (city admin only)"),
    Row("GetOrg",             "GET",    "/v1/orgs/{org_id}",                         "get_org",
        summary="Read one organisation"),
    Row("ListSubtree",        "GET",    "/v1/orgs/{org_id}/subtree",                 "list_subtree",
        summary="List an organisation and the nodes below it"),
    Row("CreateOrg",          "POST",   "/v1/orgs",                                  "create_org",
        summary="Create an organisation under a parent"),
    Row("UpdateOrg",          "PATCH",  "/v1/orgs/{org_id}",                         "update_org",
        summary="Rename or reclassify an organisation"),
    Row("MoveOrg",            "POST",   "/v1/orgs/{org_id}:move",                    "move_org",
        summary="Move an organisation and its subtree under another parent"),
    Row("DissolveOrg",        "DELETE", "/v1/orgs/{org_id}",                         "dissolve_org",
        summary="Dissolve an empty organisation"),
    Row("CreateMember",       "POST",   "/v1/members",                               "create_member",
        summary="Register a member in a branch"),
    Row("GetMember",          "GET",    "/v1/members/{member_id}",                   "get_member",
        summary="Read one member"),
    Row("UpdateMember",       "PATCH",  "/v1/members/{member_id}",                   "update_member",
        summary="Correct a member's data"),
    Row("RemoveMember",       "DELETE", "/v1/members/{member_id}",                   "remove_member",
        summary="Remove a member from the register"),
    Row("ListMembers",        "GET",    "/v1/orgs/{org_id}/members",                 "list_members",
        summary="List the members of an organisation's subtree"),
    Row("ChangeMemberStatus", "POST",   "/v1/members/{member_id}:change-status",     "change_member_status",
        summary="Advance a member to the next political status"),
    Row("CreateAccount",      "POST",   "/v1/accounts",                              "create_account",
        summary="Create a login account with one role"),
    Row("ListAccounts",       "GET",    "/v1/orgs/{org_id}/accounts",                "list_accounts",
        summary="List the accounts of an organisation's subtree, without secrets"),
    Row("ResetTenantAdminPassword", "POST", "/v1/tenants/{tenant_code}/admin:reset-password",
        "reset_tenant_admin_password",
        summary="Set a new password for a tenant's admin, given or generated (operator only)"),
    Row("ResetAccountPassword", "POST", "/v1/accounts/{account_id}:reset-password", "reset_account_password",
        summary="Set a new password for an account in the admin's subtree; its sessions are revoked"),
    Row("DisableAccount",     "POST",   "/v1/accounts/{account_id}:disable",         "disable_account",
        summary="Disable an account in the admin's subtree; its sessions are revoked"),
    Row("EnableAccount",      "POST",   "/v1/accounts/{account_id}:enable",          "enable_account",
        summary="Enable a disabled account in the admin's subtree"),
    Row("RemoveAccount",      "DELETE", "/v1/accounts/{account_id}",                 "remove_account",
        summary="Remove a login in the admin's subtree; its sessions are revoked"),
    Row("RequestTransfer",    "POST",   "/v1/transfers",                             "request_transfer",
        summary="Ask to move a member to another branch"),
    Row("AcceptTransfer",     "POST",   "/v1/transfers/{transfer_id}:accept",        "accept_transfer",
        summary="Accept a pending transfer"),
    Row("RejectTransfer",     "POST",   "/v1/transfers/{transfer_id}:reject",        "reject_transfer",
        summary="Reject a pending transfer with a reason"),
    Row("ListTransfers",      "GET",    "/v1/orgs/{org_id}/transfers",               "list_transfers",
        summary="List transfers leaving or entering an organisation's subtree"),
    Row("ImportOrgs",         "POST",   "/v1/orgs/{parent_id}/org-imports",          "import_orgs",
        summary="Import organisations from a CSV or XLSX file", upload=FILE_UPLOAD),
    Row("ImportMembers",      "POST",   "/v1/orgs/{org_id}/member-imports",          "import_members",
        summary="Import members from a CSV or XLSX file", upload=FILE_UPLOAD),
])

ATTENDANCE = api_operations(attendance_pb2.DESCRIPTOR.services_by_name["AttendanceApi"], "attendance", [
    #   rpc                  HTTP      path                                              nameko method
    Row("IssueTheme",         "POST",   "/v1/themes",                                     "issue_theme",
        summary="Issue the month's theme to every branch of a subtree (一键下发)"),
    Row("ListThemes",         "GET",    "/v1/orgs/{org_id}/themes",                       "list_themes",
        summary="List the themes issued in a subtree"),
    Row("ListActivities",     "GET",    "/v1/orgs/{org_id}/activities",                   "list_activities",
        summary="List the themed-day activities of a subtree"),
    Row("GetActivity",        "GET",    "/v1/activities/{activity_id}",                   "get_activity",
        summary="Read one activity"),
    Row("SubmitPlan",         "POST",   "/v1/activities/{activity_id}:submit-plan",       "submit_plan",
        summary="Fill in and submit the branch's plan"),
    Row("ReviewPlan",         "POST",   "/v1/activities/{activity_id}:review",            "review_plan",
        summary="Approve or reject a submitted plan"),
    Row("GetQrCode",          "GET",    "/v1/activities/{activity_id}/qr/{direction}",    "get_qr_code",
        summary="The sign-in or sign-out QR code (rotating, or printable where allowed)"),
    Row("SetPrintedCode",     "POST",   "/v1/activities/{activity_id}:printed-code",      "set_printed_code",
        summary="Allow or stop allowing the printed sign-in code for an activity (the superior)"),
    Row("RecordScan",         "POST",   "/v1/scans",                                      "record_scan",
        summary="Sign in or out by scanning a QR code", batch_method="record_scans"),
    Row("ListScans",          "GET",    "/v1/activities/{activity_id}/scans",             "list_scans",
        summary="List the counted scans of an activity"),
    Row("RequestLeave",       "POST",   "/v1/activities/{activity_id}/leaves",            "request_leave",
        summary="Ask for leave before the activity starts"),
    Row("DecideLeave",        "POST",   "/v1/leaves/{leave_id}:decide",                   "decide_leave",
        summary="Approve or refuse a leave request"),
    Row("ListLeaves",         "GET",    "/v1/activities/{activity_id}/leaves",            "list_leaves",
        summary="List the leave requests of an activity"),
    Row("PostReflection",     "POST",   "/v1/activities/{activity_id}/reflections",       "post_reflection",
        summary="Post a reflection after signing out"),
    Row("ListReflections",    "GET",    "/v1/activities/{activity_id}/reflections",       "list_reflections",
        summary="List the reflections of an activity"),
    Row("LikeActivity",       "POST",   "/v1/activities/{activity_id}:like",              "like_activity",
        summary="A mobile member likes the activity"),
    Row("AddPhoto",           "POST",   "/v1/activities/{activity_id}/photos",            "add_photo",
        summary="Upload a photo of the activity", upload=PHOTO_UPLOAD),
    Row("AddTextRecord",      "POST",   "/v1/activities/{activity_id}/text-records",      "add_text_record",
        summary="Add the written record of the activity"),
    Row("ListUploads",        "GET",    "/v1/activities/{activity_id}/uploads",           "list_uploads",
        summary="List the photos and written records of an activity"),
    Row("GetUploadPhoto",     "GET",    "/v1/activities/{activity_id}/uploads/{upload_id}/photo", "get_upload_photo",
        summary="A photo of the activity as an image, full size or thumbnail", download=PHOTO_DOWNLOAD),
    Row("BackfillScan",       "POST",   "/v1/activities/{activity_id}:backfill-scan",     "backfill_scan",
        summary="Enter a scan after closing, marked back-filled"),
    Row("OpenRectification",  "POST",   "/v1/activities/{activity_id}/rectifications",    "open_rectification",
        summary="Open a rectification item"),
    Row("CloseRectification", "POST",   "/v1/rectifications/{rectification_id}:close",    "close_rectification",
        summary="Close a rectification item"),
    Row("ListRectifications", "GET",    "/v1/orgs/{org_id}/rectifications",               "list_rectifications",
        summary="List the rectification items of a subtree"),
    Row("VerifyChain",        "GET",    "/v1/activities/{activity_id}/chain",             "verify_chain",
        summary="Verify the activity's hash chain"),
    Row("GetStatistics",      "GET",    "/v1/orgs/{org_id}/attendance-statistics",        "get_statistics",
        summary="Attendance statistics of a subtree"),
    Row("ExportStatistics",   "GET",    "/v1/orgs/{org_id}/attendance-statistics.xlsx",   "export_statistics",
        summary="Attendance statistics as an XLSX workbook", download=Download("attendance-statistics")),
])

# 三会一课 and the compliance ledger, carried out by the attendance service (docs/attendance-rpc.md#meetings-三会一课);
# a meeting's sign-in, leave and photos are the activity rows above, with the meeting's id as the activity id.
MEETINGS = api_operations(meetings_pb2.DESCRIPTOR.services_by_name["MeetingApi"], "attendance", [
    #   rpc                   HTTP      path                                          nameko method
    Row("GetMeetingSettings", "GET",    "/v1/meeting-settings",                       "get_meeting_settings",
        summary="The tenant's meeting frequencies, committee size and back-fill days"),
    Row("SetMeetingSettings", "POST",   "/v1/meeting-settings",                       "set_meeting_settings",
        summary="Change the tenant's meeting settings (a city admin)"),
    Row("PlanMeeting",        "POST",   "/v1/branches/{branch_id}/meetings",          "plan_meeting",
        summary="Plan a branch meeting (三会一课) with QR / geofence sign-in"),
    Row("ListMeetings",       "GET",    "/v1/orgs/{org_id}/meetings",                 "list_meetings",
        summary="List the meetings of a subtree"),
    Row("GetMeeting",         "GET",    "/v1/meetings/{meeting_id}",                  "get_meeting",
        summary="Read one meeting with its attendance and record"),
    Row("RecordMeeting",      "POST",   "/v1/meetings/{meeting_id}:record",           "record_meeting",
        summary="Record a held meeting (late records are back-filled, 补录)"),
    Row("RescheduleMeeting",  "POST",   "/v1/meetings/{meeting_id}:reschedule",       "reschedule_meeting",
        summary="Change a planned meeting's time, venue and title before its sign-in opens (改期)"),
    Row("CancelMeeting",      "POST",   "/v1/meetings/{meeting_id}:cancel",           "cancel_meeting",
        summary="Cancel a planned meeting before its sign-in opens, with a reason (取消)"),
    Row("GetMeetingLedger",   "GET",    "/v1/orgs/{org_id}/meeting-ledger",           "get_meeting_ledger",
        summary="The compliance ledger of a subtree: required against held, yellow and red"),
])

SCORING = api_operations(scoring_pb2.DESCRIPTOR.services_by_name["ScoringApi"], "scoring", [
    #   rpc                   HTTP      path                                          nameko method
    Row("GetBranchScore",     "GET",    "/v1/scores",                                 "get_branch_score",
        summary="A branch's themed-day score with its breakdown and raw counts"),
    Row("RateActivity",       "POST",   "/v1/scores/{activity_id}:rate",              "rate_activity",
        summary="A superior organisation rates a branch's themed day (0-100)"),
    Row("GetRanking",         "GET",    "/v1/orgs/{org_id}/ranking",                  "get_ranking",
        summary="Rank the branches of a subtree for a month, quarter or year"),
    Row("GetProgress",        "GET",    "/v1/orgs/{org_id}/progress",                 "get_progress",
        summary="Progress of the themed day by stage, overall or by field or category"),
    Row("GetTrend",           "GET",    "/v1/branches/{branch_id}/trend",             "get_trend",
        summary="A branch's monthly scores over a range of months"),
    Row("CompareOrgs",        "POST",   "/v1/scores:compare",                         "compare_orgs",
        summary="Compare the branch scores of several organisations"),
    Row("SpotCheck",          "POST",   "/v1/orgs/{org_id}/spot-checks",              "spot_check",
        summary="A random sample of branches with their evidence"),
    Row("SupervisionList",    "GET",    "/v1/orgs/{org_id}/supervision",              "supervision_list",
        summary="The month's supervision list"),
    Row("QuarterlyBulletin",  "GET",    "/v1/orgs/{org_id}/bulletin",                 "quarterly_bulletin",
        summary="The quarter's bulletin: best and weakest branches"),
    Row("AnnualAssessment",   "GET",    "/v1/orgs/{org_id}/assessment",               "annual_assessment",
        summary="The year's assessment with grades"),
    Row("ExportReport",       "GET",    "/v1/orgs/{org_id}/reports/{kind}",           "export_report",
        summary="A supervision list, bulletin or assessment as XLSX",
        download=Download("report", media_field="media_type")),
    Row("Reconcile",          "POST",   "/v1/orgs/{org_id}/reconcile",                "reconcile",
        summary="Recompute a period's scores from attendance records and list differences"),
    Row("GetPointsRules",     "GET",    "/v1/points/rules",                           "get_points_rules",
        summary="The tenant's member points rules"),
    Row("SetPointsRules",     "PUT",    "/v1/points/rules",                           "set_points_rules",
        summary="Replace the tenant's member points rules (city admin)"),
    Row("GetLedger",          "GET",    "/v1/points/ledger",                          "get_ledger",
        summary="A member's points ledger of a cycle"),
    Row("AddDeduction",       "POST",   "/v1/members/{member_id}/deductions",         "add_deduction",
        summary="Deduct points for an item of the negative list"),
    Row("CorrectEntry",       "POST",   "/v1/points/corrections",                     "correct_entry",
        summary="Correct a ledger entry by an opposite entry"),
    Row("ListTalkCandidates", "GET",    "/v1/orgs/{org_id}/talk-candidates",          "list_talk_candidates",
        summary="Members below the points threshold, each with whether the talk was recorded"),
    Row("RecordTalk",         "POST",   "/v1/members/{member_id}/talks",              "record_talk",
        summary="Record the secretary's talk (诫勉谈话) with a member on the talk list"),
    Row("ListTalks",          "GET",    "/v1/orgs/{org_id}/talks",                    "list_talks",
        summary="The secretary's talks recorded in a subtree for a cycle"),
])

# The democratic appraisal of members (民主评议党员), carried out by the scoring service (docs/scoring-rpc.md).
APPRAISAL = api_operations(appraisal_pb2.DESCRIPTOR.services_by_name["AppraisalApi"], "scoring", [
    #   rpc                   HTTP      path                                          nameko method
    Row("CreateAppraisal",    "POST",   "/v1/orgs/{org_id}/appraisals",               "create_appraisal",
        summary="Create a branch's yearly democratic appraisal (draft) with its roster"),
    Row("OpenAppraisal",      "POST",   "/v1/appraisals/{appraisal_id}:open",         "open_appraisal",
        summary="Open an appraisal's reviews and vote until its closing time"),
    Row("GetAppraisal",       "GET",    "/v1/appraisals/{appraisal_id}",              "get_appraisal",
        summary="An appraisal as the caller may see it (progress, tallies of 5 voters or more, own part)"),
    Row("ListAppraisals",     "GET",    "/v1/orgs/{org_id}/appraisals",               "list_appraisals",
        summary="The appraisals of a subtree with their results"),
    Row("ListMyAppraisals",   "GET",    "/v1/me/appraisals",                          "list_my_appraisals",
        summary="The calling member's appraisals with its own part and result"),
    Row("SubmitReview",       "POST",   "/v1/appraisals/{appraisal_id}/reviews",      "submit_review",
        summary="A member's self-review or mutual review"),
    Row("CastVote",           "POST",   "/v1/appraisals/{appraisal_id}/votes",        "cast_vote",
        summary="A member's anonymous vote on every other member, once"),
    Row("DecideAppraisal",    "POST",   "/v1/appraisals/{appraisal_id}:decide",       "decide_appraisal",
        summary="The committee's or assembly's grades, each with a reason"),
    Row("SetAppraisalSettings", "PUT",  "/v1/appraisal-settings",                     "set_appraisal_settings",
        summary="The tenant's share of 优秀 and the share of negative votes that flags (city admin)"),
])

# The content service (nameko ``content``) answers several proto services, one per topic. Its batched calls keep
# two batches each in flight: a batch of answers is many small writes, whose waits the next batch overlaps
# (docs/performance.md#content-a-notice-and-a-contest-on-one-morning).
CONTENT_SENDERS = 2
# Its batched calls that write (an open's read receipt, an attempt's start, answer, submission) wait longer for
# company than a feed: a batch costs the platform milliseconds of CPU whatever its size, and fewer, fuller batches
# of writes leave the cores to the feeds, whose p99 is the tightest target.
CONTENT_WRITES_WAIT = 0.1
CONTENT = api_operations(content_pb2.DESCRIPTOR.services_by_name["ContentApi"], "content", [
    #   rpc                   HTTP      path                                          nameko method
    Row("GetContentSettings", "GET",    "/v1/content/settings",                       "get_settings",
        summary="The tenant's content settings"),
    Row("SetContentSettings", "PATCH",  "/v1/content/settings",                       "set_settings",
        summary="Change some of the tenant's content settings (city admin)"),
    Row("ListColumns",        "GET",    "/v1/orgs/{org_id}/columns",                  "list_columns",
        summary="A node's columns, its default ones created on first use"),
    Row("CreateColumn",       "POST",   "/v1/orgs/{org_id}/columns",                  "create_column",
        summary="Add a column to a node, with or without review"),
    Row("CreateItem",         "POST",   "/v1/items",                                  "create_item",
        summary="Write a draft article, notice, download or learning item in a column"),
    Row("GetItem",            "GET",    "/v1/items/{item_id}",                        "get_item",
        summary="Read one item; a member's first open of a notice counts as read", batch_method="get_items",
        batch_senders=CONTENT_SENDERS, batch_wait=CONTENT_WRITES_WAIT),
    Row("UpdateItem",         "PATCH",  "/v1/items/{item_id}",                        "update_item",
        summary="Edit an item; a published item's edit makes a new version"),
    Row("SubmitItem",         "POST",   "/v1/items/{item_id}:submit",                 "submit_item",
        summary="Submit a draft for review, or publish it in a column without review"),
    Row("ReviewItem",         "POST",   "/v1/items/{item_id}:review",                 "review_item",
        summary="Approve (publish) or reject a submitted item with a reason"),
    Row("WithdrawItem",       "POST",   "/v1/items/{item_id}:withdraw",               "withdraw_item",
        summary="Withdraw a published item, with the reason"),
    Row("PinItem",            "POST",   "/v1/items/{item_id}:pin",                    "pin_item",
        summary="Pin a published item until a time, or unpin it"),
    Row("PushItem",           "POST",   "/v1/items/{item_id}:push",                   "push_item",
        summary="Push a published item first in members' feeds (重点推送), or stop"),
    Row("GetItemHistory",     "GET",    "/v1/items/{item_id}/history",                "item_history",
        summary="Every version of an item and every action on it"),
    Row("GetFeed",            "GET",    "/v1/feed",                                   "get_feed",
        summary="The member's feed: pushed and pinned first, then newest", batch_method="get_feeds",
        batch_senders=CONTENT_SENDERS),
    Row("ListItems",          "GET",    "/v1/orgs/{org_id}/items",                    "list_items",
        summary="A subtree's items by status, kind or column (managers)"),
    Row("ListNotices",        "GET",    "/v1/orgs/{org_id}/notices",                  "list_notices",
        summary="The published notices reaching a node, its ancestors' and its subtree's"),
    Row("GetReceipts",        "GET",    "/v1/items/{item_id}/receipts",               "notice_receipts",
        summary="A notice's read receipts per branch of the caller's subtree"),
    Row("GetBranchReceipts",  "GET",    "/v1/items/{item_id}/receipts/{branch_id}",   "notice_branch_receipts",
        summary="One branch's readers and unread members of a notice"),
    Row("RemindUnread",       "POST",   "/v1/items/{item_id}:remind",                 "remind_unread",
        summary="Remind the members who have not read a notice (recorded)"),
])
# The types an attachment may be declared as (the content service checks the bytes against the claim);
# application/octet-stream lets the bytes decide. Kept equal to services.content.domain.attachments.DECLARABLE.
OOXML = "application/vnd.openxmlformats-officedocument"
ATTACHMENT_MEDIA_TYPES = (
    "application/pdf", f"{OOXML}.wordprocessingml.document", f"{OOXML}.spreadsheetml.sheet",
    f"{OOXML}.presentationml.presentation", "application/msword", "application/vnd.ms-excel", "image/png",
    "image/jpeg", "image/jpg", "image/pjpeg", "audio/mpeg", "audio/mp3", "audio/mp4", "audio/x-m4a", "audio/m4a",
    "video/mp4", "text/plain", "text/csv", "text/markdown", "application/octet-stream")
ATTACHMENT_UPLOAD = Upload("content", "media_type", tuple((media, media) for media in ATTACHMENT_MEDIA_TYPES),
                           ("filename",))
ATTACHMENT_DOWNLOAD = Download("attachment", "application/octet-stream", media_field="media_type",
                               media_types=ATTACHMENT_MEDIA_TYPES)
LIBRARY = api_operations(library_pb2.DESCRIPTOR.services_by_name["LibraryApi"], "content", [
    #   rpc                   HTTP      path                                          nameko method
    Row("UploadAttachment",   "POST",   "/v1/orgs/{org_id}/attachments",              "upload_attachment",
        summary="Upload a file for an organisation node (its admins or secretary)", upload=ATTACHMENT_UPLOAD),
    Row("ListAttachments",    "GET",    "/v1/orgs/{org_id}/attachments",              "list_attachments",
        summary="The attachments of a subtree, newest first"),
    Row("DownloadAttachment", "GET",    "/v1/attachments/{attachment_id}",            "download_attachment",
        summary="An attachment's file (counted)", download=ATTACHMENT_DOWNLOAD),
    Row("SearchItems",        "GET",    "/v1/content/search",                         "search_items",
        summary="Full-text search of the published items in the caller's reach"),
    Row("RecentSearches",     "GET",    "/v1/content/searches/recent",                "recent_searches",
        summary="The member's latest searches"),
])
LEARNING = api_operations(learning_pb2.DESCRIPTOR.services_by_name["LearningApi"], "content", [
    #   rpc                   HTTP      path                                               nameko method
    Row("CreatePackage",      "POST",   "/v1/packages",                                    "create_package",
        summary="Create a draft learning package for a subtree (学习套餐)"),
    Row("UpdatePackage",      "PATCH",  "/v1/packages/{package_id}",                       "update_package",
        summary="Change a draft package's title, due date or items"),
    Row("PublishPackage",     "POST",   "/v1/packages/{package_id}:publish",               "publish_package",
        summary="Publish a draft package to its subtree"),
    Row("ClosePackage",       "POST",   "/v1/packages/{package_id}:close",                 "close_package",
        summary="Close a published package: study no longer counts"),
    Row("GetPackage",         "GET",    "/v1/packages/{package_id}",                       "get_package",
        summary="Read one learning package"),
    Row("ListPackages",       "GET",    "/v1/orgs/{org_id}/packages",                      "list_packages",
        summary="The packages an organisation owns or is pushed"),
    Row("ListMyPackages",     "GET",    "/v1/me/packages",                                 "list_my_packages",
        summary="The calling member's packages of a month with its progress"),
    Row("GetPackageProgress", "GET",    "/v1/packages/{package_id}/progress",              "package_progress",
        summary="A package's progress per branch, county, field or category, ranked (完成率)"),
    Row("ListPackageMembers", "GET",    "/v1/packages/{package_id}/branches/{branch_id}/members",
        "package_branch_members", summary="Each member of a branch with the items it studied"),
    Row("StartStudy",         "POST",   "/v1/packages/{package_id}/items/{item_key}:start", "start_study",
        summary="Start studying an item: the service observes the time itself"),
    Row("StudyHeartbeat",     "POST",   "/v1/study-sessions/{session_id}:heartbeat",       "study_heartbeat",
        summary="The study page is still open and visible"),
    Row("EndStudy",           "POST",   "/v1/study-sessions/{session_id}:end",             "end_study",
        summary="The study page closed or was hidden"),
    Row("GetStudyRanking",    "GET",    "/v1/branches/{branch_id}/study-ranking",          "study_ranking",
        summary="A branch's members ranked by what they studied this month (本支部学习榜)"),
])
QUIZ = api_operations(quiz_pb2.DESCRIPTOR.services_by_name["QuizApi"], "content", [
    #   rpc                    HTTP      path                                          nameko method
    Row("CreateBankQuestion",  "POST",   "/v1/questions",                              "create_bank_question",
        summary="Add a question to a node's bank (admin)"),
    Row("ListBankQuestions",   "GET",    "/v1/orgs/{org_id}/questions",                "list_bank_questions",
        summary="The questions visible at a node, by category, difficulty and kind"),
    Row("RetireBankQuestion",  "DELETE", "/v1/questions/{question_id}",                "retire_bank_question",
        summary="Take a question out of the bank"),
    Row("ImportBankQuestions", "POST",   "/v1/orgs/{org_id}/question-imports",         "import_bank_questions",
        summary="Import questions from an XLSX or CSV file (all rows or none)", upload=FILE_UPLOAD),
    Row("CreateQuiz",          "POST",   "/v1/quizzes",                                "create_quiz",
        summary="Open a quiz or knowledge contest to a subtree"),
    Row("ListQuizzes",         "GET",    "/v1/orgs/{org_id}/quizzes",                  "list_quizzes",
        summary="The quizzes and contests of a subtree"),
    Row("ListMyQuizzes",       "GET",    "/v1/my/quizzes",                             "list_my_quizzes",
        summary="A member's quizzes and contests with its standing"),
    Row("GetQuiz",             "GET",    "/v1/quizzes/{quiz_id}",                      "get_quiz",
        summary="Read one quiz or contest"),
    Row("GetQuizLeaderboard",  "GET",    "/v1/quizzes/{quiz_id}/leaderboard",          "quiz_leaderboard",
        summary="Ranking by member, branch or county"),
    Row("StartQuizAttempt",    "POST",   "/v1/quizzes/{quiz_id}/attempts",             "start_quiz_attempt",
        summary="Start (or resume) an attempt", batch_method="start_quiz_attempts",
        batch_senders=CONTENT_SENDERS, batch_wait=CONTENT_WRITES_WAIT),
    Row("GetQuizAttempt",      "GET",    "/v1/quiz-attempts/{attempt_id}",             "get_quiz_attempt",
        summary="Read the member's attempt with its saved answers"),
    Row("SaveQuizAnswer",      "PUT",    "/v1/quiz-attempts/{attempt_id}/answers/{question_id}", "save_quiz_answer",
        summary="Save one answer of an attempt", batch_method="save_quiz_answers",
        batch_senders=CONTENT_SENDERS, batch_wait=CONTENT_WRITES_WAIT),
    Row("SubmitQuizAttempt",   "POST",   "/v1/quiz-attempts/{attempt_id}:submit",      "submit_quiz_attempt",
        summary="Submit an attempt: graded on the server", batch_method="submit_quiz_attempts",
        batch_senders=CONTENT_SENDERS, batch_wait=CONTENT_WRITES_WAIT),
    Row("GetDailyQuestion",    "GET",    "/v1/daily-question",                         "get_daily_question",
        summary="The member's question of the day"),
    Row("AnswerDailyQuestion", "POST",   "/v1/daily-question:answer",                  "answer_daily_question",
        summary="Answer the day's question, once"),
])
RECOMMENDATION = api_operations(recommendation_pb2.DESCRIPTOR.services_by_name["RecommendationApi"], "content", [
    #   rpc                    HTTP      path                                         nameko method
    Row("ListRecommendations", "GET",    "/v1/recommendations",                       "list_recommendations",
        summary="Items recommended to the calling member, each with its reason"),
    Row("GetGapReport",        "GET",    "/v1/branches/{branch_id}/gap-report",       "branch_gap_report",
        summary="A branch's weakest quiz categories and its members behind on this month's packages"),
])
COMMUNITY = api_operations(community_pb2.DESCRIPTOR.services_by_name["CommunityApi"], "content", [
    #   rpc                   HTTP      path                                          nameko method
    Row("ProposeRoleModels",  "GET",    "/v1/branches/{branch_id}/role-model-candidates", "propose_role_models",
        summary="A branch's proposed weekly pioneer or monthly star candidates, from the period's points"),
    Row("NameRoleModel",      "POST",   "/v1/branches/{branch_id}/role-models",       "name_role_model",
        summary="Name the branch's weekly pioneer or monthly star with a citation, and publish it"),
    Row("ListRoleModels",     "GET",    "/v1/orgs/{org_id}/role-models",              "list_role_models",
        summary="The role models named in a subtree"),
    Row("ListPublicities",    "GET",    "/v1/orgs/{org_id}/publicities",              "list_publicities",
        summary="The development publicities (发展党员公示) of a subtree"),
    Row("GetPublicity",       "GET",    "/v1/publicities/{publicity_id}",             "get_publicity",
        summary="A development publicity, for anyone who sees its notice"),
    Row("ObjectToPublicity",  "POST",   "/v1/publicities/{publicity_id}/objections",  "object_to_publicity",
        summary="Object to an open publicity, by real name or anonymously"),
    Row("ListObjections",     "GET",    "/v1/publicities/{publicity_id}/objections",  "list_objections",
        summary="A publicity's objections with who objected (the superior's admins)"),
    Row("HandleObjection",    "POST",   "/v1/objections/{objection_id}:handle",       "handle_objection",
        summary="Record how an objection was handled; a sustained one suspends the publicity"),
    Row("WriteLetter",        "POST",   "/v1/letters",                                "write_letter",
        summary="Write to the branch secretary or the superior (书记信箱), optionally anonymous to the secretary"),
    Row("ListMyLetters",      "GET",    "/v1/letters",                                "list_my_letters",
        summary="The caller's letters and their answers"),
    Row("ListLetters",        "GET",    "/v1/orgs/{org_id}/letters",                  "list_letters",
        summary="The letters a manager receives in a subtree, overdue first"),
    Row("GetLetter",          "GET",    "/v1/letters/{letter_id}",                    "get_letter",
        summary="A letter, for its author or its recipients"),
    Row("AnswerLetter",       "POST",   "/v1/letters/{letter_id}:answer",             "answer_letter",
        summary="Answer a letter"),
    Row("WithdrawLetter",     "POST",   "/v1/letters/{letter_id}:withdraw",           "withdraw_letter",
        summary="Withdraw an unanswered letter (its author)"),
])

# The volunteer service (nameko ``volunteer``, docs/volunteer-rpc.md) answers three proto services. Its public rows
# (a guest's order by tracking code, the open communities) take the caller's address; ``citizens=True`` marks what
# a citizen's own account may call, every other row refuses it at the gateway (``Dispatcher.authenticate``).
VOLUNTEER_PHOTO_UPLOAD = Upload("content", "content_type", tuple(PHOTO_MEDIA_TYPES.items()))
VOLUNTEER_PHOTO_DOWNLOAD = Download("order-photo", "image/jpeg", inline=True, etag_field="content_hash",
                                    max_age=86400, media_types=tuple(PHOTO_MEDIA_TYPES))
CITIZENS = True
VOLUNTEER_ORDERS = api_operations(volunteer_pb2.DESCRIPTOR.services_by_name["OrderApi"], "volunteer", [
    #   rpc                     HTTP      path                                                   nameko method
    Row("ListOpenCommunities",  "GET",    "/v1/volunteer/communities",
        "list_open_communities", PUBLIC, summary="The communities of a tenant that take orders, with their categories",
        client_address=True),
    Row("PlaceOrder",           "POST",   "/v1/volunteer/orders",                                "place_order",
        summary="A citizen places a service order with a community (群众点单)", citizens=CITIZENS),
    Row("PlaceGuestOrder",      "POST",   "/v1/volunteer/guest-orders",                          "place_guest_order",
        PUBLIC, summary="Place an order without an account; the answer's tracking code is shown once",
        client_address=True),
    Row("GetTrackedOrder",      "GET",    "/v1/volunteer/tracked-orders/{tracking_code}",        "get_tracked_order",
        PUBLIC, summary="A guest's order by tracking code and the contact phone's last 4 digits",
        client_address=True),
    Row("CancelTrackedOrder",   "POST",   "/v1/volunteer/tracked-orders/{tracking_code}:cancel", "cancel_tracked_order",
        PUBLIC, summary="A guest cancels its order before dispatch", client_address=True),
    Row("ConfirmTrackedOrder",  "POST",   "/v1/volunteer/tracked-orders/{tracking_code}:confirm",
        "confirm_tracked_order", PUBLIC, summary="A guest confirms and rates its completed order (评单)",
        client_address=True),
    Row("DisputeTrackedOrder",  "POST",   "/v1/volunteer/tracked-orders/{tracking_code}:dispute",
        "dispute_tracked_order", PUBLIC, summary="A guest disputes its completed order", client_address=True),
    Row("ListMyOrders",         "GET",    "/v1/volunteer/my-orders",                             "list_my_orders",
        summary="The calling citizen's own orders", citizens=CITIZENS),
    Row("GetOrder",             "GET",    "/v1/volunteer/orders/{order_id}",                     "get_order",
        summary="One order in the caller's view (citizen, member or manager)", citizens=CITIZENS),
    Row("CancelOrder",          "POST",   "/v1/volunteer/orders/{order_id}:cancel",              "cancel_order",
        summary="The citizen cancels its order before dispatch", citizens=CITIZENS),
    Row("ConfirmOrder",         "POST",   "/v1/volunteer/orders/{order_id}:confirm",             "confirm_order",
        summary="The citizen confirms and rates its completed order (评单); hours are credited", citizens=CITIZENS),
    Row("DisputeOrder",         "POST",   "/v1/volunteer/orders/{order_id}:dispute",             "dispute_order",
        summary="The citizen disputes its completed order", citizens=CITIZENS),
    Row("ListOrders",           "GET",    "/v1/orgs/{org_id}/volunteer-orders",                  "list_orders",
        summary="The orders of a subtree's communities, overdue first when asked"),
    Row("ReviewOrder",          "POST",   "/v1/volunteer/orders/{order_id}:review",              "review_order",
        summary="The community approves or rejects a placed order (审单)"),
    Row("MergeOrder",           "POST",   "/v1/volunteer/orders/{order_id}:merge",               "merge_order",
        summary="The community merges a duplicate order into another"),
    Row("DispatchOrder",        "POST",   "/v1/volunteer/orders/{order_id}:dispatch",            "dispatch_order",
        summary="The community opens an approved order for claiming or gives it to a team (派单)"),
    Row("ResolveDispute",       "POST",   "/v1/volunteer/orders/{order_id}:resolve",             "resolve_dispute",
        summary="The community decides a dispute, crediting the hours or not"),
    Row("ListClaimableOrders",  "GET",    "/v1/volunteer/claimable-orders", "list_claimable_orders",
        summary="The open orders the calling member may claim"),
    Row("ClaimOrder",           "POST",   "/v1/volunteer/orders/{order_id}:claim",               "claim_order",
        summary="A member claims a place on an open order (接单)"),
    Row("WithdrawClaim",        "POST",   "/v1/volunteer/orders/{order_id}:withdraw-claim",      "withdraw_claim",
        summary="A member withdraws its claim before checking in"),
    Row("ListMyClaims",         "GET",    "/v1/volunteer/my-claims",                             "list_my_claims",
        summary="The calling member's claims with their orders"),
    Row("CheckInService",       "POST",   "/v1/volunteer/orders/{order_id}:check-in",            "check_in_service",
        summary="A volunteer checks in at the order's position"),
    Row("CheckOutService",      "POST",   "/v1/volunteer/orders/{order_id}:check-out",           "check_out_service",
        summary="A volunteer checks out; the claim's hours are the time between, capped"),
    Row("ReportCompletion",     "POST",   "/v1/volunteer/orders/{order_id}:report",              "report_completion",
        summary="A volunteer reports the service done"),
    Row("AddCompletionPhoto",   "POST",   "/v1/volunteer/orders/{order_id}/photos",              "add_completion_photo",
        summary="A volunteer adds a photo of the service", upload=VOLUNTEER_PHOTO_UPLOAD),
    Row("GetCompletionPhoto",   "GET",    "/v1/volunteer/order-photos/{photo_id}",               "get_completion_photo",
        summary="A completion photo as an image", download=VOLUNTEER_PHOTO_DOWNLOAD, citizens=CITIZENS),
    Row("GetCommunityProfile",  "GET",    "/v1/orgs/{org_id}/volunteer-profile", "get_community_profile",
        summary="A community's volunteer profile"),
    Row("SetCommunityProfile",  "PUT",    "/v1/orgs/{org_id}/volunteer-profile", "set_community_profile",
        summary="Open a node for orders with its address, position and categories"),
    Row("GetVolunteerSettings", "GET",    "/v1/volunteer/settings", "get_volunteer_settings",
        summary="The tenant's volunteer settings"),
    Row("UpdateVolunteerSettings", "PATCH", "/v1/volunteer/settings", "update_volunteer_settings",
        summary="Change some of the tenant's volunteer settings (city admin)"),
])
VOLUNTEER_TEAMS = api_operations(volunteer_pb2.DESCRIPTOR.services_by_name["TeamApi"], "volunteer", [
    #   rpc                     HTTP      path                                                   nameko method
    Row("CreateTeam",           "POST",   "/v1/volunteer/teams",                                 "create_team",
        summary="Create a volunteer team under an organisation node"),
    Row("ListTeams",            "GET",    "/v1/orgs/{org_id}/volunteer-teams",                   "list_teams",
        summary="The volunteer teams of a node"),
    Row("GetTeam",              "GET",    "/v1/volunteer/teams/{team_id}",                       "get_team",
        summary="One team, with its members for its managers"),
    Row("JoinTeam",             "POST",   "/v1/volunteer/teams/{team_id}:join",                  "join_team",
        summary="A member joins a team"),
    Row("LeaveTeam",            "POST",   "/v1/volunteer/teams/{team_id}:leave",                 "leave_team",
        summary="A member leaves a team"),
    Row("RemoveTeamMember",     "POST",   "/v1/volunteer/teams/{team_id}/members/{member_id}:remove",
        "remove_team_member", summary="The team's managers remove a member with a reason"),
    Row("CreateTeamEvent",      "POST",   "/v1/volunteer/teams/{team_id}/events",                "create_team_event",
        summary="Create a team event with its place, fence, time and capacity"),
    Row("ListTeamEvents",       "GET",    "/v1/volunteer/teams/{team_id}/events",                "list_team_events",
        summary="A team's events"),
    Row("ListMyEvents",         "GET",    "/v1/volunteer/events",                                "list_my_events",
        summary="The calling member's team events with its sign-ups"),
    Row("GetTeamEvent",         "GET",    "/v1/volunteer/events/{event_id}",                     "get_team_event",
        summary="One team event"),
    Row("SignUpEvent",          "POST",   "/v1/volunteer/events/{event_id}:sign-up",             "sign_up_event",
        summary="A member signs up for an event"),
    Row("CancelSignUp",         "POST",   "/v1/volunteer/events/{event_id}:cancel-sign-up",      "cancel_sign_up",
        summary="A member cancels its sign-up before checking in"),
    Row("CheckInEvent",         "POST",   "/v1/volunteer/events/{event_id}:check-in",            "check_in_event",
        summary="A member checks in at the event's place"),
    Row("CheckOutEvent",        "POST",   "/v1/volunteer/events/{event_id}:check-out",           "check_out_event",
        summary="A member checks out of the event"),
    Row("CloseTeamEvent",       "POST",   "/v1/volunteer/events/{event_id}:close",               "close_team_event",
        summary="Close an event and credit its members' hours"),
    Row("ReportToCommunity",    "POST",   "/v1/volunteer/community-reports",                     "report_to_community",
        summary="A member reports to its residential community (双报到)"),
    Row("GetMyCommunityReport", "GET",    "/v1/volunteer/my-community-report", "get_my_community_report",
        summary="The calling member's current report to a community"),
    Row("ListReportedMembers",  "GET",    "/v1/orgs/{org_id}/reported-members", "list_reported_members",
        summary="The members who reported to a community, with their hours there"),
    Row("ListUnreportedMembers", "GET",   "/v1/orgs/{org_id}/unreported-members", "list_unreported_members",
        summary="A subtree's members who have not reported to a community"),
])
VOLUNTEER_STATS = api_operations(volunteer_pb2.DESCRIPTOR.services_by_name["VolunteerStatsApi"], "volunteer", [
    #   rpc                     HTTP      path                                                   nameko method
    Row("GetMyHours",           "GET",    "/v1/volunteer/my-hours",                              "get_my_hours",
        summary="The calling member's volunteer hours and ledger"),
    Row("GetMemberHours",       "GET",    "/v1/members/{member_id}/volunteer-hours",             "get_member_hours",
        summary="A member's volunteer hours (managers of its branch)"),
    Row("GetVolunteerStatistics", "GET",  "/v1/orgs/{org_id}/volunteer-statistics", "get_volunteer_statistics",
        summary="A subtree's volunteer statistics over a period"),
    Row("ListHoursRanking",     "GET",    "/v1/orgs/{org_id}/volunteer-hours-ranking",           "list_hours_ranking",
        summary="Members, branches or communities ranked by volunteer hours"),
    Row("ExportVolunteerStatistics", "GET", "/v1/orgs/{org_id}/volunteer-statistics:export",
        "export_volunteer_statistics",
        summary="The volunteer statistics as an XLSX workbook", download=Download("volunteer-statistics")),
])

# The audit log (审计日志, docs/identity-rpc.md#the-audit-log): the tenant's auditors only; identity asks every
# other service for its part of the log.
AUDIT = api_operations(audit_pb2.DESCRIPTOR.services_by_name["AuditApi"], "identity", [
    #   rpc                   HTTP      path                                          nameko method
    Row("SearchAuditLog",     "GET",    "/v1/audit-log",                              "search_audit_log",
        summary="Search the tenant's audit log of every service (auditors)"),
    Row("VerifyAuditLog",     "GET",    "/v1/audit-log/chains",                       "verify_audit_log",
        summary="Verify every service's audit hash chain; each names its first broken link (auditors)"),
    Row("ExportAuditLog",     "GET",    "/v1/audit-log.xlsx",                         "export_audit_log",
        summary="The matching audit entries as an XLSX workbook (auditors)",
        download=Download("audit-log", media_field="content_type")),
])

# Development records (发展党员纪实, docs/identity-rpc.md#development-records): the branch and the admins above read and
# add entries; the member reads its own.
DEVELOPMENT = api_operations(development_pb2.DESCRIPTOR.services_by_name["DevelopmentApi"], "identity", [
    #   rpc                      HTTP      path                                               nameko method
    Row("ListDevelopmentRecords", "GET",   "/v1/orgs/{org_id}/development-records",           "list_development_records",
        summary="The members of a subtree in development (applicant to probationary member)"),
    Row("GetDevelopmentRecord",  "GET",    "/v1/members/{member_id}/development-record",      "get_development_record",
        summary="A member's development record: steps, entries, publicity of each publicised step"),
    Row("GetMyDevelopmentRecord", "GET",   "/v1/me/development-record",                       "get_my_development_record",
        summary="The caller's own development record"),
    Row("RecordDevelopmentEntry", "POST",  "/v1/members/{member_id}/development-record/entries",
        "record_development_entry",
        summary="Add a dated talk, introducers, political review or training to a record (append-only)"),
])

# Party dues (党费, docs/identity-rpc.md#party-dues): rules, standards, payments and receipts, arrears, totals; carried out
# by identity beside the member.
DUES = api_operations(dues_pb2.DESCRIPTOR.services_by_name["DuesApi"], "identity", [
    #   rpc                   HTTP      path                                          nameko method
    Row("GetDuesRules",       "GET",    "/v1/dues-rules",                             "get_dues_rules",
        summary="The tenant's dues rules: income brackets, fixed amounts, months of arrears that flag"),
    Row("SetDuesRules",       "PUT",    "/v1/dues-rules",                             "set_dues_rules",
        summary="Replace the tenant's dues rules (city admin)"),
    Row("SetDuesStandard",    "PUT",    "/v1/members/{member_id}/dues-standard",      "set_dues_standard",
        summary="Set a member's monthly dues standard from a month on (the branch)"),
    Row("ListBranchDues",     "GET",    "/v1/orgs/{org_id}/dues",                     "list_branch_dues",
        summary="A branch's members with their standard, months paid and months owed"),
    Row("RecordDuesPayment",  "POST",   "/v1/members/{member_id}/dues-payments",      "record_dues_payment",
        summary="Record a member's payment of one or more months, with its receipt"),
    Row("ImportDuesPayments", "POST",   "/v1/orgs/{org_id}/dues-imports",             "import_dues_payments",
        summary="Import payments from a bank statement (CSV or XLSX): all rows or none", upload=FILE_UPLOAD),
    Row("ListDuesPayments",   "GET",    "/v1/orgs/{org_id}/dues-payments",            "list_dues_payments",
        summary="A subtree's payments, newest first"),
    Row("GetDuesReceipt",     "GET",    "/v1/dues-receipts/{receipt_no}",             "get_dues_receipt",
        summary="A payment's receipt (the member, or its branch and the admins above)"),
    Row("GetMyDues",          "GET",    "/v1/me/dues",                                "get_my_dues",
        summary="The calling member's standard, months paid and owed, and receipts"),
    Row("GetDuesTotals",      "GET",    "/v1/orgs/{org_id}/dues-totals",              "get_dues_totals",
        summary="An organisation's dues totals of a month, and its children's"),
    Row("ExportDuesTotals",   "GET",    "/v1/orgs/{org_id}/dues-totals.xlsx",         "export_dues_totals",
        summary="The dues totals of a range of months as an XLSX workbook", download=Download("dues-totals")),
])

OPERATIONS: tuple[Operation, ...] = (*IDENTITY, *ATTENDANCE, *MEETINGS, *SCORING, *CONTENT, *LIBRARY, *LEARNING, *QUIZ,
                                     *RECOMMENDATION, *COMMUNITY, *VOLUNTEER_ORDERS, *VOLUNTEER_TEAMS,
                                     *VOLUNTEER_STATS, *AUDIT, *DEVELOPMENT, *APPRAISAL, *DUES)


def index(operations: tuple[Operation, ...]) -> dict[str, Operation]:
    by_rpc = {op.rpc: op for op in operations}
    if len(by_rpc) != len(operations):
        raise ValueError("rpc names must be unique across the gateway's operations")
    return by_rpc


BY_RPC = index(OPERATIONS)
API_NAMES: tuple[str, ...] = tuple(dict.fromkeys(op.api for op in OPERATIONS))
