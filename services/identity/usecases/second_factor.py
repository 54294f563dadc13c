"""The second factor (TOTP, RFC 6238): enrolling, the login's second step, switching it off, an admin's reset and
the tenant's rule that makes it mandatory for city and county admins.

A login whose password is right answers, for an account with TOTP on, no tokens but a challenge: a random token
(only its hash is stored) that lives ``CHALLENGE_SECONDS`` and may be shown ``CHALLENGE_TRIES`` codes; the
second step (``verify_login``) trades it and a current code for the session. When the tenant makes TOTP mandatory
and a city or county admin has none yet, the challenge carries a new secret instead, and the first valid code
switches it on and logs in. The secret is stored encrypted (``FieldCipher``, bound to the account); each code is
accepted once (``SecondFactorStore.use_totp_step``); wrong codes are throttled per account (``throttle.TOTP``).
"""
from __future__ import annotations

import secrets

from servicekit.errors import Conflict, InvalidArgument, PermissionDenied, Rejected, TooManyRequests, Unauthenticated
from servicekit.process.config import env
from servicekit.security.fieldcrypt import FieldCipher
from servicekit.security.scope import ROLE_ORG_ADMIN, CallerScope

from services.identity import events, login_metrics
from services.identity.arguments import text
from services.identity.domain import throttle, totp
from services.identity.usecases.common import UseCases
from services.identity.usecases.sessions import Sessions, administered_account, token_hash, wall_clock

CHALLENGE_SECONDS = 300
SECRET_FIELD = "totp_secret"            # the field name the secret's ciphertext is bound to
ADMIN_LEVELS = ("city", "county")       # whose admins the tenant's rule covers
POLICY_SETTING = "totp_required_for_admins"
NEXT_STEPS = {"totp": "TOTP_REQUIRED", "totp_enrol": "TOTP_ENROL_REQUIRED"}


def issuer() -> str:
    return env("TOTP_ISSUER", "智慧党建")


