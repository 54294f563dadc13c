"""Fakes for the community topic's fast tests: an in-memory store with the community reads and writes (and the
few of publishing and settings it uses), identity with members, scoring's points totals."""
from __future__ import annotations

import copy

from servicekit.errors import Conflict, NotFound
from servicekit.storage.subtree import subtree_filter

from tests.fast.content.fakes import BRANCH, BRANCH2, BRANCH_B, FOREIGN_BRANCH, PATHS, FakeIdentity, tenant_of

MEMBERS = {"m_1": ("张三", BRANCH), "m_2": ("李四", BRANCH), "m_secretary": ("王书记", BRANCH),
           "m_3": ("赵六", BRANCH2), "m_4": ("孙七", BRANCH_B), "m_x": ("外人", FOREIGN_BRANCH)}


class CommunityIdentity(FakeIdentity):
    """FakeIdentity with members and names on the rosters."""

    def get_member(self, scope: dict, member_id: str) -> dict:
        self.asked.append(("get_member", member_id))
        if member_id in MEMBERS:
            name, branch_id = MEMBERS[member_id]
            managed = {grant["org_id"] for grant in scope.get("roles") or []
                       if grant["role"] in ("org_admin", "branch_secretary")}
            if tenant_of(branch_id) == scope.get("tenant_id") and (
                    member_id == scope.get("member_id") or managed & set(PATHS[branch_id])):
                return {"id": member_id, "name": name, "branch_id": branch_id}
        raise NotFound("党员不存在或不在您的管辖范围内", code="MEMBER_NOT_FOUND", field="member_id")

    def branch_rosters(self, tenant_id: str = "", branch_ids=()) -> dict:
        self.asked.append(("branch_rosters", ",".join(branch_ids)))
        return {branch_id: [{"member_id": m, "name": name, "mobile": False}
                            for m, (name, branch) in MEMBERS.items() if branch == branch_id]
                for branch_id in branch_ids if branch_id in PATHS and tenant_of(branch_id) == tenant_id}


class FakeScoring:
    """scoring.member_points_totals as content calls it: ``totals`` by member, whatever the days."""

    def __init__(self):
        self.totals: dict[str, dict] = {}
        self.asked: list[dict] = []

    def member_points_totals(self, scope: dict, branch_id: str, since: str, until: str) -> dict:
        self.asked.append({"scope": scope, "branch_id": branch_id, "since": since, "until": until})
        return {"branch_id": branch_id, "since": since, "until": until,
                "members": [{"member_id": member_id, **row} for member_id, row in self.totals.items()
                            if MEMBERS.get(member_id, ("", ""))[1] == branch_id]}


