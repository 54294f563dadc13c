"""Logging in (throttled, hashing bounded), who the caller is, and the login sessions: refreshing, logging out,
revoking, listing, changing one's password, and the revocations the gateways poll.

A login opens a session (its id is the ``sid`` of every access token issued for it) holding the hash of its one
current refresh token. ``refresh`` swaps that token for a new pair; a retired refresh token presented again means
two holders of one token, so the session is revoked (theft detection). A revoked session or a cut-off account is
recorded in ``revocations`` for the gateways, until every access token it covers has expired.
"""
from __future__ import annotations

import hashlib
import secrets
import time

from servicekit.errors import InvalidArgument, NotFound, PermissionDenied, TooManyRequests, Unauthenticated
from servicekit.process.config import env
from servicekit.security.scope import CallerScope
from servicekit.security.tokens import DEFAULT_LIFETIME_SECONDS
from servicekit.timestamps import stamp

from services.identity import access, events, login_metrics, passwords
from services.identity.arguments import text
from services.identity.domain import throttle
from services.identity.usecases.common import UseCases
from services.identity.views import account_view, member_view, session_view

CURSOR_OVERLAP_SECONDS = 30.0   # a revocation committed this long after it was stamped is still found by the next poll


def token_lifetime() -> int:
    """Seconds an access token lives, as ``TokenSigner`` reads it: how long a revocation must be kept."""
    return int(env("TOKEN_LIFETIME_SECONDS", str(DEFAULT_LIFETIME_SECONDS)))


def refresh_lifetime() -> int:
    """Seconds a session lives without a refresh (each refresh starts them again)."""
    return int(env("REFRESH_LIFETIME_SECONDS", str(7 * 86400)))


def wall_clock() -> float:
    """Real time, as tokens carry it (``iat``, ``exp``) and the gateways compare it: not the service's clock."""
    return time.time()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


PASSWORD_MARK_CONTEXT = "login-guess"      # the blind index's "tenant" for the password counter's keyed digest


