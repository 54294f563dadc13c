"""Revoked sessions and cut-off accounts: the gateway's list refuses their tokens, cached or not, keeps each id until
the tokens it covers have expired, and is kept current by the poller."""
from __future__ import annotations

import time

import jwt
import pytest

from gateway.revocations import RevocationPoller
from servicekit.errors import Unauthenticated
from servicekit.security.revocations import RevocationList
from servicekit.security.tokens import CachingTokenVerifier, TokenSigner, TokenVerifier

SCOPE = {"account_id": "acc-1", "tenant_id": "t-1", "roles": [{"role": "member", "org_id": "org-b"}],
         "member_id": "mem-1", "branch_id": "org-b"}


def issued_at(token: str) -> int:
    return jwt.decode(token, options={"verify_signature": False})["iat"]


@pytest.mark.parametrize("verifier_class", [CachingTokenVerifier, TokenVerifier])
def test_a_token_of_a_revoked_session_is_refused_even_when_cached(platform_env, verifier_class):
    revocations = RevocationList()
    verifier = verifier_class(revocations=revocations)
    token, other = (TokenSigner().issue({**SCOPE, "session_id": sid}) for sid in ("ses_1", "ses_2"))
    assert verifier.verify(token)["session_id"] == "ses_1"
    assert verifier.verify(token)["session_id"] == "ses_1"          # from the cache for the caching one
    revocations.apply({"sessions": [{"id": "ses_1", "until": issued_at(token) + 3600}], "accounts": []})
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(token)
    assert refused.value.code == "TOKEN_REVOKED"
    assert verifier.verify(other)["session_id"] == "ses_2"


def test_an_account_cut_off_refuses_tokens_issued_before_and_takes_those_issued_after(platform_env):
    revocations = RevocationList()
    verifier = CachingTokenVerifier(revocations=revocations)
    token = TokenSigner().issue(SCOPE)                               # no session: only the account names it
    cut_at = issued_at(token) + 1
    revocations.apply({"sessions": [], "accounts": [{"id": "acc-1", "cut_at": cut_at, "until": cut_at + 3600}]})
    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(token)
    assert refused.value.code == "TOKEN_REVOKED"
    revocations.check(None, "acc-1", cut_at)                         # a token of a new login: good
    revocations.check(None, "acc-2", cut_at - 5)


def test_an_id_is_kept_until_its_tokens_expire_then_forgotten():
    now = [1000.0]
    revocations = RevocationList(clock=lambda: now[0])
    revocations.apply({"sessions": [{"id": "ses_1", "until": 1100.0}, {"id": "ses_old", "until": 999.0}],
                       "accounts": [{"id": "acc-1", "cut_at": 1000, "until": 1050.0}]})
    assert len(revocations) == 2                                     # the expired one never kept
    with pytest.raises(Unauthenticated):
        revocations.check("ses_1", "acc-x", 900)
    now[0] = 1060.0
    revocations.apply({})
    assert len(revocations) == 1
    revocations.check(None, "acc-1", 900)                            # its tokens have expired anyway
    now[0] = 1100.0
    revocations.apply({"sessions": [{"id": "ses_1", "until": 1100.0}]})   # a repeat past its time: not kept
    assert len(revocations) == 0


class FakeBackend:
    def __init__(self, answers):
        self.answers, self.calls = list(answers), []

    def call(self, service, method, **kwargs):
        self.calls.append((service, method, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_the_poller_moves_its_cursor_on_and_keeps_it_when_identity_fails():
    revocations = RevocationList(clock=lambda: 1000.0)
    backend = FakeBackend([{"sessions": [{"id": "ses_1", "until": 2000.0}], "accounts": [], "cursor": "c1"},
                           OSError("broker away"),
                           {"sessions": [], "accounts": [], "cursor": "c2"}])
    poller = RevocationPoller(backend, revocations, interval=0.01)
    poller.poll()
    with pytest.raises(OSError):
        poller.poll()
    poller.poll()
    assert [call[2]["cursor"] for call in backend.calls] == ["", "c1", "c1"]
    assert poller.cursor == "c2" and len(revocations) == 1
    assert backend.calls[0][:2] == ("identity", "revocations_since")


def test_the_poller_thread_survives_a_failure_and_stops(platform_env):
    revocations = RevocationList()
    backend = FakeBackend([OSError("away")] + [{"sessions": [], "accounts": [], "cursor": "c"}] * 1000)
    poller = RevocationPoller(backend, revocations, interval=0.01).start()
    deadline = time.monotonic() + 5
    while poller.cursor != "c" and time.monotonic() < deadline:
        time.sleep(0.01)
    poller.stop()
    assert poller.cursor == "c" and poller.failures == 0
