from datetime import datetime, timedelta, timezone

import pytest

from services.attendance.domain import qrtoken
from services.attendance.domain.qrtoken import (CHECKIN, CHECKOUT, STEP_SECONDS, ParsedToken, TokenRejected,
                                                issue, parse, render_png, render_svg, step_of, tenant_key,
                                                verify)
from tests.support.qr import png_encodes

KEY = tenant_key(b"m" * 32, "tenant-a")
ACTIVITY = "act_" + "0123456789abcdef" * 2
NOW = datetime(2026, 11, 22, 1, 0, 15, tzinfo=timezone.utc)


def rejected_code(token, now=NOW, key=KEY):
    with pytest.raises(TokenRejected) as caught:
        verify(key, parse(token), now)
    return caught.value.code


def parse_code(token):
    with pytest.raises(TokenRejected) as caught:
        parse(token)
    return caught.value.code


def test_tenant_keys_are_32_bytes_deterministic_and_distinct_per_tenant_and_secret():
    assert len(KEY) == 32
    assert tenant_key(b"m" * 32, "tenant-a") == KEY
    assert tenant_key(b"m" * 32, "tenant-b") != KEY
    assert tenant_key(b"n" * 32, "tenant-a") != KEY


def test_step_of_is_unix_seconds_divided_by_30():
    assert STEP_SECONDS == 30
    assert step_of(NOW) == int(NOW.timestamp()) // 30
    assert step_of(datetime(1970, 1, 1, 0, 0, 59, tzinfo=timezone.utc)) == 1
    shanghai = NOW.astimezone(timezone(timedelta(hours=8)))
    assert step_of(shanghai) == step_of(NOW)


def test_issue_has_the_documented_format():
    token = issue(KEY, ACTIVITY, CHECKIN, 12345)
    version, activity, direction, step, signature = token.split(".")
    assert (version, activity, direction, step) == ("v1", ACTIVITY, "in", "12345")
    assert len(signature) == 22 and "=" not in signature
    printable = issue(KEY, ACTIVITY, CHECKOUT, None)
    assert printable.split(".")[2:4] == ["out", "p"]


def test_signature_is_truncated_hmac_sha256_in_base64url():
    import base64
    import hashlib
    import hmac
    digest = hmac.new(KEY, f"v1|{ACTIVITY}|in|77".encode(), hashlib.sha256).digest()[:16]
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert issue(KEY, ACTIVITY, CHECKIN, 77).endswith("." + expected)


def test_parse_round_trips():
    assert parse(issue(KEY, ACTIVITY, CHECKOUT, 99)) == ParsedToken(ACTIVITY, "out", 99, parse(
        issue(KEY, ACTIVITY, CHECKOUT, 99)).signature)
    assert parse(issue(KEY, ACTIVITY, CHECKIN, None)).step is None


def test_a_current_and_the_previous_step_are_accepted():
    verify(KEY, parse(issue(KEY, ACTIVITY, CHECKIN, step_of(NOW))), NOW)
    verify(KEY, parse(issue(KEY, ACTIVITY, CHECKIN, step_of(NOW) - 1)), NOW)


def test_a_token_two_steps_old_is_expired():
    assert rejected_code(issue(KEY, ACTIVITY, CHECKIN, step_of(NOW) - 2)) == "TOKEN_EXPIRED"


def test_a_token_from_a_future_step_is_expired():
    assert rejected_code(issue(KEY, ACTIVITY, CHECKIN, step_of(NOW) + 1)) == "TOKEN_EXPIRED"


def test_the_printable_code_is_valid_whenever_signed():
    token = issue(KEY, ACTIVITY, CHECKOUT, None)
    verify(KEY, parse(token), NOW)
    verify(KEY, parse(token), NOW + timedelta(days=30))


def flip_one_character(signature):
    first = signature[0]
    return ("B" if first != "B" else "C") + signature[1:]