class SecondFactor(UseCases):
    def __init__(self, store, clock, cipher: FieldCipher, sessions: Sessions):
        super().__init__(store, clock)
        self.cipher = cipher
        self.sessions = sessions

    # --- the login's second step ----------------------------------------------------
    def step_after_password(self, account: dict) -> str:
        """What a login with the right password still needs: "" (nothing), "totp" or "totp_enrol"."""
        if (account.get("totp") or {}).get("secret_enc"):
            return "totp"
        return "totp_enrol" if self.mandatory_for(account) else ""

    def challenge(self, account: dict, purpose: str, client_address: str) -> dict:
        """Hold the login for its code: the challenge's answer (no tokens), with a new secret when enrolling."""
        token = f"chl_{secrets.token_urlsafe(32)}"
        answer = {"next_step": NEXT_STEPS[purpose], "challenge_token": token,
                  "challenge_expires_in": CHALLENGE_SECONDS}
        if purpose == "totp_enrol":
            answer.update(self._start(account))
        self.store.create_challenge({"_id": token_hash(token), "account_id": account["_id"], "purpose": purpose,
                                     "tries": 0, "expires_at": wall_clock() + CHALLENGE_SECONDS,
                                     "client_address": client_address, "created_at": self.stamp()})
        login_metrics.answered(purpose + "_required")
        return answer

    def verify_login(self, challenge_token, code, client_address) -> dict:
        """The second step: a live challenge and a valid, unused code give the session (as a login without a
        second factor). Every dead end of the challenge itself is ``CHALLENGE_INVALID`` (log in again)."""
        challenge_token = text(challenge_token, "challenge_token", max_length=100)
        code = _code(code)
        client_address = text(client_address, "client_address", required=False, max_length=128)
        challenge_id = token_hash(challenge_token)
        challenge = self.store.try_challenge(challenge_id, wall_clock())
        account = challenge and self.store.account(challenge["account_id"])
        # its TOTP reset, or switched on by another login, since this challenge was made: log in again
        expected = "totp" if account and account.get("totp") else "totp_enrol"
        if not account or account.get("disabled") or challenge["purpose"] != expected:
            raise _challenge_refused()
        counter = self._take_code_attempt(account)
        if challenge["purpose"] == "totp":
            self._use_code(account, code, Unauthenticated)
        else:
            pending = account.get("totp_pending") or {}
            step = self._matching(account, pending.get("secret_enc"), code, Unauthenticated)
            if not self.store.switch_totp_on(account["_id"], pending["secret_enc"], self.stamp(), step):
                raise _challenge_refused()
        if not self.store.end_challenge(challenge_id):
            raise _challenge_refused()          # a parallel second step with this challenge won
        self.store.clear_login_attempts(counter)
        login_metrics.answered("ok")
        return self.sessions._open_session(self.store.account(account["_id"]), client_address)

    # --- one's own TOTP ----------------------------------------------------------------
    def status(self, caller: CallerScope) -> dict:
        account = self._own(caller)
        return {"totp_enabled": bool(account.get("totp")), "enrolment_pending": bool(account.get("totp_pending")),
                "mandatory": self.mandatory_for(account),
                "tenant_requires_for_admins": bool(self._settings(account).get(POLICY_SETTING)),
                "enabled_at": (account.get("totp") or {}).get("enabled_at", "")}

    def begin_enrolment(self, caller: CallerScope) -> dict:
        """A new secret, pending until ``confirm_enrolment``; shown here once (a second call replaces it)."""
        account = self._own(caller)
        if account.get("totp"):
            raise Conflict("动态验证码已启用；如需更换，请先停用", code="TOTP_ALREADY_ON")
        return self._start(account)

    def confirm_enrolment(self, caller: CallerScope, code) -> dict:
        code = _code(code)
        account = self._own(caller)
        pending = account.get("totp_pending")
        if account.get("totp") or not pending:
            raise Rejected("没有待确认的动态验证码，请先开始绑定", code="TOTP_NOT_PENDING")
        counter = self._take_code_attempt(account)
        step = self._matching(account, pending["secret_enc"], code, PermissionDenied)
        if not self.store.switch_totp_on(account["_id"], pending["secret_enc"], self.stamp(), step):
            raise Rejected("没有待确认的动态验证码，请先开始绑定", code="TOTP_NOT_PENDING")
        self.store.clear_login_attempts(counter)
        return {"totp_enabled": True}

    def disable(self, caller: CallerScope, code) -> dict:
        """Switch one's own TOTP off with a current code (used up like any other); refused while mandatory."""
        code = _code(code)
        account = self._own(caller)
        held = account.get("totp")
        if not held:
            raise Rejected("动态验证码未启用", code="TOTP_NOT_ON")
        if self.mandatory_for(account):
            raise Rejected("本单位要求市、县级管理员必须使用动态验证码", code="TOTP_MANDATORY")
        counter = self._take_code_attempt(account)
        step = self._matching(account, held["secret_enc"], code, PermissionDenied)
        if step <= held.get("last_step", -1) or not self.store.switch_totp_off(
                account["_id"], held["secret_enc"], step, {}, [events.ACCOUNT_TOTP_DISABLED.build(
                    account["tenant_id"], self.stamp(), account_id=account["_id"], disabled_by=account["_id"],
                    reason="")]):
            login_metrics.failed("totp_reused")
            raise PermissionDenied("该动态验证码已使用过，请等待下一个", code="TOTP_REUSED", field="code")
        self.store.clear_login_attempts(counter)
        return {"totp_enabled": False}

    # --- an admin's reset and the tenant's rule --------------------------------------------
    def reset(self, caller: CallerScope, account_id, reason) -> dict:
        """Remove the TOTP of an account in the admin's subtree (a lost phone), the reason recorded on the account
        and in the event. Never one's own: that takes a current code (``disable``)."""
        account_id = text(account_id, "account_id", max_length=64)
        reason = text(reason, "reason", max_length=200)
        account = administered_account(caller, self.store.account(account_id))
        if account["_id"] == caller.account_id:
            raise PermissionDenied("不能重置自己的动态验证码，请用当前验证码停用", code="TOTP_RESET_SELF",
                                   field="account_id")
        if not account.get("totp") and not account.get("totp_pending"):
            raise Rejected("该账号未启用动态验证码", code="TOTP_NOT_ON", field="account_id")
        now = self.stamp()
        self.store.reset_totp(account["_id"], {"totp_reset": {"by": caller.account_id, "reason": reason, "at": now}}, [
            events.ACCOUNT_TOTP_DISABLED.build(account["tenant_id"], now, account_id=account["_id"],
                                               disabled_by=caller.account_id, reason=reason)])
        return {"totp_enabled": False}

    def set_policy(self, caller: CallerScope, required) -> dict:
        """The tenant's rule, set by a city admin (an admin of the tenant's root organisation)."""
        if not isinstance(required, bool):
            raise InvalidArgument(f"{POLICY_SETTING} 必须是布尔值", code="INVALID_TYPE", field=POLICY_SETTING)
        tenant = self.store.tenant(caller.tenant_id)
        if tenant is None or tenant["root_org_id"] not in caller.admin_org_ids:
            raise PermissionDenied("只有市级管理员可以设置本单位的安全策略", code="NOT_CITY_ADMIN")
        now = self.stamp()
        self.store.set_tenant_setting(tenant["_id"], POLICY_SETTING, required, [
            events.TENANT_SETTING_CHANGED.build(tenant["_id"], now, setting=POLICY_SETTING, value=required,
                                                changed_by=caller.account_id)])
        return {POLICY_SETTING: required}

    def mandatory_for(self, account: dict) -> bool:
        """Whether the tenant's rule covers this account: an admin of a city or county organisation."""
        grants = [grant["org_id"] for grant in account.get("roles", [])
                  if grant.get("role") == ROLE_ORG_ADMIN and grant.get("org_id")]
        if not grants or not self._settings(account).get(POLICY_SETTING):
            return False
        return any(org.get("kind") in ADMIN_LEVELS for org in self.store.orgs_by_ids(grants).values())

    # --- helpers ------------------------------------------------------------------
    def _settings(self, account: dict) -> dict:
        tenant = self.store.tenant(account["tenant_id"]) if account.get("tenant_id") else None
        return (tenant or {}).get("settings") or {}

    def _own(self, caller: CallerScope) -> dict:
        account = self.store.account(caller.account_id)
        if account is None:
            raise Unauthenticated("账号不存在", code="ACCOUNT_GONE")
        return account

    def _start(self, account: dict) -> dict:
        secret = totp.new_secret()
        sealed = self.cipher.encrypt(account.get("tenant_id") or "", secret, SECRET_FIELD, account["_id"])
        if not self.store.start_totp(account["_id"], {"secret_enc": sealed, "created_at": self.stamp()}):
            raise Conflict("动态验证码已启用；如需更换，请先停用", code="TOTP_ALREADY_ON")
        tenant = self.store.tenant(account["tenant_id"]) if account.get("tenant_id") else None
        name = f"{account['username']}@{tenant['code']}" if tenant else account["username"]
        return {"totp_secret": secret, "totp_uri": totp.provisioning_uri(secret, name, issuer())}

    def _take_code_attempt(self, account: dict) -> throttle.Counter:
        counter = throttle.totp_counter(account["_id"])
        waiting = self.store.take_login_attempt(counter, self.clock.now().timestamp())
        if waiting:
            login_metrics.throttled("totp")
            raise TooManyRequests("验证码错误次数过多，请稍后再试", code="TOO_MANY_ATTEMPTS",
                                  details=[{"retry_after_seconds": throttle.retry_after(waiting), "limit": "totp"}])
        return counter

    def _matching(self, account: dict, sealed: str | None, code: str, refusal) -> int:
        secret = self.cipher.decrypt(account.get("tenant_id") or "", sealed, SECRET_FIELD, account["_id"]) \
            if sealed else None
        step = totp.matching_step(secret, code, wall_clock()) if secret else None
        if step is None:
            login_metrics.failed("totp_wrong")
            raise refusal("动态验证码错误", code="TOTP_WRONG", field="code")
        return step

    def _use_code(self, account: dict, code: str, refusal) -> int:
        held = account["totp"]
        step = self._matching(account, held["secret_enc"], code, refusal)
        if step <= held.get("last_step", -1) or not self.store.use_totp_step(account["_id"], held["secret_enc"], step):
            login_metrics.failed("totp_reused")
            raise refusal("该动态验证码已使用过，请等待下一个", code="TOTP_REUSED", field="code")
        return step


def _code(value) -> str:
    code = text(value, "code", max_length=16)
    if not totp.is_well_formed(code):
        raise InvalidArgument("动态验证码为6位数字", code="TOTP_CODE_MALFORMED", field="code")
    return code


def _challenge_refused() -> Unauthenticated:
    login_metrics.failed("challenge_invalid")
    return Unauthenticated("登录验证已失效，请重新登录", code="CHALLENGE_INVALID", field="challenge_token")
