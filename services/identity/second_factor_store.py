"""The identity store's part for the second factor and the login throttle's measurements.

An account's TOTP lives on the account document: ``totp`` ({secret_enc, enabled_at, last_step}) once switched on,
``totp_pending`` ({secret_enc, created_at}) between an enrolment's start and its confirmation, ``totp_reset``
({by, reason, at}) after an admin's reset. ``last_step`` is the step of the last code accepted: a code is accepted
only for a later step, a compare-and-set, so one code is never accepted twice, not even by two gateways at once.

A login whose password was right but which still needs a code holds a challenge (``login_challenges``): the hash of
its token, the account, what it is for (``totp`` or ``totp_enrol``), how many codes it has been shown and when it
ends (epoch seconds).
"""
from __future__ import annotations

from pymongo import ReturnDocument

CHALLENGE_TRIES = 5             # codes one challenge may be shown before it is spent


class SecondFactorStore:
    db = None                   # the service's database (``MongoStore``)

    # --- challenges ------------------------------------------------------------
    def create_challenge(self, challenge: dict) -> None:
        self.db.login_challenges.insert_one(challenge)

    def try_challenge(self, challenge_id: str, now: float) -> dict | None:
        """Count one code shown to a live challenge and return it (as before the count); None if it is unknown,
        expired or spent (the spent one is deleted)."""
        held = self.db.login_challenges.find_one_and_update(
            {"_id": challenge_id, "expires_at": {"$gt": now}, "tries": {"$lt": CHALLENGE_TRIES}},
            {"$inc": {"tries": 1}})
        if held is None:
            self.db.login_challenges.delete_one({"_id": challenge_id})
        return held

    def end_challenge(self, challenge_id: str) -> bool:
        """Delete the challenge; False if another request ended it first (only one session per challenge)."""
        return self.db.login_challenges.delete_one({"_id": challenge_id}).deleted_count == 1

    def forget_challenges(self, now: float) -> int:
        return self.db.login_challenges.delete_many({"expires_at": {"$lte": now}}).deleted_count

    # --- an account's TOTP --------------------------------------------------------
    def start_totp(self, account_id: str, pending: dict) -> bool:
        """Record a pending secret (replacing an earlier pending one); False if TOTP is on already."""
        return self.db.accounts.update_one({"_id": account_id, "totp": None},
                                           {"$set": {"totp_pending": pending}}).modified_count == 1

    def switch_totp_on(self, account_id: str, pending_secret: str, enabled_at: str, step: int) -> bool:
        """Turn the pending secret on, its first code's step used; False if it was replaced or confirmed meanwhile."""
        return self.db.accounts.update_one(
            {"_id": account_id, "totp": None, "totp_pending.secret_enc": pending_secret},
            {"$set": {"totp": {"secret_enc": pending_secret, "enabled_at": enabled_at, "last_step": step}},
             "$unset": {"totp_pending": ""}}).modified_count == 1

    def use_totp_step(self, account_id: str, secret_enc: str, step: int) -> bool:
        """Mark ``step`` used if it is later than the last used one (of this same secret); False if not."""
        return self.db.accounts.update_one(
            {"_id": account_id, "totp.secret_enc": secret_enc, "totp.last_step": {"$lt": step}},
            {"$set": {"totp.last_step": step}}).modified_count == 1

    def switch_totp_off(self, account_id: str, secret_enc: str, step: int, changes: dict, events: list[dict]) -> bool:
        """Turn TOTP off with the code of ``step`` (used once like any other); False if that step was used or the
        secret changed meanwhile. ``changes``: what else to set (a reset's record)."""
        def writes(session):
            return self.db.accounts.update_one(
                {"_id": account_id, "totp.secret_enc": secret_enc, "totp.last_step": {"$lt": step}},
                {"$set": changes, "$unset": {"totp": "", "totp_pending": ""}}, session=session).modified_count
        return self.commit(writes, events) == 1

    def reset_totp(self, account_id: str, changes: dict, events: list[dict]) -> dict | None:
        """An admin's reset: TOTP and any pending enrolment removed, ``changes`` set; the account as it was before."""
        def writes(session):
            return self.db.accounts.find_one_and_update(
                {"_id": account_id}, {"$set": changes, "$unset": {"totp": "", "totp_pending": ""}},
                return_document=ReturnDocument.BEFORE, session=session)
        return self.commit(writes, events)

    def set_tenant_setting(self, tenant_id: str, name: str, value, events: list[dict]) -> None:
        self.commit(lambda session: self.db.tenants.update_one(
            {"_id": tenant_id}, {"$set": {f"settings.{name}": value}}, session=session), events)

    # --- what the throttle's counters hold now (login_metrics) ------------------------
    def login_counter_levels(self, now: float, rules: dict) -> tuple[dict[str, int], int]:
        """For each rule name in ``rules`` ({name: Rule}), how many of its counters are past their free attempts
        (and not yet forgotten); and the largest count of an address counter."""
        over: dict[str, int] = {}
        most = 0
        for held in self.db.login_attempts.find({"expires_at": {"$gt": now}, "rule": {"$in": list(rules)}},
                                                {"rule": 1, "counted": 1, "last_at": 1}):
            rule = rules[held["rule"]]
            if now - held["last_at"] >= rule.forget:
                continue
            if held["counted"] >= rule.free:
                over[rule.name] = over.get(rule.name, 0) + 1
            if rule.name == "address":
                most = max(most, held["counted"])
        return over, most
