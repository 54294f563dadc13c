"""Who may see and change what: pure rules over a CallerScope and stored documents.

Anything outside the caller's tenant or subtree is reported as not found, so its
existence is not revealed; what the caller may see but not change is forbidden.
"""
from __future__ import annotations

from servicekit.errors import NotFound, PermissionDenied
from servicekit.security.scope import ROLE_ORG_ADMIN, CallerScope, caller_of


def party_caller(scope) -> CallerScope:
    """The caller of an operation on the party's own records (the tree, members, accounts, transfers): any
    tenant account but a citizen's, which has its own account and nothing else here."""
    caller = caller_of(scope)
    if caller.is_citizen:
        raise PermissionDenied("群众账号无权使用此功能", code="CITIZEN_NOT_ALLOWED")
    return caller


def path_ids(doc: dict) -> list[str]:
    return [doc[f"a{level}"] for level in range(6) if doc.get(f"a{level}")]


def _same_tenant(scope: CallerScope, doc: dict) -> bool:
    return bool(scope.tenant_id) and doc.get("tenant_id") == scope.tenant_id


def manages(scope: CallerScope, doc: dict) -> bool:
    """An admin or secretary whose subtree holds this org or member."""
    return _same_tenant(scope, doc) and scope.manages_path(path_ids(doc))


def administers(scope: CallerScope, doc: dict) -> bool:
    """An organisation admin (not a secretary) whose subtree holds this node."""
    return _same_tenant(scope, doc) and any(org_id in scope.admin_org_ids for org_id in path_ids(doc))


def readable_org(scope: CallerScope, org: dict | None, own_branch_id: str | None = None) -> dict:
    if org and (manages(scope, org) or (_same_tenant(scope, org) and org["_id"] == own_branch_id)):
        return org
    raise NotFound("组织不存在或不在您的管辖范围内", code="ORG_NOT_FOUND", field="org_id")


def managed_org(scope: CallerScope, org: dict | None, field: str = "org_id",
                own_branch_id: str | None = None) -> dict:
    if org and manages(scope, org):
        return org
    if org and _same_tenant(scope, org) and org["_id"] == own_branch_id:
        raise PermissionDenied("您无权管理该组织", code="NOT_ORG_MANAGER", field=field)
    raise NotFound("组织不存在或不在您的管辖范围内", code="ORG_NOT_FOUND", field=field)


def administered_org(scope: CallerScope, org: dict | None, field: str = "org_id") -> dict:
    org = managed_org(scope, org, field)
    if not administers(scope, org):
        raise PermissionDenied("只有组织管理员可以调整组织架构", code="NOT_ORG_ADMIN", field=field)
    return org


def strictly_below_admin_root(scope: CallerScope, org: dict) -> None:
    """Moving or dissolving a node needs the right over its parent, not just over the node."""
    if not any(org_id in scope.admin_org_ids for org_id in path_ids(org)[:-1]):
        raise PermissionDenied("不能移动或撤销您所管理的根组织", code="OWN_ROOT_IMMUTABLE", field="org_id")


def readable_member(scope: CallerScope, member: dict | None) -> dict:
    if member and (manages(scope, member) or (_same_tenant(scope, member) and member["_id"] == scope.member_id)):
        return member
    raise NotFound("党员不存在或不在您的管辖范围内", code="MEMBER_NOT_FOUND", field="member_id")


def managed_member(scope: CallerScope, member: dict | None) -> dict:
    member = readable_member(scope, member)
    if not manages(scope, member):
        raise PermissionDenied("您无权修改该党员信息", code="NOT_MEMBER_MANAGER", field="member_id")
    return member


def tenant_admin_for_reset(scope: CallerScope, tenant: dict | None, account: dict | None) -> dict:
    """The account whose password the installation operator may reset: an admin of the tenant's root
    organisation (the tenant's admin, whom no one inside the tenant can help once its password is lost)."""
    scope.require_operator()
    if tenant is None:
        raise NotFound("租户不存在", code="TENANT_NOT_FOUND", field="tenant_code")
    if account is None or account.get("tenant_id") != tenant["_id"]:
        raise NotFound("该租户没有此账号", code="ACCOUNT_NOT_FOUND", field="username")
    if not any(grant.get("role") == ROLE_ORG_ADMIN and grant.get("org_id") == tenant["root_org_id"]
               for grant in account.get("roles", [])):
        raise PermissionDenied("只能重置租户管理员（根组织管理员）的密码", code="NOT_TENANT_ADMIN", field="username")
    return account
