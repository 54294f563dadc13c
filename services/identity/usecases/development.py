"""Development records (发展党员纪实): each applicant's dated record, from the application on.

The lifecycle steps are the member's own (``change_member_status``); the record adds the entries the branch keeps
on the way (talks, introducers, political review, training), append-only, by the rules of
``services.identity.domain.development``. Who may read a record: the managers of the member's branch (its secretary,
the admins above) and the member itself; who may add to it: those managers. The publicity of each step that is
publicised comes from the content service (``member_publicities``); when it does not answer, the record is still
shown, its publicity marked unknown.
"""
from __future__ import annotations

import logging
from datetime import date

from servicekit.arguments import integer
from servicekit.errors import InvalidArgument, NotFound
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window

from services.identity import access, documents, events
from services.identity.arguments import text
from services.identity.domain import development as rules
from services.identity.domain import lifecycle, members as member_rules
from services.identity.usecases.common import UseCases, choice

log = logging.getLogger(__name__)

IN_DEVELOPMENT = lifecycle.STATUSES[:-1]        # the applicant list: every step before full member
MAX_SUMMARY = 2000


class DevelopmentRecords(UseCases):
    def __init__(self, store, clock, content):
        super().__init__(store, clock)
        self.content = content

    # --- reads ---------------------------------------------------------------------------
    def list(self, caller: CallerScope, org_id, status, page_size, page_token) -> dict:
        """The members of a subtree in development (or of one step), with how many entries their record holds."""
        org = access.managed_org(caller, self.org(org_id), "org_id", self.own_branch(caller))
        statuses = [choice(status, lifecycle.STATUSES, "status")] if status else list(IN_DEVELOPMENT)
        skip, limit = page_window(page_size, page_token)
        found = self.store.members_in(org, {"status": {"$in": statuses}}, skip, limit + 1)
        found, token = page_of(found, skip, limit)
        counts = self.store.development_entry_counts([member["_id"] for member in found])
        branches = self.store.orgs_by_ids({member["branch_id"] for member in found})
        return {"applicants": [{
            "member_id": member["_id"], "name": member["name"], "branch_id": member["branch_id"],
            "branch_name": branches.get(member["branch_id"], {}).get("name", ""), "status": member["status"],
            "status_on": member.get("status_dates", {}).get(member["status"], ""),
            "entries": counts.get(member["_id"], 0)} for member in found], "next_page_token": token}

    def get(self, caller: CallerScope, member_id) -> dict:
        return self._record(caller, access.readable_member(caller, self.member(member_id)))

    def mine(self, caller: CallerScope) -> dict:
        member = self.store.member(caller.member_id) if caller.member_id else None
        if member is None or member.get("tenant_id") != caller.tenant_id:
            raise NotFound("您的账号没有关联党员档案", code="MEMBER_NOT_FOUND", field="member_id")
        return self._record(caller, member)

    # --- the one write -------------------------------------------------------------------
    def record(self, caller: CallerScope, member_id, kind, on, purpose="", talker="", summary="",
               introducer_ids=None, outcome="", conclusion="", stage="", course="", hours=0, corrects="",
               note="") -> dict:
        member = access.managed_member(caller, self.member(member_id))
        entry_kind = rules.entry_kind(text(kind, "kind"))
        on_date = member_rules.parse_date(on, "on")
        corrects = text(corrects, "corrects", required=False, max_length=64)
        # a correction says why; any other entry may carry a note
        note = text(note, "note", required=bool(corrects), max_length=500)
        detail = self._detail(member, entry_kind, purpose, talker, summary, introducer_ids, outcome, conclusion,
                              stage, course, hours)
        entries = self.store.development_entries(member["_id"])
        dates = _dates(member)
        rules.check_entry(entry_kind, member["status"], dates, entries, on_date, self.clock.today(), corrects)
        rules.check_step(entry_kind, rules.required_step(entry_kind, detail), member["status"], dates, on_date)
        rules.check_single(entry_kind, entries, corrects)
        now = self.stamp()
        entry = {"_id": documents.new_id("dev"), "tenant_id": member["tenant_id"], "member_id": member["_id"],
                 "branch_id": member["branch_id"], "kind": entry_kind.value, "on": on_date.isoformat(),
                 "detail": detail, "note": note, "corrects": corrects, "recorded_at": now,
                 "recorded_by": caller.account_id, "recorded_by_name": self._recorder_name(caller.account_id)}
        self.store.record_development_entry(entry, len(entries), [events.DEVELOPMENT_ENTRY_RECORDED.build(
            member["tenant_id"], now, entry_id=entry["_id"], member_id=member["_id"], branch_id=member["branch_id"],
            kind=entry_kind.value, on=entry["on"], corrects=corrects, recorded_by=caller.account_id)])
        return entry_view(entry, set())

    def _detail(self, member: dict, kind: rules.EntryKind, purpose, talker, summary, introducer_ids, outcome,
                conclusion, stage, course, hours) -> dict:
        """The fields of the entry's kind, checked; the fields of other kinds are ignored (a gRPC request carries
        every field)."""
        if kind is rules.EntryKind.TALK:
            return {"purpose": choice(purpose, tuple(rules.TALK_PURPOSES), "purpose"),
                    "talker": text(talker, "talker", max_length=50),
                    "summary": text(summary, "summary", max_length=MAX_SUMMARY)}
        if kind is rules.EntryKind.POLITICAL_REVIEW:
            return {"outcome": choice(outcome, tuple(rules.REVIEW_OUTCOMES), "outcome"),
                    "conclusion": text(conclusion, "conclusion", max_length=MAX_SUMMARY)}
        if kind is rules.EntryKind.TRAINING:
            return {"stage": choice(stage, tuple(rules.TRAINING_STAGES), "stage"),
                    "course": text(course, "course", max_length=200),
                    "hours": integer(hours, "hours", 1, rules.MAX_HOURS)}
        ids = _id_list(introducer_ids)
        introducers = [self.store.member(member_id) for member_id in ids]
        rules.check_introducers(member, introducers, ids)
        return {"introducers": [{"member_id": doc["_id"], "name": doc["name"]} for doc in introducers]}

    def _recorder_name(self, account_id: str) -> str:
        account = self.store.account(account_id) if account_id else None
        if account is None:
            return ""
        linked = self.store.member(account["member_id"]) if account.get("member_id") else None
        return linked["name"] if linked else account.get("name") or account["username"]

    # --- the record ----------------------------------------------------------------------
    def _record(self, caller: CallerScope, member: dict) -> dict:
        entries = self.store.development_entries(member["_id"])
        dates = _dates(member)
        branch = self.store.org(member["branch_id"]) or {}
        recorded = member.get("status_recorded") or {}
        names = {by: self._recorder_name(by) for by in {step.get("by") for step in recorded.values()} if by}
        steps = [{"status": status, "on": dates[status].isoformat(),
                  "recorded_by_name": names.get((recorded.get(status) or {}).get("by", ""), ""),
                  "recorded_at": (recorded.get(status) or {}).get("at", "")}
                 for status in lifecycle.STATUSES if dates.get(status) is not None]
        corrected = {entry["corrects"]: entry["_id"] for entry in entries if entry.get("corrects")}
        publicities = self._publicities(member)
        return {"member_id": member["_id"], "name": member["name"], "branch_id": member["branch_id"],
                "branch_name": branch.get("name", ""), "status": member["status"], "steps": steps,
                "entries": [entry_view(entry, corrected) for entry in
                            sorted(entries, key=lambda entry: (entry["on"], entry["recorded_at"], entry["_id"]))],
                "publicity": rules.publicity_rows(dates, publicities, _superior(caller, member)),
                "outstanding": rules.outstanding(member["status"], entries)}

    def _publicities(self, member: dict) -> list[dict] | None:
        try:
            return self.content.member_publicities(tenant_id=member["tenant_id"],
                                                   member_id=member["_id"])["publicities"]
        except Exception:   # noqa: BLE001  the record stands without its publicity; the rows say "unknown"
            log.warning("the publicities of member %s could not be read from content", member["_id"], exc_info=True)
            return None


