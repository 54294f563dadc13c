"""Party dues (党费): the tenant's rules, members' standards, payments and receipts, arrears, totals.

Dues live beside the member in identity because everything they hang on is identity's: the member, its branch and
path in the tree, its status (only probationary and full members pay), the branch's secretary. Amounts are integer
fen; the rules are ``domain/dues.py``'s, the bank statement file's ``domain/dues_import.py``'s.
"""
from __future__ import annotations

import base64
import secrets
import uuid
from datetime import date

from servicekit.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from servicekit.security.scope import CallerScope
from servicekit.storage.paging import page_of, page_window
from servicekit.storage.subtree import path_of

from services.identity import access, events
from services.identity.arguments import text
from services.identity.domain import dues, dues_import
from services.identity.domain.problems import Problem
from services.identity.store import PARTY_STATUSES, IdentityStore
from services.identity.usecases.common import UseCases
from services.identity.usecases.imports import decode_content, format_of, off_the_loop, reject

STATE_PROBLEMS = ("MONTH_ALREADY_PAID",)        # refused as a conflict with what is stored, not as bad input
MAX_EXPORT_MONTHS = 24


def _payment_view(payment: dict) -> dict:
    return {"id": payment["_id"], "receipt_no": payment["receipt_no"], "member_id": payment["member_id"],
            "member_name": payment.get("member_name", ""), "branch_id": payment["branch_id"],
            "branch_name": payment.get("branch_name", ""), "months": list(payment["months"]),
            "amount_fen": payment["amount_fen"], "paid_on": payment["paid_on"], "method": payment["method"],
            "source": payment["source"], "bank_txn_id": payment.get("bank_txn_id", ""),
            "note": payment.get("note", ""), "recorded_by": payment.get("recorded_by", ""),
            "recorded_at": payment.get("recorded_at", "")}


def _standard_view(entry: dict | None) -> dict:
    if not entry:
        return {"has_standard": False, "category": "", "income_fen": 0, "amount_fen": 0, "from_month": ""}
    return {"has_standard": True, "category": entry["category"], "income_fen": entry.get("income_fen", 0),
            "amount_fen": entry["amount_fen"], "from_month": entry["from"]}


def _raise(problems: list[Problem]) -> None:
    for problem in problems:
        if problem.code in STATE_PROBLEMS:
            raise Conflict(problem.message, code=problem.code, field=problem.field)
        raise problem.to_error()


def _month_arg(value, field: str, default: str) -> str:
    value = text(value, field, required=False, max_length=7) or default
    if dues.month_index(value) is None:
        raise InvalidArgument(f"{field} 应为 YYYY-MM 格式的月份", code="MONTH_INVALID", field=field)
    return value


def _date_arg(value, field: str, default: date | None) -> date | None:
    value = text(value, field, required=False, max_length=10)
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(f"{field} 应为 YYYY-MM-DD 格式的日期", code="DATE_INVALID", field=field) from None


