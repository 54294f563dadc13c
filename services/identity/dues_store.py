"""The identity store's part for party dues (党费): a mixin of ``IdentityStore`` (one database, one outbox).

- ``dues_rules``: one document per tenant (``_id`` the tenant id) when it changed the national default.
- ``dues_accounts``: one per member (``_id`` the member id, ``branch_id`` following its transfers): the standard's
  history ({from, category, income_fen, amount_fen, set_by, set_at}), the months paid (``paid``), the last arrears
  flag ({streak_from, months, flagged_at}, its streak's first month also in ``flag_streak``) and a ``version``
  counting standard changes, transfers and the member's removal (each moves where the standard is counted).
- ``dues_payments``: one per payment, placed in the tree where the member's branch was (``a0``..``a5``), with its
  receipt number and ``txn_key`` ("<tenant>:<bank transaction id>", or "own:<payment id>" for one without),
  both unique: a bank transaction is stored once, whoever sends it twice.
- ``dues_months``: ``_id`` "<member>:<month>", one per month paid: a month is paid once, even by two payments
  committed at the same time.
- ``dues_totals``: the aggregates the totals read, kept in the payment's transaction: ``_id`` "<org>:<month>"
  (paid fen and member-months of every organisation on the member's path, per month paid) and "<org>:standard"
  (the sum of the members' standards as counted at their last change, ``counted_fen`` on the account, and how
  many have one; a transfer moves the member's part to its new branch's path, a removal takes it out, a moved
  organisation takes its own total from its old ancestors to its new ones). A city's month is one document.
"""
from __future__ import annotations

from pymongo.errors import PyMongoError

from servicekit.storage.mongo import is_duplicate
from servicekit.storage.subtree import LEVEL_FIELDS, path_of, subtree_filter

STANDARD = "standard"           # the month key of an organisation's standards total


def _total_id(org_id: str, month: str) -> str:
    return f"{org_id}:{month}"


