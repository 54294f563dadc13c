"""Who may see and do what with content: pure rules over a CallerScope and an organisation path.

- content belongs to an organisation node and is visible to that node's subtree: a member sees its own
  branch's and every ancestor's columns; an admin (or secretary) also sees what its subtree publishes;
- admins of the owning node or above review and publish; a secretary writes for its own branch;
  members read, study, answer and write letters, never publish or review.
Anything outside the caller's tenant or subtree is reported as not found, with the same code as an id
that exists nowhere.
"""
from __future__ import annotations

from servicekit.errors import NotFound, PermissionDenied
from servicekit.security.scope import CallerScope


def same_tenant(caller: CallerScope, doc: dict | None) -> bool:
    return bool(doc) and bool(caller.tenant_id) and doc.get("tenant_id") == caller.tenant_id


def manages(caller: CallerScope, path_ids) -> bool:
    """An admin or secretary of a node on ``path_ids`` (root first, the node itself last)."""
    return caller.manages_path(path_ids)


def administers(caller: CallerScope, path_ids) -> bool:
    """An org admin of a node on ``path_ids``: the owning node's admins and every superior's."""
    return any(org_id in caller.admin_org_ids for org_id in path_ids)


def sees(caller: CallerScope, owner_path, member_path) -> bool:
    """Whether something owned by the node at ``owner_path`` is visible to the caller, a member whose branch
    lies at ``member_path``: the owner is the member's branch or one of its ancestors, or the caller manages
    the owner's node."""
    owner = owner_path[-1] if owner_path else None
    return bool(owner) and (owner in (member_path or ()) or manages(caller, owner_path))


def require_member(caller: CallerScope) -> str:
    """The caller's own member id: operations a member does for itself."""
    caller.require_tenant()
    if not caller.member_id or not caller.branch_id:
        raise PermissionDenied("此操作需要党员账号", code="MEMBER_ONLY")
    return caller.member_id


def require_manager(caller: CallerScope, path_ids, field: str = "org_id") -> None:
    if not manages(caller, path_ids):
        raise PermissionDenied("您无权管理该组织的内容", code="NOT_ORG_MANAGER", field=field)


def require_admin(caller: CallerScope, path_ids, field: str = "org_id") -> None:
    if not administers(caller, path_ids):
        raise PermissionDenied("只有该组织或上级组织的管理员可以执行此操作", code="NOT_ORG_ADMIN", field=field)


def not_found(message: str, code: str, field: str) -> NotFound:
    return NotFound(message, code=code, field=field)


def tenant_root(caller: CallerScope, org_paths, identity) -> str:
    """The id of the caller's tenant root (the city), from the path of any node it manages or its branch."""
    for org_id in sorted(caller.managed_org_ids) or ([caller.branch_id] if caller.branch_id else []):
        return org_paths.path(identity, caller, org_id)[0]
    raise PermissionDenied("此操作需要组织账号", code="NOT_ORG_MANAGER")


def require_city_admin(caller: CallerScope, org_paths, identity) -> str:
    """The tenant root's id, when the caller is an admin of it (市委组织部)."""
    root = tenant_root(caller, org_paths, identity)
    if root not in caller.admin_org_ids:
        raise PermissionDenied("只有市级管理员可以执行此操作", code="NOT_CITY_ADMIN")
    return root


def reach_paths(caller: CallerScope, org_paths, identity) -> list[list[str]]:
    """The paths (root first) of the caller's own branch and of every node it manages: what lies on one of them,
    or below a managed node, is in the caller's reach (``within_reach``)."""
    org_ids = sorted(caller.managed_org_ids) + ([caller.branch_id] if caller.branch_id else [])
    return [org_paths.path(identity, caller, org_id) for org_id in dict.fromkeys(org_ids)]


def within_reach(caller: CallerScope, owner_path, reach: list[list[str]]) -> bool:
    """Whether what the node at ``owner_path`` owns is visible to a caller of ``reach``: the owner is the
    caller's branch, a managed node or an ancestor of one (a member reads its branch path's columns, an admin
    also its superiors'), or lies in a managed subtree."""
    owner = owner_path[-1] if owner_path else None
    return bool(owner) and (any(owner in path for path in reach) or manages(caller, owner_path))


# --- publishing: items and columns ------------------------------------------------------------
def reaches(owner_path, member_path, managed_paths) -> bool:
    """Whether content owned by the node at ``owner_path`` is in the caller's audience: the owner is the
    member's branch or an ancestor, or a node the caller manages or one of its ancestors."""
    owner = owner_path[-1] if owner_path else None
    return bool(owner) and (owner in (member_path or ()) or any(owner in path for path in managed_paths))


def sees_item(caller: CallerScope, item: dict | None, member_path, managed_paths) -> bool:
    """A published item: its owner's subtree sees it, and managers see their ancestors' too; any other state:
    only the managers of the owning node (its writers and reviewers)."""
    if not same_tenant(caller, item):
        return False
    owner_path = item.get("org_path") or []
    if manages(caller, owner_path):
        return True
    return item.get("status") == "published" and reaches(owner_path, member_path, managed_paths)
