"""The refusal matrix: every operation of the gateway's table, over HTTP and gRPC, refuses every caller that may not
call it, each with its code, and changes nothing (the store compared before and after).

Rules of the table:
- Every operation of ``gateway.operations.OPERATIONS`` is in exactly one of ``MATRIX``, ``UNSCOPED`` (open to anyone:
  login, citizens' registration, a guest's tracked order; each with its reason) or ``PENDING`` (printed by the test,
  with its reason). A new operation in none of them fails ``test_every_operation_is_in_the_matrix``: add its request
  fields to tests/e2e/refusal_fields.py and its row to ``CODES`` (or ``OWN_DATA``).
- Token kinds, refused by the gateway before any service is asked, for every operation that needs a token (pending
  ones included): no token (401 TOKEN_MISSING), a token expired a minute ago (401 TOKEN_EXPIRED), a logged-out
  session's token and a disabled account's token (401 TOKEN_REVOKED, once the gateway's revocation poll has seen
  them). The expired, revoked and disabled callers are city admins of the target city: only the token is wrong.
- Scope kinds (``SCOPE_KINDS``): another tenant's admin, another county's admin, another branch's secretary and
  member (the neighbour branch, same county), the branch's own member and its secretary. Each request names objects
  of the branch, or of its county or township community for county-level operations, in the seeded world
  (tests/e2e/refusal_world.py; fields over the operation's contract sample). A ``CODES`` row gives, per kind, the
  code refusing it, or ``-`` where that kind may call the operation on that object (its own branch's activity, a
  notice reaching it, its own attempt); those are not sent. A kind is also ``-`` where what stops it is the object's
  state, not its scope (a member claiming an order that is not open yet, a scan before sign-in opens): the matrix
  is about who may call, the services' own tests about when. ``OWN_DATA`` operations act on the caller's own account
  or read its own tenant's settings: no one else's object to name, so only the token kinds apply. Tenant settings
  writes are ``-`` for another tenant's admin (it sets its own tenant's).
- A citizen's account (群众) gets 403 CITIZEN_NOT_ALLOWED from the gateway for every operation not marked for
  citizens (``Row.citizens``).
- Existence: a ``*_NOT_FOUND`` refusal must answer exactly (status, code, message, field) as the same request with
  the refused object replaced by an id that exists nowhere (checked over HTTP; gRPC carries the same error).
- Nothing changed: each service database's documents of the two cities are counted and hashed per collection
  before and after each pass (``VOLATILE`` lists what is left out and why); and every audit entry written during a
  pass records a refusal (the audit log records refused writes and privileged reads by design).
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.client import HttpClient
from gateway.operations import OPERATIONS
from tests.e2e.refusal_fields import FIELDS
from tests.e2e.refusal_world import World, add_derived_refs
from tests.support.identity import PASSWORD
from tests.support.refusals import (OK, Entry, audit_outcomes, changed, expected_status, expired_token, request_for,
                                    send, store_fingerprint)
from tests.unit.gateway.samples import REQUESTS

pytestmark = pytest.mark.e2e

TOKEN_KINDS = {"no token": "TOKEN_MISSING", "expired token": "TOKEN_EXPIRED", "revoked token": "TOKEN_REVOKED",
               "disabled account": "TOKEN_REVOKED"}
SCOPE_KINDS = ("another tenant", "another county", "another branch's secretary", "another branch's member",
               "the branch's member", "the branch's secretary")
PROTOCOLS = ("http", "grpc")
UNSCOPED = {
    "Login": "logging in is how a caller gets a token",
    "Refresh": "the refresh token is the credential (tests/e2e/test_sessions_through_gateway.py)",
    "RegisterCitizen": "a citizen opens its own account",
    "ListOpenCommunities": "public: the communities that take orders, for citizens without an account",
    "PlaceGuestOrder": "public: a guest's order",
    "GetTrackedOrder": "public: the tracking code and the phone's last digits are the credential",
    "CancelTrackedOrder": "public: the tracking code and the phone's last digits are the credential",
    "ConfirmTrackedOrder": "public: the tracking code and the phone's last digits are the credential",
    "DisputeTrackedOrder": "public: the tracking code and the phone's last digits are the credential",
    "VerifyLoginTotp": "the login's second step: its challenge and the TOTP code are the credential",
}
# the caller's own data, or its own tenant's settings read: no object of anyone else to name, refused only for tokens
OWN_DATA = {rpc: "the caller's own" for rpc in (
    "GetMe", "Logout", "ChangePassword", "GetTotpStatus", "BeginTotpEnrolment", "ConfirmTotpEnrolment", "DisableTotp",
    "GetFeed", "SearchItems", "RecentSearches", "ListMyPackages", "ListMyQuizzes", "GetDailyQuestion",
    "AnswerDailyQuestion", "ListRecommendations", "WriteLetter", "ListMyLetters", "ListMyOrders",
    "ListClaimableOrders", "ListMyClaims", "ListMyEvents", "GetMyCommunityReport", "GetMyHours",
    "GetPointsRules", "GetContentSettings", "GetVolunteerSettings", "GetDuesRules", "GetMyDues",
    "GetMyDevelopmentRecord", "GetMeetingSettings",
    "ListMyAppraisals")}
PENDING: dict[str, str] = {}
# Per operation, the code refusing each scope kind, in SCOPE_KINDS' order: "=" repeats the code before it, "-" marks a
# kind that may call the operation on that object (not sent). Requests: tests/e2e/refusal_fields.py.
CODES = {
    "CreateTenant": "OPERATOR_ONLY = = = = =",
    "ListSessions": "ACCOUNT_NOT_FOUND = = = = NOT_ORG_ADMIN",
    "RevokeSession": "SESSION_NOT_FOUND = = = = =",
    "ResetAccountTotp": "ACCOUNT_NOT_FOUND = = = = =",
    "SetTotpPolicy": "- NOT_CITY_ADMIN = = = =",
    "GetOrg": "ORG_NOT_FOUND = = = - -",
    "ListSubtree": "ORG_NOT_FOUND = = = - -",
    "CreateOrg": "ORG_NOT_FOUND = = = = NOT_ORG_ADMIN",
    "UpdateOrg": "ORG_NOT_FOUND = = = = NOT_ORG_ADMIN",
    "MoveOrg": "ORG_NOT_FOUND = = = = NOT_ORG_ADMIN",
    "DissolveOrg": "ORG_NOT_FOUND = = = = NOT_ORG_ADMIN",
    "CreateMember": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "GetMember": "MEMBER_NOT_FOUND = = = = -",
    "UpdateMember": "MEMBER_NOT_FOUND = = = = -",
    "RemoveMember": "MEMBER_NOT_FOUND = = = = -",
    "ListMembers": "ORG_NOT_FOUND = = = - -",
    "ChangeMemberStatus": "MEMBER_NOT_FOUND = = = = -",
    "CreateAccount": "ORG_NOT_FOUND = = = = NOT_ORG_ADMIN",
    "ListAccounts": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "ResetTenantAdminPassword": "OPERATOR_ONLY = = = = =",
    "ResetAccountPassword": "ACCOUNT_NOT_FOUND = = = = NOT_ORG_ADMIN",
    "DisableAccount": "ACCOUNT_NOT_FOUND = = = = NOT_ORG_ADMIN",
    "EnableAccount": "ACCOUNT_NOT_FOUND = = = = NOT_ORG_ADMIN",
    "RemoveAccount": "ACCOUNT_NOT_FOUND = = = = NOT_ORG_ADMIN",
    "RequestTransfer": "MEMBER_NOT_FOUND = = = = -",
    "AcceptTransfer": "TRANSFER_NOT_FOUND = NOT_RECEIVING_SIDE TRANSFER_NOT_FOUND = -",
    "RejectTransfer": "TRANSFER_NOT_FOUND = NOT_RECEIVING_SIDE TRANSFER_NOT_FOUND = -",
    "ListTransfers": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "ListDevelopmentRecords": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "GetDevelopmentRecord": "MEMBER_NOT_FOUND = = = = -",
    "RecordDevelopmentEntry": "MEMBER_NOT_FOUND = = = = -",
    "ImportOrgs": "ORG_NOT_FOUND = = = = NOT_ORG_ADMIN",
    "ImportMembers": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "IssueTheme": "ORG_NOT_FOUND = = = = =",
    "ListThemes": "ORG_NOT_FOUND = = = - -",
    "ListActivities": "ORG_NOT_FOUND = = = - -",
    "GetActivity": "ACTIVITY_NOT_FOUND = = = - -",
    "SubmitPlan": "ACTIVITY_NOT_FOUND = = = NOT_BRANCH_SECRETARY -",
    "ReviewPlan": "ACTIVITY_NOT_FOUND = = = NOT_SUPERIOR =",
    "GetQrCode": "ACTIVITY_NOT_FOUND = = = NOT_BRANCH_SECRETARY -",
    "SetPrintedCode": "ACTIVITY_NOT_FOUND = = = NOT_SUPERIOR =",
    "RecordScan": "MEMBER_ONLY = = - - MEMBER_ONLY",
    "ListScans": "ACTIVITY_NOT_FOUND = = = - -",
    "RequestLeave": "ACTIVITY_NOT_FOUND = = = - MEMBER_ONLY",
    "DecideLeave": "LEAVE_NOT_FOUND = = = NOT_BRANCH_SECRETARY -",
    "ListLeaves": "ACTIVITY_NOT_FOUND = = = - -",
    "PostReflection": "ACTIVITY_NOT_FOUND = = = - MEMBER_ONLY",
    "ListReflections": "ACTIVITY_NOT_FOUND = = = - -",
    "LikeActivity": "ACTIVITY_NOT_FOUND = = = - MEMBER_ONLY",
    "AddPhoto": "ACTIVITY_NOT_FOUND = = = NOT_BRANCH_SECRETARY -",
    "AddTextRecord": "ACTIVITY_NOT_FOUND = = = NOT_BRANCH_SECRETARY -",
    "ListUploads": "ACTIVITY_NOT_FOUND = = = - -",
    "GetUploadPhoto": "ACTIVITY_NOT_FOUND = = = - -",
    "BackfillScan": "ACTIVITY_NOT_FOUND = = = NOT_SUPERIOR =",
    "OpenRectification": "ACTIVITY_NOT_FOUND = = = NOT_SUPERIOR =",
    "CloseRectification": "RECTIFICATION_NOT_FOUND = = = NOT_SUPERIOR =",
    "ListRectifications": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "VerifyChain": "ACTIVITY_NOT_FOUND = = = NOT_BRANCH_SECRETARY -",
    "GetStatistics": "ORG_NOT_FOUND = = = - -",
    "ExportStatistics": "ORG_NOT_FOUND = = = - -",
    "SetMeetingSettings": "- NOT_CITY_ADMIN = = = =",
    "PlanMeeting": "ORG_NOT_FOUND = = = NOT_BRANCH_SECRETARY -",
    "ListMeetings": "ORG_NOT_FOUND = = = - -",
    "GetMeeting": "MEETING_NOT_FOUND = = = - -",
    "RecordMeeting": "MEETING_NOT_FOUND = = = NOT_BRANCH_SECRETARY -",
    "RescheduleMeeting": "MEETING_NOT_FOUND = = = NOT_BRANCH_SECRETARY -",
    "CancelMeeting": "MEETING_NOT_FOUND = = = NOT_BRANCH_SECRETARY -",
    "GetMeetingLedger": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "GetBranchScore": "ACTIVITY_NOT_FOUND = = = - -",
    "RateActivity": "ACTIVITY_NOT_FOUND = = = NOT_SUPERIOR =",
    "GetRanking": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "GetProgress": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "GetTrend": "ORG_NOT_FOUND = = = - -",
    "CompareOrgs": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "SpotCheck": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "SupervisionList": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "QuarterlyBulletin": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "AnnualAssessment": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "ExportReport": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "Reconcile": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "SetPointsRules": "- NOT_CITY_ADMIN = = = =",
    "GetLedger": "MEMBER_NOT_FOUND = = = - -",
    "AddDeduction": "MEMBER_NOT_FOUND = = = NOT_MEMBER_MANAGER -",
    "CorrectEntry": "ENTRY_NOT_FOUND = = = NOT_MEMBER_MANAGER -",
    "ListTalkCandidates": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "RecordTalk": "MEMBER_NOT_FOUND = = = NOT_MEMBER_MANAGER -",
    "ListTalks": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "CreateAppraisal": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "OpenAppraisal": "APPRAISAL_NOT_FOUND = = = NOT_APPRAISAL_MANAGER -",
    "GetAppraisal": "APPRAISAL_NOT_FOUND = = = - -",
    "ListAppraisals": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "SubmitReview": "APPRAISAL_NOT_FOUND = = = - MEMBER_ONLY",
    "CastVote": "APPRAISAL_NOT_FOUND = = = - MEMBER_ONLY",
    "DecideAppraisal": "APPRAISAL_NOT_FOUND = = = NOT_APPRAISAL_MANAGER -",
    "SetAppraisalSettings": "- NOT_CITY_ADMIN = = = =",
    "SetContentSettings": "- NOT_CITY_ADMIN = = = =",
    "ListColumns": "ORG_NOT_FOUND = = = - -",
    "CreateColumn": "ORG_NOT_FOUND = = = NOT_ORG_ADMIN =",
    "CreateItem": "COLUMN_NOT_FOUND = NOT_ORG_MANAGER = = =",
    "GetItem": "ITEM_NOT_FOUND = - - - -",
    "UpdateItem": "ITEM_NOT_FOUND = NOT_ORG_MANAGER = = =",
    "SubmitItem": "ITEM_NOT_FOUND = NOT_ORG_MANAGER = = =",
    "ReviewItem": "ITEM_NOT_FOUND = NOT_ORG_ADMIN = = =",
    "WithdrawItem": "ITEM_NOT_FOUND = NOT_ORG_MANAGER = = =",
    "PinItem": "ITEM_NOT_FOUND = NOT_ORG_MANAGER = = =",
    "PushItem": "ITEM_NOT_FOUND = NOT_ORG_ADMIN = = =",
    "GetItemHistory": "ITEM_NOT_FOUND = NOT_ORG_MANAGER = = =",
    "ListItems": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "ListNotices": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "GetReceipts": "ITEM_NOT_FOUND = - NOT_ORG_MANAGER = -",
    "GetBranchReceipts": "ITEM_NOT_FOUND = BRANCH_NOT_FOUND NOT_ORG_MANAGER = -",
    "RemindUnread": "ITEM_NOT_FOUND = BRANCH_NOT_FOUND NOT_ORG_MANAGER = -",
    "UploadAttachment": "ORG_NOT_FOUND = = NOT_ORG_MANAGER = -",
    "ListAttachments": "ORG_NOT_FOUND = = NOT_ORG_MANAGER = -",
    "DownloadAttachment": "ATTACHMENT_NOT_FOUND = = = - -",
    "CreatePackage": "ORG_NOT_FOUND = = NOT_ORG_MANAGER = -",
    "UpdatePackage": "PACKAGE_NOT_FOUND = NOT_ORG_MANAGER = = =",
    "PublishPackage": "PACKAGE_NOT_FOUND = NOT_ORG_MANAGER = = =",
    "ClosePackage": "PACKAGE_NOT_FOUND = NOT_ORG_MANAGER = = =",
    "GetPackage": "PACKAGE_NOT_FOUND = - - - -",
    "ListPackages": "ORG_NOT_FOUND = = NOT_ORG_MANAGER = -",
    "GetPackageProgress": "PACKAGE_NOT_FOUND = ORG_NOT_FOUND NOT_ORG_MANAGER = ORG_NOT_FOUND",
    "ListPackageMembers": "PACKAGE_NOT_FOUND = ORG_NOT_FOUND NOT_ORG_MANAGER = -",
    "StartStudy": "MEMBER_ONLY = = - - MEMBER_ONLY",
    "StudyHeartbeat": "MEMBER_ONLY = = SESSION_NOT_FOUND - MEMBER_ONLY",
    "EndStudy": "MEMBER_ONLY = = SESSION_NOT_FOUND - MEMBER_ONLY",
    "GetStudyRanking": "ORG_NOT_FOUND = = = STUDY_RANKING_OFF -",
    "CreateBankQuestion": "ORG_NOT_FOUND = = NOT_ORG_MANAGER = NOT_ORG_ADMIN",
    "ListBankQuestions": "ORG_NOT_FOUND = = NOT_ORG_MANAGER = -",
    "RetireBankQuestion": "QUESTION_NOT_FOUND = NOT_ORG_ADMIN NOT_ORG_MANAGER = NOT_ORG_ADMIN",
    "ImportBankQuestions": "ORG_NOT_FOUND = = NOT_ORG_MANAGER = NOT_ORG_ADMIN",
    "CreateQuiz": "ORG_NOT_FOUND = = NOT_ORG_MANAGER = -",
    "ListQuizzes": "ORG_NOT_FOUND = = NOT_ORG_MANAGER = -",
    "GetQuiz": "QUIZ_NOT_FOUND = - - - -",
    "GetQuizLeaderboard": "QUIZ_NOT_FOUND = - RESULTS_STAFF_ONLY = -",
    "StartQuizAttempt": "MEMBER_ONLY = = - - MEMBER_ONLY",
    "GetQuizAttempt": "MEMBER_ONLY = = ATTEMPT_NOT_FOUND - MEMBER_ONLY",
    "SaveQuizAnswer": "MEMBER_ONLY = = ATTEMPT_NOT_FOUND - MEMBER_ONLY",
    "SubmitQuizAttempt": "MEMBER_ONLY = = ATTEMPT_NOT_FOUND - MEMBER_ONLY",
    "GetGapReport": "ORG_NOT_FOUND = = NOT_ORG_MANAGER = -",
    "ProposeRoleModels": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "NameRoleModel": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "ListRoleModels": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "ListPublicities": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "GetPublicity": "PUBLICITY_NOT_FOUND = = - - -",
    "ObjectToPublicity": "PUBLICITY_NOT_FOUND = = - - -",
    "ListObjections": "PUBLICITY_NOT_FOUND = = NOT_ORG_ADMIN = =",
    "HandleObjection": "OBJECTION_NOT_FOUND = = NOT_ORG_ADMIN = =",
    "ListLetters": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "GetLetter": "LETTER_NOT_FOUND = = = - -",
    "AnswerLetter": "LETTER_NOT_FOUND = = = NOT_RECIPIENT -",
    "WithdrawLetter": "LETTER_NOT_FOUND = = = - LETTER_NOT_FOUND",
    "PlaceOrder": "CITIZEN_ONLY = = = = =",
    "GetOrder": "ORDER_NOT_FOUND = = = = =",
    "CancelOrder": "ORDER_NOT_FOUND = = = = =",
    "ConfirmOrder": "ORDER_NOT_FOUND = = = = =",
    "DisputeOrder": "ORDER_NOT_FOUND = = = = =",
    "ListOrders": "ORG_NOT_FOUND = = = = =",
    "ReviewOrder": "ORDER_NOT_FOUND = = = = =",
    "MergeOrder": "ORDER_NOT_FOUND = = = = =",
    "DispatchOrder": "ORDER_NOT_FOUND = = = = =",
    "ResolveDispute": "ORDER_NOT_FOUND = = = = =",
    "ClaimOrder": "MEMBER_ONLY = = - - MEMBER_ONLY",
    "WithdrawClaim": "MEMBER_ONLY = = - - MEMBER_ONLY",
    "CheckInService": "MEMBER_ONLY = = - - MEMBER_ONLY",
    "CheckOutService": "MEMBER_ONLY = = - - MEMBER_ONLY",
    "ReportCompletion": "MEMBER_ONLY = = - - MEMBER_ONLY",
    "AddCompletionPhoto": "MEMBER_ONLY = = - - MEMBER_ONLY",
    "GetCompletionPhoto": "PHOTO_NOT_FOUND = = = - PHOTO_NOT_FOUND",
    "GetCommunityProfile": "ORG_NOT_FOUND - - - - -",
    "SetCommunityProfile": "ORG_NOT_FOUND = = = = =",
    "UpdateVolunteerSettings": "- NOT_CITY_ADMIN = = = =",
    "CreateTeam": "ORG_NOT_FOUND = = = = =",
    "ListTeams": "ORG_NOT_FOUND = = = - ORG_NOT_FOUND",
    "GetTeam": "TEAM_NOT_FOUND = = = - TEAM_NOT_FOUND",
    "JoinTeam": "MEMBER_ONLY = = TEAM_NOT_FOUND - MEMBER_ONLY",
    "LeaveTeam": "MEMBER_ONLY = = TEAM_NOT_FOUND - MEMBER_ONLY",
    "RemoveTeamMember": "TEAM_NOT_FOUND = = = NOT_ORG_MANAGER TEAM_NOT_FOUND",
    "CreateTeamEvent": "TEAM_NOT_FOUND = = = NOT_ORG_MANAGER TEAM_NOT_FOUND",
    "ListTeamEvents": "TEAM_NOT_FOUND = = = - TEAM_NOT_FOUND",
    "GetTeamEvent": "EVENT_NOT_FOUND = = = - EVENT_NOT_FOUND",
    "SignUpEvent": "MEMBER_ONLY = = EVENT_NOT_FOUND - MEMBER_ONLY",
    "CancelSignUp": "MEMBER_ONLY = = EVENT_NOT_FOUND - MEMBER_ONLY",
    "CheckInEvent": "MEMBER_ONLY = = EVENT_NOT_FOUND - MEMBER_ONLY",
    "CheckOutEvent": "MEMBER_ONLY = = EVENT_NOT_FOUND - MEMBER_ONLY",
    "CloseTeamEvent": "EVENT_NOT_FOUND = = = NOT_ORG_MANAGER EVENT_NOT_FOUND",
    "ReportToCommunity": "MEMBER_ONLY = = - - MEMBER_ONLY",
    "ListReportedMembers": "ORG_NOT_FOUND = = = = =",
    "ListUnreportedMembers": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "GetMemberHours": "MEMBER_NOT_FOUND = = = = -",
    "GetVolunteerStatistics": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "ListHoursRanking": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "ExportVolunteerStatistics": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "SetDuesRules": "- NOT_CITY_ADMIN = = = =",
    "SetDuesStandard": "MEMBER_NOT_FOUND = = = = -",
    "ListBranchDues": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "RecordDuesPayment": "MEMBER_NOT_FOUND = = = = -",
    "ImportDuesPayments": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "ListDuesPayments": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "GetDuesReceipt": "RECEIPT_NOT_FOUND = = = = -",
    "GetDuesTotals": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "ExportDuesTotals": "ORG_NOT_FOUND = = = NOT_ORG_MANAGER -",
    "SearchAuditLog": "AUDITOR_ONLY = = = = =",
    "VerifyAuditLog": "AUDITOR_ONLY = = = = =",
    "ExportAuditLog": "AUDITOR_ONLY = = = = =",
}


def entry(rpc: str, codes: str) -> Entry:
    """The operation's matrix entry from its row of CODES."""
    tokens, resolved = codes.split(), []
    assert len(tokens) == len(SCOPE_KINDS), f"{rpc}: one code per scope kind"
    for token in tokens:
        resolved.append(resolved[-1] if token == "=" else OK if token == "-" else token)
    return Entry(FIELDS.get(rpc, {}), dict(zip(SCOPE_KINDS, resolved)))