class DuesRecords:
    db = None                   # the service's database (``MongoStore``)
    collections = {
        "dues_rules": [],
        "dues_accounts": ["tenant_id"],
        "dues_payments": [("receipt_no", {"unique": True}), ("txn_key", {"unique": True}), "member_id",
                          "branch_id", *LEVEL_FIELDS],
        "dues_months": [],
        "dues_totals": ["parent_id"],
    }

    # --- rules ----------------------------------------------------------------------------------------------------
    def dues_rules(self, tenant_id: str) -> dict | None:
        return self.db.dues_rules.find_one({"_id": tenant_id})

    def set_dues_rules(self, tenant_id: str, rules: dict, events: list[dict]) -> None:
        self.commit(lambda session: self.db.dues_rules.replace_one({"_id": tenant_id}, {"_id": tenant_id, **rules},
                                                                   upsert=True, session=session), events)

    # --- the members dues are about (the members collection is identity's own) --------------------------------
    def member_by_id_index(self, index_value: str) -> dict | None:
        return self.db.members.find_one({"id_number_index": index_value})

    def members_by_ids(self, member_ids: list[str]) -> list[dict]:
        projection = {"_id": 1, "tenant_id": 1, "branch_id": 1, "status": 1, "name": 1}
        return list(self.db.members.find({"_id": {"$in": list(member_ids)}}, projection))

    # --- accounts -------------------------------------------------------------------------------------------------
    def dues_account(self, member_id: str) -> dict | None:
        return self.db.dues_accounts.find_one({"_id": member_id})

    def dues_accounts_of(self, member_ids: list[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        for start in range(0, len(member_ids), 500):
            for account in self.db.dues_accounts.find({"_id": {"$in": member_ids[start:start + 500]}}):
                found[account["_id"]] = account
        return found

    def set_dues_standard(self, member: dict, history: list[dict], version: int | None, counted_fen: int,
                          amount_change: int, now: str) -> bool:
        """Write the member's new standard history if the account is still at ``version`` (None: no account yet)
        and the member still in the branch ``member`` was read in, with ``counted_fen``, the amount its branch's
        standards total now holds for it; and move the standards total of every organisation on the member's path
        by ``amount_change`` (a first standard adds one member). The path is the one this transaction reads: an
        organisation moved since ``member`` was read has taken the member's standard to its new ancestors, and the
        change follows it there. False if the history changed meanwhile, or the member was transferred or removed
        (either also moves the account's ``version``)."""
        first = version is None

        def writes(session):
            current = self.db.members.find_one({"_id": member["_id"]},
                                               {"branch_id": 1, **dict.fromkeys(LEVEL_FIELDS, 1)}, session=session)
            if current is None or current.get("branch_id") != member["branch_id"]:
                return False
            if first:
                self.db.dues_accounts.insert_one({"_id": member["_id"], "tenant_id": member["tenant_id"],
                                                  "branch_id": current["branch_id"], "history": history, "paid": [],
                                                  "version": 1, "flag_streak": "", "counted_fen": counted_fen,
                                                  "updated_at": now}, session=session)
            else:
                changed = self.db.dues_accounts.update_one(
                    {"_id": member["_id"], "version": version},
                    {"$set": {"history": history, "branch_id": current["branch_id"], "counted_fen": counted_fen,
                              "updated_at": now},
                     "$inc": {"version": 1}},
                    session=session).modified_count
                if not changed:
                    return False
            self._move_totals(session, member["tenant_id"], path_of(current), STANDARD,
                              {"due_fen": amount_change, "members": 1 if first else 0})
            return True
        return self.commit(writes, [], duplicate=("DUES_STANDARD_CHANGED", "党费标准已被他人修改，请刷新后重试"))

    def move_dues_standard(self, session, member: dict, new_path: list[str] | None) -> None:
        """A member's standard leaves the standards totals of its branch and the branch's ancestors and joins those
        of the branch at ``new_path`` (a transfer: organisations on both paths unchanged), or none (a member
        removed). Its payments stay where they were made: the branch that collected a month keeps it in its paid
        totals and on its receipts. The account's ``version`` moves: a standard read before refuses
        (``set_dues_standard``)."""
        old_path = path_of(member)
        new_path = new_path or []
        changes = {"branch_id": new_path[-1]} if new_path else {"branch_id": None, "counted_fen": 0}
        account = self.db.dues_accounts.find_one_and_update(
            {"_id": member["_id"]}, {"$set": changes, "$inc": {"version": 1}}, {"counted_fen": 1}, session=session)
        if account is None:
            return
        self._move_standards(session, member["tenant_id"], old_path, new_path, account.get("counted_fen", 0), 1)

    def move_dues_standards_of_org(self, session, org: dict, new_path: list[str]) -> None:
        """``org`` (as before its move) moves to ``new_path`` (itself last): its standards total, which counts its
        whole subtree, leaves the totals of its old ancestors and joins those of its new ones (the ancestors on both
        unchanged). Its paid totals stay where the payments were collected."""
        old_above, new_above = path_of(org)[:-1], new_path[:-1]
        total = self.db.dues_totals.find_one_and_update(
            {"_id": _total_id(org["_id"], STANDARD)}, {"$set": {"parent_id": new_above[-1]}},
            {"due_fen": 1, "members": 1}, session=session)
        due_fen, members = (total or {}).get("due_fen", 0), (total or {}).get("members", 0)
        if not (due_fen or members):
            return
        self._move_standards(session, org["tenant_id"], old_above, new_above, due_fen, members)

    def _move_standards(self, session, tenant_id: str, old_path: list[str], new_path: list[str], due_fen: int,
                        members: int) -> None:
        """Standards leave the totals of ``old_path`` and join those of ``new_path``, the organisations on both
        unchanged."""
        shared = 0
        while shared < min(len(old_path), len(new_path)) and old_path[shared] == new_path[shared]:
            shared += 1
        for path, sign in ((old_path, -1), (new_path, 1)):
            self._move_totals(session, tenant_id, path, STANDARD,
                              {"due_fen": sign * due_fen, "members": sign * members}, start=shared)

    # --- payments -------------------------------------------------------------------------------------------------
    def dues_payment_by_receipt(self, receipt_no: str) -> dict | None:
        return self.db.dues_payments.find_one({"receipt_no": receipt_no})

    def dues_payment_by_txn(self, txn_key: str) -> dict | None:
        return self.db.dues_payments.find_one({"txn_key": txn_key})

    def known_txn_keys(self, txn_keys: list[str]) -> set[str]:
        found: set[str] = set()
        for key in txn_keys:            # one indexed equality each: nx-27017 scans for $in on a secondary index
            if self.db.dues_payments.find_one({"txn_key": key}, {"_id": 1}) is not None:
                found.add(key)
        return found

    def record_dues_payments(self, payments: list[dict], events: list[dict]) -> None:
        """Every payment with its months and totals, in one transaction: a month paid already (by anyone, at any
        time) or a bank transaction stored already refuses them all (Conflict)."""
        def writes(session):
            for payment in payments:
                self.db.dues_payments.insert_one(payment, session=session)
                self.db.dues_months.insert_many(
                    [{"_id": f"{payment['member_id']}:{month}", "payment_id": payment["_id"]}
                     for month in payment["months"]], session=session)
                self.db.dues_accounts.update_one({"_id": payment["member_id"]},
                                                 {"$addToSet": {"paid": {"$each": payment["months"]}}},
                                                 session=session)
                path = path_of(payment)
                for month, amount in payment["month_amounts"].items():
                    self._move_totals(session, payment["tenant_id"], path, month,
                                      {"paid_fen": amount, "member_months": 1})
        self.commit(writes, events, duplicate=("DUES_ALREADY_PAID", "所缴月份已缴纳，或该交易流水号已登记"))

    def dues_payments_in(self, org: dict, query: dict, skip: int, limit: int) -> list[dict]:
        cursor = self.db.dues_payments.find({**subtree_filter(path_of(org)), **query}).sort(
            [("paid_on", -1), ("_id", 1)])
        return list(cursor.skip(skip).limit(limit))

    def dues_payments_of(self, member_id: str, limit: int = 200) -> list[dict]:
        return list(self.db.dues_payments.find({"member_id": member_id}).sort([("paid_on", -1)]).limit(limit))

    # --- totals ---------------------------------------------------------------------------------------------------
    def _move_totals(self, session, tenant_id: str, path_ids: list[str], month: str, increments: dict,
                     start: int = 0) -> None:
        """Move the totals of ``path_ids``' organisations (from level ``start`` down) by ``increments``."""
        for level, org_id in enumerate(path_ids[start:], start):
            self.db.dues_totals.update_one(
                {"_id": _total_id(org_id, month)},
                {"$inc": increments, "$set": {"org_id": org_id, "tenant_id": tenant_id, "month": month,
                                              "parent_id": path_ids[level - 1] if level else None}},
                upsert=True, session=session)

    def dues_totals_of(self, org_ids: list[str], months: list[str]) -> dict[tuple[str, str], dict]:
        """{(org id, month): totals} of these organisations and months (``STANDARD`` for the standards)."""
        ids = [_total_id(org_id, month) for org_id in org_ids for month in months]
        found = {}
        for start in range(0, len(ids), 500):
            for total in self.db.dues_totals.find({"_id": {"$in": ids[start:start + 500]}}):
                found[(total["org_id"], total["month"])] = total
        return found

    # --- the standards totals recounted (services.identity.recount_dues) ----------------------------------------
    def tenant_ids(self) -> list[str]:
        return sorted(tenant["_id"] for tenant in self.db.tenants.find({}, {"_id": 1}))

    def dues_standard_sources(self, tenant_id: str) -> tuple[list[dict], dict[str, dict]]:
        """The tenant's members (their path fields) and its dues accounts ({member id: {counted_fen}}), those of
        removed members included."""
        tenant = self.db.tenants.find_one({"_id": tenant_id}, {"root_org_id": 1})
        if tenant is None:
            return [], {}
        # by the root's level field: the members collection has no tenant index
        members = [member for member in self.db.members.find(
            {"a0": tenant["root_org_id"]}, {"tenant_id": 1, **dict.fromkeys(LEVEL_FIELDS, 1)})
            if member.get("tenant_id") == tenant_id]
        accounts = {account["_id"]: account
                    for account in self.db.dues_accounts.find({"tenant_id": tenant_id}, {"counted_fen": 1})}
        return members, accounts

    def dues_standard_totals(self, tenant_id: str, org_ids=None) -> dict[str, dict]:
        """{org id: stored standards total} of ``org_ids``, or of every organisation of the tenant."""
        if org_ids is None:
            org_ids = [org["_id"] for org in self.db.orgs.find({"tenant_id": tenant_id}, {"_id": 1})]
        return {org_id: total for (org_id, _), total in self.dues_totals_of(sorted(org_ids), [STANDARD]).items()}

    def rewrite_dues_standards(self, tenant_id: str, changes: list[tuple[str, dict | None, dict]]) -> bool:
        """(org id, its standards total as read or None if there was none, {due_fen, members, parent_id}): each
        total set to the new values in one transaction, unless any changed since it was read: then none (False)."""
        def writes(session):
            for org_id, as_read, new in changes:
                values = {"due_fen": new["due_fen"], "members": new["members"]}
                if as_read is None:
                    self.db.dues_totals.insert_one(
                        {"_id": _total_id(org_id, STANDARD), "org_id": org_id, "tenant_id": tenant_id,
                         "month": STANDARD, "parent_id": new.get("parent_id"), **values}, session=session)
                    continue
                unchanged = {field: as_read[field] if field in as_read else {"$exists": False}
                             for field in ("due_fen", "members")}
                fields = {**values, "parent_id": new["parent_id"]} if new.get("parent_id") else values
                if not self.db.dues_totals.update_one({"_id": _total_id(org_id, STANDARD), **unchanged},
                                                      {"$set": fields}, session=session).matched_count:
                    raise _Taken()
        try:
            self.run_transaction(writes)
        except _Taken:
            return False
        except PyMongoError as error:
            if not is_duplicate(error):     # a total created since it was read as missing
                raise
            return False
        return True

    # --- arrears flags --------------------------------------------------------------------------------------------
    def dues_accounts_batches(self, batch: int = 1000):
        """Every member's account, batch by batch, reading only what the arrears sweep needs."""
        chunk = []
        for account in self.db.dues_accounts.find({}, {"history": 1, "paid": 1, "flag_streak": 1, "tenant_id": 1}
                                                  ).batch_size(batch):
            chunk.append(account)
            if len(chunk) == batch:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def flag_arrears(self, member_id: str, previous_streak: str, flag: dict, events: list[dict]) -> bool:
        """Record the flag of the streak of unpaid months starting at ``flag["streak_from"]`` (and its event)
        unless another sweep recorded it first; False then."""
        def writes(session):
            if self.db.dues_accounts.update_one({"_id": member_id, "flag_streak": previous_streak},
                                                {"$set": {"flag": flag, "flag_streak": flag["streak_from"]}},
                                                session=session).modified_count != 1:
                raise _Taken()
        try:
            self.commit(writes, events)
        except _Taken:
            return False
        return True


class _Taken(Exception):
    """Raised inside a commit's writes to undo them: another process wrote first."""
