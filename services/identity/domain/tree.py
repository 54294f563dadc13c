"""The organisation tree: which kind of organisation may sit under which, and how deep the tree may grow.

City (level 0) → county → committee (党委) → general branch (党总支) → branch (党支部) → group (党小组).
Every allowed parent precedes its child in ``KINDS``, so the kind rules alone keep the tree within ``MAX_DEPTH``;
the depth check is kept as a guard should the rules ever loosen.
"""
from __future__ import annotations

from typing import Sequence

from servicekit.errors import InvalidArgument

from .problems import Problem, raise_first

KINDS = ("city", "county", "committee", "general_branch", "branch", "group")
CATEGORIES = ("township", "street", "college", "enterprise", "organ", "other")
FIELDS = ("rural", "community", "school", "enterprise", "government", "social", "other")
MAX_DEPTH = 6
MAX_NAME_LENGTH = 60

ALLOWED_PARENTS: dict[str, tuple[str, ...]] = {
    "city": (),
    "county": ("city",),
    "committee": ("city", "county"),
    "general_branch": ("committee",),
    "branch": ("county", "committee", "general_branch"),
    "group": ("branch",),
}

KIND_LABELS = {
    "city": "市委", "county": "县区委", "committee": "党委",
    "general_branch": "党总支", "branch": "党支部", "group": "党小组",
}


def child_kind_problem(parent_kind: str | None, child_kind: str, field: str = "kind") -> Problem | None:
    """``parent_kind`` None (or "") asks whether ``child_kind`` may be a root."""
    if child_kind not in ALLOWED_PARENTS:
        return Problem(field, "KIND_UNKNOWN", f"未知的组织类型：{child_kind}")
    if not parent_kind:
        if child_kind != "city":
            return Problem(field, "KIND_NOT_ALLOWED_HERE", "只有市委可以作为根组织")
        return None
    if parent_kind not in ALLOWED_PARENTS[child_kind]:
        parent_label = KIND_LABELS.get(parent_kind, parent_kind)
        return Problem(field, "KIND_NOT_ALLOWED_HERE", f"{parent_label}下不能设立{KIND_LABELS[child_kind]}")
    return None


def check_child_kind(parent_kind: str | None, child_kind: str, field: str = "kind") -> None:
    problem = child_kind_problem(parent_kind, child_kind, field)
    if problem:
        raise problem.to_error()


def org_field_problems(name: object, kind: object, category: object = "", field: object = ""
                       ) -> tuple[dict, list[Problem]]:
    name = str(name or "").strip()
    kind = str(kind or "").strip()
    category = str(category or "").strip()
    field = str(field or "").strip()
    problems = []
    if not name:
        problems.append(Problem("name", "NAME_INVALID", "请填写组织名称"))
    elif len(name) > MAX_NAME_LENGTH:
        problems.append(Problem("name", "NAME_INVALID", f"组织名称不能超过{MAX_NAME_LENGTH}个字"))
    elif "/" in name:
        problems.append(Problem("name", "NAME_INVALID", "组织名称不能包含“/”"))
    if kind not in ALLOWED_PARENTS:
        problems.append(Problem("kind", "KIND_UNKNOWN", f"未知的组织类型：{kind}" if kind else "请填写组织类型"))
    if kind == "committee":
        if category not in CATEGORIES:
            problems.append(Problem("category", "CATEGORY_INVALID",
                                    f"未知的党委类别：{category}" if category else "请选择党委类别"))
    elif category:
        problems.append(Problem("category", "CATEGORY_INVALID", "只有党委需要填写类别"))
    if field and field not in FIELDS:
        problems.append(Problem("field", "FIELD_INVALID", f"未知的领域：{field}"))
    return {"name": name, "kind": kind, "category": category, "field": field}, problems


def validate_org_fields(name: object, kind: object, category: object = "", field: object = "") -> dict:
    normalized, problems = org_field_problems(name, kind, category, field)
    raise_first(problems)
    return normalized


def check_depth(level: int, subtree_height: int = 0, field: str = "parent_id") -> None:
    """``level`` is where the node would sit (city = 0); ``subtree_height`` how many levels hang below it."""
    if level + subtree_height >= MAX_DEPTH:
        raise InvalidArgument(f"组织层级不能超过{MAX_DEPTH}级", code="TREE_TOO_DEEP", field=field)


def check_move(node_path_ids: Sequence[str], new_parent_path_ids: Sequence[str], node_kind: str,
               new_parent_kind: str, subtree_height: int) -> None:
    """Paths run root first, the node (or new parent) itself last; ``subtree_height`` is 0 for a leaf."""
    if len(node_path_ids) <= 1:
        raise InvalidArgument("根组织不能移动", code="ROOT_IMMUTABLE", field="org_id")
    if node_path_ids[-1] in new_parent_path_ids:
        raise InvalidArgument("不能把组织移动到它自己或它的下级组织之下",
                              code="MOVE_INTO_OWN_SUBTREE", field="new_parent_id")
    check_child_kind(new_parent_kind, node_kind, field="new_parent_id")
    check_depth(len(new_parent_path_ids), subtree_height, field="new_parent_id")