def test_a_flipped_signature_is_forged():
    token = issue(KEY, ACTIVITY, CHECKIN, step_of(NOW))
    head, signature = token.rsplit(".", 1)
    assert rejected_code(f"{head}.{flip_one_character(signature)}") == "TOKEN_FORGED"


def test_a_flipped_signature_byte_is_forged():
    import base64
    token = issue(KEY, ACTIVITY, CHECKIN, step_of(NOW))
    head, signature = token.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[5] ^= 0x01
    tampered = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert rejected_code(f"{head}.{tampered}") == "TOKEN_FORGED"


def test_changing_any_signed_part_is_forged():
    token = issue(KEY, ACTIVITY, CHECKIN, step_of(NOW))
    version, activity, direction, step, signature = token.split(".")
    other_activity = "act_" + "f" * 32
    assert rejected_code(".".join([version, other_activity, direction, step, signature])) == "TOKEN_FORGED"
    assert rejected_code(".".join([version, activity, "out", step, signature])) == "TOKEN_FORGED"
    assert rejected_code(".".join([version, activity, direction, str(int(step) - 1), signature])) == \
        "TOKEN_FORGED"
    assert rejected_code(".".join([version, activity, direction, "p", signature])) == "TOKEN_FORGED"


def test_another_tenants_key_is_forged():
    token = issue(tenant_key(b"m" * 32, "tenant-b"), ACTIVITY, CHECKIN, step_of(NOW))
    assert rejected_code(token) == "TOKEN_FORGED"


def test_a_forged_signature_wins_over_expiry():
    token = issue(tenant_key(b"x" * 32, "tenant-a"), ACTIVITY, CHECKIN, step_of(NOW) - 10)
    assert rejected_code(token) == "TOKEN_FORGED"


@pytest.mark.parametrize("token", [
    "", "v1", "v1.act_x.in.1", "v1.act_x.in.1.sig.extra",
    "v2.act_x.in.1.AAAAAAAAAAAAAAAAAAAAAA",
    "v1.act_x.sideways.1.AAAAAAAAAAAAAAAAAAAAAA",
    "v1.act_x.in.-1.AAAAAAAAAAAAAAAAAAAAAA",
    "v1.act_x.in.01.AAAAAAAAAAAAAAAAAAAAAA",
    "v1.act_x.in.1e3.AAAAAAAAAAAAAAAAAAAAAA",
    "v1.act_x.in.P.AAAAAAAAAAAAAAAAAAAAAA",
    "v1.act_x.in. 1.AAAAAAAAAAAAAAAAAAAAAA",
    "v1.act_x.in.1.AAAAAAAAAAAAAAAAAAAAA=",
    "v1.act_x.in.1.AAAA",
    "v1..in.1.AAAAAAAAAAAAAAAAAAAAAA",
    "v1.act x.in.1.AAAAAAAAAAAAAAAAAAAAAA",
    "v1.act_x.in.1." + "A" * 300,
    "v1." + "a" * 190 + ".in.1.AAAAAAAAAAAAAAAAAAAAAA",
])
def test_malformed_tokens_are_forged(token):
    assert parse_code(token) == "TOKEN_FORGED"


@pytest.mark.parametrize("value", [None, 123, b"v1.act_x.in.1.AAAAAAAAAAAAAAAAAAAAAA"])
def test_non_text_is_forged(value):
    assert parse_code(value) == "TOKEN_FORGED"


def test_rejections_carry_a_chinese_message():
    error = TokenRejected("TOKEN_EXPIRED")
    assert error.code == "TOKEN_EXPIRED" and "过期" in error.message


def test_issue_refuses_unfit_input():
    with pytest.raises(ValueError):
        issue(KEY, "act.with.dots", CHECKIN, 1)
    with pytest.raises(ValueError):
        issue(KEY, ACTIVITY, "sideways", 1)
    with pytest.raises(ValueError):
        issue(KEY, ACTIVITY, CHECKIN, -1)


