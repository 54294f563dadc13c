"""Role models (每周一先、每月一星), development publicity (发展党员公示) with its objections, and the secretary
mailbox (书记信箱).

- Role models: a branch's candidates of a week or a month are proposed from the period's member points (scoring's
  ``member_points_totals``; study, quiz and contest points reach that ledger through content's events, so points
  stand for the period's activity too); the secretary, or an admin above, names one with a citation, and the
  generated article goes to the branch's and the county's "role_models" column.
- Publicity: identity's member_status_changed to development target or probationary opens a publicity in the
  superior's "publicity" column for the tenant's ``publicity_days`` working days. Anyone of the tenant who sees the
  notice may object (by real name or anonymously; the account is always kept for the admins above); the
  superior's admins handle each objection; a sustained one suspends the publicity, otherwise it closes after its
  last day (the timer ``close_due``).
- Mailbox: a member writes to its branch secretary or to the superior (the branch's parent node's admins),
  optionally anonymous to the secretary; the superior's admins always see the author. Overdue after the tenant's
  ``mailbox_overdue_days``.
"""
from __future__ import annotations

import hashlib
import uuid

from servicekit.arguments import choice, text
from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from servicekit.security.scope import ROLE_BRANCH_SECRETARY, CallerScope, RoleGrant
from servicekit.storage.paging import page_of, page_window
from servicekit.storage.subtree import ancestor_fields
from servicekit.timestamps import stamp

from services.content import access
from services.content import events
from services.content.domain import community as rules
from services.content.domain import settings as settings_rules
from services.content.usecases.publishing import log_row, version_row

SYSTEM_ACCOUNT = "system:content"


def generated_item_id(record_id: str, org_id: str) -> str:
    """The id of a record's generated item in one node's column: the same on every attempt to publish it."""
    return "itm_" + hashlib.sha256(f"{record_id}:{org_id}".encode()).hexdigest()[:32]


def item_spec(record_id: str, org_path: list[str], column_key: str, kind: str, title: str, body: str,
              tags: list[str]) -> dict:
    """What a record keeps of a generated item (its id for the views, its content for publishing it)."""
    return {"_id": generated_item_id(record_id, org_path[-1]), "org_path": list(org_path), "column_key": column_key,
            "kind": kind, "title": title, "body": body, "tags": list(tags)}


class Community:
    """What the three topics share: the store, the clock, identity, the org paths, the tenant's settings and the
    publication of generated items."""

    def __init__(self, store, clock, identity, org_paths):
        self.store, self.clock, self.identity, self.org_paths = store, clock, identity, org_paths

    def settings(self, tenant_id: str) -> dict:
        return settings_rules.merged(self.store.settings_of(tenant_id))

    def now(self) -> str:
        return stamp(self.clock.now())

    def today(self) -> str:
        return self.clock.today().isoformat()

    def org(self, caller: CallerScope, org_id: str) -> dict:
        return self.org_paths.org(self.identity, caller, org_id)

    def own_branch_path(self, caller: CallerScope) -> list[str]:
        return self.org_paths.path(self.identity, caller, caller.branch_id) if caller.branch_id else []

    def generated_items(self, record: dict) -> tuple[list[dict], list[dict]]:
        """The record's generated items, each in its node's default column, and their content_published events:
        they commit with the record (the store's ``name_role_model``, ``open_publicity``)."""
        at = record.get("published_at") or self.now()
        items, published = [], []
        for spec in record["items"]:
            column = self.store.default_column(record["tenant_id"], spec["org_path"], spec["column_key"], False, at)
            summary = spec["body"].split("\n", 1)[0][:120]
            item = {"_id": spec["_id"], "tenant_id": record["tenant_id"], "org_id": spec["org_path"][-1],
                    "org_path": spec["org_path"], "column_id": column["_id"], "kind": spec["kind"],
                    "title": spec["title"], "body": spec["body"], "summary": summary, "tags": spec["tags"],
                    "attachment_ids": [], "version": 1, "pinned_until": None, "pushed": False, "promoted": False,
                    "published_at": at, "author_account_id": SYSTEM_ACCOUNT,
                    "author_name": record.get("publisher_name", ""), "read_count": 0, "created_at": at,
                    "updated_at": at}
            items.append(item)
            published.append(events.CONTENT_PUBLISHED.build(
                record["tenant_id"], at, item_id=item["_id"], org_id=item["org_id"], org_path=item["org_path"],
                kind=item["kind"], title=item["title"], version=1, pushed=False, published_by=SYSTEM_ACCOUNT))
        return items, published


