"""Logging in on a fake store and a fixed clock: the throttle is asked first, on the clock's time; a refused
attempt looks nothing up, hashes nothing and gives back what it took."""
from __future__ import annotations

import pytest

from servicekit.errors import TooManyRequests, Unauthenticated
from services.identity import passwords
from services.identity.domain import throttle
from services.identity.usecases.sessions import PASSWORD_MARK_CONTEXT, token_hash
from tests.fast.identity.fakes import CITY_ADMIN, NOW, NOW_STAMP, TENANT, FakeCipher

ADDRESS = "203.0.113.7"
NAME_COUNTER, ADDRESS_COUNTER = throttle.counters("city", "city-admin", ADDRESS)
# the password typed, "secret-1", keyed by the (fake) field cipher's blind index
PASSWORD_COUNTER = throttle.counters("city", "city-admin", ADDRESS, FakeCipher().blind_index(
    PASSWORD_MARK_CONTEXT, "secret-1"))[2]
ACCOUNT = {"_id": "acc_admin", "tenant_id": TENANT, "username": "city-admin", "password_hash": "hash",
           "roles": [{"role": "org_admin", "org_id": "org_city"}], "member_id": None}


def log_in(service, password: str = "secret-1"):
    return service.login(tenant_code="city", username="city-admin", password=password, client_address=ADDRESS)


@pytest.fixture
def known_account(store):
    store.tenant_by_code.return_value = {"_id": TENANT, "code": "city"}
    store.account_by_login.return_value = ACCOUNT
    store.take_login_attempt.return_value = 0.0
    store.tenant.return_value = {"_id": TENANT, "code": "city", "settings": {}}     # no second factor required


def test_an_attempt_that_must_wait_is_refused_unhashed_and_gives_back_what_it_counted(service, store, hash_gate):
    store.take_login_attempt.side_effect = [0.0, 3.2]          # the name's counter counts, the address must wait
    with pytest.raises(TooManyRequests) as refused:
        log_in(service)
    assert refused.value.code == "TOO_MANY_ATTEMPTS"
    assert refused.value.details == [{"retry_after_seconds": throttle.retry_after(3.2), "limit": "address"}]
    assert [call.args for call in store.take_login_attempt.call_args_list] == [
        (NAME_COUNTER, NOW.timestamp()), (ADDRESS_COUNTER, NOW.timestamp())]
    store.give_back_login_attempt.assert_called_once_with(NAME_COUNTER)
    store.tenant_by_code.assert_not_called()
    store.account_by_login.assert_not_called()
    hash_gate.verify.assert_not_called()


def test_a_login_clears_its_names_counter_and_uncounts_itself_from_the_address(service, store, hash_gate, signer,
                                                                               known_account):
    hash_gate.verify.return_value = (True, "rehashed")
    answer = log_in(service)
    hash_gate.verify.assert_called_once_with("hash", "secret-1")
    store.account_by_login.assert_called_once_with(f"{TENANT}:city-admin")
    store.clear_login_attempts.assert_called_once_with(NAME_COUNTER)
    assert [call.args for call in store.give_back_login_attempt.call_args_list] == [(ADDRESS_COUNTER,),
                                                                                    (PASSWORD_COUNTER,)]
    store.record_login_success.assert_called_once_with("acc_admin", "rehashed", NOW_STAMP)
    session = store.create_session.call_args.args[0]
    assert signer.issue.call_args.args[0] == {**CITY_ADMIN, "account_id": "acc_admin", "session_id": session["_id"]}
    assert (answer["access_token"], answer["expires_in"], answer["account"]["username"]) == (
        "token", 3600, "city-admin")


def test_a_wrong_password_stays_counted(service, store, hash_gate, known_account):
    hash_gate.verify.return_value = (False, None)
    with pytest.raises(Unauthenticated) as refused:
        log_in(service, "wrong-password")
    assert refused.value.code == "LOGIN_FAILED"
    store.give_back_login_attempt.assert_not_called()
    store.clear_login_attempts.assert_not_called()
    store.record_login_success.assert_not_called()


