"""Party members: registering, reading, changing and removing them, their status steps, branch rosters."""
from __future__ import annotations

from datetime import date

from servicekit.errors import Conflict, InvalidArgument
from servicekit.security.fieldcrypt import FieldCipher
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window

from services.identity import access, documents, events
from services.identity.arguments import boolean, text
from services.identity.domain import lifecycle, members as member_rules, search as member_search
from services.identity.store import path_of
from services.identity.usecases.common import UseCases, choice
from services.identity.usecases.sessions import revocation, token_lifetime
from services.identity.views import member_view


class Members(UseCases):
    def __init__(self, store, clock, cipher: FieldCipher):
        super().__init__(store, clock)
        self.cipher = cipher

    def create(self, caller: CallerScope, branch_id, name, gender, birth_date, id_number, phone, education, status,
               status_dates, enrolment, mobile) -> dict:
        branch = self._branch_for_members(caller, branch_id, "branch_id")
        if status_dates is not None and not isinstance(status_dates, dict):
            raise InvalidArgument("status_dates 必须是对象", code="INVALID_TYPE", field="status_dates")
        strings = {"name": name, "gender": gender, "birth_date": birth_date, "id_number": id_number,
                   "phone": phone, "education": education, "status": status, "enrolment": enrolment}
        for field_name, value in strings.items():
            text(value, field_name, required=False)
        row = {**strings, "mobile": boolean(mobile, "mobile"),
               **{f"{key}_on" if key != "applicant" else "applied_on": value
                  for key, value in (status_dates or {}).items()}}
        normalized, problems = member_rules.member_problems(row, self.clock.today())
        if problems:
            first = problems[0]
            raise InvalidArgument(first.message, code=first.code, field=first.field,
                                  details=[{"field": p.field, "reason": p.code, "message": p.message}
                                           for p in problems])
        now = self.stamp()
        member = documents.member(self.cipher, caller.tenant_id, branch, normalized, now)
        if self.store.existing_id_indexes([member["id_number_index"]]):
            raise Conflict("该身份证号已登记", code="MEMBER_EXISTS", field="id_number")
        self.store.create_member(member, [events.MEMBER_JOINED.build(
            caller.tenant_id, now, member_id=member["_id"], branch_id=branch["_id"], path_ids=path_of(member),
            status=member["status"], mobile=member["mobile"])])
        return member_view(member)

    def _branch_for_members(self, caller: CallerScope, branch_id, field: str) -> dict:
        branch = access.managed_org(caller, self.org(branch_id, field), field, self.own_branch(caller))
        if branch["kind"] != "branch":
            raise InvalidArgument("党员只能编入党支部", code="NOT_A_BRANCH", field=field)
        return branch

    def get(self, caller: CallerScope, member_id) -> dict:
        return member_view(access.readable_member(caller, self.member(member_id)))

    def update(self, caller: CallerScope, member_id, name, phone, education, enrolment, mobile) -> dict:
        """``None`` leaves a field as it is."""
        member = access.managed_member(caller, self.member(member_id))
        requested = {key: value for key, value in
                     {"name": name, "phone": phone, "education": education, "enrolment": enrolment,
                      "mobile": mobile}.items() if value is not None}
        for field_name, value in requested.items():
            boolean(value, field_name) if field_name == "mobile" else text(value, field_name, required=False)
        changes = member_rules.validate_member_update(requested)
        if not changes:
            return member_view(member)
        now = self.stamp()
        stored = self.store.update_member(member, changes, now, [events.MEMBER_UPDATED.build(
            member["tenant_id"], now, member_id=member["_id"],
            changes={k: v for k, v in changes.items() if k != "phone"})])
        return member_view({**member, **stored})

    def remove(self, caller: CallerScope, member_id) -> dict:
        member = access.managed_member(caller, self.member(member_id))
        if self.store.pending_transfer_of(member["_id"]):
            raise Conflict("该党员有未办结的组织关系转接", code="TRANSFER_PENDING", field="member_id")
        self.store.remove_member(member["_id"], [events.MEMBER_REMOVED.build(
            member["tenant_id"], self.stamp(), member_id=member["_id"], branch_id=member["branch_id"])],
            revoke=revocation("", "member_removed", token_lifetime(), all_of_account=True, cut_account=True))
        return {}

    def list(self, caller: CallerScope, org_id, status, mobile, page_size, page_token, q) -> dict:
        """``q``: only the members whose name contains it, or whose phone is it (11 digits) or ends in it
        (4 digits); services.identity.domain.search."""
        org = access.readable_org(caller, self.org(org_id), self.own_branch(caller))
        skip, limit = page_window(page_size, page_token)
        search = member_search.parse_query(q)
        query = {}
        if status:
            query["status"] = choice(status, lifecycle.STATUSES, "status")
        if mobile is not None:
            query["mobile"] = boolean(mobile, "mobile")
        manages = access.manages(caller, org)
        if search is None:
            found = self.store.members_in(org, query, skip, limit + 1)
        elif search.by_phone and not manages:
            found = []          # a branch peer is not shown phones, so it cannot find members by them either
        else:
            found = self.store.search_members(org, search.conditions(), query, skip, limit + 1)
        found, token = page_of(found, skip, limit)
        views = [member_view(member) for member in found]
        if not manages:
            views = [_as_branch_peer(view, caller) for view in views]
        return {"members": views, "next_page_token": token}

    def change_status(self, caller: CallerScope, member_id, status, on) -> dict:
        """The next step of the party-membership lifecycle only, with its interval rules."""
        member = access.managed_member(caller, self.member(member_id))
        target = choice(status, lifecycle.STATUSES, "status")
        on_date = member_rules.parse_date(on, "on")
        dates = {key: date.fromisoformat(value) for key, value in member.get("status_dates", {}).items()}
        lifecycle.check_advance(member["status"], dates, target, on_date, self.clock.today())
        now = self.stamp()
        changes = {"status": target, f"status_dates.{target}": on_date.isoformat(), "updated_at": now,
                   # who recorded the step and when: shown on the development record (usecases/development.py)
                   f"status_recorded.{target}": {"by": caller.account_id, "at": now}}
        self.store.change_member_status(member, changes, [events.MEMBER_STATUS_CHANGED.build(
            member["tenant_id"], now, member_id=member["_id"], branch_id=member["branch_id"],
            old_status=member["status"], new_status=target, on=on_date.isoformat())])
        return member_view(self.store.member(member["_id"]))

    def branch_rosters(self, tenant_id, branch_ids) -> dict[str, list[dict]]:
        """The party members (probationary and full) of each branch now: the roster of a themed day."""
        rosters: dict[str, list[dict]] = {branch_id: [] for branch_id in branch_ids}
        for member in self.store.party_members_of(tenant_id, list(branch_ids)):
            rosters[member["branch_id"]].append({"member_id": member["_id"], "name": member["name"],
                                                 "mobile": bool(member.get("mobile"))})
        return rosters

    def branch_meeting_facts(self, tenant_id, branch_ids) -> dict:
        """Full members and party groups per branch: what attendance's 三会一课 ledger owes depends on them."""
        return self.store.branch_meeting_facts(tenant_id, list(dict.fromkeys(branch_ids)))

    def branch_roster_sizes(self, tenant_id, branch_ids) -> dict[str, int]:
        """How many members each branch's roster (``branch_rosters``) has, without the names: for counts and
        completion rates over a whole subtree."""
        return self.store.party_member_counts(tenant_id, list(dict.fromkeys(branch_ids)))


def _as_branch_peer(view: dict, caller: CallerScope) -> dict:
    """What a member may see of fellow branch members: name, status and role in the branch."""
    if view["id"] == caller.member_id:
        return view
    return {**view, "phone": "", "birth_date": "", "id_number_masked": "", "education": "", "status_history": []}