def _page(rows: list, page_size, page_token) -> tuple[list, str]:
    skip, limit = page_window(page_size, page_token)
    return page_of(rows[skip:skip + limit + 1], skip, limit)


# ====================================================================================== role models
class RoleModels(Community):
    def __init__(self, store, clock, identity, org_paths, scoring):
        super().__init__(store, clock, identity, org_paths)
        self.scoring = scoring

    def _branch(self, caller: CallerScope, branch_id) -> dict:
        branch_id = text(branch_id, "branch_id")
        branch = self.org(caller, branch_id)
        access.require_manager(caller, branch["path_ids"], field="branch_id")
        if branch.get("kind") != "branch":
            raise InvalidArgument("只能为党支部评选", code="NOT_A_BRANCH", field="branch_id")
        return branch

    def _period(self, kind, period) -> tuple[str, str, object, object]:
        kind = choice(kind, "kind", tuple(rules.ROLE_MODEL_KINDS), required=True)
        period = text(period, "period", required=False) or rules.current_period(kind, self.clock.today())
        first, last = rules.period_days(kind, period)
        rules.check_period_started(first, self.clock.today())
        return kind, period, first, last

    def _totals(self, caller: CallerScope, branch_id: str, first, last) -> dict[str, dict]:
        answer = self.scoring.member_points_totals(scope=caller.to_dict(), branch_id=branch_id,
                                                   since=first.isoformat(), until=last.isoformat())
        return {row["member_id"]: row for row in answer.get("members") or []}

    def _roster(self, caller: CallerScope, branch_id: str) -> list[dict]:
        return self.identity.branch_rosters(tenant_id=caller.tenant_id, branch_ids=[branch_id]).get(branch_id) or []

    def propose(self, caller: CallerScope, branch_id, kind, period) -> dict:
        kind, period, first, last = self._period(kind, period)
        branch = self._branch(caller, branch_id)
        previous = self.store.role_model(role_model_id(branch["id"], kind, rules.previous_period(kind, first)))
        candidates = rules.propose(self._roster(caller, branch["id"]), self._totals(caller, branch["id"], first, last),
                                   {previous["member_id"]} if previous else set())
        named = self.store.role_model(role_model_id(branch["id"], kind, period))
        return {"branch_id": branch["id"], "kind": kind, "period": period, "since": first.isoformat(),
                "until": last.isoformat(), "basis": "points", "candidates": candidates,
                **({"named": role_model_view(named)} if named else {})}

    def name(self, caller: CallerScope, branch_id, kind, period, member_id, citation) -> dict:
        kind, period, first, last = self._period(kind, period)
        member_id = text(member_id, "member_id")
        citation = rules.check_citation(citation)
        branch = self._branch(caller, branch_id)
        roster = {row["member_id"]: row for row in self._roster(caller, branch["id"])}
        if member_id not in roster:
            raise NotFound("该党员不在本支部", code="MEMBER_NOT_FOUND", field="member_id")
        totals = self._totals(caller, branch["id"], first, last)
        proposed = {c["member_id"] for c in rules.propose(list(roster.values()), totals)}
        record_id, now = role_model_id(branch["id"], kind, period), self.now()
        if self.store.role_model(record_id):
            raise_exists()
        member_name, branch_name = roster[member_id].get("name", ""), branch.get("name", "")
        title, body = rules.role_model_text(kind, period, member_name, branch_name, citation)
        path = list(branch["path_ids"])
        columns = [path] + ([path[:2]] if len(path) > 2 else [])     # the branch's column and its county's
        record = {"_id": record_id, "tenant_id": caller.tenant_id, "branch_id": branch["id"],
                  "branch_name": branch_name, "branch_path": path, **ancestor_fields(path), "kind": kind,
                  "period": period, "since": first.isoformat(), "until": last.isoformat(), "member_id": member_id,
                  "member_name": member_name, "citation": citation,
                  "points": round(float((totals.get(member_id) or {}).get("total") or 0), 2),
                  "proposed": member_id in proposed, "named_by": caller.account_id, "named_at": now,
                  "publisher_name": branch_name, "published_at": now, "published": True,
                  "items": [item_spec(record_id, org_path, "role_models", "article", title, body, ["先锋榜样"])
                            for org_path in columns]}
        items, published = self.generated_items(record)
        self.store.name_role_model(record, items, [events.ROLE_MODEL_NAMED.build(
            caller.tenant_id, now, role_model_id=record_id, branch_id=branch["id"], member_id=member_id, kind=kind,
            period=period, named_by=caller.account_id), *published])
        return role_model_view(record)

    def list(self, caller: CallerScope, org_id, kind, page_size, page_token) -> dict:
        kind = choice(kind, "kind", tuple(rules.ROLE_MODEL_KINDS))
        org = self.org(caller, text(org_id, "org_id"))
        access.require_manager(caller, org["path_ids"])
        rows = self.store.role_models_under(list(org["path_ids"]), kind)
        page, token = _page(rows, page_size, page_token)
        return {"total": len(rows), "role_models": [role_model_view(row) for row in page], "next_page_token": token}


