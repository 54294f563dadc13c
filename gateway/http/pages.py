"""The pages' side of the gateway: static files under ``gateway/web/``, the security headers, and the
session cookies that let a page call the API without ever holding the access token in JavaScript.

Static files: ``/m/...`` (member phone pages), ``/console/...`` (admin console), ``/v/...`` (citizens' public
volunteer pages), ``/web/common/...`` (shared modules and the stylesheet) and ``/web/vendor/...`` (ECharts,
installed by ``bin/setup`` into ``gateway/web/vendor/node_modules/``). A path without an extension names a page
(``/m/scan`` is ``m/scan.html``), a directory its ``index.html``. Each file is read and gzipped once and kept in
memory until it changes on disk; answers carry an ETag and ``Cache-Control: no-cache`` (no build step, so no
hashed file names: the browser revalidates, a 304 costs a few bytes).
"""
from __future__ import annotations

import gzip
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from servicekit.errors import PermissionDenied

from gateway.dispatch import bearer_token

WEB_ROOT = Path(__file__).resolve().parents[1] / "web"
# URL prefix -> directory under WEB_ROOT
MOUNTS = {
    "/m/": "m",
    "/console/": "console",
    "/v/": "v",                  # the citizens' public volunteer order pages (志愿服务点单)
    "/web/common/": "common",
    "/web/vendor/": "vendor/node_modules",
}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
COMPRESSIBLE = {".html", ".js", ".mjs", ".css", ".json", ".svg", ".txt"}

# img-src: the API's own images (activity photos, by URL with the session cookie) and the QR codes' data: URLs
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                           "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
# every answer, API included
COMMON_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"))
# pages and their assets
PAGE_HEADERS = (("Content-Security-Policy", CONTENT_SECURITY_POLICY), ("X-Frame-Options", "DENY"),
                ("Permissions-Policy", "geolocation=(self), camera=()"))
HSTS = ("Strict-Transport-Security", "max-age=31536000")

SESSION_COOKIE = "pb_session"
CSRF_COOKIE = "pb_csrf"
# the page session's refresh token: HttpOnly and sent only to /v1/auth/... (the page refresh and logout), never
# with an ordinary API call or a page, so a leaked access log or a page's request does not carry it
REFRESH_COOKIE = "pb_refresh"
REFRESH_COOKIE_PATH = "/v1/auth/"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD"})


def security_headers(page: bool, tls: bool) -> list[tuple[str, str]]:
    headers = list(COMMON_HEADERS)
    if page:
        headers += PAGE_HEADERS
    if tls:
        headers.append(HSTS)
    return headers


def caller_token(authorization: str | None, cookies, csrf_header: str | None, method: str) -> str | None:
    """The access token of a request: ``Authorization: Bearer`` wins; else the session cookie, which for any
    method but GET/HEAD needs ``X-CSRF-Token`` equal to the CSRF cookie (a cross-site form cannot read the
    cookie, so cannot send the header): else 403 CSRF_FAILED."""
    token = bearer_token(authorization)
    if token is not None:
        return token
    session = cookies.get(SESSION_COOKIE) if cookies else None
    if not session:
        return None
    if method not in SAFE_METHODS:
        expected = cookies.get(CSRF_COOKIE) or ""
        if not expected or not csrf_header or not hmac.compare_digest(csrf_header.encode(), expected.encode()):
            raise PermissionDenied("a request authenticated by the session cookie needs the X-CSRF-Token header",
                                   code="CSRF_FAILED")
    return session


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def session_cookies(token: str, csrf: str, max_age: int, secure: bool, refresh_token: str = "",
                    refresh_max_age: int = 0) -> list[str]:
    """The Set-Cookie values opening (or refreshing) a session: the token HttpOnly (no script reads it), the CSRF
    value readable by the page's script, the refresh token HttpOnly on ``REFRESH_COOKIE_PATH`` only, all
    SameSite=Strict. With a refresh token the access token's cookie outlives the token (as long as the session):
    an expired one is still sent, answered 401 TOKEN_EXPIRED, and the page refreshes."""
    tail = "; Secure" if secure else ""
    lasts = refresh_max_age if refresh_token else max_age
    cookies = [f"{SESSION_COOKIE}={token}; Path=/; Max-Age={lasts}; HttpOnly; SameSite=Strict{tail}",
               f"{CSRF_COOKIE}={csrf}; Path=/; Max-Age={lasts}; SameSite=Strict{tail}"]
    if refresh_token:
        cookies.append(f"{REFRESH_COOKIE}={refresh_token}; Path={REFRESH_COOKIE_PATH}; Max-Age={refresh_max_age}; "
                       f"HttpOnly; SameSite=Strict{tail}")
    return cookies


