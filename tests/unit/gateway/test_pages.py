"""The gateway serves the pages (gateway/web/) with the security headers; nothing outside their directories."""
from __future__ import annotations

import gzip

import pytest

from gateway.http.server import HttpGateway
from gateway.http.pages import CONTENT_SECURITY_POLICY, WEB_ROOT
from tests.unit.gateway.test_http_server import Reader, connect, request

PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "geolocation=(self), camera=()",
}
PAGES = {          # path: its content type
    "/m/scan": "text/html; charset=utf-8",
    "/web/common/api.js": "text/javascript; charset=utf-8",
    "/web/common/messages.js": "text/javascript; charset=utf-8",
    "/web/common/style.css": "text/css; charset=utf-8",
}
TRAVERSALS = ["/m/../../etc/passwd", "/m/%2e%2e/%2e%2e/etc/passwd", "/m/..%2f..%2fetc%2fpasswd",
              "/m/%2E%2E/%2E%2E/gateway/http/app.py", "/web/common/../../dispatch.py", "/web/common/..%5c..%5cdispatch.py",
              "/m/..\\..\\etc\\passwd", "/m/%252e%252e/%252e%252e/etc/passwd", "/m/./scan.html", "/m//scan.html",
              "/web/common/.%2e/.%2e/dispatch.py", "/m/scan.html%00.js", "/web/vendor/../../dispatch.py",
              "/console/../m/scan"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_and_assets_are_served_with_their_type_and_the_security_headers(http, path):
    answer = http.get(path)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == PAGES[path]
    assert {name: answer.headers.get(name) for name in PAGE_HEADERS} == PAGE_HEADERS
    assert "Strict-Transport-Security" not in answer.headers          # plain HTTP
    assert answer.headers["Cache-Control"] == "no-cache" and answer.headers["ETag"]


def test_a_page_over_tls_also_says_strict_transport_security(http):
    answer = http.get("/m/scan", base_url="https://localhost/")
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_a_page_is_gzipped_when_the_client_accepts_it_and_revalidated_by_etag(http):
    plain = http.get("/m/scan.js")
    zipped = http.get("/m/scan.js", headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.data) == plain.data == (WEB_ROOT / "m" / "scan.js").read_bytes()
    again = http.get("/m/scan.js", headers={"If-None-Match": plain.headers["ETag"]})
    assert (again.status_code, again.data) == (304, b"")
    assert again.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path, location", [("/", "/console/"), ("/m", "/m/"), ("/console", "/console/"), ("/v", "/v/")])
def test_the_root_and_a_bare_mount_redirect(http, path, location):
    answer = http.get(path)
    assert (answer.status_code, answer.headers["Location"]) == (302, location)
    assert answer.headers["X-Frame-Options"] == "DENY"


def test_api_answers_carry_nosniff_and_no_referrer_but_no_page_policy(http, backend, token):
    for answer in (http.get("/v1/me", headers={"Authorization": f"Bearer {token}"}), http.get("/v1/me"),
                   http.get("/v1/nowhere")):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert answer.headers["Cache-Control"] == "no-store" and answer.headers["X-Request-Id"]


def test_a_page_cannot_be_posted_to_and_an_unknown_page_is_404(http):
    assert http.post("/m/scan").status_code == 405
    missing = http.get("/m/nowhere")
    assert (missing.status_code, missing.json["error"]["code"]) == (404, "ROUTE_NOT_FOUND")
    assert missing.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", TRAVERSALS)
def test_a_path_leaving_the_pages_directories_is_refused(http, path):
    answer = http.get(path)
    assert answer.status_code == 404, answer.data[:200]
    assert b"root:" not in answer.data and b"GatewayApp" not in answer.data


def test_traversals_are_refused_through_the_real_server_too(app):
    """The server percent-decodes the path itself (``gateway.http.wsgi.path_and_query``): the raw bytes on the wire."""
    server = HttpGateway(app, "127.0.0.1", 0, max_body=1000, workers=1).start()
    try:
        for path in TRAVERSALS + ["/m/%2e%2e%2f%2e%2e%2fgateway%2fdispatch.py"]:
            sock = connect(server)
            sock.sendall(request(path, "GET"))
            status, headers, body = Reader(sock).response()
            assert status in (400, 404), path
            assert b"GatewayApp" not in body and b"root:" not in body
            sock.close()
        sock = connect(server)
        sock.sendall(request("/m/scan", "GET"))
        status, headers, body = Reader(sock).response()
        assert status == 200 and headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    finally:
        server.stop(grace=1)


def test_no_page_has_an_inline_script_or_style(http):
    """The CSP allows only 'self' scripts and styles: an inline one would not run."""
    for page in WEB_ROOT.rglob("*.html"):
        if "node_modules" in page.parts:
            continue
        text = page.read_text()
        assert "<script>" not in text and " onclick=" not in text and "<style" not in text and " style=" not in text, page




def first_load(http, page: str) -> dict[str, int]:
    """Every file a page loads at first (its stylesheets, scripts and the modules they import), by path, with the
    gzipped size the gateway sends."""
    import re
    from urllib.parse import urljoin
    sizes, pending = {}, [page]
    while pending:
        path = pending.pop()
        if path in sizes:
            continue
        answer = http.get(path, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200, path
        sizes[path] = len(answer.data)
        text = (gzip.decompress(answer.data) if answer.headers.get("Content-Encoding") == "gzip" else answer.data).decode()
        pending += [urljoin(path, found) for found in re.findall(r'(?:href|src)="([^"]+\.(?:css|js))"', text)]
        pending += [urljoin(path, found) for found in re.findall(r'^import .*? from "([^"]+)";', text, re.M)]
    return sizes


def test_the_scan_page_first_load_is_small_for_a_phone_on_a_poor_network(http):
    sizes = first_load(http, "/m/scan")
    assert {"/m/scan", "/m/scan.js", "/m/positions.js", "/web/common/api.js", "/web/common/messages.js",
            "/web/common/ui.js", "/web/common/style.css"} == set(sizes)
    assert sum(sizes.values()) < 150_000                 # the bound; docs/pages.md gives the figure