def role_model_id(branch_id: str, kind: str, period: str) -> str:
    return f"rm_{branch_id}_{kind}_{period}"


def raise_exists():
    raise Conflict("该支部本期已确定人选", code="ROLE_MODEL_EXISTS", field="period")


def role_model_view(record: dict) -> dict:
    return {"id": record["_id"], "branch_id": record["branch_id"], "branch_name": record.get("branch_name", ""),
            "kind": record["kind"], "period": record["period"], "since": record["since"], "until": record["until"],
            "member_id": record["member_id"], "member_name": record["member_name"], "citation": record["citation"],
            "points": record["points"], "proposed": record["proposed"], "named_by": record["named_by"],
            "named_at": record["named_at"], "item_ids": [spec["_id"] for spec in record["items"]],
            "published": bool(record.get("published"))}


# ====================================================================================== publicity
class Publicities(Community):
    def _visible(self, caller: CallerScope, publicity: dict | None) -> dict:
        """The publicity, if the caller sees its notice: a member (or secretary) whose branch lies under the
        notice's node, or a manager of a node on the member's branch path."""
        if access.same_tenant(caller, publicity):
            owner = publicity["org_path"][-1]
            if caller.manages_path(publicity["branch_path"]) or owner in self.own_branch_path(caller):
                return publicity
        raise NotFound("公示不存在或不在您的范围内", code="PUBLICITY_NOT_FOUND", field="publicity_id")

    def _administered(self, caller: CallerScope, publicity: dict) -> None:
        """Objections are the superior's: admins of the notice's node or above."""
        if not access.administers(caller, publicity["org_path"]):
            raise PermissionDenied("只有上级党组织的管理员可以查看和处理异议", code="NOT_ORG_ADMIN",
                                   field="publicity_id")

    def get(self, caller: CallerScope, publicity_id) -> dict:
        publicity = self._visible(caller, self.store.publicity(text(publicity_id, "publicity_id")))
        return publicity_view(publicity, counts=access.administers(caller, publicity["org_path"]))

    def list(self, caller: CallerScope, org_id, state, page_size, page_token) -> dict:
        state = choice(state, "state", tuple(s.value for s in rules.PublicityState))
        org = self.org(caller, text(org_id, "org_id"))
        access.require_manager(caller, org["path_ids"])
        rows = self.store.publicities_under(list(org["path_ids"]), state)
        page, token = _page(rows, page_size, page_token)
        return {"total": len(rows), "next_page_token": token,
                "publicities": [publicity_view(row, counts=access.administers(caller, row["org_path"]))
                                for row in page]}

    def object(self, caller: CallerScope, publicity_id, reason, anonymous, name) -> dict:
        publicity_id = text(publicity_id, "publicity_id")
        reason = rules.written_text(reason, "reason", rules.MAX_OBJECTION, "异议内容")
        anonymous = rules.flag(anonymous, "anonymous")
        name = text(name, "name", required=not anonymous, max_length=50)
        if anonymous and name:
            raise InvalidArgument("匿名反映时不填写姓名", code="NAME_WITH_ANONYMOUS", field="name")
        publicity = self._visible(caller, self.store.publicity(publicity_id))
        rules.publicity_transition(rules.OBJECT, publicity, self.today())
        objection = {"_id": f"obj_{uuid.uuid4().hex}", "tenant_id": caller.tenant_id, "publicity_id": publicity_id,
                     "reason": reason, "anonymous": anonymous, "name": name, "account_id": caller.account_id,
                     "member_id": caller.member_id or "", "submitted_at": self.now(),
                     "state": rules.ObjectionState.PENDING.value}
        self.store.add_objection(objection)
        return own_objection_view(objection)

    def objections(self, caller: CallerScope, publicity_id) -> dict:
        publicity = self._visible(caller, self.store.publicity(text(publicity_id, "publicity_id")))
        self._administered(caller, publicity)
        rows = self.store.objections_of(publicity["_id"])
        return {"publicity_id": publicity["_id"], "objections": [objection_view(row) for row in rows]}

    def handle(self, caller: CallerScope, objection_id, outcome, note) -> dict:
        objection_id = text(objection_id, "objection_id")
        outcome = choice(outcome, "outcome", tuple(rules.OUTCOMES), required=True)
        note = rules.written_text(note, "note", rules.MAX_ANSWER, "处理情况")
        objection = self.store.objection(objection_id)
        publicity = self.store.publicity(objection["publicity_id"]) if objection else None
        try:
            publicity = self._visible(caller, publicity)
        except NotFound:
            raise NotFound("异议不存在或不在您的范围内", code="OBJECTION_NOT_FOUND", field="objection_id") from None
        self._administered(caller, publicity)
        rules.objection_transition(objection)
        now = self.now()
        changes = {"state": rules.ObjectionState.HANDLED.value, "outcome": outcome, "note": note,
                   "handled_by": caller.account_id, "handled_at": now}
        suspends = outcome == "sustained" and publicity["state"] == rules.PublicityState.OPEN.value
        if suspends:
            rules.publicity_transition(rules.SUSPEND_PUBLICITY, publicity, self.today())
        ending = {"state": rules.PublicityState.SUSPENDED.value, "ended_at": now} if suspends else None
        handled = self.store.handle_objection(objection, changes, ending,
                                              self.ending_edits(publicity, ending, now) if ending else [])
        return objection_view(handled)

    def close_due(self) -> int:
        """Close the open publicities past their last day whose objections are all handled."""
        today, closed = self.today(), 0
        for publicity in self.store.open_publicities():
            if publicity["closes_on"] >= today or publicity.get("pending_objections"):
                continue
            rules.publicity_transition(rules.CLOSE_PUBLICITY, publicity, today)
            ending = {"state": rules.PublicityState.CLOSED.value, "ended_at": self.now()}
            closed += self.store.close_publicity(publicity, ending, self.ending_edits(publicity, ending,
                                                                                      ending["ended_at"]))
        return closed

    def ending_edits(self, publicity: dict, ending: dict, now: str) -> list[dict]:
        """The new version of each of the publicity's generated notices, with the outcome appended: they commit
        with the publicity's ending, each only if the notice is still at the version read here."""
        line = rules.publicity_ending_text(ending["state"], self.today(), publicity.get("objections", 0))
        edits = []
        for spec in publicity.get("items") or ():
            item = self.store.item(spec["_id"])
            if item is None or item.get("status") != "published":
                continue
            after = {**item, "body": f"{item['body']}\n{line}", "version": item["version"] + 1, "updated_at": now}
            edits.append({
                "item": item, "fields": {"body": after["body"], "version": after["version"], "updated_at": now},
                "version": version_row(after, SYSTEM_ACCOUNT, now),
                "log": log_row(item, "edited", SYSTEM_ACCOUNT, now, reason="公示结束", version=after["version"]),
                "event": events.CONTENT_PUBLISHED.build(
                    item["tenant_id"], now, item_id=item["_id"], org_id=item["org_id"], org_path=item["org_path"],
                    kind=item["kind"], title=item["title"], version=after["version"],
                    pushed=bool(item.get("pushed")), published_by=SYSTEM_ACCOUNT)})
        return edits

    def of_member(self, tenant_id, member_id) -> dict:
        """A member's publicities with their objections' numbers, for identity's development record (identity
        decides who reads the record; there is no caller here)."""
        rows = self.store.publicities_of_member(text(tenant_id, "tenant_id"), text(member_id, "member_id"))
        return {"publicities": [publicity_view(row, counts=True) for row in rows]}

    # --- identity's member_status_changed ----------------------------------------------------
    def on_status_changed(self, event: dict) -> bool:
        """Open the publicity of a member's step to development target or probationary member, once per event
        (``pub_<event id>``); True when one was opened now. There is no caller in an event: identity is asked
        with the narrowest scope that answers, a secretary's of the member's own branch."""
        if not rules.is_publicised(event.get("new_status", "")) or not event.get("tenant_id"):
            return False
        publicity_id = f"pub_{event['event_id']}"
        if self.store.publicity(publicity_id) is not None:
            return False
        scope = CallerScope(SYSTEM_ACCOUNT, event["tenant_id"], (RoleGrant(ROLE_BRANCH_SECRETARY, event["branch_id"]),))
        branch = self.identity.get_org(scope=scope.to_dict(), org_id=event["branch_id"])
        member = self.identity.get_member(scope=scope.to_dict(), member_id=event["member_id"])
        path, names = list(branch["path_ids"]), list(branch.get("path_names") or [])
        if len(path) < 2:
            return False            # a branch directly at the root has no superior to publicise it
        org_path, org_name, branch_name = path[:-1], names[-2] if len(names) >= 2 else "", branch.get("name", "")
        days = self.settings(event["tenant_id"])["publicity_days"]
        opens = self.clock.today()
        opens_on, closes_on = opens.isoformat(), rules.closes_on(opens, days).isoformat()
        step, now = event["new_status"], self.now()
        title, body = rules.publicity_text(step, member["name"], branch_name, org_name, opens_on, closes_on)
        publicity = {"_id": publicity_id, "tenant_id": event["tenant_id"], "member_id": event["member_id"],
                     "member_name": member["name"], "branch_id": event["branch_id"], "branch_name": branch_name,
                     "branch_path": path, **ancestor_fields(path), "org_id": org_path[-1], "org_name": org_name,
                     "org_path": org_path, "step": step, "step_on": event.get("on", ""), "opens_on": opens_on,
                     "closes_on": closes_on, "days": days, "state": rules.PublicityState.OPEN.value,
                     "objections": 0, "pending_objections": 0, "opened_at": now, "publisher_name": org_name,
                     "published_at": now, "published": True,
                     "items": [item_spec(publicity_id, org_path, "publicity", "notice", title, body, ["发展党员"])]}
        items, published = self.generated_items(publicity)
        return self.store.open_publicity(publicity, items, [events.PUBLICITY_OPENED.build(
            event["tenant_id"], now, publicity_id=publicity_id, member_id=event["member_id"],
            branch_id=event["branch_id"], org_id=org_path[-1], step=step, opens_on=opens_on, closes_on=closes_on),
            *published])


