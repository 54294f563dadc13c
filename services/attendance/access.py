"""Who may see and do what with an activity: pure rules over a CallerScope and stored documents.

- a superior (组织管理员 of any node on the branch's path) reviews plans, opens
  rectifications, back-fills after closing and reads everything of its subtree;
- the branch secretary (支部书记) plans, decides leave and uploads for its own branch;
- a member reads its own branch's activities and scans, asks leave, reflects and likes
  for itself only.
Anything outside the caller's tenant or subtree is reported as not found.
"""
from __future__ import annotations

from servicekit.errors import NotFound, PermissionDenied
from servicekit.security.scope import ROLE_BRANCH_SECRETARY, CallerScope

NOT_FOUND_MESSAGE = "活动不存在或不在您的管辖范围内"


def _same_tenant(scope: CallerScope, doc: dict | None) -> bool:
    return bool(doc) and bool(scope.tenant_id) and doc.get("tenant_id") == scope.tenant_id


def is_superior(scope: CallerScope, activity: dict) -> bool:
    return _same_tenant(scope, activity) and any(org_id in scope.admin_org_ids for org_id in activity["org_path"])


def is_secretary(scope: CallerScope, activity: dict) -> bool:
    return _same_tenant(scope, activity) and any(
        grant.role == ROLE_BRANCH_SECRETARY and grant.org_id == activity["branch_id"] for grant in scope.roles)


def is_branch_member(scope: CallerScope, activity: dict) -> bool:
    return _same_tenant(scope, activity) and bool(scope.member_id) and scope.branch_id == activity["branch_id"]


def readable(scope: CallerScope, activity: dict | None, field: str = "activity_id") -> dict:
    if activity and (is_superior(scope, activity) or is_secretary(scope, activity)
                     or is_branch_member(scope, activity)):
        return activity
    raise NotFound(NOT_FOUND_MESSAGE, code="ACTIVITY_NOT_FOUND", field=field)


def as_secretary(scope: CallerScope, activity: dict | None) -> dict:
    """The branch's secretary, or a superior acting for the branch."""
    activity = readable(scope, activity)
    if not (is_secretary(scope, activity) or is_superior(scope, activity)):
        raise PermissionDenied("只有本支部书记或上级组织可以执行此操作", code="NOT_BRANCH_SECRETARY")
    return activity


def as_superior(scope: CallerScope, activity: dict | None) -> dict:
    activity = readable(scope, activity)
    if not is_superior(scope, activity):
        raise PermissionDenied("只有上级组织管理员可以执行此操作", code="NOT_SUPERIOR")
    return activity


def as_code_policy_superior(scope: CallerScope, activity: dict | None, issued_by: str) -> dict:
    """Who may allow the printed code: an org admin of a node above the branch, or the superior who issued the
    day (``issued_by``, still an admin on the branch's path). Never the branch's own secretary or admin."""
    activity = readable(scope, activity)
    above = any(org_id in scope.admin_org_ids for org_id in activity["org_path"][:-1])
    issuer = is_superior(scope, activity) and bool(scope.account_id) and scope.account_id == issued_by
    if not (above or issuer):
        raise PermissionDenied("只有下发活动的上级组织管理员可以设置是否允许打印签到码", code="NOT_SUPERIOR")
    return activity


def as_member(scope: CallerScope, activity: dict | None) -> dict:
    """A member acting for itself in its own branch's activity."""
    activity = readable(scope, activity)
    if not is_branch_member(scope, activity):
        raise PermissionDenied("只有本支部党员本人可以执行此操作", code="MEMBER_ONLY")
    return activity


def require_member(scope: CallerScope) -> str:
    if not scope.member_id:
        raise PermissionDenied("只有党员本人可以执行此操作", code="MEMBER_ONLY")
    return scope.member_id