def test_an_unknown_tenant_is_hashed_and_answered_like_a_wrong_password(service, store, hash_gate):
    store.take_login_attempt.return_value = 0.0
    hash_gate.verify.return_value = (False, None)
    with pytest.raises(Unauthenticated) as refused:
        log_in(service)
    assert refused.value.code == "LOGIN_FAILED"
    store.account_by_login.assert_not_called()
    hash_gate.verify.assert_called_once_with(None, "secret-1")


def test_a_full_hash_gate_answers_busy_and_uncounts_the_attempt(service, store, hash_gate, known_account):
    hash_gate.verify.side_effect = passwords.GateFull
    with pytest.raises(TooManyRequests) as refused:
        log_in(service)
    assert (refused.value.code, refused.value.details) == ("LOGIN_BUSY", [{"retry_after_seconds": 1}])
    assert [call.args for call in store.give_back_login_attempt.call_args_list] == [
        (NAME_COUNTER,), (ADDRESS_COUNTER,), (PASSWORD_COUNTER,)]


def test_login_attempts_are_forgotten_on_the_clocks_time(service, store, clock):
    clock.advance(hours=2)
    service.forget_login_attempts()
    store.forget_login_attempts.assert_called_once_with(NOW.timestamp() + 7200)


def test_get_me_of_a_deleted_account_is_refused(service, store):
    store.account.return_value = None
    with pytest.raises(Unauthenticated) as refused:
        service.get_me(CITY_ADMIN)
    assert refused.value.code == "ACCOUNT_GONE"


def test_a_login_opens_a_session_holding_only_its_refresh_tokens_hash(service, store, hash_gate, signer,
                                                                      known_account):
    hash_gate.verify.return_value = (True, None)
    answer = log_in(service)
    session = store.create_session.call_args.args[0]
    assert answer["session_id"] == session["_id"] and answer["refresh_token"].startswith(session["_id"] + ".")
    assert session["refresh_hash"] == token_hash(answer["refresh_token"])
    assert answer["refresh_token"] not in str(session)
    assert (session["account_id"], session["client_address"], session["revoked_at"]) == ("acc_admin", ADDRESS, None)


def test_a_disabled_account_is_answered_as_a_wrong_password(service, store, hash_gate, known_account):
    store.account_by_login.return_value = {**ACCOUNT, "disabled": True}
    hash_gate.verify.return_value = (True, None)
    with pytest.raises(Unauthenticated) as refused:
        log_in(service)
    assert refused.value.code == "LOGIN_FAILED"
    store.create_session.assert_not_called()
    store.record_login_success.assert_not_called()


def test_each_attempt_is_charged_to_its_password_too_and_refused_naming_that_counter(service, store, hash_gate):
    store.take_login_attempt.side_effect = [0.0, 0.0, 41.5]      # the password's counter makes it wait
    with pytest.raises(TooManyRequests) as refused:
        log_in(service)
    assert refused.value.details == [{"retry_after_seconds": 42, "limit": "password"}]
    assert [call.args[0] for call in store.take_login_attempt.call_args_list] == [
        NAME_COUNTER, ADDRESS_COUNTER, PASSWORD_COUNTER]
    assert "secret-1" not in PASSWORD_COUNTER.id
    hash_gate.verify.assert_not_called()


def test_an_account_with_totp_on_gets_a_challenge_not_a_session(service, store, hash_gate, signer, known_account):
    store.account_by_login.return_value = {**ACCOUNT, "totp": {"secret_enc": "sealed", "last_step": 1}}
    hash_gate.verify.return_value = (True, None)
    answer = log_in(service)
    assert answer["next_step"] == "TOTP_REQUIRED" and answer["challenge_expires_in"] == 300
    assert "access_token" not in answer
    challenge = store.create_challenge.call_args.args[0]
    assert challenge["_id"] == token_hash(answer["challenge_token"]) and challenge["purpose"] == "totp"
    assert answer["challenge_token"] not in str(challenge)
    store.create_session.assert_not_called()
    signer.issue.assert_not_called()