def publicity_view(publicity: dict, counts: bool = False) -> dict:
    """A publicity as anyone who sees its notice sees it; ``counts``: with its objections' numbers (the
    superior's admins)."""
    view = {"id": publicity["_id"], "member_id": publicity["member_id"], "member_name": publicity["member_name"],
            "branch_id": publicity["branch_id"], "branch_name": publicity["branch_name"],
            "org_id": publicity["org_id"], "org_name": publicity["org_name"], "step": publicity["step"],
            "opens_on": publicity["opens_on"], "closes_on": publicity["closes_on"], "state": publicity["state"],
            "item_id": publicity["items"][0]["_id"]}
    if counts:
        view.update(objections=publicity.get("objections", 0), pending_objections=publicity.get("pending_objections", 0))
    return view


def own_objection_view(objection: dict) -> dict:
    return {"id": objection["_id"], "publicity_id": objection["publicity_id"], "anonymous": objection["anonymous"],
            "submitted_at": objection["submitted_at"], "state": objection["state"]}


def objection_view(objection: dict) -> dict:
    """The superior's admins see who objected, anonymous or not (the account is always recorded)."""
    return {**own_objection_view(objection), "reason": objection["reason"], "name": objection.get("name", ""),
            "account_id": objection["account_id"], "member_id": objection.get("member_id", ""),
            "outcome": objection.get("outcome", ""), "note": objection.get("note", ""),
            "handled_by": objection.get("handled_by", ""), "handled_at": objection.get("handled_at", "")}


