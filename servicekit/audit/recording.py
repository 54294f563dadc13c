"""What an entry point records in its service's audit log, and when.

The gateway marks the calls to audit (``gateway.audit``): it adds ``scope["audit"] = {"kind", "operation",
"client_address", "request_id"}`` to the scope of a privileged caller's personal-data read (``kind: read``) and of
any write (``kind: write``). The mark travels inside the call's signed body, so only the gateway can set it: a call
is audited only when its proof names the gateway (a peer passing a person's scope on is not a second operation).

Recorded: every marked read; a marked write when its caller holds a role above member (operator, admin, secretary,
auditor), or when it was refused (a member trying an admin's work). A member's own writes (a leave request, a
reflection) are not privileged and are not recorded; scans never carry a mark (they travel in batches).

The entry is written after the operation and before its answer is sent: a caller that saw success knows the
entry is stored. An entry that cannot be stored after a few tries is logged whole at ERROR (``AUDIT_NOT_STORED``)
so that it can be re-entered; the operation's own writes are already committed and stay.
"""
from __future__ import annotations

import json
import logging
import random

import eventlet
from nameko.extensions import SharedExtension

from servicekit.audit.log import ENTRIES, AuditLog, audit_log_for
from servicekit.errors import NotFound, PermissionDenied, ServiceError, Unauthenticated
from servicekit.process.config import database_name, env
from servicekit.storage.mongo import shared_client
from servicekit.timestamps import stamp

log = logging.getLogger(__name__)

PRIVILEGED_ROLES = frozenset({"operator", "org_admin", "branch_secretary", "auditor"})
REFUSALS = (PermissionDenied, Unauthenticated, NotFound)
KINDS = ("read", "write")
# request fields kept as an entry's targets: ids and a few selectors, never names, numbers or contents
TARGET_FIELDS = frozenset({"tenant_code", "kind", "direction", "period", "month", "role", "status", "decision",
                           "side", "state", "format"})
MAX_TARGET_TEXT = 80
MAX_TARGET_LIST = 50
STORE_ATTEMPTS = 3
DEFAULT_RETENTION_DAYS = 1095


def retention_days() -> int:
    """``AUDIT_RETENTION_DAYS`` (1,095 = three years by default; 0 keeps entries for ever)."""
    return int(env("AUDIT_RETENTION_DAYS", str(DEFAULT_RETENTION_DAYS)))


def audit_content(service: str, method: str, kwargs: dict, result, exc_info, now: str | None = None) -> dict | None:
    """The entry one call makes, or None when the call is not audited."""
    scope = kwargs.get("scope")
    mark = scope.get("audit") if isinstance(scope, dict) else None
    if not isinstance(mark, dict) or mark.get("kind") not in KINDS:
        return None
    error = exc_info[1] if exc_info is not None else None
    roles = [grant for grant in scope.get("roles") or [] if isinstance(grant, dict)]
    privileged = any(grant.get("role") in PRIVILEGED_ROLES for grant in roles)
    if mark["kind"] == "write" and not privileged and not isinstance(error, REFUSALS):
        return None
    if error is None:
        outcome = "ok"
    elif isinstance(error, ServiceError):
        outcome = error.code or type(error).__name__
    else:
        outcome = "INTERNAL"
    return {"tenant_id": scope.get("tenant_id") or "", "at": now or stamp(), "service": service, "method": method,
            "operation": _text(mark.get("operation")) or method, "kind": mark["kind"],
            "actor": {"account_id": _text(scope.get("account_id")), "member_id": _text(scope.get("member_id")),
                      "session_id": _text(scope.get("session_id"))},
            "roles": [{"role": _text(grant.get("role")), "org_id": _text(grant.get("org_id"))} for grant in roles],
            "targets": targets(kwargs, result), "client_address": _text(mark.get("client_address")),
            "request_id": _text(mark.get("request_id")), "outcome": outcome}


def targets(kwargs: dict, result) -> dict:
    """The ids a call names (``*_id``, ``*_ids`` and a few selectors) and the id of what it created."""
    found = {}
    for name, value in kwargs.items():
        if name in ("scope", "client_address") or not (name.endswith(("_id", "_ids")) or name in TARGET_FIELDS):
            continue
        if isinstance(value, str) and value:
            found[name] = value[:MAX_TARGET_TEXT]
        elif isinstance(value, (list, tuple)) and value and all(isinstance(item, str) for item in value):
            found[name] = [item[:MAX_TARGET_TEXT] for item in value[:MAX_TARGET_LIST]]
    if isinstance(result, dict):
        created = result.get("id")
        if not isinstance(created, str):
            created = next((value["id"] for value in result.values()
                            if isinstance(value, dict) and isinstance(value.get("id"), str)), None)
        if created and created not in found.values():
            found["result_id"] = created[:MAX_TARGET_TEXT]
    return found


def _text(value) -> str:
    return value if isinstance(value, str) else ""


class AuditTrail(SharedExtension):
    """The audit log of a service's entry points (one per container, shared by every ``@rpc``), opened on first
    use; it also runs the retention sweep of the service's log (``AUDIT_SWEEP_SECONDS``, hourly)."""

    def setup(self):
        self.service = self.container.service_name
        self._log: AuditLog | None = None

    def start(self):
        if retention_days() > 0:
            self.container.spawn_managed_thread(self._sweep_forever)

    @property
    def log(self) -> AuditLog:
        if self._log is None:
            self._log = audit_log_for(self.service, database_name(self.service))
        return self._log

    def _has_log(self) -> bool:
        """Whether the service has recorded anything yet: a sweep never creates the collections itself."""
        if self._log is not None:
            return True
        return ENTRIES in shared_client()[database_name(self.service)].list_collection_names()

    def record(self, principal: str, worker_ctx, result, exc_info) -> None:
        if principal != "gateway":
            return
        content = audit_content(self.service, worker_ctx.entrypoint.method_name, worker_ctx.kwargs, result, exc_info)
        if content is None:
            return
        for attempt in range(STORE_ATTEMPTS):
            try:
                self.log.append(content)
                return
            except Exception:  # noqa: BLE001  the store may be back in a moment; the entry is logged if not
                log.warning("audit entry of %s.%s not stored (try %d)", self.service, content["method"], attempt + 1,
                            exc_info=True)
                eventlet.sleep(0.2 * (attempt + 1))
        log.error("AUDIT_NOT_STORED %s", json.dumps(content, ensure_ascii=False, sort_keys=True))

    def _sweep_forever(self) -> None:
        interval = float(env("AUDIT_SWEEP_SECONDS", "3600"))
        eventlet.sleep(random.uniform(30, 90))       # not at start-up, and not every replica at once
        while True:
            try:
                removed = self.log.prune(retention_days()) if self._has_log() else {}
                if removed:
                    log.info("audit retention removed %s entries of %s", sum(removed.values()), self.service)
            except Exception:  # noqa: BLE001  tried again at the next sweep
                log.warning("audit retention sweep of %s failed", self.service, exc_info=True)
            eventlet.sleep(interval)
