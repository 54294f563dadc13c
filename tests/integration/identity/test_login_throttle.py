"""Login throttling on the real identity service: a stranger's guesses slow down the stranger's address only,
every name is answered alike, and parallel guesses are each counted."""
from __future__ import annotations

import sys
import uuid
from collections import Counter

import pytest

from servicekit.errors import TooManyRequests, Unauthenticated
from services.identity.domain import throttle
from tests.support.identity import PASSWORD

pytestmark = pytest.mark.integration
WRONG = "wrong-password-1"
LOGIN_FAILED = ("LOGIN_FAILED", "用户名或密码错误")


@pytest.fixture(autouse=True)
def fresh_wrong_password(monkeypatch):
    """Each test guesses a wrong password of its own: the password counter (``throttle.PASSWORD``) counts one
    password's failures across tests, tenants and addresses, as it counts an attacker's."""
    monkeypatch.setattr(sys.modules[__name__], "WRONG", f"wrong-{uuid.uuid4().hex[:12]}")


def answer_of(call) -> tuple:
    """(code, message, detail keys) of a login's answer; ("OK", "", ()) for a token."""
    try:
        assert call()["access_token"]
        return "OK", "", ()
    except (Unauthenticated, TooManyRequests) as error:
        return error.code, error.message, tuple(sorted(key for detail in error.details for key in detail))


def attempt(rpc, tenant_code: str, username: str, password: str, address: str) -> tuple:
    return answer_of(lambda: rpc.identity.login(tenant_code=tenant_code, username=username, password=password,
                                                client_address=address))


def counted(store, counter: throttle.Counter) -> int:
    held = store.db.login_attempts.find_one({"_id": counter.id})
    return held["counted"] if held else 0


def test_a_hundred_wrong_guesses_from_one_address_do_not_keep_the_admin_out_from_another(rpc, city):
    guesses = Counter(attempt(rpc, city.code, "city-admin", WRONG, "203.0.113.7")[0] for _ in range(100))
    assert set(guesses) == {"LOGIN_FAILED", "TOO_MANY_ATTEMPTS"}
    # 5 free, then waits of 1, 2, 4... s: far fewer than 100 guesses were even checked
    assert 5 <= guesses["LOGIN_FAILED"] < 15
    assert attempt(rpc, city.code, "city-admin", PASSWORD, "198.51.100.9")[0] == "OK"


def test_an_unknown_name_or_tenant_is_answered_and_throttled_exactly_like_a_real_account(rpc, city):
    seen = {}
    for address, (tenant_code, username) in enumerate([(city.code, "county1"), (city.code, "nobody"),
                                                       ("no-such-city", "county1")], start=1):
        answers = [attempt(rpc, tenant_code, username, WRONG, f"192.0.2.{address}") for _ in range(9)]
        assert [answer[:2] for answer in answers[:5]] == [LOGIN_FAILED] * 5
        seen[(tenant_code, username)] = set(answers)
    real, *others = seen.values()
    assert {code for code, _, _ in real} == {"LOGIN_FAILED", "TOO_MANY_ATTEMPTS"}
    assert all(other == real for other in others)       # same codes, messages and detail keys


def test_spraying_many_names_from_one_address_is_slowed_down(rpc, city):
    names = ["city-admin", "county1", "county2"] + [f"guess{index}" for index in range(27)]
    answers = [attempt(rpc, city.code, name, WRONG, "203.0.113.66")[0] for name in names]
    assert answers[:throttle.ADDRESS.free] == ["LOGIN_FAILED"] * throttle.ADDRESS.free
    assert "TOO_MANY_ATTEMPTS" in answers[throttle.ADDRESS.free:]
    assert attempt(rpc, city.code, "county1", PASSWORD, "203.0.113.67")[0] == "OK"


def test_parallel_wrong_guesses_are_each_counted(rpc, city, identity_store):
    address = "198.51.100.77"
    replies = [rpc.identity.login.call_async(tenant_code=city.code, username="county1", password=WRONG,
                                             client_address=address) for _ in range(30)]
    answers = Counter(answer_of(reply.result)[0] for reply in replies)
    assert set(answers) <= {"LOGIN_FAILED", "TOO_MANY_ATTEMPTS", "LOGIN_BUSY"}
    assert 5 <= answers["LOGIN_FAILED"] < 15
    name_counter, address_counter = throttle.counters(city.code, "county1", address)
    assert counted(identity_store, name_counter) == answers["LOGIN_FAILED"]
    assert counted(identity_store, address_counter) == answers["LOGIN_FAILED"]


def test_a_right_password_clears_the_names_count_from_that_address(rpc, city):
    for _ in range(4):
        assert attempt(rpc, city.code, "county2", WRONG, "203.0.113.88")[:2] == LOGIN_FAILED
    assert attempt(rpc, city.code, "county2", PASSWORD, "203.0.113.88")[0] == "OK"
    assert [attempt(rpc, city.code, "county2", WRONG, "203.0.113.88")[:2] for _ in range(5)] == [LOGIN_FAILED] * 5


def test_one_password_sprayed_from_many_addresses_over_tenants_is_slowed_down_for_that_password_only(
        rpc, city, operator_scope):
    """Each guess from an address of its own and a name of its own, over two tenants: no address or name counter
    ever fills, the password's does."""
    other = type(city)(rpc, operator_scope)
    answers = [attempt(rpc, (city.code, other.code)[index % 2], f"user{index}", WRONG, f"10.9.{index // 250}.{index % 250}")
               for index in range(throttle.PASSWORD.free + 5)]
    assert [code for code, _, _ in answers[:throttle.PASSWORD.free]] == ["LOGIN_FAILED"] * throttle.PASSWORD.free
    assert {code for code, _, _ in answers[throttle.PASSWORD.free:]} == {"TOO_MANY_ATTEMPTS"}
    with pytest.raises(TooManyRequests) as refused:
        rpc.identity.login(tenant_code=city.code, username="county1", password=WRONG, client_address="10.8.0.1")
    assert refused.value.details[0]["limit"] == "password" and refused.value.details[0]["retry_after_seconds"] >= 1
    # every other password goes on being checked at once, the admin's right one among them
    assert attempt(rpc, city.code, "county1", PASSWORD, "10.8.0.2")[0] == "OK"
    assert attempt(rpc, other.code, "county2", f"{WRONG}-other", "10.8.0.3")[0] == "LOGIN_FAILED"