# ====================================================================================== mailbox
class Mailbox(Community):
    def write(self, caller: CallerScope, to_kind, subject, body, anonymous) -> dict:
        access.require_member(caller)
        to_kind = choice(to_kind, "to_kind", tuple(rules.LETTER_KINDS), required=True)
        subject = rules.written_text(subject, "subject", rules.MAX_SUBJECT, "标题")
        body = rules.written_text(body, "body", rules.MAX_BODY, "内容")
        anonymous = rules.flag(anonymous, "anonymous")
        path = self.own_branch_path(caller)
        if to_kind == "superior" and len(path) < 2:
            raise InvalidArgument("本支部没有上级党组织", code="NO_SUPERIOR", field="to_kind")
        member = self.identity.get_member(scope=caller.to_dict(), member_id=caller.member_id)
        asked = self.clock.now()
        letter = {"_id": f"ltr_{uuid.uuid4().hex}", "tenant_id": caller.tenant_id,
                  "author_member_id": caller.member_id, "author_account_id": caller.account_id,
                  "author_name": member.get("name", ""), "branch_id": caller.branch_id, "branch_path": path,
                  **ancestor_fields(path), "to_kind": to_kind, "to_org_id": path[-1] if to_kind == "branch" else path[-2],
                  "subject": subject, "body": body, "anonymous": anonymous, "state": rules.LetterState.OPEN.value,
                  "asked_at": stamp(asked), "due_at": stamp(rules.letter_due(
                      asked, self.settings(caller.tenant_id)["mailbox_overdue_days"]))}
        self.store.write_letter(letter, [events.QUESTION_ASKED.build(
            caller.tenant_id, asked, letter_id=letter["_id"], to_org_id=letter["to_org_id"], to_kind=to_kind,
            anonymous=anonymous, asked_at=letter["asked_at"])])
        return letter_view(letter, asked, author=True)

    def mine(self, caller: CallerScope, page_size, page_token) -> dict:
        access.require_member(caller)
        rows = self.store.letters_of_author(caller.member_id)
        page, token = _page(rows, page_size, page_token)
        now = self.clock.now()
        return {"total": len(rows), "letters": [letter_view(row, now, author=True) for row in page],
                "next_page_token": token}

    def get(self, caller: CallerScope, letter_id) -> dict:
        letter, sees_author = self._readable(caller, self.store.letter(text(letter_id, "letter_id")))
        return letter_view(letter, self.clock.now(), author=sees_author)

    def list(self, caller: CallerScope, org_id, state, page_size, page_token) -> dict:
        state = choice(state, "state", ("open", "overdue", "answered", "withdrawn"))
        org = self.org(caller, text(org_id, "org_id"))
        access.require_manager(caller, org["path_ids"])
        now = self.clock.now()
        visible = [(letter, sees) for letter in self.store.letters_under(list(org["path_ids"]))
                   for sees in [recipient_sight(caller, letter)] if sees is not None]
        if state == "overdue":
            visible = [(letter, sees) for letter, sees in visible if rules.is_overdue(letter, now)]
        elif state:
            visible = [(letter, sees) for letter, sees in visible if letter["state"] == state]
        sight = {letter["_id"]: sees for letter, sees in visible}
        ordered = rules.in_recipients_order([letter for letter, _ in visible], now)
        page, token = _page(ordered, page_size, page_token)
        return {"total": len(ordered), "overdue": sum(rules.is_overdue(letter, now) for letter in ordered),
                "letters": [letter_view(letter, now, author=sight[letter["_id"]]) for letter in page],
                "next_page_token": token}

    def answer(self, caller: CallerScope, letter_id, answer) -> dict:
        letter_id = text(letter_id, "letter_id")
        answer = rules.written_text(answer, "answer", rules.MAX_ANSWER, "答复内容")
        letter = self.store.letter(letter_id)
        sees_author = recipient_sight(caller, letter) if access.same_tenant(caller, letter) else None
        if sees_author is None:
            self._readable(caller, letter)      # its author gets a refusal, anyone else not found
            raise PermissionDenied("只有收信的书记或上级党组织可以答复", code="NOT_RECIPIENT", field="letter_id")
        rules.letter_transition(rules.ANSWER_LETTER, letter)
        now = self.clock.now()
        late = rules.answered_late(letter, now)
        changes = {"state": rules.LetterState.ANSWERED.value, "answer": answer, "answered_by": caller.account_id,
                   "answered_at": stamp(now), "closed_at": stamp(now), "answered_late": late}
        closed = self.store.close_letter(letter, changes, [events.QUESTION_ANSWERED.build(
            caller.tenant_id, now, letter_id=letter_id, to_org_id=letter["to_org_id"], answered_by=caller.account_id,
            answered_at=stamp(now), overdue=late)])
        return letter_view(closed, now, author=sees_author)

    def withdraw(self, caller: CallerScope, letter_id) -> dict:
        letter_id = text(letter_id, "letter_id")
        letter = self.store.letter(letter_id)
        if not (access.same_tenant(caller, letter) and caller.member_id
                and letter["author_member_id"] == caller.member_id):
            raise NotFound("信件不存在", code="LETTER_NOT_FOUND", field="letter_id")
        rules.letter_transition(rules.WITHDRAW_LETTER, letter)
        now = self.clock.now()
        closed = self.store.close_letter(letter, {"state": rules.LetterState.WITHDRAWN.value,
                                                  "closed_at": stamp(now)}, [])
        return letter_view(closed, now, author=True)

    def _readable(self, caller: CallerScope, letter: dict | None) -> tuple[dict, bool]:
        """The letter and whether the caller sees its author: its author does, and so do recipients above the
        branch; the branch's own recipients not when it is anonymous. Anyone else: not found."""
        if access.same_tenant(caller, letter):
            if caller.member_id and letter["author_member_id"] == caller.member_id:
                return letter, True
            sees = recipient_sight(caller, letter)
            if sees is not None:
                return letter, sees
        raise NotFound("信件不存在", code="LETTER_NOT_FOUND", field="letter_id")