MATRIX: dict[str, Entry] = {
    **{rpc: entry(rpc, codes) for rpc, codes in CODES.items()},
    **{rpc: Entry(codes=dict.fromkeys(SCOPE_KINDS, OK)) for rpc in OWN_DATA},
}
# collections that change with any call, refused or not, left out of the fingerprint
VOLATILE = frozenset({
    "call_nonces",          # each signed service call's nonce, kept against replays
    "outbox_lease",         # the outbox relay's lease, renewed on a timer
    "audit_log",            # a refused write (and a privileged read) is recorded: checked by ``refusals_audited``
    "audit_checkpoints",    # the audit chain's checkpoints, which follow the log
})
WORKERS = 8


# --- the world and its callers ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(gateway_process, operator_password, attendance_service, scoring_service, content_service,
          volunteer_service):
    world = World(gateway_process.http_url, operator_password)
    add_derived_refs(world)
    admin_token = world.admin.token
    world.tokens["expired token"] = expired_token(admin_token)
    world.tokens["revoked token"] = revoked = HttpClient(world.url).login(world.code, "admin", PASSWORD)["access_token"]
    HttpClient(world.url, revoked).call("Logout")
    disabled = world.account("city-admin-2", "org_admin", org_id=world.refs["root"])
    world.tokens["disabled account"] = world.login_token("city-admin-2")
    world.admin.call("DisableAccount", {"account_id": disabled["id"], "reason": "调离"})
    for kind in ("revoked token", "disabled account"):          # the gateway's revocation poll has seen both
        deadline = time.monotonic() + 15
        while send("http", world.url, "GetMe", {}, world.tokens[kind]).code != "TOKEN_REVOKED":
            assert time.monotonic() < deadline, f"{kind}: not refused by the gateway"
            time.sleep(0.2)
    world.grpc_target = gateway_process.grpc_target
    return world


