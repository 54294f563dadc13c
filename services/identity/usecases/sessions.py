"""Logging in (throttled, hashing bounded) and who the caller is."""
from __future__ import annotations

from servicekit.errors import TooManyRequests, Unauthenticated
from servicekit.security.scope import CallerScope

from services.identity import passwords
from services.identity.arguments import text
from services.identity.domain import throttle
from services.identity.usecases.common import UseCases
from services.identity.views import account_view, member_view


class Sessions(UseCases):
    def __init__(self, store, clock, hash_gate: passwords.HashGate, signer):
        super().__init__(store, clock)
        self.hash_gate = hash_gate
        self.signer = signer

    def login(self, tenant_code, username, password, client_address) -> dict:
        """``client_address``: the caller's address as the gateway found it ("" from inside the platform)."""
        tenant_code, username = text(tenant_code, "tenant_code", required=False), text(username, "username")
        password = text(password, "password", max_length=128, strip=False)
        client_address = text(client_address, "client_address", required=False, max_length=128)
        # throttled before anything is looked up or hashed, by the names as typed: the same for every name
        counters = self._take_attempt(tenant_code, username, client_address)
        tenant = self.store.tenant_by_code(tenant_code) if tenant_code else None
        account = None
        if tenant is not None or not tenant_code:
            account = self.store.account_by_login(f"{tenant['_id'] if tenant else ''}:{username}")
        try:
            # an unknown name is hashed against a dummy hash too, so the time taken tells nothing
            matches, new_hash = self.hash_gate.verify(account and account.get("password_hash"), password)
        except passwords.GateFull:
            self._give_back(counters)
            raise TooManyRequests("登录请求过多，请稍后再试", code="LOGIN_BUSY",
                                  details=[{"retry_after_seconds": 1}]) from None
        if not account or not matches:
            raise Unauthenticated("用户名或密码错误", code="LOGIN_FAILED")
        self.store.clear_login_attempts(counters[0])
        self._give_back(counters[1:])
        self.store.record_login_success(account["_id"], new_hash, self.stamp())
        scope = self._scope_of(account)
        return {"access_token": self.signer.issue(scope), "token_type": "Bearer",
                "expires_in": self.signer.lifetime, "account": account_view(account)}

    def _take_attempt(self, tenant_code: str, username: str, client_address: str) -> list:
        """Count the attempt on each of its counters, or refuse it (``TOO_MANY_ATTEMPTS``) uncounted."""
        now, taken = self.clock.now().timestamp(), []
        for counter in throttle.counters(tenant_code, username, client_address):
            waiting = self.store.take_login_attempt(counter, now)
            if waiting:
                self._give_back(taken)
                raise TooManyRequests("登录尝试过于频繁，请稍后再试", code="TOO_MANY_ATTEMPTS",
                                      details=[{"retry_after_seconds": throttle.retry_after(waiting)}])
            taken.append(counter)
        return taken

    def _give_back(self, counters: list) -> None:
        for counter in counters:
            self.store.give_back_login_attempt(counter)

    def forget_attempts(self) -> None:
        self.store.forget_login_attempts(self.clock.now().timestamp())

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