def recipient_sight(caller: CallerScope, letter: dict) -> bool | None:
    """None when the caller is not a recipient of the letter; else whether it sees the author. The superior's
    admins (admins of a node above the branch) receive both kinds and see the author; the branch's own managers
    (its secretary) receive letters to the branch and see the author only when it is not anonymous."""
    path = letter["branch_path"]
    if access.administers(caller, path[:-1]):
        return True
    if letter["to_kind"] == "branch" and caller.manages_path(path[-1:]):
        return not letter["anonymous"]
    return None


def letter_view(letter: dict, now, author: bool) -> dict:
    """A letter; ``author``: with who wrote it, else no author field at all."""
    view = {"id": letter["_id"], "branch_id": letter["branch_id"], "to_kind": letter["to_kind"],
            "to_org_id": letter["to_org_id"], "subject": letter["subject"], "body": letter["body"],
            "anonymous": letter["anonymous"], "state": letter["state"], "overdue": rules.is_overdue(letter, now),
            "asked_at": letter["asked_at"], "due_at": letter["due_at"], "answer": letter.get("answer", ""),
            "answered_at": letter.get("answered_at", ""), "answered_late": bool(letter.get("answered_late"))}
    if author:
        view["author"] = {"member_id": letter["author_member_id"], "name": letter.get("author_name", ""),
                          "account_id": letter["author_account_id"]}
    return view