class Sessions(UseCases):
    def __init__(self, store, clock, hash_gate: passwords.HashGate, signer, cipher=None):
        """``cipher``: the field cipher, whose index key marks passwords for their counter and which seals TOTP
        secrets; without one (a test of the first step alone) no password counter and no second factor."""
        super().__init__(store, clock)
        self.hash_gate = hash_gate
        self.signer = signer
        self.cipher = cipher

    def login(self, tenant_code, username, password, client_address) -> dict:
        """``client_address``: the caller's address as the gateway found it ("" from inside the platform)."""
        tenant_code, username = text(tenant_code, "tenant_code", required=False), text(username, "username")
        password = text(password, "password", max_length=128, strip=False)
        client_address = text(client_address, "client_address", required=False, max_length=128)
        # throttled before anything is looked up or hashed, by the names as typed: the same for every name
        mark = self.cipher.blind_index(PASSWORD_MARK_CONTEXT, password) if self.cipher is not None else ""
        counters = self._take_attempt(tenant_code, username, client_address, mark)
        tenant = self.store.tenant_by_code(tenant_code) if tenant_code else None
        account = None
        if tenant is not None or not tenant_code:
            account = self.store.account_by_login(f"{tenant['_id'] if tenant else ''}:{username}")
        try:
            # an unknown name is hashed against a dummy hash too, so the time taken tells nothing
            matches, new_hash = self.hash_gate.verify(account and account.get("password_hash"), password)
        except passwords.GateFull:
            self._give_back(counters)
            login_metrics.failed("busy", "throttled")
            raise TooManyRequests("登录请求过多，请稍后再试", code="LOGIN_BUSY",
                                  details=[{"retry_after_seconds": 1}]) from None
        if not account or not matches or account.get("disabled"):
            # a disabled account is answered as a wrong password: the answer never confirms a password
            login_metrics.failed("wrong_credentials")
            raise Unauthenticated("用户名或密码错误", code="LOGIN_FAILED")
        self.store.clear_login_attempts(counters[0])
        self._give_back(counters[1:])
        self.store.record_login_success(account["_id"], new_hash, self.stamp())
        if self.cipher is not None:
            from services.identity.usecases.second_factor import SecondFactor   # it builds on this module
            second = SecondFactor(self.store, self.clock, self.cipher, self)
            step = second.step_after_password(account)
            if step:
                return second.challenge(account, step, client_address)
        login_metrics.answered("ok")
        return self._open_session(account, client_address)

    def _open_session(self, account: dict, client_address: str) -> dict:
        now = wall_clock()
        session_id = f"ses_{secrets.token_hex(16)}"
        refresh_token = f"{session_id}.{secrets.token_urlsafe(32)}"
        self.store.create_session({
            "_id": session_id, "tenant_id": account.get("tenant_id"), "account_id": account["_id"],
            "created_at": self.stamp(), "refreshed_at": None, "expires_at": now + refresh_lifetime(),
            "refresh_hash": token_hash(refresh_token), "retired_hashes": [], "client_address": client_address,
            "revoked_at": None})
        return self._tokens(account, session_id, refresh_token)

    def _tokens(self, account: dict, session_id: str, refresh_token: str) -> dict:
        scope = {**self._scope_of(account), "session_id": session_id}
        return {"access_token": self.signer.issue(scope), "token_type": "Bearer",
                "expires_in": self.signer.lifetime, "account": account_view(account),
                "refresh_token": refresh_token, "refresh_expires_in": refresh_lifetime(), "session_id": session_id}

    def refresh(self, refresh_token, client_address) -> dict:
        """A new access token and refresh token for the session of ``refresh_token``, which is retired. Every
        refusal is ``REFRESH_INVALID`` (log in again); a retired token presented again revokes the session."""
        refresh_token = text(refresh_token, "refresh_token", max_length=200)
        text(client_address, "client_address", required=False, max_length=128)
        session = self.store.session(refresh_token.partition(".")[0])
        now, presented = wall_clock(), token_hash(refresh_token)
        if session is None or session.get("revoked_at") or session["expires_at"] <= now:
            raise _refresh_refused()
        if presented != session["refresh_hash"]:
            if presented in session.get("retired_hashes", []):
                self._revoke([session["_id"]], session["account_id"], "refresh_reused")
            raise _refresh_refused()
        account = self.store.account(session["account_id"])
        if account is None or account.get("disabled"):
            self._revoke([session["_id"]], session["account_id"], "account_cut_off")
            raise _refresh_refused()
        new_token = f"{session['_id']}.{secrets.token_urlsafe(32)}"
        if not self.store.rotate_refresh(session, token_hash(new_token), {
                "refreshed_at": self.stamp(), "expires_at": now + refresh_lifetime()}):
            # another refresh with this same token won: two holders, as with a retired one
            self._revoke([session["_id"]], session["account_id"], "refresh_reused")
            raise _refresh_refused()
        return self._tokens(account, session["_id"], new_token)

    def logout(self, caller: CallerScope) -> dict:
        """End the caller's own session; its tokens are refused by the gateways within seconds."""
        if not caller.session_id:
            return {"revoked_sessions": 0}
        return {"revoked_sessions": self._revoke([caller.session_id], caller.account_id, "logout")}

    def revoke_session(self, caller: CallerScope, session_id) -> dict:
        """Revoke one session: one's own, or, for an admin, one of an account in its subtree."""
        session_id = text(session_id, "session_id", max_length=64)
        session = self.store.session(session_id)
        if session is None or (session["account_id"] != caller.account_id
                               and not self._administered(caller, self.store.account(session["account_id"]))):
            raise NotFound("会话不存在", code="SESSION_NOT_FOUND", field="session_id")
        return {"revoked_sessions": self._revoke([session_id], session["account_id"], "revoked")}

    def list_sessions(self, caller: CallerScope, account_id) -> dict:
        """The live sessions of the caller's account ("" or its own id), or, for an admin, of an account in its
        subtree."""
        account_id = text(account_id, "account_id", required=False, max_length=64) or caller.account_id
        if account_id != caller.account_id:
            administered_account(caller, self.store.account(account_id))
        return {"sessions": [session_view(session, caller.session_id)
                             for session in self.store.live_sessions(account_id, wall_clock())]}

    def change_password(self, caller: CallerScope, old_password, new_password) -> dict:
        """The caller's own password, the old one required; every other session of the account is revoked."""
        old_password = text(old_password, "old_password", max_length=128, strip=False)
        new_password = text(new_password, "new_password", max_length=128, strip=False)
        try:
            passwords.check_strength(new_password)
        except InvalidArgument as error:
            raise InvalidArgument(error.message, code=error.code, field="new_password") from None
        account = self.store.account(caller.account_id)
        if account is None:
            raise Unauthenticated("账号不存在", code="ACCOUNT_GONE")
        try:
            matches, _ = self.hash_gate.verify(account.get("password_hash"), old_password)
        except passwords.GateFull:
            raise TooManyRequests("请求过多，请稍后再试", code="LOGIN_BUSY",
                                  details=[{"retry_after_seconds": 1}]) from None
        if not matches:
            raise PermissionDenied("原密码不正确", code="OLD_PASSWORD_WRONG", field="old_password")
        now = self.stamp()
        revoke = self._revocation(account["_id"], "password_changed", all_of_account=True,
                                  keep_session_id=caller.session_id)
        revoked = self.store.change_password(account["_id"], passwords.hash_password(new_password), now, [
            events.ACCOUNT_PASSWORD_CHANGED.build(account.get("tenant_id"), now, account_id=account["_id"],
                                                  changed_by=caller.account_id)], revoke=revoke)
        return {"revoked_sessions": revoked}

    def revocations_since(self, cursor) -> dict:
        """For the gateways: the sessions revoked and the accounts cut off since ``cursor`` ("" = all still in
        force), each with when its last token expires, and the cursor for the next call."""
        cursor = text(cursor, "cursor", required=False, max_length=32)
        now = wall_clock()
        try:
            since = float(cursor) - CURSOR_OVERLAP_SECONDS if cursor else None
        except ValueError:
            since = None
        sessions, accounts = [], []
        for entry in self.store.revocations_since(since, now):
            if entry["kind"] == "session":
                sessions.append({"id": entry["target"], "until": entry["until"]})
            else:
                accounts.append({"id": entry["target"], "cut_at": entry["cut_at"], "until": entry["until"]})
        return {"sessions": sessions, "accounts": accounts, "cursor": repr(now)}

    def _administered(self, caller: CallerScope, account: dict | None) -> bool:
        try:
            administered_account(caller, account)
        except (NotFound, PermissionDenied):
            return False
        return True

    def _revocation(self, account_id: str, reason: str, **more) -> dict:
        return revocation(account_id, reason, self.signer.lifetime, **more)

    def _revoke(self, session_ids: list[str], account_id: str, reason: str) -> int:
        return self.store.revoke(session_ids=session_ids, **self._revocation(account_id, reason))

    def _take_attempt(self, tenant_code: str, username: str, client_address: str, password_mark: str = "") -> list:
        """Count the attempt on each of its counters, or refuse it (``TOO_MANY_ATTEMPTS``, naming the counter's
        rule as ``limit``) uncounted."""
        now, taken = self.clock.now().timestamp(), []
        for counter in throttle.counters(tenant_code, username, client_address, password_mark):
            waiting = self.store.take_login_attempt(counter, now)
            if waiting:
                self._give_back(taken)
                login_metrics.throttled(counter.rule.name)
                raise TooManyRequests("登录尝试过于频繁，请稍后再试", code="TOO_MANY_ATTEMPTS",
                                      details=[{"retry_after_seconds": throttle.retry_after(waiting),
                                                "limit": counter.rule.name}])
            taken.append(counter)
        return taken

    def _give_back(self, counters: list) -> None:
        for counter in counters:
            self.store.give_back_login_attempt(counter)

    def forget_attempts(self) -> None:
        self.store.forget_login_attempts(self.clock.now().timestamp())

    def forget_sessions(self) -> None:
        self.store.forget_sessions(wall_clock())

    def _scope_of(self, account: dict) -> dict:
        member = self.store.member(account["member_id"]) if account.get("member_id") else None
        return CallerScope.from_dict({
            "account_id": account["_id"], "tenant_id": account.get("tenant_id"), "roles": account.get("roles", []),
            "member_id": account.get("member_id"), "branch_id": member and member["branch_id"]}).to_dict()

    def me(self, caller: CallerScope) -> dict:
        account = self.store.account(caller.account_id)
        if account is None:
            raise Unauthenticated("账号不存在", code="ACCOUNT_GONE")
        member = self.store.member(account["member_id"]) if account.get("member_id") else None
        org_ids = [grant["org_id"] for grant in account.get("roles", []) if grant.get("org_id")]
        if member:
            org_ids.append(member["branch_id"])
        orgs = self.store.orgs_by_ids(org_ids)
        return {"account": account_view(account), "member": member_view(member) if member else None,
                "orgs": [self.org_view(orgs[org_id]) for org_id in dict.fromkeys(org_ids) if org_id in orgs]}


def _refresh_refused() -> Unauthenticated:
    return Unauthenticated("登录已失效，请重新登录", code="REFRESH_INVALID", field="refresh_token")


def administered_account(caller: CallerScope, account: dict | None) -> dict:
    """An account an organisation admin may act on: placed in one of its subtrees (its grant's organisation),
    of its tenant. Anything else is not found, as a missing id; one the caller may list but not change (a
    secretary's branch) is forbidden."""
    if account is None or not account.get("tenant_id") or not access.manages(caller, account):
        raise NotFound("账号不存在或不在您的管辖范围内", code="ACCOUNT_NOT_FOUND", field="account_id")
    if not access.administers(caller, account):
        raise PermissionDenied("只有上级组织管理员可以管理账号", code="NOT_ORG_ADMIN", field="account_id")
    return account


def revocation(account_id: str, reason: str, token_lifetime: int, **more) -> dict:
    """The arguments of ``IdentityStore.revocation_writes``: now, and until every token issued now has expired."""
    at = wall_clock()
    return {"account_id": account_id, "reason": reason, "now": stamp(), "at": at, "until": at + token_lifetime + 1,
            **more}
