"""Sample requests and service answers of the audit log's operations (AuditApi, carried out by identity)."""
from __future__ import annotations

ENTRY = {"id": "aud_1", "service": "identity", "seq": 7, "hash": "ab" * 32, "at": "2026-12-06T02:00:00.000Z",
         "tenant_id": "tenant-xa", "account_id": "acc-admin", "member_id": "", "roles": ["org_admin:org-city"],
         "operation": "CreateAccount", "kind": "write", "targets": {"org_id": "org-city", "result_id": "acc-2"},
         "client_address": "10.0.0.7", "request_id": "0123456789abcdef", "outcome": "ok"}
CHAIN = {"service": "identity", "ok": True, "checked": 7, "head_seq": 7, "head_hash": "ab" * 32,
         "checkpoint_seq": 0, "checkpoint_hash": "", "broken_seq": 0, "broken_entry_id": "", "broken_problem": ""}

AUDIT_REQUESTS = {
    "SearchAuditLog": {"since": "2026-12-01", "until": "2026-12-06", "actor": "acc-admin",
                       "operation": "CreateAccount", "outcome": "ok", "target": "org-city", "service_name": "identity",
                       "page_size": 50},
    "VerifyAuditLog": {},
    "ExportAuditLog": {"since": "2026-12-01", "until": "2026-12-06"},
}
AUDIT_RESULTS = {
    "search_audit_log": {"entries": [ENTRY], "truncated": False, "unavailable": []},
    "verify_audit_log": {"ok": True, "chains": [CHAIN], "unavailable": []},
    "export_audit_log": {"filename": "审计日志-20261206.xlsx", "content_type": "application/xlsx",
                         "content": "UEsDBA=="},
}


def unmarked(scope: dict) -> dict:
    """The scope without the gateway's audit mark (``gateway.audit``): the token's claims."""
    return {key: value for key, value in scope.items() if key != "audit"}


def without_request_id(kwargs: dict) -> dict:
    """A call's keyword arguments with its audit mark's request id left out (each request has its own)."""
    scope = kwargs.get("scope")
    if not isinstance(scope, dict) or "audit" not in scope:
        return kwargs
    return {**kwargs, "scope": {**scope, "audit": {k: v for k, v in scope["audit"].items() if k != "request_id"}}}
