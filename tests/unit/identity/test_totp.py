"""RFC 6238 against the RFC's own test vectors (Appendix B), and the window and format rules around it."""
from __future__ import annotations

import base64
import hashlib
import urllib.parse

import pytest

from services.identity.domain import totp

# Appendix B: the seeds are the ASCII digits "1234567890" repeated to the hash's key length
SEEDS = {hashlib.sha1: b"12345678901234567890", hashlib.sha256: b"12345678901234567890123456789012",
         hashlib.sha512: b"1234567890123456789012345678901234567890123456789012345678901234"}
VECTORS = [  # (time, SHA1, SHA256, SHA512), 8 digits
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize("at, sha1, sha256, sha512", VECTORS)
def test_the_rfc_6238_test_vectors(at, sha1, sha256, sha512):
    for digest, expected in ((hashlib.sha1, sha1), (hashlib.sha256, sha256), (hashlib.sha512, sha512)):
        assert totp.code_at(SEEDS[digest], at, digits=8, digest=digest) == expected


def test_six_digits_are_the_last_six_of_the_eight():
    assert totp.code_at(SEEDS[hashlib.sha1], 59) == "287082"
    assert totp.code_at(SEEDS[hashlib.sha1], 1111111109) == "081804"     # leading zero kept


def test_rfc_4226_hotp_vectors():
    # RFC 4226 Appendix D, counters 0..9 on the same SHA-1 seed
    expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]
    assert [totp.hotp(SEEDS[hashlib.sha1], counter) for counter in range(10)] == expected


SECRET = base64.b32encode(SEEDS[hashlib.sha1]).decode()     # GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ


def test_a_code_matches_its_own_step_and_one_either_side_not_two():
    now = 1234567890.0
    step = totp.step_of(now)
    key = totp.secret_bytes(SECRET)
    for offset in (-1, 0, 1):
        assert totp.matching_step(SECRET, totp.hotp(key, step + offset), now) == step + offset
    for offset in (-2, 2):
        assert totp.matching_step(SECRET, totp.hotp(key, step + offset), now) is None


def test_the_window_follows_the_step_boundary():
    key = totp.secret_bytes(SECRET)
    code = totp.hotp(key, 100)            # valid in step 100 = [3000, 3030)
    assert totp.matching_step(SECRET, code, 3059.9) == 100      # now in step 101: one back
    assert totp.matching_step(SECRET, code, 3060.0) is None     # now in step 102: two back
    assert totp.matching_step(SECRET, code, 2970.0) == 100      # now in step 99: one ahead
    assert totp.matching_step(SECRET, code, 2969.9) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12345a", "１２３４５６", " 287082", "28708.2"])
def test_only_six_ascii_digits_are_a_code(code):
    assert totp.matching_step(SECRET, code, 59) is None


def test_secrets_are_fresh_base32_of_twenty_bytes_and_read_back_as_apps_write_them():
    first, second = totp.new_secret(), totp.new_secret()
    assert first != second and len(first) == 32 and first.isalnum()
    assert len(totp.secret_bytes(first)) == 20
    spaced = " ".join(first[index:index + 4] for index in range(0, 32, 4)).lower()
    assert totp.secret_bytes(spaced) == totp.secret_bytes(first)


def test_the_provisioning_uri_names_issuer_account_and_parameters():
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXP", "city-admin@hanzhong", "智慧党建")
    parsed = urllib.parse.urlsplit(uri)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp"
    assert urllib.parse.unquote(parsed.path) == "/智慧党建:city-admin@hanzhong"
    assert dict(urllib.parse.parse_qsl(parsed.query)) == {
        "secret": "JBSWY3DPEHPK3PXP", "issuer": "智慧党建", "algorithm": "SHA1", "digits": "6", "period": "30"}
