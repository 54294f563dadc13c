"""The caller's address sent with a login: the peer's, X-Forwarded-For's only from a trusted proxy; and the
throttled login's Retry-After."""
import grpc
import pytest
from werkzeug.test import Client

from gateway.client_address import TrustedProxies, grpc_peer
from gateway.grpc.server import GrpcGateway
from gateway.http.app import GatewayApp
from gateway.operations import BY_RPC
from servicekit.errors import TooManyRequests
from tests.unit.gateway.samples import request_for

LOGIN = BY_RPC["Login"]


def login_over_http(app: GatewayApp, peer: str, forwarded_for: str | None = None, body: dict | None = None):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    return Client(app).post(LOGIN.path, json=body or request_for("Login"), headers=headers,
                            environ_base={"REMOTE_ADDR": peer})


def sent_address(backend) -> str:
    (call,) = backend.calls
    return call.kwargs["client_address"]


@pytest.fixture(scope="module")
def behind_proxy(dispatcher) -> GatewayApp:
    return GatewayApp(dispatcher, trusted_proxies=TrustedProxies("10.0.0.0/8, 192.0.2.1"))


def test_without_trusted_proxies_the_peer_is_the_client_and_the_header_is_ignored(app, backend):
    assert login_over_http(app, "198.51.100.7", forwarded_for="203.0.113.9").status_code == 200
    assert sent_address(backend) == "198.51.100.7"


def test_a_header_from_a_peer_that_is_not_a_trusted_proxy_is_ignored(behind_proxy, backend):
    login_over_http(behind_proxy, "198.51.100.7", forwarded_for="203.0.113.9, 10.1.1.1")
    assert sent_address(backend) == "198.51.100.7"


def test_behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client(behind_proxy, backend):
    # the client wrote "6.6.6.6" itself; the first proxy appended what it saw, 203.0.113.9
    login_over_http(behind_proxy, "10.0.0.5", forwarded_for="6.6.6.6, 203.0.113.9, 192.0.2.1")
    assert sent_address(backend) == "203.0.113.9"


@pytest.mark.parametrize("forwarded_for, expected", [
    (None, "10.0.0.5"),                     # no header: the proxy itself
    ("not-an-address, 10.0.0.7", "10.0.0.7"),   # a hop that is not an address ends the walk
    ("::ffff:203.0.113.9", "203.0.113.9"),  # IPv4-mapped IPv6 is the IPv4 address
    ("2001:db8::1", "2001:db8::1"),
])
def test_what_a_trusted_proxy_forwards(behind_proxy, backend, forwarded_for, expected):
    login_over_http(behind_proxy, "10.0.0.5", forwarded_for=forwarded_for)
    assert sent_address(backend) == expected


def test_the_caller_cannot_send_an_address_of_its_choosing(app, backend):
    response = login_over_http(app, "198.51.100.7", body={**request_for("Login"), "client_address": "1.2.3.4"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "UNKNOWN_FIELD"
    assert backend.calls == []


def test_only_login_is_sent_an_address(http, backend, token):
    http.get("/v1/me", headers={"Authorization": f"Bearer {token}"}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert "client_address" not in backend.calls[0].kwargs


def test_a_bad_trusted_proxy_setting_is_refused():
    with pytest.raises(ValueError):
        TrustedProxies("10.0.0.0/8, not-a-network")


@pytest.mark.parametrize("peer, address", [("ipv4:127.0.0.1:50123", "127.0.0.1"), ("ipv6:[::1]:50123", "::1"),
                                           ("ipv6:%5B::1%5D:50123", "::1"), ("unix:/tmp/socket", None)])
def test_grpc_peers(peer, address):
    assert grpc_peer(peer) == address


def grpc_login(gateway: GrpcGateway, metadata=()):
    with grpc.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
        stub = channel.unary_unary(LOGIN.grpc_path, request_serializer=LOGIN.request.SerializeToString,
                                   response_deserializer=LOGIN.response.FromString)
        return stub(LOGIN.request(**request_for("Login")), metadata=metadata, timeout=10)


def test_grpc_sends_the_peer_and_ignores_forwarded_metadata_from_an_untrusted_peer(grpc_gateway, backend):
    grpc_login(grpc_gateway, metadata=(("x-forwarded-for", "203.0.113.9"),))
    assert sent_address(backend) == "127.0.0.1"


def test_grpc_behind_a_trusted_proxy_takes_the_forwarded_address(dispatcher, backend):
    gateway = GrpcGateway(dispatcher, "127.0.0.1:0", max_workers=2, trusted_proxies=TrustedProxies("127.0.0.1")).start()
    try:
        grpc_login(gateway, metadata=(("x-forwarded-for", "203.0.113.9"),))
    finally:
        gateway.stop(grace=0)
    assert sent_address(backend) == "203.0.113.9"


def test_a_throttled_login_answers_429_with_retry_after(app, grpc_gateway, backend):
    backend.fail_with(TooManyRequests("登录尝试过于频繁，请稍后再试", code="TOO_MANY_ATTEMPTS",
                                      details=[{"retry_after_seconds": 17}]))
    response = login_over_http(app, "198.51.100.7")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "17"
    assert response.get_json()["error"]["code"] == "TOO_MANY_ATTEMPTS"
    with pytest.raises(grpc.RpcError) as raised:
        grpc_login(grpc_gateway)
    trailers = dict(raised.value.trailing_metadata())
    assert raised.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (trailers["error-code"], trailers["retry-after"]) == ("TOO_MANY_ATTEMPTS", "17")


def test_other_refusals_carry_no_retry_after(app, backend):
    backend.fail_with(TooManyRequests("太多了", code="TOO_MANY_ROWS"))
    assert "Retry-After" not in login_over_http(app, "198.51.100.7").headers
