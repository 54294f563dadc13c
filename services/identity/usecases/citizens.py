"""Citizens (群众) open their own accounts: public, throttled per client address, the hashing bounded like a
login's. A citizen then logs in with its phone as the username (``Sessions.login``)."""
from __future__ import annotations

from servicekit.errors import Conflict, NotFound, TooManyRequests

from services.identity import documents, events, passwords
from services.identity.arguments import text
from services.identity.domain import citizens, throttle
from services.identity.usecases.common import UseCases


class Citizens(UseCases):
    def __init__(self, store, clock, hash_gate: passwords.HashGate):
        super().__init__(store, clock)
        self.hash_gate = hash_gate

    def register(self, tenant_code, phone, password, name, client_address) -> dict:
        """``client_address``: the caller's address as the gateway found it ("" from inside the platform)."""
        tenant_code = text(tenant_code, "tenant_code", max_length=32)
        checked = citizens.registration(phone, name)
        passwords.check_strength(password)
        client_address = text(client_address, "client_address", required=False, max_length=128)
        # counted before anything is looked up: probing which phones are registered costs the same as registering
        counters = self._take_attempt(client_address)
        tenant = self.store.tenant_by_code(tenant_code)
        if tenant is None:
            raise NotFound("单位代码不存在", code="TENANT_NOT_FOUND", field="tenant_code")
        login_key = f"{tenant['_id']}:{checked.phone}"
        if self.store.account_by_login(login_key) is not None:
            raise Conflict("该手机号已注册，请直接登录", code="PHONE_TAKEN", field="phone")
        try:
            password_hash = self.hash_gate.hash(password)
        except passwords.GateFull:
            for counter in counters:
                self.store.give_back_login_attempt(counter)
            raise TooManyRequests("注册请求过多，请稍后再试", code="REGISTER_BUSY",
                                  details=[{"retry_after_seconds": 1}]) from None
        now = self.stamp()
        account = documents.citizen_account(tenant["_id"], checked.phone, checked.name, password_hash, now)
        self.store.register_citizen(account, [events.ACCOUNT_CREATED.build(
            tenant["_id"], now, account_id=account["_id"], username=checked.phone, roles=account["roles"],
            member_id=None)])
        return {"account_id": account["_id"], "phone_masked": citizens.mask_phone(checked.phone),
                "name": checked.name}

    def _take_attempt(self, client_address: str) -> list:
        now, taken = self.clock.now().timestamp(), []
        for counter in throttle.registration_counters(client_address):
            waiting = self.store.take_login_attempt(counter, now)
            if waiting:
                for earlier in taken:
                    self.store.give_back_login_attempt(earlier)
                raise TooManyRequests("注册过于频繁，请稍后再试", code="TOO_MANY_ATTEMPTS",
                                      details=[{"retry_after_seconds": throttle.retry_after(waiting)}])
            taken.append(counter)
        return taken
