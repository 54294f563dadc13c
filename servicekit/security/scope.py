"""The caller's scope: who is calling, in which tenant, over which subtrees.

The gateway builds it from a verified access token and passes it to every service
call as a plain dict; each service rebuilds it here and checks it against its own
data (tenant match, target inside one of the caller's subtrees).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from servicekit.errors import PermissionDenied, Unauthenticated

ROLE_OPERATOR = "operator"          # the installation's operator: creates tenants
ROLE_ORG_ADMIN = "org_admin"        # admin of an organisation node and its subtree
ROLE_BRANCH_SECRETARY = "branch_secretary"  # 支部书记: acts on one branch
ROLE_MEMBER = "member"              # 党员: itself and its own branch, read-only
ROLE_CITIZEN = "citizen"            # 群众: its own volunteer orders only; no member record, never an org grant
ROLE_AUDITOR = "auditor"            # 审计员: reads its tenant's audit log and nothing else (granted at the root)
ROLES = (ROLE_OPERATOR, ROLE_ORG_ADMIN, ROLE_BRANCH_SECRETARY, ROLE_MEMBER, ROLE_CITIZEN, ROLE_AUDITOR)


@dataclass(frozen=True)
class RoleGrant:
    role: str
    org_id: str | None = None


@dataclass(frozen=True)
class CallerScope:
    account_id: str
    tenant_id: str | None
    roles: tuple[RoleGrant, ...] = ()
    member_id: str | None = None
    branch_id: str | None = None
    session_id: str | None = None       # the login session the token belongs to (logout, list_sessions)
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def is_operator(self) -> bool:
        return any(grant.role == ROLE_OPERATOR for grant in self.roles)

    @property
    def is_citizen(self) -> bool:
        """A citizen's account: every grant it holds is the citizen role (the gateway lets it call only the
        operations marked for citizens)."""
        return bool(self.roles) and all(grant.role == ROLE_CITIZEN for grant in self.roles)

    @property
    def is_auditor(self) -> bool:
        return any(grant.role == ROLE_AUDITOR for grant in self.roles)

    @property
    def managed_org_ids(self) -> frozenset[str]:
        """Roots of the subtrees this caller may manage (admin or secretary)."""
        return frozenset(grant.org_id for grant in self.roles
                         if grant.role in (ROLE_ORG_ADMIN, ROLE_BRANCH_SECRETARY) and grant.org_id)

    @property
    def admin_org_ids(self) -> frozenset[str]:
        return frozenset(grant.org_id for grant in self.roles
                         if grant.role == ROLE_ORG_ADMIN and grant.org_id)

    def manages_path(self, path_ids: list[str] | tuple[str, ...]) -> bool:
        """True when a node with these ancestor ids (root first, itself last) is in a managed subtree."""
        managed = self.managed_org_ids
        return any(org_id in managed for org_id in path_ids)

    def require_tenant(self, tenant_id: str | None = None) -> str:
        if not self.tenant_id:
            raise PermissionDenied("this operation needs a tenant account", code="TENANT_REQUIRED")
        if tenant_id is not None and tenant_id != self.tenant_id:
            raise PermissionDenied("outside your tenant", code="OUTSIDE_TENANT")
        return self.tenant_id

    def require_operator(self) -> None:
        if not self.is_operator:
            raise PermissionDenied("only the installation operator may do this", code="OPERATOR_ONLY")

    def to_dict(self) -> dict:
        return {
            "account_id": self.account_id,
            "tenant_id": self.tenant_id,
            "roles": [{"role": g.role, "org_id": g.org_id} for g in self.roles],
            "member_id": self.member_id,
            "branch_id": self.branch_id,
            **({"session_id": self.session_id} if self.session_id else {}),
        }

    @classmethod
    def from_dict(cls, data) -> "CallerScope":
        if not isinstance(data, dict) or not data.get("account_id"):
            raise Unauthenticated("missing caller scope", code="SCOPE_MISSING")
        roles = []
        for grant in data.get("roles") or []:
            if not isinstance(grant, dict) or grant.get("role") not in ROLES:
                raise Unauthenticated("malformed caller scope", code="SCOPE_MALFORMED")
            roles.append(RoleGrant(grant["role"], grant.get("org_id")))
        return cls(account_id=data["account_id"], tenant_id=data.get("tenant_id"), roles=tuple(roles),
                   member_id=data.get("member_id"), branch_id=data.get("branch_id"),
                   session_id=_text_or_none(data.get("session_id")))


def _text_or_none(value) -> str | None:
    return value if isinstance(value, str) and value else None


def caller_of(scope) -> CallerScope:
    """The caller of an entry point that acts inside a tenant (every one but the operator's)."""
    caller = CallerScope.from_dict(scope)
    caller.require_tenant()
    return caller
