"""Signed QR tokens for sign-in and sign-out, rotating every 30 seconds.

A token reads ``v1.<activity_id>.<direction>.<step>.<signature>``:

* ``direction`` is ``in`` (sign-in) or ``out`` (sign-out);
* ``step`` is the 30-second time step the token was issued in (unix seconds // 30), shown on the
  admin's screen and refreshed as it rotates; or ``p`` for the printable code, valid for the whole
  activity (the activity's own time windows still apply);
* ``signature`` is HMAC-SHA256 over ``v1|activity_id|direction|step`` with the tenant's key,
  truncated to 16 bytes and written base64url without padding.

A rotating token is accepted in its own step and the next one, so a photo of the screen sent to
someone at home goes stale within a minute (杜绝远程签到). The rotating code is the default; a printed
code is issued and accepted only where the superior allowed it for the activity, and every scan made with
one is marked (``code_kind``).

The printed and shown codes encode the member page's URL with the token in its fragment,
``{PUBLIC_BASE_URL}/m/scan#<token>`` (``scan_url``): a phone's camera opens the page, and the fragment
never reaches a server or a Referer. A scan carries the bare token; the whole URL is accepted too.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import segno

VERSION = "v1"
STEP_SECONDS = 30
CHECKIN = "in"
CHECKOUT = "out"
DIRECTIONS = (CHECKIN, CHECKOUT)
PRINTABLE_STEP = "p"
CODE_PRINTED = "printed"      # a scan's code_kind: made with the printable code ...
CODE_ROTATING = "rotating"    # ... or with the rotating one
SIGNATURE_BYTES = 16
MAX_TOKEN_CHARS = 200
MAX_SCANNED_CHARS = 2000     # the whole URL a client may send instead of the bare token
SCAN_PATH = "/m/scan"
DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:8080"

_KEY_LABEL = b"partybuilding/attendance/qr-token/v1|"
_ACTIVITY_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
_STEP = re.compile(r"0|[1-9][0-9]{0,15}")
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{22}")  # 16 bytes in base64url without padding

TOKEN_MESSAGES = {
    "TOKEN_FORGED": "二维码无效，请扫描活动现场的签到二维码",
    "TOKEN_EXPIRED": "二维码已过期，请扫描屏幕上最新的二维码",
    "PRINTED_CODE_NOT_ALLOWED": "本次活动不使用打印的签到码，请扫描活动现场屏幕上的动态二维码",
}


class TokenRejected(Exception):
    """A token that is not ours (``TOKEN_FORGED``) or no longer current (``TOKEN_EXPIRED``)."""

    def __init__(self, code: str):
        self.code = code
        self.message = TOKEN_MESSAGES.get(code, "二维码无效")
        super().__init__(code)


@dataclass(frozen=True)
class ParsedToken:
    activity_id: str
    direction: str
    step: int | None  # None for the printable code
    signature: str


def code_kind(parsed: "ParsedToken") -> str:
    """``printed`` for the printable code, ``rotating`` for a rotating one."""
    return CODE_PRINTED if parsed.step is None else CODE_ROTATING


def tenant_key(master_secret: bytes, tenant_id: str) -> bytes:
    """The tenant's 32-byte signing key, derived from the platform's master secret.

    A key leaked from one tenant cannot sign tokens for another.
    """
    return hmac.new(master_secret, _KEY_LABEL + tenant_id.encode("utf-8"), hashlib.sha256).digest()


def step_of(moment: datetime) -> int:
    """The 30-second time step ``moment`` falls in (unix seconds // 30); ``moment`` must be aware."""
    if moment.tzinfo is None:
        raise ValueError("step_of needs a timezone-aware datetime")
    return int(moment.timestamp()) // STEP_SECONDS


def _sign(key: bytes, activity_id: str, direction: str, step: int | None) -> str:
    step_text = PRINTABLE_STEP if step is None else str(step)
    message = f"{VERSION}|{activity_id}|{direction}|{step_text}".encode("utf-8")
    digest = hmac.new(key, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def issue(key: bytes, activity_id: str, direction: str, step: int | None) -> str:
    """A signed token; ``step`` None issues the printable code valid for the whole activity."""
    if not _ACTIVITY_ID.fullmatch(activity_id or ""):
        raise ValueError(f"activity id unfit for a token: {activity_id!r}")
    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction: {direction!r}")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        raise ValueError(f"bad step: {step!r}")
    step_text = PRINTABLE_STEP if step is None else str(step)
    return f"{VERSION}.{activity_id}.{direction}.{step_text}.{_sign(key, activity_id, direction, step)}"


def public_base_url(value: str) -> str:
    """The platform's public base URL (``PUBLIC_BASE_URL``) without a trailing slash; ValueError unless it is
    an absolute http(s) URL with a host and no query, fragment or user info (a code must open the page)."""
    problem = ValueError(f"PUBLIC_BASE_URL must be an absolute http(s) URL without query or fragment: {value!r}")
    if not isinstance(value, str) or "?" in value or "#" in value or any(c.isspace() for c in value.strip()):
        raise problem
    try:
        parts = urlsplit(value.strip())
        host, _ = parts.hostname, parts.port     # the port is read to refuse one out of range or not a number
    except ValueError:
        raise problem from None
    if parts.scheme not in ("http", "https") or not host or "@" in parts.netloc:
        raise problem
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def scan_url(base_url: str, token: str) -> str:
    """What a QR code encodes: the member page's URL with the token in its fragment."""
    return f"{base_url}{SCAN_PATH}#{token}"


def token_of(scanned: str) -> str:
    """The token in what a client sent: the bare token, or the whole URL of a code (its fragment)."""
    if isinstance(scanned, str) and scanned.startswith(("http://", "https://")) and "#" in scanned:
        return scanned.split("#", 1)[1]
    return scanned


def parse(token: str) -> ParsedToken:
    """Split a scanned token (bare, or the code's whole URL) into its parts; anything malformed is
    ``TOKEN_FORGED``."""
    if not isinstance(token, str) or not token or len(token) > MAX_SCANNED_CHARS:
        raise TokenRejected("TOKEN_FORGED")
    token = token_of(token)
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise TokenRejected("TOKEN_FORGED")
    parts = token.split(".")
    if len(parts) != 5:
        raise TokenRejected("TOKEN_FORGED")
    version, activity_id, direction, step_text, signature = parts
    if (version != VERSION or not _ACTIVITY_ID.fullmatch(activity_id) or direction not in DIRECTIONS
            or not _SIGNATURE.fullmatch(signature)):
        raise TokenRejected("TOKEN_FORGED")
    if step_text == PRINTABLE_STEP:
        step = None
    elif _STEP.fullmatch(step_text):
        step = int(step_text)
    else:
        raise TokenRejected("TOKEN_FORGED")
    return ParsedToken(activity_id=activity_id, direction=direction, step=step, signature=signature)


def verify(key: bytes, parsed: ParsedToken, now: datetime) -> None:
    """Raise ``TokenRejected`` unless the signature is ours and a rotating token is current.

    The signature is checked first, in constant time; a rotating token is then accepted in the
    current step and the one before it only (a future step is ``TOKEN_EXPIRED`` too).
    """
    expected = _sign(key, parsed.activity_id, parsed.direction, parsed.step)
    if not hmac.compare_digest(expected.encode("ascii"), parsed.signature.encode("utf-8")):
        raise TokenRejected("TOKEN_FORGED")
    if parsed.step is None:
        return
    current = step_of(now)
    if parsed.step not in (current, current - 1):
        raise TokenRejected("TOKEN_EXPIRED")


def _qr(text: str) -> segno.QRCode:
    # make_qr, not make: never a Micro QR, which ordinary phone scanners often cannot read.
    return segno.make_qr(text, error="m", boost_error=False)


def render_png(text: str, scale: int = 8) -> bytes:
    """The QR code of ``text`` as PNG bytes (error correction M, quiet zone of 4 modules)."""
    buffer = io.BytesIO()
    _qr(text).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def render_svg(text: str, scale: int = 8) -> str:
    """The QR code of ``text`` as an SVG document (error correction M, quiet zone of 4 modules)."""
    buffer = io.BytesIO()
    _qr(text).save(buffer, kind="svg", scale=scale, border=4)
    return buffer.getvalue().decode("utf-8")
