"""HTTPS on the gateway's HTTP port (gateway.http.tls): a generated self-signed certificate carries this machine's
names, the real server answers over TLS 1.2+ with ``wsgi.url_scheme`` https, and plain HTTP sent to the TLS port is
refused without an answer and without disturbing the server."""
from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import stat

import pytest

from gateway.http import tls
from gateway.http.server import HttpGateway
from gateway.server import GatewayServer
from servicekit.process.config import ConfigError

NAMES, ADDRESSES = ["localhost", "pb-tryout.lan"], ["127.0.0.1", "::1", "192.168.7.9"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return tls.ensure_self_signed(tmp_path_factory.mktemp("keys"), NAMES, ADDRESSES)


def client_context(cert_path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert_path))      # verifies the chain and the host name


def https_get(port: int, path: str, cert_path, host: str = "127.0.0.1") -> tuple[int, dict, bytes, str]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with client_context(cert_path).wrap_socket(raw, server_hostname=host) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
            version = sock.version()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body, version


def test_the_generated_certificate_names_the_machine_and_its_key_is_private(certificate):
    cert_path, key_path = certificate
    names, addresses = tls.certificate_names(cert_path)
    assert names == NAMES
    assert {ipaddress.ip_address(a) for a in addresses} == {ipaddress.ip_address(a) for a in ADDRESSES}
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600


def test_the_certificate_is_kept_while_it_fits_and_made_anew_for_a_new_address(tmp_path):
    cert_path, _ = tls.ensure_self_signed(tmp_path, NAMES, ADDRESSES)
    first = cert_path.read_bytes()
    assert tls.ensure_self_signed(tmp_path, NAMES, ADDRESSES[:2])[0].read_bytes() == first
    tls.ensure_self_signed(tmp_path, NAMES, [*ADDRESSES, "10.0.0.5"])
    assert cert_path.read_bytes() != first
    assert "10.0.0.5" in tls.certificate_names(cert_path)[1]


def test_by_default_the_certificate_covers_localhost_the_loopback_and_the_host_name(tmp_path):
    cert_path, _ = tls.ensure_self_signed(tmp_path)
    names, addresses = tls.certificate_names(cert_path)
    assert "localhost" in names and socket.gethostname() in names
    assert "127.0.0.1" in addresses


def test_the_gateway_answers_healthz_over_tls(dispatcher, certificate):
    server = GatewayServer(dispatcher, host="127.0.0.1", http_port=0, grpc_port=0, http_threads=2, grpc_workers=2,
                           ssl_context=tls.server_context(*certificate)).start()
    try:
        assert server.http_url.startswith("https://127.0.0.1:")
        scheme = https_get(server.http.port, "/v1/me", certificate[0])[1]          # HSTS: the app saw https
        assert "max-age" in {k.lower(): v for k, v in dict(scheme).items()}.get("strict-transport-security", "")
        status, _, body, version = https_get(server.http.port, "/healthz", certificate[0])
        assert status == 200 and json.loads(body) == {"status": "ok"}
        assert version in ("TLSv1.2", "TLSv1.3")
        assert https_get(server.http.port, "/healthz", certificate[0], host="localhost")[0] == 200
    finally:
        server.stop(grace=1)


class SchemeApp:
    """Answers the WSGI url scheme it was given (what a page's Secure cookies and HSTS go by)."""

    def serve_batched(self, request):
        return None

    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["wsgi.url_scheme"].encode()]


@pytest.fixture
def tls_server(certificate):
    server = HttpGateway(SchemeApp(), "127.0.0.1", 0, max_body=1000, workers=2,
                         ssl_context=tls.server_context(*certificate)).start()
    yield server
    server.stop(grace=1)


def test_a_request_over_tls_is_seen_as_https(tls_server, certificate):
    assert https_get(tls_server.port, "/x", certificate[0])[2] == b"https"


def test_plain_http_is_seen_as_http():
    server = HttpGateway(SchemeApp(), "127.0.0.1", 0, max_body=1000, workers=2).start()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        assert data.endswith(b"\r\n\r\nhttp")
    finally:
        server.stop(grace=1)


def test_plain_http_to_the_tls_port_is_refused_cleanly_and_the_server_goes_on(tls_server, certificate):
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", tls_server.port), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            assert not data.startswith(b"HTTP/")            # no answer in clear text: the connection just ends
            try:
                rest = sock.recv(65536)
            except ConnectionResetError:
                rest = b""
            assert rest == b""
    assert https_get(tls_server.port, "/x", certificate[0])[2] == b"https"


def test_tls_older_than_1_2_is_refused(tls_server, certificate):
    context = client_context(certificate[0])
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            context.wrap_socket(raw, server_hostname="127.0.0.1")
    assert tls.server_context(*certificate).minimum_version == ssl.TLSVersion.TLSv1_2


def test_a_client_not_trusting_the_certificate_fails_verification(tls_server):
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=10) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")


def test_the_environment_sets_both_paths_or_neither(monkeypatch, certificate):
    monkeypatch.delenv("GATEWAY_TLS_CERT", raising=False)
    monkeypatch.delenv("GATEWAY_TLS_KEY", raising=False)
    assert tls.context_from_env() is None
    monkeypatch.setenv("GATEWAY_TLS_CERT", str(certificate[0]))
    with pytest.raises(ConfigError, match="GATEWAY_TLS_KEY"):
        tls.context_from_env()
    monkeypatch.setenv("GATEWAY_TLS_KEY", str(certificate[1]))
    assert isinstance(tls.context_from_env(), ssl.SSLContext)
    monkeypatch.setenv("GATEWAY_TLS_KEY", str(certificate[0]))          # a certificate is no key
    with pytest.raises(ConfigError):
        tls.context_from_env()
