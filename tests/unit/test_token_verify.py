"""The gateway's own token check (servicekit.security.tokens.TokenVerifier) against PyJWT's, token by token: every
token either accepts with the same claims or both refuse with the same code. Where ours is stricter
(a non-integer expiry, a boolean time), the test says so and checks that ours refuses."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from servicekit.security import tokens
from servicekit.errors import Unauthenticated

PRIVATE = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()
PUBLIC_PEM = PRIVATE.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
NOW = int(time.time())
LIFETIME = 4 * 3600     # the corpus is made at import: it must outlive a whole test run, not only this module
SCOPE = {"account_id": "acc-1", "tenant_id": "t-1", "roles": [{"role": "member", "org_id": None}],
         "member_id": "m-1", "branch_id": "b-1"}
CLAIMS = {**SCOPE, "iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "sub": "acc-1", "iat": NOW, "exp": NOW + LIFETIME,
          "jti": "j-1"}
HEADER = {"typ": tokens.TOKEN_TYPE}


def signed(claims=CLAIMS, key=PRIVATE, headers=HEADER, algorithm="EdDSA") -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw(header: dict | bytes, claims: dict | bytes, key=PRIVATE) -> str:
    """A token put together by hand (JSON the encoder would not write), signed with ``key``."""
    parts = [b64(part if isinstance(part, bytes) else json.dumps(part).encode()) for part in (header, claims)]
    message = ".".join(parts).encode()
    return f"{message.decode()}.{b64(key.sign(message))}"


def hand(claims: dict) -> str:
    return raw({"alg": "EdDSA", "typ": tokens.TOKEN_TYPE}, json.dumps(claims).encode())


def without(name: str) -> dict:
    return {key: value for key, value in CLAIMS.items() if key != name}


def tampered_payload() -> str:
    header, _, signature = signed().split(".")
    return f"{header}.{b64(json.dumps({**CLAIMS, 'member_id': 'm-2'}).encode())}.{signature}"


def flipped_signature() -> str:
    token = signed()
    return token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]


def non_canonical_signature() -> str:
    """The same signature with the group order L added to its S half (RFC 8032 5.1.7: S must be below L)."""
    message, _, signature = signed().rpartition(".")
    raw_signature = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    order = 2 ** 252 + 27742317777372353535851937790883648493
    s_plus_l = int.from_bytes(raw_signature[32:], "little") + order
    return f"{message}.{b64(raw_signature[:32] + s_plus_l.to_bytes(32, 'little'))}"


def hmac_with_public_key() -> str:
    """Algorithm confusion: an HMAC keyed with the (public) verification key."""
    message = f"{b64(json.dumps({'alg': 'HS256', 'typ': tokens.TOKEN_TYPE}).encode())}.{b64(json.dumps(CLAIMS).encode())}"
    return f"{message}.{b64(hmac.new(PUBLIC_PEM, message.encode(), hashlib.sha256).digest())}"


def padded(token: str) -> str:
    header, rest = token.split(".", 1)
    return f"{header}{'=' * (-len(header) % 4 or 4)}.{rest}"


EDDSA = {"alg": "EdDSA", "typ": tokens.TOKEN_TYPE}
CASES = {
    "good": signed(),
    "good, audience in a list": signed({**CLAIMS, "aud": ["other", tokens.AUDIENCE]}),
    "good, not before now": signed({**CLAIMS, "nbf": NOW - 5}),
    "good, float issued-at": signed({**CLAIMS, "iat": NOW - 0.5}),
    "expired": signed({**CLAIMS, "exp": NOW - 1}),
    "expired and another audience": signed({**CLAIMS, "exp": NOW - 1, "aud": "x"}),
    "issued in the future and expired": signed({**CLAIMS, "iat": NOW + 3600, "exp": NOW - 1}),
    "issued in the future": signed({**CLAIMS, "iat": NOW + 3600}),
    "not before the future": signed({**CLAIMS, "nbf": NOW + 3600}),
    "another key": signed(key=OTHER),
    "tampered payload": tampered_payload(),
    "flipped signature": flipped_signature(),
    "short signature": signed().rsplit(".", 1)[0] + ".AAAA",
    "non-canonical signature": non_canonical_signature(),
    "alg none": jwt.encode(CLAIMS, None, algorithm="none", headers=HEADER),
    "HS256": signed(key="a-shared-secret-long-enough-for-hmac-256", algorithm="HS256"),
    "HS256 with the public key as secret": hmac_with_public_key(),
    "typ JWT": signed(headers={"typ": "JWT"}),
    "no typ": signed(headers={}),
    "crit header": raw({**EDDSA, "crit": ["exp"]}, CLAIMS),
    "header not an object": raw(b"[1]", CLAIMS),
    "header not JSON": raw(b"{", CLAIMS),
    "claims not an object": raw(EDDSA, b"[1, 2]"),
    "claims not JSON": raw(EDDSA, b"\xff"),
    "another audience": signed({**CLAIMS, "aud": "another-service"}),
    "audience list without ours": signed({**CLAIMS, "aud": ["a", "b"]}),
    "audience list with a number": hand({**CLAIMS, "aud": [tokens.AUDIENCE, 5]}),
    "another issuer": signed({**CLAIMS, "iss": "someone-else"}),
    "issuer a number": hand({**CLAIMS, "iss": 5}),
    "subject a number": hand({**CLAIMS, "sub": 5}),
    "jti a number": hand({**CLAIMS, "jti": 5}),
    "issued-at a string": hand({**CLAIMS, "iat": "yesterday"}),
    "issued-at NaN": hand({**CLAIMS, "iat": float("nan")}),
    "not-before infinite": hand({**CLAIMS, "nbf": float("-inf")}),
    "good, expiry beyond any float": hand({**CLAIMS, "exp": 10 ** 400}),
    **{f"no {name}": signed(without(name)) for name in tokens.REQUIRED_CLAIMS},
    "garbage": "not-a-jwt",
    "empty": "",
    "two segments": ".".join(signed().split(".")[:2]),
    "four segments": signed() + ".AAAA",
    "non-ASCII": signed()[:-1] + "é",
    "bad alphabet": signed().replace(".", ".+", 1),
    "padded segment": padded(signed()),
    "impossible segment length": signed().split(".")[0] + "A." + ".".join(signed().split(".")[1:]),
}
STRICTER = {     # PyJWT accepts these; ours refuses (never minted by TokenSigner)
    "issued-at true": hand({**CLAIMS, "iat": True}),
    "expiry as a float": hand({**CLAIMS, "exp": NOW + LIFETIME + 0.5}),
    "expiry as a numeric string": hand({**CLAIMS, "exp": str(NOW + LIFETIME)}),
}


def pyjwt_answer(token: str):
    """The check as PyJWT does it (the verifier before it was our own)."""
    try:
        decoded = jwt.decode_complete(token, PRIVATE.public_key(), algorithms=["EdDSA"], audience=tokens.AUDIENCE,
                                      issuer=tokens.ISSUER, options={"require": list(tokens.REQUIRED_CLAIMS)})
    except jwt.ExpiredSignatureError:
        return "TOKEN_EXPIRED"
    except jwt.PyJWTError:
        return "TOKEN_INVALID"
    return decoded["payload"] if decoded["header"].get("typ") == tokens.TOKEN_TYPE else "TOKEN_INVALID"


def our_answer(token: str):
    try:
        return tokens.TokenVerifier(PUBLIC_PEM).verified_claims(token)
    except Unauthenticated as error:
        return error.code


@pytest.mark.parametrize("case", CASES)
def test_our_token_check_answers_as_pyjwt(case):
    assert our_answer(CASES[case]) == pyjwt_answer(CASES[case])


def test_the_corpus_has_both_answers():
    answers = [our_answer(token) for token in CASES.values()]
    assert sum(isinstance(answer, dict) for answer in answers) == sum(case.startswith("good") for case in CASES)
    assert {"TOKEN_EXPIRED", "TOKEN_INVALID"} <= {answer for answer in answers if isinstance(answer, str)}


@pytest.mark.parametrize("case", STRICTER)
def test_our_check_refuses_what_pyjwt_lets_through(case):
    assert isinstance(pyjwt_answer(STRICTER[case]), dict)
    assert our_answer(STRICTER[case]) == "TOKEN_INVALID"


def test_a_key_that_is_not_ed25519_is_refused_at_start():
    from cryptography.hazmat.primitives.asymmetric import ec
    pem = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(ValueError, match="Ed25519"):
        tokens.TokenVerifier(pem)
