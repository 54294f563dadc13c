"""Subtrees by ancestor fields: every document below an organisation node carries ``a0``..``a5``,
the ids of its path from the tenant root (one single-field index each: nx-27017 plans with
nothing else and answers array queries wrongly). The subtree of a node at depth L is ``{"aL": id}``.
"""
from __future__ import annotations

MAX_DEPTH = 6
LEVEL_FIELDS = [f"a{level}" for level in range(MAX_DEPTH)]


def ancestor_fields(path_ids) -> dict:
    """The a0..a5 fields of a document whose node path (root first, itself last) is ``path_ids``."""
    fields = {name: None for name in LEVEL_FIELDS}
    fields.update({f"a{level}": org_id for level, org_id in enumerate(list(path_ids or [])[:MAX_DEPTH])})
    return fields


def path_of(doc: dict) -> list[str]:
    return [doc[name] for name in LEVEL_FIELDS if doc.get(name)]


def subtree_filter(path_ids: list[str]) -> dict:
    """Everything at or below the node whose path is ``path_ids``."""
    return {f"a{len(path_ids) - 1}": path_ids[-1]}
