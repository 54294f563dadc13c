"""Where an organisation sits in the tree, for a caller: what every subtree query of scoring starts from."""
from __future__ import annotations

from servicekit.security.scope import CallerScope

from services.scoring import access
from services.scoring.arguments import text
from services.scoring.store import ScoringStore, ancestor_fields


class Subtrees:
    def __init__(self, store: ScoringStore, identity):
        self.store = store
        self.identity = identity

    def level(self, caller: CallerScope, org_id) -> tuple[int, str]:
        """The depth of ``org_id`` in the tree and the id, if the caller may read its subtree."""
        org_id = text(org_id, "org_id")
        sample = self.store.any_activity_under(org_id)
        if sample is None:      # no themed day below it yet: an empty answer if identity says it is in scope
            sample = self.places(caller, [org_id])[0]
        return access.subtree_level(caller, org_id, sample), org_id

    def places(self, caller: CallerScope, org_ids: list[str]) -> list[dict]:
        """Each organisation's name and ancestors, from identity (which knows every organisation, with or
        without a themed day) asked with the caller's scope, all at once; out of scope: ORG_NOT_FOUND."""
        replies = [self.identity.get_org.call_async(scope=caller.to_dict(), org_id=org_id) for org_id in org_ids]
        return [{"tenant_id": org.get("tenant_id"), "name": org.get("name", ""),
                 **ancestor_fields(org.get("path_ids"))} for org in (reply.result() for reply in replies)]