def _superior(caller: CallerScope, member: dict) -> bool:
    """An admin of the branch's superior or above: who sees a publicity's objections (as the content service)."""
    return any(org_id in caller.admin_org_ids for org_id in access.path_ids(member)[:-1])


def _dates(member: dict) -> dict[str, date]:
    return {key: date.fromisoformat(value) for key, value in (member.get("status_dates") or {}).items() if value}


def _id_list(value) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise InvalidArgument("introducer_ids 必须是党员编号列表", code="INVALID_TYPE", field="introducer_ids")
    return [text(item, "introducer_ids", max_length=64) for item in value]


EMPTY_DETAIL = {"purpose": "", "talker": "", "summary": "", "introducers": [], "outcome": "", "conclusion": "",
                "stage": "", "course": "", "hours": 0}


def entry_view(entry: dict, corrected: dict | set) -> dict:
    """An entry as the record shows it, its kind's fields flat beside the others' empty ones; ``corrected`` maps
    each corrected entry to the entry correcting it."""
    by = corrected.get(entry["_id"], "") if isinstance(corrected, dict) else ""
    return {"id": entry["_id"], "kind": entry["kind"], "on": entry["on"], **EMPTY_DETAIL, **entry["detail"],
            "note": entry.get("note", ""), "corrects": entry.get("corrects", ""), "superseded_by": by,
            "recorded_at": entry["recorded_at"], "recorded_by_name": entry.get("recorded_by_name", "")}