def build(rpc: str, entry: Entry, refs: dict) -> dict:
    """The entry's request over the operation's contract sample, from its first page (a sample's page token names
    no page of this world)."""
    request = request_for(REQUESTS.get(rpc, {}), entry, refs)
    if "page_token" in request:
        request["page_token"] = ""
    return request


def target_of(world, protocol: str) -> str:
    return world.url if protocol == "http" else world.grpc_target


def settled_fingerprint(mongo_uri: str, world) -> dict:
    """The store's fingerprint once two reads half a second apart agree (the seeding's events consumed)."""
    prefix = os.environ["DB_PREFIX"]
    last = store_fingerprint(mongo_uri, prefix, VOLATILE, world.tenant_ids)
    for _ in range(30):
        time.sleep(0.5)
        now = store_fingerprint(mongo_uri, prefix, VOLATILE, world.tenant_ids)
        if now == last:
            return now
        moving, last = sorted(changed(last, now)), now
    raise AssertionError(f"the store never settled: {moving}")


def refusals_audited(mongo_uri: str, world, before: dict) -> list:
    """The audit entries written since ``before`` that are not refusals (a refused call may be audited; an
    answered one may not have happened at all)."""
    after = audit_outcomes(mongo_uri, os.environ["DB_PREFIX"], world.tenant_ids)
    return [(key, outcome) for key, outcome in after.items()
            if key not in before and (outcome in ("ok", "INTERNAL") or not outcome)]


