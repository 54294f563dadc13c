"""``AuditEntries``: the entry points through which identity reads a service's audit log for a tenant's auditors
(identity checks the auditor; a service answers only identity). A service class lists it among its bases."""
from __future__ import annotations

from servicekit.audit.log import audit_log_for
from servicekit.messaging.rpc import service_rpc
from servicekit.process.config import database_name


ENTRY_POINTS = frozenset({"audit_entries", "verify_audit_chain"})


class AuditEntries:
    name: str

    def _audit_log(self):
        return audit_log_for(self.name, database_name(self.name))

    @service_rpc("identity")
    def audit_entries(self, tenant_id="", since="", until="", actor="", operation="", outcome="", target="",
                      limit=500):
        return self._audit_log().search(tenant_id, since, until, actor, operation, outcome, target, limit)

    @service_rpc("identity")
    def verify_audit_chain(self, tenant_id=""):
        return self._audit_log().verify(tenant_id)