class Dues(UseCases):
    def __init__(self, store: IdentityStore, clock, cipher):
        super().__init__(store, clock)
        self.cipher = cipher

    def current_month(self) -> str:
        return self.clock.today().strftime("%Y-%m")

    def rules_of(self, tenant_id: str) -> dict:
        stored = self.store.dues_rules(tenant_id)
        if not stored:
            return dict(dues.DEFAULT_RULES)
        return {key: stored[key] for key in ("brackets", "fixed", "arrears_flag_months")}

    # --- the tenant's rules -----------------------------------------------------------------------------------------
    def rules(self, caller: CallerScope) -> dict:
        tenant_id = caller.require_tenant()
        return {**self.rules_of(tenant_id), "is_default": self.store.dues_rules(tenant_id) is None}

    def set_rules(self, caller: CallerScope, brackets, fixed, arrears_flag_months) -> dict:
        tenant = self.store.tenant(caller.require_tenant())
        if tenant is None or tenant["root_org_id"] not in caller.admin_org_ids:
            raise PermissionDenied("只有市级管理员可以设置党费收缴标准", code="NOT_CITY_ADMIN")
        rules, problems = dues.rule_problems(brackets, fixed, arrears_flag_months or 0)
        _raise(problems)
        self.store.set_dues_rules(tenant["_id"], rules, [events.TENANT_SETTING_CHANGED.build(
            tenant["_id"], self.stamp(), setting="dues_rules", value=rules, changed_by=caller.account_id)])
        return {**rules, "is_default": False}

    # --- a member's standard ------------------------------------------------------------------------------------
    def set_standard(self, caller: CallerScope, member_id, category, income_fen, amount_fen, from_month) -> dict:
        member = access.managed_member(caller, self.member(member_id))
        if member["status"] not in PARTY_STATUSES:
            raise InvalidArgument("只有预备党员和正式党员交纳党费", code="NOT_A_PARTY_MEMBER", field="member_id")
        current = self.current_month()
        from_month = _month_arg(from_month, "from_month", current)
        if not -24 <= dues.month_index(from_month) - dues.month_index(current) <= 12:
            raise InvalidArgument("起始月份须在前 24 个月到后 12 个月之间", code="MONTH_OUT_OF_RANGE", field="from_month")
        category = text(category, "category", max_length=20)
        amount, problems = dues.standard_amount(self.rules_of(member["tenant_id"]), category, income_fen or 0,
                                                amount_fen or 0)
        _raise(problems)
        entry = {"from": from_month, "category": category, "income_fen": income_fen or 0, "amount_fen": amount,
                 "set_by": caller.account_id, "set_at": self.stamp()}
        account = self.store.dues_account(member["_id"])
        before = account["history"] if account else []
        history = dues.with_standard(before, entry)
        # the standards total holds each member's standard in force (or next in force) when it last changed
        counted = dues.current_standard(history, current)["amount_fen"]
        was_counted = account.get("counted_fen", 0) if account else 0
        # the totals of the member's path as the write reads it; a transfer or removal meanwhile refuses
        if not self.store.set_dues_standard(member, history, account["version"] if account else None, counted,
                                            counted - was_counted, entry["set_at"]):
            raise Conflict("党费标准已被他人修改，请刷新后重试", code="DUES_STANDARD_CHANGED", field="member_id")
        return {"member_id": member["_id"], **_standard_view(dues.current_standard(history, current)),
                "history": [_standard_view(item) for item in history]}

    # --- a branch's members: standards, paid and owed months ----------------------------------------------------------
    def branch_dues(self, caller: CallerScope, org_id, year, arrears_only) -> dict:
        branch = access.managed_org(caller, self.org(org_id), own_branch_id=self.own_branch(caller))
        if branch["kind"] != "branch":
            raise InvalidArgument("请选择一个党支部", code="NOT_A_BRANCH", field="org_id")
        current = self.current_month()
        year = year or int(current[:4])
        if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
            raise InvalidArgument("year 应为 2000 到 2100 之间的年份", code="OUT_OF_RANGE", field="year")
        if not isinstance(arrears_only, bool):
            raise InvalidArgument("arrears_only 必须是布尔值", code="INVALID_TYPE", field="arrears_only")
        flag_months = self.rules_of(branch["tenant_id"])["arrears_flag_months"]
        roster = sorted(self.store.party_members_of(branch["tenant_id"], [branch["_id"]]), key=lambda m: m["_id"])
        accounts = self.store.dues_accounts_of([member["_id"] for member in roster])
        rows = []
        for member in roster:
            account = accounts.get(member["_id"]) or {"history": [], "paid": []}
            row = self._member_row(member, account, current, flag_months, str(year))
            if not arrears_only or row["owed_months"]:
                rows.append(row)
        rows.sort(key=lambda row: (not row["flagged"], -len(row["owed_months"]), row["name"]))
        return {"branch_id": branch["_id"], "branch_name": branch["name"], "current_month": current, "year": year,
                "arrears_flag_months": flag_months, "members": rows,
                "owed_fen": sum(row["owed_fen"] for row in rows),
                "flagged": sum(1 for row in rows if row["flagged"])}

    def _member_row(self, member: dict, account: dict, current: str, flag_months: int, year: str) -> dict:
        now = dues.standing(account["history"], account["paid"], current)
        flag = account.get("flag") or {}
        flagged = now.streak >= flag_months
        return {"member_id": member["_id"], "name": member["name"], "status": member["status"],
                **_standard_view(dues.current_standard(account["history"], current)),
                "paid_months": [m for m in now.paid_months if m.startswith(year)],
                "owed_months": now.owed_months, "owed_fen": now.owed_fen, "unpaid_streak": now.streak,
                "current_paid": now.current_paid, "flagged": flagged,
                "flagged_at": flag.get("flagged_at", "") if flagged and flag.get("streak_from") == now.streak_from
                else ""}

    # --- payments --------------------------------------------------------------------------------------------------
    def record_payment(self, caller: CallerScope, member_id, months, amount_fen, paid_on, method, bank_txn_id,
                       note) -> dict:
        member = access.managed_member(caller, self.member(member_id))
        if not isinstance(months, (list, tuple)) or not all(isinstance(m, str) for m in months):
            raise InvalidArgument("months 应为月份列表", code="INVALID_TYPE", field="months")
        parsed = dues.parse_months(",".join(months))
        if parsed is None or len(parsed) != len(months):
            raise InvalidArgument("缴费月份应为不重复的 YYYY-MM", code="MONTHS_INVALID", field="months")
        today = self.clock.today()
        paid_on = _date_arg(paid_on, "paid_on", today)
        if paid_on > today:
            raise InvalidArgument("缴费日期不能晚于今天", code="DATE_IN_FUTURE", field="paid_on")
        method = text(method, "payment_method", required=False, max_length=20) or "cash"
        if method not in dues.METHODS:
            raise InvalidArgument(f"payment_method 取值无效，可选：{', '.join(dues.METHODS)}", code="UNKNOWN_VALUE",
                                  field="payment_method")
        txn = text(bank_txn_id, "bank_txn_id", required=False, max_length=dues_import.MAX_TXN_ID)
        note = text(note, "note", required=False, max_length=200)
        if txn:
            earlier = self.store.dues_payment_by_txn(f"{member['tenant_id']}:{txn}")
            if earlier is not None:
                if earlier["member_id"] != member["_id"]:
                    raise Conflict("该交易流水号已用于其他党员的缴费", code="TXN_ID_USED", field="bank_txn_id")
                return _payment_view(earlier)       # the same transaction sent again: stored once
        account = self.store.dues_account(member["_id"])
        if account is None:
            raise InvalidArgument("该党员尚未核定党费标准", code="NO_STANDARD", field="member_id")
        _raise(dues.payment_problems(account["history"], account["paid"], parsed, amount_fen, self.current_month()))
        payment = self._payment(caller, member, account, parsed, amount_fen, paid_on.isoformat(), method, txn, note,
                                "branch", None, self.org(member["branch_id"]))
        self.store.record_dues_payments([payment], [self._paid_event(payment)])
        return _payment_view(payment)

    def _payment(self, caller: CallerScope, member: dict, account: dict, months: list[str], amount_fen: int,
                 paid_on: str, method: str, txn: str, note: str, source: str, import_id: str | None,
                 branch: dict | None) -> dict:
        payment_id = f"pay_{uuid.uuid4().hex}"
        now = self.stamp()
        payment = {"_id": payment_id, "tenant_id": member["tenant_id"], "member_id": member["_id"],
                   "member_name": member["name"], "branch_id": member["branch_id"],
                   "branch_name": branch["name"] if branch else "",
                   **{f"a{level}": org_id for level, org_id in enumerate(path_of(member))},
                   "receipt_no": f"DF{self.clock.today():%Y%m%d}-{secrets.token_hex(5).upper()}",
                   "txn_key": f"{member['tenant_id']}:{txn}" if txn else f"own:{payment_id}",
                   "months": months, "month_amounts": {m: dues.amount_for(account["history"], m) for m in months},
                   "amount_fen": amount_fen, "paid_on": paid_on, "method": method, "source": source,
                   "note": note, "recorded_by": caller.account_id, "recorded_at": now}
        if txn:
            payment["bank_txn_id"] = txn
        if import_id:
            payment["import_id"] = import_id
        return payment

    def _paid_event(self, payment: dict) -> dict:
        return events.DUES_PAID.build(payment["tenant_id"], payment["recorded_at"], payment_id=payment["_id"],
                                      receipt_no=payment["receipt_no"], member_id=payment["member_id"],
                                      branch_id=payment["branch_id"], months=payment["months"],
                                      amount_fen=payment["amount_fen"], source=payment["source"])

    def import_payments(self, caller: CallerScope, org_id, fmt, content) -> dict:
        """A bank statement's payments into the members of ``org_id``'s subtree: every row checked first; a file
        with any bad row stores nothing and lists every row's problems; rows whose transaction is stored already
        are skipped (the same statement imported twice stores each payment once)."""
        root = access.managed_org(caller, self.org(org_id), own_branch_id=self.own_branch(caller))
        fmt = format_of(fmt)
        rows = off_the_loop(lambda: dues_import.read(fmt, decode_content(content)))
        tenant_id = root["tenant_id"]
        below = path_of(root)

        def in_subtree(member: dict | None) -> dict | None:
            if member and member.get("tenant_id") == tenant_id and path_of(member)[:len(below)] == below \
                    and member.get("status") in PARTY_STATUSES:
                return member
            return None

        def find_member(row: dict) -> dict | None:
            if row.get("member_id", "").strip():
                return in_subtree(self.store.member(row["member_id"].strip()))
            number = row.get("id_number", "").strip().upper()
            return in_subtree(self.store.member_by_id_index(self.cipher.blind_index(tenant_id, number)))

        accounts: dict[str, dict] = {}

        def account_of(member_id: str) -> dict:
            if member_id not in accounts:
                accounts[member_id] = self.store.dues_account(member_id) or {"history": [], "paid": []}
            return accounts[member_id]

        txn_ids = [row.get("txn_id", "").strip() for _, row in rows]
        known = {key.split(":", 1)[1] for key in self.store.known_txn_keys(
            [f"{tenant_id}:{txn}" for txn in dict.fromkeys(txn_ids) if txn])}
        valid, problems, skipped = dues_import.check_rows(rows, find_member, account_of, known, self.clock.today(),
                                                          self.current_month())
        if problems:
            raise reject(problems)
        import_id = f"dimp_{uuid.uuid4().hex}"
        branches = self.store.orgs_by_ids({row["member"]["branch_id"] for row in valid})
        payments = [self._payment(caller, row["member"], accounts[row["member"]["_id"]], row["months"],
                                  row["amount_fen"], row["paid_on"], "bank", row["txn_id"], "", "bank_import",
                                  import_id, branches.get(row["member"]["branch_id"])) for row in valid]
        if payments:
            self.store.record_dues_payments(payments, [self._paid_event(payment) for payment in payments])
        return {"imported": len(payments), "skipped": skipped, "import_id": import_id if payments else "",
                "amount_fen": sum(payment["amount_fen"] for payment in payments)}

    def list_payments(self, caller: CallerScope, org_id, member_id, paid_from, paid_to, page_size, page_token
                      ) -> dict:
        org = access.managed_org(caller, self.org(org_id), own_branch_id=self.own_branch(caller))
        query: dict = {"tenant_id": org["tenant_id"]}
        member_id = text(member_id, "member_id", required=False)
        if member_id:
            query["member_id"] = member_id
        since, until = _date_arg(paid_from, "paid_from", None), _date_arg(paid_to, "paid_to", None)
        if since or until:
            query["paid_on"] = {**({"$gte": since.isoformat()} if since else {}),
                                **({"$lte": until.isoformat()} if until else {})}
        skip, limit = page_window(page_size, page_token)
        found, token = page_of(self.store.dues_payments_in(org, query, skip, limit + 1), skip, limit)
        return {"payments": [_payment_view(payment) for payment in found], "next_page_token": token}

    def receipt(self, caller: CallerScope, receipt_no) -> dict:
        payment = self.store.dues_payment_by_receipt(text(receipt_no, "receipt_no", max_length=40))
        if not payment or not (access.manages(caller, payment) or (
                payment.get("tenant_id") == caller.tenant_id and payment["member_id"] == caller.member_id)):
            raise NotFound("收据不存在或不在您的管辖范围内", code="RECEIPT_NOT_FOUND", field="receipt_no")
        tenant = self.store.tenant(payment["tenant_id"]) or {}
        return {**_payment_view(payment), "tenant_name": tenant.get("name", ""),
                "amount_yuan": dues.yuan(payment["amount_fen"])}

    def my_dues(self, caller: CallerScope) -> dict:
        if not caller.member_id:
            raise PermissionDenied("只有党员本人可以查看自己的党费", code="NOT_A_MEMBER")
        member = self.store.member(caller.member_id)
        if member is None or member.get("tenant_id") != caller.tenant_id:
            raise NotFound("党员不存在", code="MEMBER_NOT_FOUND", field="member_id")
        account = self.store.dues_account(member["_id"]) or {"history": [], "paid": []}
        current = self.current_month()
        now = dues.standing(account["history"], account["paid"], current)
        flag_months = self.rules_of(member["tenant_id"])["arrears_flag_months"]
        return {"member_id": member["_id"], "name": member["name"], "current_month": current,
                **_standard_view(dues.current_standard(account["history"], current)),
                "paid_months": now.paid_months, "owed_months": now.owed_months, "owed_fen": now.owed_fen,
                "current_paid": now.current_paid, "flagged": now.streak >= flag_months,
                "payments": [_payment_view(payment) for payment in self.store.dues_payments_of(member["_id"])]}

    # --- totals -----------------------------------------------------------------------------------------------------
    def totals(self, caller: CallerScope, org_id, month) -> dict:
        org = access.managed_org(caller, self.org(org_id), own_branch_id=self.own_branch(caller))
        month = _month_arg(month, "month", self.current_month())
        children = self._child_orgs(org)
        found = self.store.dues_totals_of([org["_id"], *[child["_id"] for child in children]], [month, "standard"])
        return {"org_id": org["_id"], "month": month, "total": self._total_row(org, month, found),
                "children": [self._total_row(child, month, found) for child in children]}

    def _child_orgs(self, org: dict) -> list[dict]:
        # a branch's party groups hold no payments of their own: a branch's totals stand alone
        return [] if org["kind"] == "branch" else sorted(self.store.children(org["_id"]), key=lambda o: o["name"])

    @staticmethod
    def _total_row(org: dict, month: str, found: dict) -> dict:
        paid, standard = found.get((org["_id"], month), {}), found.get((org["_id"], "standard"), {})
        return {"org_id": org["_id"], "name": org["name"], "kind": org["kind"], "month": month,
                "paid_fen": paid.get("paid_fen", 0), "paid_members": paid.get("member_months", 0),
                "standard_fen": standard.get("due_fen", 0), "members_with_standard": standard.get("members", 0)}

    def export_totals(self, caller: CallerScope, org_id, month_from, month_to) -> dict:
        org = access.managed_org(caller, self.org(org_id), own_branch_id=self.own_branch(caller))
        current = self.current_month()
        first = _month_arg(month_from, "month_from", current)
        last = _month_arg(month_to, "month_to", first)
        if not 0 <= dues.month_index(last) - dues.month_index(first) < MAX_EXPORT_MONTHS:
            raise InvalidArgument(f"月份范围须从早到晚，且不超过 {MAX_EXPORT_MONTHS} 个月", code="MONTH_RANGE_INVALID",
                                  field="month_to")
        months = dues.month_range(first, last)
        children = self._child_orgs(org)
        found = self.store.dues_totals_of([org["_id"], *[child["_id"] for child in children]], [*months, "standard"])
        from openpyxl import Workbook

        from servicekit.spreadsheets import XLSX_MEDIA_TYPE, append_row, workbook_bytes
        book = Workbook()
        sheet = book.active
        sheet.title = "党费收缴统计"
        append_row(sheet, ["月份", "组织", "实缴金额（元）", "缴费人次", "每月应缴标准合计（元）", "已核定标准人数"])
        for month in months:
            for node in (org, *children):
                row = self._total_row(node, month, found)
                append_row(sheet, [month, node["name"], float(dues.yuan(row["paid_fen"])), row["paid_members"],
                                   float(dues.yuan(row["standard_fen"])), row["members_with_standard"]])
        return {"filename": f"党费收缴统计-{org['name']}-{first}至{last}.xlsx", "content_type": XLSX_MEDIA_TYPE,
                "content": base64.b64encode(workbook_bytes(book)).decode()}

    # --- the arrears sweep -------------------------------------------------------------------------------------------
    def flag_arrears(self) -> int:
        """Flag, once per streak, every party member whose unpaid months before this one reach the tenant's
        ``arrears_flag_months`` (6 by default): an ``arrears_flagged`` event for the branch to act on (谈话、
        督促), never a removal. Returns how many were flagged."""
        current, flagged, rules = self.current_month(), 0, {}
        for batch in self.store.dues_accounts_batches():
            members = {member["_id"]: member for member in self.store.members_by_ids([a["_id"] for a in batch])}
            for account in batch:
                member = members.get(account["_id"])
                if member is None or member.get("status") not in PARTY_STATUSES:
                    continue
                tenant_id = account["tenant_id"]
                if tenant_id not in rules:
                    rules[tenant_id] = self.rules_of(tenant_id)["arrears_flag_months"]
                now = dues.standing(account["history"], account.get("paid", []), current)
                if not dues.flag_due(now, account.get("flag_streak", ""), rules[tenant_id]):
                    continue
                stamp = self.stamp()
                flag = {"streak_from": now.streak_from, "months": now.streak, "flagged_at": stamp}
                if self.store.flag_arrears(account["_id"], account.get("flag_streak", ""), flag, [
                        events.ARREARS_FLAGGED.build(tenant_id, stamp, member_id=member["_id"],
                                                     branch_id=member["branch_id"], months_owed=now.owed_months,
                                                     since_month=now.streak_from, owed_fen=now.owed_fen)]):
                    flagged += 1
        return flagged