def cleared_cookies(secure: bool) -> list[str]:
    tail = "; Secure" if secure else ""
    return [f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{tail}",
            f"{CSRF_COOKIE}=; Path=/; Max-Age=0; SameSite=Strict{tail}",
            f"{REFRESH_COOKIE}=; Path={REFRESH_COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict{tail}"]


def check_csrf(cookies, csrf_header: str | None) -> None:
    """A cookie-authenticated write: ``X-CSRF-Token`` must equal the CSRF cookie, else 403 CSRF_FAILED."""
    expected = (cookies.get(CSRF_COOKIE) if cookies else "") or ""
    if not expected or not csrf_header or not hmac.compare_digest(csrf_header.encode(), expected.encode()):
        raise PermissionDenied("a request authenticated by the session cookie needs the X-CSRF-Token header",
                               code="CSRF_FAILED")


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str
    mtime_ns: int
    size: int


class StaticFiles:
    """The files under ``root`` served at ``MOUNTS``; ``find(path)`` gives the file or None (unknown, outside
    the mounts, or a path trying to leave its directory)."""

    def __init__(self, root: Path = WEB_ROOT, mounts: dict[str, str] = MOUNTS):
        self.root = root.resolve()
        self.mounts = mounts
        self._cache: dict[Path, StaticFile] = {}
        self._lock = threading.Lock()

    def mounted(self, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in self.mounts)

    def resolve(self, path: str) -> Path | None:
        prefix = next((prefix for prefix in self.mounts if path.startswith(prefix)), None)
        if prefix is None:
            return None
        rest = path[len(prefix):]
        # the server has percent-decoded the path already: a '..' here, from '%2e%2e' or not, is refused
        parts = rest.split("/")
        if any(part in (".", "..") or "\\" in part or "\x00" in part or part.startswith(".") for part in parts):
            return None
        if parts[-1] == "":
            parts[-1] = "index.html"
        elif "." not in parts[-1]:
            parts[-1] += ".html"
        if any(part == "" for part in parts):
            return None
        base = (self.root / self.mounts[prefix]).resolve()
        target = base.joinpath(*parts)
        try:
            real = target.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not real.is_relative_to(base) or not real.is_file() or real.suffix not in CONTENT_TYPES:
            return None
        return real

    def find(self, path: str) -> StaticFile | None:
        real = self.resolve(path)
        if real is None:
            return None
        try:
            stat = real.stat()
        except OSError:
            return None
        cached = self._cache.get(real)
        if cached is not None and cached.mtime_ns == stat.st_mtime_ns and cached.size == stat.st_size:
            return cached
        body = real.read_bytes()
        gzipped = gzip.compress(body, 9, mtime=0) if real.suffix in COMPRESSIBLE and len(body) > 256 else None
        if gzipped is not None and len(gzipped) >= len(body):
            gzipped = None
        etag = hashlib.sha256(body).hexdigest()[:20]
        found = StaticFile(body, gzipped, CONTENT_TYPES[real.suffix], etag, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            self._cache[real] = found
        return found

