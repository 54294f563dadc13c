import grpc
import pytest

from gateway.client import ApiError
from gateway.operations import BY_RPC, OPERATIONS
from tests.unit.gateway.conftest import http_call
from tests.unit.gateway.samples import request_for

PROTECTED = [op.rpc for op in OPERATIONS if op.auth]
BAD_TOKENS = ["expired", "signed by another key", "alg none", "HS256", "garbage", "typ JWT (not an access token)",
              "no typ", "another audience", "another issuer", "no expiry"]
EXPECTED_CODE = {"expired": "TOKEN_EXPIRED"}


def test_login_needs_no_token_on_either_protocol(http, grpc_client, backend):
    assert http_call(http, BY_RPC["Login"], request_for("Login")).status_code == 200
    assert grpc_client.call("Login", request_for("Login"))["token_type"] == "Bearer"
    assert len(backend.calls) == 2


@pytest.mark.parametrize("rpc", PROTECTED)
def test_every_other_operation_is_refused_over_http_without_a_token(rpc, http, backend):
    response = http_call(http, BY_RPC[rpc], request_for(rpc))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "TOKEN_MISSING"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert backend.calls == []


@pytest.mark.parametrize("rpc", PROTECTED)
def test_every_other_operation_is_refused_over_grpc_without_a_token(rpc, grpc_client, backend):
    with pytest.raises(ApiError) as refused:
        grpc_client.call(rpc, request_for(rpc))
    assert refused.value.status == grpc.StatusCode.UNAUTHENTICATED and refused.value.code == "TOKEN_MISSING"
    assert backend.calls == []


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_a_bad_token_is_refused_over_http(kind, http, backend, bad_tokens):
    response = http.get("/v1/me", headers={"Authorization": f"Bearer {bad_tokens[kind]}"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == EXPECTED_CODE.get(kind, "TOKEN_INVALID")
    assert backend.calls == []


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_a_bad_token_is_refused_over_grpc(kind, grpc_client, backend, bad_tokens):
    with pytest.raises(ApiError) as refused:
        grpc_client.call("GetMe", {}, bad_tokens[kind])
    assert refused.value.status == grpc.StatusCode.UNAUTHENTICATED
    assert refused.value.code == EXPECTED_CODE.get(kind, "TOKEN_INVALID")
    assert backend.calls == []


@pytest.mark.parametrize("header", ["Basic YWRtaW46cHc=", "Bearer", "Bearer   ", "token-without-scheme"])
def test_an_authorization_header_that_is_not_a_bearer_token_is_refused(header, http, backend):
    response = http.get("/v1/me", headers={"Authorization": header})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "TOKEN_MISSING"
    assert backend.calls == []


def test_the_bearer_scheme_is_case_insensitive(http, backend, token):
    assert http.get("/v1/me", headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_authentication_is_checked_before_the_body(http, backend):
    response = http.post("/v1/orgs", data="{not json", content_type="application/json")
    assert response.status_code == 401


def test_a_token_sent_to_login_is_ignored(http, backend, bad_tokens):
    response = http_call(http, BY_RPC["Login"], request_for("Login"), token=bad_tokens["expired"])
    assert response.status_code == 200