# --- the matrix ------------------------------------------------------------------------------------------------

def nowhere(value):
    """An id of the same shape as ``value`` that names nothing."""
    if isinstance(value, list):
        return [nowhere(item) for item in value]
    head, sep, _ = value.rpartition("_")
    return f"{head}{sep}nowhere00000000" if sep else "nowhere00000000"


def test_every_operation_is_in_the_matrix():
    """A new operation fails here until it has a matrix entry, a reason to be open to anyone, or a pending note."""
    every = {op.rpc for op in OPERATIONS}
    placed = [set(MATRIX), set(UNSCOPED), set(PENDING)]
    assert set.union(*placed) >= every, f"operations with no refusal entry: {sorted(every - set.union(*placed))}"
    assert sum(map(len, placed)) == len(set.union(*placed)), "an operation is in more than one list"
    assert set.union(*placed) <= every, f"entries for no operation: {sorted(set.union(*placed) - every)}"
    assert all(not op.auth for op in OPERATIONS if op.rpc in UNSCOPED), "an unscoped operation needs a token"
    assert all(op.auth for op in OPERATIONS if op.rpc not in UNSCOPED), "a public operation with no stated reason"
    if PENDING:
        print("\nrefusal matrix, pending:\n" + "\n".join(f"  {rpc}: {why}" for rpc, why in sorted(PENDING.items())))


