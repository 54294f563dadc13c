"""Member points (积分): the rules table, a member's ledger, deductions and corrections, the talk list and the
secretary's talks (诫勉谈话) with the members on it."""
from __future__ import annotations

import uuid

from servicekit.errors import Conflict, InvalidArgument, PermissionDenied, Rejected
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.storage.subtree import LEVEL_FIELDS
from servicekit.timestamps import stamp

from services.scoring import access
from services.scoring.arguments import text
from services.scoring.domain import ledger
from services.scoring.domain import points as points_rules
from services.scoring.domain import talks as talk_rules
from services.scoring.domain.periods import cycle_of, day_range
from services.scoring.points_store import PointsStore
from services.scoring.usecases.subtrees import Subtrees
from services.scoring.views import entry_view, talk_summary, talk_view


class Points:
    def __init__(self, store: PointsStore, clock, subtrees: Subtrees):
        self.store = store
        self.clock = clock
        self.subtrees = subtrees

    # ------------------------------------------------------------------ rules
    def rules(self, caller: CallerScope) -> dict:
        return self.store.rules_of(caller.tenant_id)

    def set_rules(self, caller: CallerScope, rules) -> dict:
        access.city_admin(caller, self.store.tenant(caller.tenant_id))
        table = points_rules.validate_rules(rules)
        self.store.save_rules(caller.tenant_id, table, caller.account_id, stamp(self.clock.now()))
        return table

    # ----------------------------------------------------------------- ledger
    def ledger(self, caller: CallerScope, member_id, cycle) -> dict:
        member_id = text(member_id, "member_id", required=False) or caller.member_id or ""
        if not member_id:
            raise InvalidArgument("member_id 不能为空", code="REQUIRED", field="member_id")
        access.readable_member(caller, self.store.member(member_id), member_id)
        cycle = self._cycle(caller, cycle)
        table = self.store.rules_of(caller.tenant_id)
        # Total and categories are summed from the very entries returned, not read from the balance document,
        # which a points batch committing between the two reads would leave older than the entries.
        entries = self.store.ledger_of(member_id, cycle)
        by_category: dict[str, float] = {}
        for entry in entries:
            by_category[entry["category"]] = by_category.get(entry["category"], 0) + entry["points"]
        total = round(sum(by_category.values()), 2)
        return {"member_id": member_id, "cycle": cycle, "total": total,
                "by_category": {k: round(v, 2) for k, v in by_category.items()},
                "threshold": table["threshold"], "below_threshold": total < table["threshold"],
                "entries": [entry_view(entry) for entry in entries]}

    def add_deduction(self, caller: CallerScope, member_id, code, reason, request_id) -> dict:
        member_id = text(member_id, "member_id")
        access.managed_member(caller, self.store.member(member_id), member_id)
        reason = text(reason, "reason", max_length=500)
        table = self.store.rules_of(caller.tenant_id)
        item = next((item for item in table["negative_list"] if item["code"] == text(code, "code")), None)
        if item is None:
            raise InvalidArgument("负面清单中没有该项", code="NEGATIVE_ITEM_UNKNOWN", field="code")
        entry_id = f"deduction:{text(request_id, 'request_id', required=False) or uuid.uuid4().hex}"
        now = stamp(self.clock.now())
        candidate = {**ledger.entry(entry_id, caller.tenant_id, member_id, "negative", item["points"],
                                    f"{item['name']}：{reason}", {"kind": "person", "account_id": caller.account_id},
                                    now), "uncapped": True}
        return entry_view(self._write(candidate, now))

    def correct_entry(self, caller: CallerScope, entry_id, reason) -> dict:
        """A correction: a new entry with the opposite points, on the day of the entry it corrects."""
        original = self.store.ledger_entry(text(entry_id, "entry_id"))
        in_tenant = original is not None and original["tenant_id"] == caller.tenant_id
        access.correctable_entry(caller, original, self.store.member(original["member_id"]) if in_tenant else None)
        if original.get("corrects"):
            raise InvalidArgument("更正记录不能再次更正", code="ENTRY_IS_CORRECTION", field="entry_id")
        now = stamp(self.clock.now())
        candidate = {**ledger.entry(f"correction:{original['_id']}", caller.tenant_id, original["member_id"],
                                    original["category"], -original["points"],
                                    f"更正：{text(reason, 'reason', max_length=500)}",
                                    {"kind": "person", "account_id": caller.account_id}, now),
                     "uncapped": True, "corrects": original["_id"]}
        candidate["day"] = original["day"]
        return entry_view(self._write(candidate, now))

    def member_totals(self, caller: CallerScope, branch_id, since, until) -> dict:
        """Each member's points between two days of a branch the caller manages (for content's role models)."""
        since, until = day_range(since, until)
        level, branch_id = self.subtrees.level(caller, branch_id)
        members = [member["_id"] for member in self.store.members_under(branch_id, level)
                   if member.get("branch_id") == branch_id]
        totals = self.store.points_of_members(members, since, until)
        return {"branch_id": branch_id, "since": since, "until": until, "members": [
            {"member_id": member_id, "total": round(totals[member_id]["total"], 2),
             "by_category": {k: round(v, 2) for k, v in totals[member_id]["by_category"].items()}}
            for member_id in members if member_id in totals]}

    # ------------------------------------------------------------------ talks
    def talk_candidates(self, caller: CallerScope, org_id, cycle, page_size, page_token) -> dict:
        level, org_id = self.subtrees.level(caller, org_id)
        cycle = self._cycle(caller, cycle)
        skip, limit = page_window(page_size, page_token)
        table = self.store.rules_of(caller.tenant_id)
        balances = self.store.balances_of_cycle(caller.tenant_id, cycle)
        rows = [{"member_id": member["_id"], "branch_id": member.get("branch_id", ""),
                 "total": round((balances.get(member["_id"]) or {}).get("total", 0), 2)}
                for member in self.store.members_under(org_id, level)]
        listed = points_rules.below_threshold(rows, table["threshold"])
        page, token = page_of(listed[skip:skip + limit + 1], skip, limit)
        talks = self.store.talks_of_members([row["member_id"] for row in page], cycle)
        members = [{**row, "talked": row["member_id"] in talks,
                    **({"talk": talk_summary(talks[row["member_id"]])} if row["member_id"] in talks else {})}
                   for row in page]
        return {"cycle": cycle, "threshold": table["threshold"], "total": len(listed), "members": members,
                "next_page_token": token}

    def record_talk(self, caller: CallerScope, member_id, cycle, held_on, note) -> dict:
        """The secretary's talk with a member on the cycle's talk list, held and recorded; once per cycle."""
        member_id = text(member_id, "member_id")
        member = access.managed_member(caller, self.store.member(member_id), member_id)
        if member_id == caller.member_id:
            raise PermissionDenied("不能记录本人的诫勉谈话，应由上级党组织记录", code="OWN_TALK", field="member_id")
        cycle = self._cycle(caller, cycle)
        held_on = talk_rules.check_held_on(held_on, cycle, self.clock.today().isoformat())
        note = talk_rules.check_note(note)
        table = self.store.rules_of(caller.tenant_id)
        total = round((self.store.balance(member_id, cycle) or {}).get("total", 0), 2)
        if not points_rules.on_talk_list(total, table["threshold"]):
            raise Rejected(f"该党员 {cycle} 周期积分 {total:g} 分，不低于谈话线 {table['threshold']:g} 分，"
                           "不在诫勉谈话名单中", code="NOT_ON_TALK_LIST", field="member_id")
        talk = {"tenant_id": caller.tenant_id, "member_id": member_id, "cycle": cycle, "held_on": held_on,
                "note": note, "recorded_by": caller.account_id, "recorded_at": stamp(self.clock.now()),
                "total": total, "threshold": table["threshold"], "branch_id": member.get("branch_id", ""),
                **{name: member[name] for name in LEVEL_FIELDS if member.get(name)}}
        if not self.store.record_talk(talk):
            raise Conflict(f"该党员 {cycle} 周期的诫勉谈话已记录，每个周期只记录一次", code="TALK_EXISTS",
                           field="member_id")
        return talk_view(talk)

    def talks(self, caller: CallerScope, org_id, cycle, page_size, page_token) -> dict:
        level, org_id = self.subtrees.level(caller, org_id)
        cycle = self._cycle(caller, cycle)
        skip, limit = page_window(page_size, page_token)
        talks = self.store.talks_under(caller.tenant_id, cycle, org_id, level)
        page, token = page_of(talks[skip:skip + limit + 1], skip, limit)
        return {"cycle": cycle, "total": len(talks), "talks": [talk_view(talk) for talk in page],
                "next_page_token": token}

    # ---------------------------------------------------------------- helpers
    def _cycle(self, caller: CallerScope, cycle) -> str:
        """The cycle asked for ("2026" or "2026-2027"), by default the one today falls in."""
        cycle = text(cycle, "cycle", required=False)
        if not cycle:
            return cycle_of(self.clock.today().isoformat(), self.store.rules_of(caller.tenant_id)["cycle"])
        valid = (len(cycle) == 4 and cycle.isdigit()) or (
            len(cycle) == 9 and cycle[4] == "-" and cycle[:4].isdigit() and cycle[5:].isdigit()
            and int(cycle[5:]) == int(cycle[:4]) + 1)
        if not valid:
            raise InvalidArgument("cycle 格式应为 YYYY 或 YYYY-YYYY", code="CYCLE_INVALID", field="cycle")
        return cycle

    def _write(self, candidate: dict, now: str) -> dict:
        written = self.store.add_entry(candidate, now)
        if written is None:
            raise Conflict("该记录已存在", code="ALREADY_EXISTS")
        return written
