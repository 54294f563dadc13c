"""What the identity use cases share: the store and clock, and the lookups every topic starts from."""
from __future__ import annotations

from servicekit.errors import InvalidArgument
from servicekit.security.scope import CallerScope
from servicekit.timestamps import stamp

from services.identity.arguments import text
from services.identity.store import IdentityStore, path_of
from services.identity.views import org_view

USERNAME_MAX = 64


def choice(value, allowed, field: str) -> str:
    value = text(value, field)
    if value not in allowed:
        raise InvalidArgument(f"{field} 取值无效，可选：{', '.join(allowed)}", code="UNKNOWN_VALUE", field=field)
    return value


def username(value, field: str) -> str:
    value = text(value, field, max_length=USERNAME_MAX)
    if not all(ch.isalnum() or ch in "._-@" for ch in value):
        raise InvalidArgument("用户名只能包含字母、数字和 . _ - @", code="USERNAME_INVALID", field=field)
    return value


class UseCases:
    """The base of each topic's use cases."""

    def __init__(self, store: IdentityStore, clock):
        self.store = store
        self.clock = clock

    def stamp(self) -> str:
        """Now, as stored."""
        return stamp(self.clock.now())

    def org(self, org_id, field: str = "org_id") -> dict | None:
        return self.store.org(text(org_id, field))

    def member(self, member_id) -> dict | None:
        return self.store.member(text(member_id, "member_id"))

    def own_branch(self, caller: CallerScope) -> str | None:
        """The branch of the caller's own member record (a member may read its branch, not manage it)."""
        if not caller.member_id:
            return None
        member = self.store.member(caller.member_id)
        return member["branch_id"] if member else None

    def org_view(self, org: dict) -> dict:
        return self.org_views([org])[0]

    def org_views(self, orgs: list[dict]) -> list[dict]:
        ancestor_ids = {org_id for org in orgs for org_id in path_of(org)[:-1]}
        names = {org_id: doc["name"] for org_id, doc in self.store.orgs_by_ids(ancestor_ids).items()}
        return [org_view(org, names) for org in orgs]