def token_request(world, rpc: str) -> dict:
    """A request the gateway refuses for its token alone: the entry's, or the contract sample's for a pending one."""
    entry = MATRIX.get(rpc, Entry(FIELDS.get(rpc, {})))
    try:
        return build(rpc, entry, world.refs)
    except KeyError:                   # an object the world could not seed: the sample's own ids will do
        return build(rpc, Entry(), world.refs)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_no_expired_revoked_or_disabled_token_reaches_any_operation(world, mongo_uri, protocol):
    cases = [(op.rpc, kind) for op in OPERATIONS if op.auth for kind in TOKEN_KINDS]
    before = settled_fingerprint(mongo_uri, world)

    def one(case):
        rpc, kind = case
        token = None if kind == "no token" else world.tokens[kind]
        return case, send(protocol, target_of(world, protocol), rpc, token_request(world, rpc), token)
    audited = audit_outcomes(mongo_uri, os.environ["DB_PREFIX"], world.tenant_ids)
    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(one, cases))
    wrong = [(rpc, kind, outcome) for (rpc, kind), outcome in outcomes
             if (outcome.status, outcome.code) != (expected_status(protocol, TOKEN_KINDS[kind]), TOKEN_KINDS[kind])]
    assert not wrong, "\n".join(map(str, wrong))
    assert changed(before, settled_fingerprint(mongo_uri, world)) == {}
    assert refusals_audited(mongo_uri, world, audited) == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_citizen_reaches_only_the_operations_marked_for_citizens(world, mongo_uri, protocol):
    """A citizen's account (群众) holds its own orders and nothing of the party's: the gateway refuses it every other
    operation before any service is asked (what it may do with its own orders: the volunteer tests)."""
    cases = [op.rpc for op in OPERATIONS if op.auth and not op.citizens]
    before = settled_fingerprint(mongo_uri, world)
    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(lambda rpc: (rpc, send(protocol, target_of(world, protocol), rpc,
                                                        token_request(world, rpc), world.tokens["citizen"])), cases))
    wrong = [(rpc, outcome) for rpc, outcome in outcomes
             if (outcome.status, outcome.code) != (expected_status(protocol, "CITIZEN_NOT_ALLOWED"),
                                                   "CITIZEN_NOT_ALLOWED")]
    assert not wrong, "\n".join(map(str, wrong))
    assert changed(before, settled_fingerprint(mongo_uri, world)) == {}


