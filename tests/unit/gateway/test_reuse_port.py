"""Several gateways on one machine share the public HTTP port (``GATEWAY_REUSE_PORT``, SO_REUSEPORT): each binds
it, the kernel spreads new connections over them; without the option a second gateway cannot bind it."""
from __future__ import annotations

import socket

import pytest

from gateway.http.server import HttpGateway
from tests.unit.gateway.test_http_server import EchoApp


class CountingApp(EchoApp):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return super().__call__(environ, start_response)


def test_two_servers_bound_with_reuse_port_share_the_port_and_each_answers_some_connections():
    first_app, second_app = CountingApp(), CountingApp()
    first = HttpGateway(first_app, "127.0.0.1", 0, max_body=1000, workers=2, reuse_port=True).start()
    second = HttpGateway(second_app, "127.0.0.1", first.port, max_body=1000, workers=2, reuse_port=True).start()
    try:
        assert second.port == first.port
        for _ in range(40):                          # a new connection each: the kernel picks a server for each
            with socket.create_connection(("127.0.0.1", first.port), timeout=5) as sock:
                sock.sendall(b"GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
                assert answer.startswith(b"HTTP/1.1 200")
        assert first_app.calls + second_app.calls == 40
        assert first_app.calls > 0 and second_app.calls > 0, (first_app.calls, second_app.calls)
    finally:
        second.stop(grace=1)
        first.stop(grace=1)


def test_without_reuse_port_a_second_server_cannot_bind_the_port():
    first = HttpGateway(CountingApp(), "127.0.0.1", 0, max_body=1000, workers=1)
    try:
        with pytest.raises(OSError):
            HttpGateway(CountingApp(), "127.0.0.1", first.port, max_body=1000, workers=1)
    finally:
        first.socket.close()