class FakeCommunityStore:
    """The community mixin's reads and writes over dicts, with the events each commit carried in ``events``."""

    def __init__(self):
        self.role_models: dict[str, dict] = {}
        self.publicities: dict[str, dict] = {}
        self.objections: dict[str, dict] = {}
        self.letters: dict[str, dict] = {}
        self.items: dict[str, dict] = {}
        self.columns: dict[str, dict] = {}
        self.events: list[dict] = []
        self.stored_settings: dict | None = None
        self.commits: list[dict] = []      # what each commit of a record wrote: the record, its items, its events
        self.fail_commit = False

    # settings and publishing ----------------------------------------------------------------
    def settings_of(self, tenant_id):
        return self.stored_settings

    def default_column(self, tenant_id, org_path, key, review_required, at):
        column_id = f"{org_path[-1]}:{key}"
        return self.columns.setdefault(column_id, {"_id": column_id, "org_id": org_path[-1], "key": key})

    def _commit_record(self, collection, record, items, events):
        """One transaction: the record, its generated items published and its events, or (``fail_commit``: the
        store went away) none of them."""
        if self.fail_commit:
            raise RuntimeError("the store went away")
        getattr(self, collection)[record["_id"]] = copy.deepcopy(record)
        for item in items:
            self.items[item["_id"]] = {**copy.deepcopy(item), "status": "published", "generated": True}
        self.events += events
        self.commits.append({"record": record["_id"], "items": [item["_id"] for item in items],
                             "events": [event["event_type"] for event in events]})

    # role models ---------------------------------------------------------------------------------
    def role_model(self, role_model_id):
        return copy.deepcopy(self.role_models.get(role_model_id))

    def role_models_under(self, path_ids, kind=""):
        field, value = next(iter(subtree_filter(path_ids).items()))
        found = [copy.deepcopy(d) for d in self.role_models.values()
                 if d.get(field) == value and (not kind or d["kind"] == kind)]
        return sorted(found, key=lambda d: (d["period"], d["named_at"], d["_id"]), reverse=True)

    def name_role_model(self, record, items, events):
        if record["_id"] in self.role_models:
            raise Conflict("该支部本期已确定人选", code="ROLE_MODEL_EXISTS")
        self._commit_record("role_models", record, items, events)
        return record

    # publicities ---------------------------------------------------------------------------------
    def publicity(self, publicity_id):
        return copy.deepcopy(self.publicities.get(publicity_id))

    def publicities_under(self, path_ids, state=""):
        field, value = next(iter(subtree_filter(path_ids).items()))
        found = [copy.deepcopy(d) for d in self.publicities.values()
                 if d.get(field) == value and (not state or d["state"] == state)]
        return sorted(found, key=lambda d: (d["opens_on"], d["_id"]), reverse=True)

    def open_publicities(self):
        return [copy.deepcopy(d) for d in self.publicities.values() if d["state"] == "open"]

    def open_publicity(self, publicity, items, events):
        if publicity["_id"] in self.publicities:
            return False
        self._commit_record("publicities", publicity, items, events)
        return True

    def close_publicity(self, publicity, changes, edits):
        stored = self.publicities[publicity["_id"]]
        if stored["state"] != "open":
            return False
        stored.update(changes)
        self._apply_edits(edits)
        return True

    def item(self, item_id):
        return copy.deepcopy(self.items.get(item_id))

    def _apply_edits(self, edits):
        for edit in edits:
            stored = self.items[edit["item"]["_id"]]
            if stored["version"] != edit["item"]["version"]:
                raise Conflict("公示公告已变化，请重试", code="ITEM_CHANGED")
            stored.update(edit["fields"])
            self.events.append(edit["event"])

    def objections_of(self, publicity_id):
        return sorted((copy.deepcopy(d) for d in self.objections.values() if d["publicity_id"] == publicity_id),
                      key=lambda d: (d["submitted_at"], d["_id"]))

    def objection(self, objection_id):
        return copy.deepcopy(self.objections.get(objection_id))

    def add_objection(self, objection):
        self.objections[objection["_id"]] = copy.deepcopy(objection)
        stored = self.publicities[objection["publicity_id"]]
        stored["objections"] += 1
        stored["pending_objections"] += 1
        return objection

    def handle_objection(self, objection, changes, publicity_changes, edits=()):
        stored = self.objections[objection["_id"]]
        if stored["state"] != "pending":
            raise Conflict("该异议已处理", code="OBJECTION_HANDLED")
        publicity = self.publicities[objection["publicity_id"]]
        if publicity_changes and publicity["state"] != "open":
            raise Conflict("该公示已结束", code="PUBLICITY_NOT_OPEN")
        stored.update(changes)
        publicity["pending_objections"] -= 1
        publicity.update(publicity_changes or {})
        self._apply_edits(edits)
        return copy.deepcopy(stored)

    # letters -------------------------------------------------------------------------------------
    def letter(self, letter_id):
        return copy.deepcopy(self.letters.get(letter_id))

    def letters_of_author(self, member_id):
        return sorted((copy.deepcopy(d) for d in self.letters.values() if d["author_member_id"] == member_id),
                      key=lambda d: (d["asked_at"], d["_id"]), reverse=True)

    def letters_under(self, path_ids):
        field, value = next(iter(subtree_filter(path_ids).items()))
        return [copy.deepcopy(d) for d in self.letters.values() if d.get(field) == value]

    def write_letter(self, letter, events):
        self.letters[letter["_id"]] = copy.deepcopy(letter)
        self.events += events
        return letter

    def close_letter(self, letter, changes, events):
        stored = self.letters[letter["_id"]]
        if stored["state"] != "open":
            raise Conflict("该信件已答复或已撤回", code="LETTER_CLOSED")
        stored.update(changes)
        self.events += events
        return copy.deepcopy(stored)

    def event_types(self) -> list[str]:
        return [event["event_type"] for event in self.events]