OBJECT_REFS = frozenset({
    "root", "county", "committee", "branch", "neighbour", "far_branch", "me", "member", "activist", "account",
    "session", "transfer", "activity", "theme", "leave", "upload", "photo_upload", "rectification", "entry", "column",
    "item", "attachment", "package", "study_session", "question", "quiz", "attempt", "attempt_question", "letter",
    "publicity", "objection", "community", "order", "team", "event", "photo", "tenant_code"})


def refusal_cases(world, service: str) -> list[tuple]:
    """(rpc, caller kind, protocol, request, expected code) for each refusal of a service's operations."""
    cases = []
    for op in OPERATIONS:
        if op.service != service or op.rpc not in MATRIX:
            continue
        request = build(op.rpc, MATRIX[op.rpc], world.refs)
        cases += [(op.rpc, kind, protocol, request, code) for kind, code in MATRIX[op.rpc].codes.items()
                  if code != OK for protocol in PROTOCOLS]
    return cases


def elsewhere(world, request: dict, field: str | None) -> list[dict]:
    """The request with the object it was refused for replaced by one that exists nowhere: the error's field, else
    each object the request names in turn (an error may name the field by the object's kind, ``org_id`` for a
    ``branch_id``)."""
    if field in request:
        return [{**request, field: nowhere(request[field])}]
    objects = {value for name, value in world.refs.items() if name in OBJECT_REFS}

    def names_object(value) -> bool:
        return value in objects if isinstance(value, str) else isinstance(value, list) and any(map(names_object, value))
    return [{**request, name: nowhere(value)} for name, value in request.items() if names_object(value)]


