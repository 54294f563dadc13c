"""Which calls the services record in their audit logs (``servicekit.audit.recording``), decided here from the
operation table: the gateway marks a call by adding ``"audit"`` to the scope it signs.

- A **write** (any operation that is not a GET) is marked for every caller, except a member's own everyday
  actions listed in ``NOT_AUDITED`` and the batched operations (scans, quiz answers: never a per-item entry). The
  service records it when the caller holds a role above member, or when it was refused.
- A **personal-data read** (``PERSONAL_DATA_READS``: members and rosters, exports, bulletins and reports, ledgers,
  who read or objected, volunteer hours, the audit log itself) is marked when the caller holds a role above
  member; a member reading its own record is not.
"""
from __future__ import annotations

from gateway import request_ids
from gateway.operations import Operation

PRIVILEGED_ROLES = frozenset({"operator", "org_admin", "branch_secretary", "auditor"})

PERSONAL_DATA_READS = frozenset({
    # identity: members (names, phones, birth dates, masked ID numbers), accounts, transfers
    "GetMember", "ListMembers", "ListAccounts", "ListTransfers", "ListSessions",
    # attendance: who scanned where, leave, statistics by member
    "ListScans", "ListLeaves", "GetStatistics", "ExportStatistics",
    # scoring: supervision list, bulletin, assessment, their exports, ledgers and talk lists
    "SupervisionList", "QuarterlyBulletin", "AnnualAssessment", "ExportReport", "GetLedger", "ListTalkCandidates",
    "ListTalks", "GetAppraisal",      # an appraisal's reviews, tallies, points and grades
    # content: who read a notice, who objected, letters to the secretary, a package's members
    "GetBranchReceipts", "ListObjections", "ListLetters", "GetLetter", "ListPackageMembers",
    # volunteer: members' reports and hours, teams' members, statistics export
    "ListReportedMembers", "ListUnreportedMembers", "GetMemberHours", "GetTeam", "ExportVolunteerStatistics",
    # identity's development records: talks, political review, introducers of applicants
    "ListDevelopmentRecords", "GetDevelopmentRecord",
    # identity's party dues: members' standards (their incomes), payments and receipts
    "ListBranchDues", "ListDuesPayments", "GetDuesReceipt",
    # the audit log itself: auditors' reads are audited too
    "SearchAuditLog", "VerifyAuditLog", "ExportAuditLog",
})

# writes that are a member's own everyday actions (or reads sent as POST): never marked
NOT_AUDITED = frozenset({
    "CompareOrgs", "Logout", "RequestLeave", "PostReflection", "LikeActivity", "StartStudy", "StudyHeartbeat",
    "EndStudy", "AnswerDailyQuestion",
})


def kind_of(operation: Operation) -> str:
    """``read``, ``write`` or "" (not audited) for an operation, whoever calls it."""
    if not operation.auth or operation.batch_method or operation.rpc in NOT_AUDITED:
        return ""
    if operation.rpc in PERSONAL_DATA_READS:
        return "read"
    return "write" if operation.http_method != "GET" else ""


def marked(operation: Operation, scope: dict | None, client_address: str | None) -> dict | None:
    """``scope`` with the audit mark when the call is audited (a new dict: a cached scope is never changed)."""
    kind = kind_of(operation) if scope else ""
    if not kind:
        return scope
    if kind == "read" and not any(grant.get("role") in PRIVILEGED_ROLES for grant in scope.get("roles") or ()):
        return scope
    return {**scope, "audit": {"kind": kind, "operation": operation.rpc, "client_address": client_address or "",
                               "request_id": request_ids.current() or ""}}
