"""The gateway's caching token verifier: a verified token is remembered until it expires, never longer."""
from __future__ import annotations

import jwt
import pytest

from servicekit.errors import Unauthenticated
from servicekit.security.tokens import CachingTokenVerifier, TokenSigner

SCOPE = {"account_id": "acc-1", "tenant_id": "t-1", "roles": [{"role": "member", "org_id": None}],
         "member_id": "mem-1", "branch_id": "org-b"}


def test_a_verified_token_is_answered_from_the_cache_with_the_same_scope(platform_env):
    signer, verifier = TokenSigner(), CachingTokenVerifier()
    token = signer.issue(SCOPE)
    first = verifier.verify(token)
    first["member_id"] = "changed by the caller"
    assert verifier.verify(token)["member_id"] == "mem-1"     # callers get copies
    assert len(verifier._cache) == 1


def test_a_forged_token_is_never_cached_nor_accepted(platform_env):
    verifier = CachingTokenVerifier()
    token = TokenSigner().issue(SCOPE)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            verifier.verify(forged)
    assert verifier._cache == {}


def test_an_expired_token_is_refused_even_when_cached(platform_env):
    token = TokenSigner(lifetime_seconds=60).issue(SCOPE)
    now = [jwt.decode(token, options={"verify_signature": False})["iat"]]
    verifier = CachingTokenVerifier(clock=lambda: now[0])
    verifier.verify(token)
    now[0] += 59
    assert verifier.verify(token)["member_id"] == "mem-1"       # from the cache, still valid
    now[0] += 2
    with pytest.raises(Unauthenticated) as expired:
        verifier.verify(token)
    assert expired.value.code == "TOKEN_EXPIRED"


def test_the_cache_is_bounded(platform_env):
    signer, verifier = TokenSigner(), CachingTokenVerifier(capacity=3)
    for number in range(5):
        verifier.verify(signer.issue({**SCOPE, "account_id": f"acc-{number}"}))
    assert len(verifier._cache) == 3


def test_a_caller_changing_its_roles_does_not_change_the_cached_scope(platform_env):
    signer, verifier = TokenSigner(), CachingTokenVerifier()
    token = signer.issue(SCOPE)
    verifier.verify(token)["roles"][0]["role"] = "city_admin"
    verifier.verify(token)["roles"].append({"role": "secretary", "org_id": "org-x"})
    assert verifier.verify(token)["roles"] == SCOPE["roles"]


def test_equal_roles_are_kept_once_and_the_token_itself_is_not_kept(platform_env):
    signer, verifier = TokenSigner(), CachingTokenVerifier()
    tokens = [signer.issue({**SCOPE, "account_id": f"acc-{n}", "member_id": f"mem-{n}"}) for n in range(3)]
    scopes = [verifier.verify(token) for token in tokens]
    assert [scope["member_id"] for scope in scopes] == ["mem-0", "mem-1", "mem-2"]
    assert len(verifier._role_sets) == 1
    assert not any(isinstance(key, str) for key in verifier._cache)


def test_by_default_the_cache_holds_a_whole_city_and_the_size_is_configurable(platform_env, monkeypatch):
    assert CachingTokenVerifier().capacity >= 208_000
    monkeypatch.setenv("GATEWAY_TOKEN_CACHE", "5000")
    assert CachingTokenVerifier().capacity == 5000


def test_cached_entries_are_untracked_the_first_time_the_collector_looks_at_them(platform_env):
    """An entry is one flat tuple of plain values (its roles by number), which the collector stops tracking at its
    first look, a young collection: a city's 208,000 entries are never walked by a full collection. Entries with
    their values and roles nested in tuples of their own stayed tracked until several full collections had looked
    (348,000 tuples in a city's sign-out, a 290 ms pause)."""
    import gc
    signer, verifier = TokenSigner(), CachingTokenVerifier()
    roles = [{"role": "secretary", "org_id": "org-b"}, {"role": "member", "org_id": None}]
    tokens = [signer.issue({**SCOPE, "account_id": f"acc-{n}", "roles": roles if n % 2 else SCOPE["roles"]})
              for n in range(50)]
    for token in tokens:
        verifier.verify(token)
    gc.collect(0)
    assert len(verifier._cache) == 50 and not any(gc.is_tracked(entry) for entry in verifier._cache.values())
    assert len(verifier._role_sets) == 2
    for n, token in enumerate(tokens):
        assert verifier.verify(token)["roles"] == (roles if n % 2 else SCOPE["roles"])


def test_past_the_shared_role_sets_an_entry_keeps_its_roles_itself(platform_env, monkeypatch):
    monkeypatch.setattr("servicekit.security.tokens.ROLE_SETS_SHARED", 1)
    signer, verifier = TokenSigner(), CachingTokenVerifier()
    first = signer.issue(SCOPE)
    other_roles = [{"role": "secretary", "org_id": "org-c"}]
    second = signer.issue({**SCOPE, "account_id": "acc-2", "roles": other_roles})
    for _ in range(2):
        assert verifier.verify(first)["roles"] == SCOPE["roles"]
        assert verifier.verify(second)["roles"] == other_roles
    assert len(verifier._role_sets) == 1 and len(verifier._cache) == 2


def test_roles_that_are_not_grants_of_plain_values_are_answered_as_they_came(platform_env):
    signer, verifier = TokenSigner(), CachingTokenVerifier()
    odd = ["member", {"role": "member", "org_id": ["nested"]}]
    token = signer.issue({**SCOPE, "roles": odd})
    assert verifier.verify(token)["roles"] == odd and verifier.verify(token)["roles"] == odd
    assert verifier._cache == {}                    # never cached: CallerScope refuses them on every request