def test_png_rendering_is_a_png_and_scales():
    token = issue(KEY, ACTIVITY, CHECKIN, None)
    small, large = render_png(token, scale=2), render_png(token)
    assert small.startswith(b"\x89PNG\r\n\x1a\n") and large.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(large[16:20], "big")
    assert width == int.from_bytes(small[16:20], "big") * 4
    symbol = qrtoken._qr(token)
    assert width == (symbol.symbol_size(scale=1, border=4)[0]) * 8
    assert symbol.error == "M" and not symbol.is_micro


def test_svg_rendering_is_an_svg_document():
    svg = render_svg(issue(KEY, ACTIVITY, CHECKOUT, None), scale=4)
    assert isinstance(svg, str) and "<svg" in svg and svg.rstrip().endswith("</svg>")


# ---- what the codes encode: the member page's URL -------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("https://dj.example.cn/", "https://dj.example.cn"),
    (" https://192.168.1.20:8443/pb/ ", "https://192.168.1.20:8443/pb"),
    ("http://[::1]:8080", "http://[::1]:8080"),
])
def test_public_base_url_is_normalised(value, expected):
    assert qrtoken.public_base_url(value) == expected


@pytest.mark.parametrize("value", ["", "127.0.0.1:8080", "/m", "ftp://host", "http://", "http://host?x=1",
                                   "http://host/#top", "http://user@host", "http://host:99999", "http://host:port",
                                   "http://ho st", None])
def test_public_base_url_refuses_what_could_not_open_the_page(value):
    with pytest.raises(ValueError):
        qrtoken.public_base_url(value)


def test_the_scan_url_carries_the_token_in_its_fragment():
    token = issue(KEY, ACTIVITY, CHECKIN, None)
    assert qrtoken.scan_url("https://dj.example.cn", token) == f"https://dj.example.cn/m/scan#{token}"


def test_a_scan_may_send_the_whole_url_of_the_code():
    token = issue(KEY, ACTIVITY, CHECKIN, step_of(NOW))
    for sent in (token, qrtoken.scan_url("http://127.0.0.1:8080", token),
                 qrtoken.scan_url("https://192.168.1.20:8443/pb", token)):
        parsed = parse(sent)
        assert (parsed.activity_id, parsed.direction, parsed.step) == (ACTIVITY, CHECKIN, step_of(NOW))
        verify(KEY, parsed, NOW)


@pytest.mark.parametrize("sent", [
    "https://dj.example.cn/m/scan",                               # no fragment: no token
    "https://dj.example.cn/m/scan#",                              # an empty one
    "https://dj.example.cn/m/scan#v1.x",                          # a fragment that is not a token
    "https://dj.example.cn/m/scan#" + "a" * 2000,                 # too long
    "ftp://dj.example.cn/m/scan#v1.act.in.p.AAAAAAAAAAAAAAAAAAAAAA",
])
def test_a_url_without_a_good_token_is_forged(sent):
    with pytest.raises(TokenRejected) as caught:
        parse(sent)
    assert caught.value.code == "TOKEN_FORGED"


def test_a_url_with_another_signature_is_still_forged():
    token = issue(KEY, ACTIVITY, CHECKIN, None)
    other = issue(tenant_key(b"m" * 32, "tenant-b"), ACTIVITY, CHECKIN, None)
    assert rejected_code(qrtoken.scan_url("http://127.0.0.1:8080", other)) == "TOKEN_FORGED"
    assert rejected_code(qrtoken.scan_url("http://127.0.0.1:8080", token)[:-1] + "A") == "TOKEN_FORGED"


def test_the_png_and_svg_encode_exactly_the_text_given():
    url = qrtoken.scan_url("http://127.0.0.1:8080", issue(KEY, ACTIVITY, CHECKIN, None))
    assert png_encodes(render_png(url), url)
    assert not png_encodes(render_png(url), issue(KEY, ACTIVITY, CHECKIN, None))   # the comparison can fail
    assert png_encodes(render_png(url, scale=3), url, scale=3)
    assert render_svg(url) == render_svg(url) and render_svg(url) != render_svg(url.replace("in.p", "out.p"))
