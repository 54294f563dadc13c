"""Gateway unit tests: the real HTTP app and gRPC server over a fake backend and real tokens."""
from __future__ import annotations

import copy
import time
import urllib.parse
from dataclasses import dataclass

import pytest

from gateway.grpc import build_protos

build_protos.build()  # the test modules import the generated messages

import grpc  # noqa: E402
import jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from werkzeug.test import Client  # noqa: E402

from gateway.client import GrpcClient  # noqa: E402
from gateway.dispatch import Dispatcher  # noqa: E402
from gateway.grpc.server import GrpcGateway  # noqa: E402
from gateway.http.admin import AdminApp  # noqa: E402
from gateway.http.app import GatewayApp  # noqa: E402
from gateway.operations import Operation  # noqa: E402
from servicekit.security import tokens  # noqa: E402
from tests.unit.gateway.samples import CALLER, RESULTS  # noqa: E402


@dataclass
class Call:
    service: str
    method: str
    kwargs: dict


class FakeBackend:
    """Records every call; answers with the contract-shaped RESULTS or raises the error it was given."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.calls: list[Call] = []
        self.results = copy.deepcopy(RESULTS)
        self.error: BaseException | None = None

    def fail_with(self, error: BaseException) -> None:
        self.error = error

    def call(self, service: str, method: str, **kwargs):
        self.calls.append(Call(service, method, kwargs))
        if self.error is not None:
            raise self.error
        return copy.deepcopy(self.results[method])


@dataclass
class Keys:
    private_pem: bytes
    public_pem: bytes
    other_private_pem: bytes


@pytest.fixture(scope="session")
def keys(tmp_path_factory) -> Keys:
    private, public = tokens.generate_keypair(tmp_path_factory.mktemp("keys"))
    other_private, _ = tokens.generate_keypair(tmp_path_factory.mktemp("other-keys"))
    return Keys(private.read_bytes(), public.read_bytes(), other_private.read_bytes())


@pytest.fixture(scope="session")
def token(keys) -> str:
    # the whole session's caller: it must outlive a slow machine's run of the gateway's tests
    return tokens.TokenSigner(keys.private_pem, lifetime_seconds=6 * 3600).issue(CALLER)


@pytest.fixture(scope="session")
def bad_tokens(keys) -> dict[str, str]:
    now = int(time.time())
    own_key = serialization.load_pem_private_key(keys.private_pem, None)     # right key, wrong claims
    claims = {**CALLER, "iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "sub": CALLER["account_id"],
              "iat": now, "exp": now + 600}
    return {
        "expired": tokens.TokenSigner(keys.private_pem, lifetime_seconds=-60).issue(CALLER),
        "signed by another key": tokens.TokenSigner(keys.other_private_pem, lifetime_seconds=600).issue(CALLER),
        "alg none": jwt.encode(claims, None, algorithm="none", headers={"typ": tokens.TOKEN_TYPE}),
        "HS256": jwt.encode(claims, "a-shared-secret-long-enough-for-hmac-256", algorithm="HS256",
                            headers={"typ": tokens.TOKEN_TYPE}),
        "garbage": "not-a-jwt",
        "typ JWT (not an access token)": jwt.encode(claims, own_key, algorithm="EdDSA",
                                                    headers={"typ": "JWT"}),
        "no typ": jwt.encode(claims, own_key, algorithm="EdDSA"),
        "another audience": jwt.encode({**claims, "aud": "another-service"}, own_key, algorithm="EdDSA",
                                       headers={"typ": tokens.TOKEN_TYPE}),
        "another issuer": jwt.encode({**claims, "iss": "someone-else"}, own_key, algorithm="EdDSA",
                                     headers={"typ": tokens.TOKEN_TYPE}),
        "no expiry": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, own_key,
                                algorithm="EdDSA", headers={"typ": tokens.TOKEN_TYPE}),
    }


@pytest.fixture(scope="session")
def session_backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def backend(session_backend) -> FakeBackend:
    session_backend.reset()
    yield session_backend
    session_backend.reset()


@pytest.fixture(scope="session")
def dispatcher(session_backend, keys) -> Dispatcher:
    return Dispatcher(session_backend, tokens.TokenVerifier(keys.public_pem))


@pytest.fixture(scope="session")
def app(dispatcher) -> GatewayApp:
    return GatewayApp(dispatcher)


@pytest.fixture
def http(app, backend) -> Client:
    return Client(app)


@pytest.fixture(scope="session")
def admin_app() -> AdminApp:
    return AdminApp()


@pytest.fixture
def admin_http(admin_app) -> Client:
    """The admin listener's app: /metrics, /openapi.json and /docs (not on the public one)."""
    return Client(admin_app)


@pytest.fixture(scope="session")
def grpc_gateway(dispatcher):
    gateway = GrpcGateway(dispatcher, "127.0.0.1:0", max_workers=4).start()
    yield gateway
    gateway.stop(grace=0)


@pytest.fixture(scope="session")
def channel(grpc_gateway):
    with grpc.insecure_channel(f"127.0.0.1:{grpc_gateway.port}") as channel:
        yield channel


@pytest.fixture
def grpc_client(channel, backend) -> GrpcClient:
    return GrpcClient("", channel=channel, timeout=10)


def http_call(http: Client, op: Operation, request: dict, token: str | None = None):
    """Send an operation's request the way an HTTP client would: path, query (GET) or body, or the raw file."""
    fields = dict(request)
    path = op.path
    for name in op.path_params:
        path = path.replace("{" + name + "}", urllib.parse.quote(fields.pop(name), safe=""))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    peer = {"REMOTE_ADDR": "127.0.0.1"}         # as the gateway's HTTP server sets it from the connection
    if op.upload:
        media = {value: media for media, value in op.upload.media_types}[fields.pop(op.upload.format_field)]
        return http.open(path, method=op.http_method, data=fields.pop(op.upload.content_field),
                         query_string=fields or None, content_type=media, headers=headers, environ_base=peer)
    if op.http_method == "GET":
        query = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in fields.items()}
        return http.open(path, method="GET", query_string=query, headers=headers, environ_base=peer)
    return http.open(path, method=op.http_method, json=fields, headers=headers, environ_base=peer)
