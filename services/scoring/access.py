"""Who may see and change what in scoring: pure rules over a CallerScope and stored documents.

Outside the caller's tenant or subtree answers not found; visible but not allowed is forbidden.
"""
from __future__ import annotations

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied
from servicekit.security.scope import CallerScope

from services.scoring.store import path_of

ORG_NOT_FOUND_MESSAGE = "组织不存在或不在您的管辖范围内"


def _same_tenant(scope: CallerScope, doc: dict | None) -> bool:
    return bool(doc) and bool(scope.tenant_id) and doc.get("tenant_id") == scope.tenant_id


def subtree_level(scope: CallerScope, org_id: str, sample: dict | None) -> int:
    """The depth of org_id in the tree, if the caller manages it (sample: any activity below org_id)."""
    if not _same_tenant(scope, sample):
        raise NotFound(ORG_NOT_FOUND_MESSAGE, code="ORG_NOT_FOUND", field="org_id")
    path = path_of(sample)
    level = path.index(org_id)
    if scope.manages_path(path[:level + 1]):
        return level
    if org_id == scope.branch_id:
        raise PermissionDenied("党员只能查看本支部的得分", code="NOT_ORG_MANAGER", field="org_id")
    raise NotFound(ORG_NOT_FOUND_MESSAGE, code="ORG_NOT_FOUND", field="org_id")


def _reads_activity(scope: CallerScope, activity: dict | None) -> bool:
    return _same_tenant(scope, activity) and (scope.manages_path(path_of(activity))
                                              or activity.get("branch_id") == scope.branch_id)


def readable_activity(scope: CallerScope, activity: dict | None) -> dict:
    if _reads_activity(scope, activity):
        return activity
    raise NotFound("主题党日不存在或不在您的管辖范围内", code="ACTIVITY_NOT_FOUND", field="activity_id")


def readable_branch(scope: CallerScope, sample: dict | None) -> dict:
    """A branch's themed days (sample: any of them), for whoever may read them; a branch out of reach answers
    like one that exists nowhere."""
    if _reads_activity(scope, sample):
        return sample
    raise NotFound(ORG_NOT_FOUND_MESSAGE, code="ORG_NOT_FOUND", field="branch_id")


def rateable_activity(scope: CallerScope, activity: dict | None) -> dict:
    """A superior rates: an organisation admin of a strict ancestor of the branch."""
    activity = readable_activity(scope, activity)
    if not any(org_id in scope.admin_org_ids for org_id in path_of(activity)[:-1]):
        raise PermissionDenied("只有上级党组织可以评分", code="NOT_SUPERIOR", field="activity_id")
    return activity


def _reads_member(scope: CallerScope, member: dict | None, member_id: str) -> bool:
    own = bool(member_id) and member_id == scope.member_id and bool(scope.tenant_id)
    return own or (_same_tenant(scope, member) and scope.manages_path(path_of(member)))


def readable_member(scope: CallerScope, member: dict | None, member_id: str) -> dict:
    if _reads_member(scope, member, member_id):
        return member or {"_id": member_id, "tenant_id": scope.tenant_id}
    raise NotFound("党员不存在或不在您的管辖范围内", code="MEMBER_NOT_FOUND", field="member_id")


def correctable_entry(scope: CallerScope, entry: dict | None, member: dict | None) -> dict:
    """A ledger entry whose member the caller manages. An entry of a member out of the caller's reach answers
    like one that exists nowhere; a member's own entry is visible, not the member's to correct."""
    if not (_same_tenant(scope, entry) and _reads_member(scope, member, entry["member_id"])):
        raise NotFound("积分记录不存在", code="ENTRY_NOT_FOUND", field="entry_id")
    managed_member(scope, member, entry["member_id"])
    return entry


def managed_member(scope: CallerScope, member: dict | None, member_id: str) -> dict:
    member = readable_member(scope, member, member_id)
    if not (member.get("a0") and scope.manages_path(path_of(member))):
        raise PermissionDenied("您无权为该党员记分", code="NOT_MEMBER_MANAGER", field="member_id")
    return member


def city_admin(scope: CallerScope, tenant: dict | None) -> None:
    if not tenant or tenant.get("root_org_id") not in scope.admin_org_ids:
        raise PermissionDenied("只有市级管理员可以修改积分规则", code="NOT_CITY_ADMIN")


# --- democratic appraisal (民主评议党员) -------------------------------------------------------------------------
APPRAISAL_NOT_FOUND_MESSAGE = "民主评议不存在或不在您的管辖范围内"


def _manages_appraisal(scope: CallerScope, appraisal: dict | None) -> bool:
    return _same_tenant(scope, appraisal) and scope.manages_path(path_of(appraisal))


def readable_appraisal(scope: CallerScope, appraisal: dict | None) -> dict:
    """The branch's secretary and the admins above it, and the members on its roster; anyone else is answered
    as if it existed nowhere."""
    if _manages_appraisal(scope, appraisal) or (
            _same_tenant(scope, appraisal) and bool(scope.member_id) and scope.member_id in appraisal["roster"]):
        return appraisal
    raise NotFound(APPRAISAL_NOT_FOUND_MESSAGE, code="APPRAISAL_NOT_FOUND", field="appraisal_id")


def manages_appraisal(scope: CallerScope, appraisal: dict) -> bool:
    return _manages_appraisal(scope, appraisal)


def managed_appraisal(scope: CallerScope, appraisal: dict | None) -> dict:
    appraisal = readable_appraisal(scope, appraisal)
    if not _manages_appraisal(scope, appraisal):
        raise PermissionDenied("只有支部书记或上级党组织可以管理民主评议", code="NOT_APPRAISAL_MANAGER",
                               field="appraisal_id")
    return appraisal


def appraised_member(scope: CallerScope, appraisal: dict | None) -> dict:
    """A member on the appraisal's roster, acting for itself (reviews and its vote)."""
    appraisal = readable_appraisal(scope, appraisal)
    if not scope.member_id:
        raise PermissionDenied("只有参加评议的党员本人可以提交评议和投票", code="MEMBER_ONLY", field="appraisal_id")
    if scope.member_id not in appraisal["roster"]:
        raise PermissionDenied("您不在本次民主评议的名单中", code="NOT_IN_APPRAISAL", field="appraisal_id")
    return appraisal


def managed_branch(scope: CallerScope, org: dict) -> dict:
    """An organisation identity answered to the caller (so in its tenant and reach): managed, and a branch."""
    if not scope.manages_path(org.get("path_ids") or []):
        raise PermissionDenied("只有支部书记或上级党组织可以组织民主评议", code="NOT_ORG_MANAGER", field="org_id")
    if org.get("kind") != "branch":
        raise InvalidArgument("民主评议以党支部为单位组织，请选择一个党支部", code="NOT_A_BRANCH", field="org_id")
    return org