@pytest.mark.parametrize("service", sorted({op.service for op in OPERATIONS}))
def test_callers_out_of_scope_are_refused_with_their_code_and_change_nothing(world, mongo_uri, service):
    cases = refusal_cases(world, service)
    before = settled_fingerprint(mongo_uri, world)
    audited = audit_outcomes(mongo_uri, os.environ["DB_PREFIX"], world.tenant_ids)

    def one(case):
        rpc, kind, protocol, request, code = case
        target, token = target_of(world, protocol), world.tokens[kind]
        outcome = send(protocol, target, rpc, request, token)
        if (outcome.status, outcome.code) != (expected_status(protocol, code), code):
            return [(rpc, kind, protocol, f"expected {code}, got {outcome}")]
        if code.endswith("NOT_FOUND") and protocol == "http":       # the answer's shape is the gateway's, alike
            unknown = [send(protocol, target, rpc, variant, token)
                       for variant in elsewhere(world, request, outcome.field)]
            if not any(answer.shape == outcome.shape for answer in unknown):
                return [(rpc, kind, protocol, f"answers unlike an id that exists nowhere: {outcome} vs {unknown}")]
        return []
    with ThreadPoolExecutor(WORKERS) as pool:
        wrong = [problem for problems in pool.map(one, cases) for problem in problems]
    assert not wrong, f"{len(wrong)} of {len(cases)} refusals wrong:\n" + "\n".join(map(str, wrong))
    assert changed(before, settled_fingerprint(mongo_uri, world)) == {}
    assert refusals_audited(mongo_uri, world, audited) == []
