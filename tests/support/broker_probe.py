"""A stand-in for the attendance service (tests/integration/test_broker_permissions.py): run as attendance's broker
user, it serves one call and calls identity as attendance does, so a call crosses three users' permissions."""
from __future__ import annotations

from nameko.rpc import RpcProxy

from servicekit.messaging.rpc import rpc


class AttendanceProbe:
    name = "attendance"
    identity = RpcProxy("identity")

    @rpc
    def rosters(self, tenant_id="", branch_ids=()):
        return self.identity.branch_rosters(tenant_id=tenant_id, branch_ids=list(branch_ids))
