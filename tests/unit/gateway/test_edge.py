"""The gateway's edge (issue 33): body limits per operation, the request id in every answer and log line, the
admin listener (metrics, API description, reflection) off the public one, gRPC over TLS, the API's security
headers."""
from __future__ import annotations

import contextvars
import json
import logging
import socket
import ssl

import grpc
import pytest
from werkzeug.test import Client

from gateway import limits, request_ids
from gateway.client import ApiError, GrpcClient
from gateway.client_address import TrustedProxies
from gateway.dispatch import Dispatcher
from gateway.errors import describe
from gateway.grpc.server import GrpcGateway
from gateway.http import tls
from gateway.http.app import GatewayApp
from gateway.operations import OPERATIONS
from gateway.server import GatewayServer
from tests.unit.gateway.test_http_server import Reader, request

BY_RPC = {op.rpc: op for op in OPERATIONS}
KIB, MIB = 1024, 1024 * 1024
PNG_HEADER = b"\x89PNG\r\n\x1a\n"


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def error_of(response) -> dict:
    return response.get_json()["error"]


# ---- body limits ------------------------------------------------------------------------------------------

def test_every_operation_taking_a_file_states_its_own_limit_and_every_named_limit_is_an_operation():
    uploads = {op.rpc for op in OPERATIONS if op.upload}
    assert uploads <= set(limits.BODY_LIMITS)
    assert set(limits.BODY_LIMITS) <= set(BY_RPC)


def test_photos_take_5_mib_imports_their_services_limit_and_everything_else_64_kib():
    assert limits.body_limit("AddPhoto") == limits.body_limit("AddCompletionPhoto") == 5 * MIB
    assert limits.body_limit("ImportMembers") == 64 * MIB and limits.body_limit("ImportBankQuestions") == 8 * MIB
    assert limits.body_limit("CreateOrg") == limits.body_limit("RecordScan") == limits.body_limit(None) == 64 * KIB
    assert limits.body_limit("ImportMembers", ceiling=1000) == 1000


def test_a_small_operations_body_over_64_kib_is_refused_naming_the_limit(http, backend, token):
    response = http.post("/v1/orgs", json={"parent_id": "p", "name": "x" * (70 * KIB)}, headers=auth(token))
    assert response.status_code == 413 and error_of(response)["code"] == "BODY_TOO_LARGE"
    assert "64 KiB" in error_of(response)["message"]
    assert backend.calls == []


def test_an_item_with_a_long_body_is_still_within_its_own_limit(http, backend, token):
    body = {"org_id": "org-1", "column_id": "c", "title": "t", "body": "\\u515a" * 20_000}     # 120 KB as sent
    response = http.post("/v1/items", data=json.dumps(body), content_type="application/json", headers=auth(token))
    assert response.status_code != 413


def test_a_photo_over_5_mib_is_refused_and_an_import_of_6_mib_is_not(http, backend, token):
    photo = http.post("/v1/activities/act-1/photos", data=PNG_HEADER + b"\0" * (5 * MIB), content_type="image/png",
                      headers=auth(token))
    assert photo.status_code == 413 and "5 MiB" in error_of(photo)["message"]
    assert backend.calls == []
    imported = http.post("/v1/orgs/org-1/member-imports", data=b"name\n" + b"x" * (6 * MIB), content_type="text/csv",
                         headers=auth(token))
    assert imported.status_code == 200
    assert [call.method for call in backend.calls] == ["import_members"]


@pytest.fixture
def server(dispatcher):
    server = GatewayServer(dispatcher, host="127.0.0.1", http_port=0, grpc_port=0, http_threads=2, grpc_workers=2,
                           admin_port=0, admin_grpc_port=0).start()
    yield server
    server.stop(grace=1)


def raw_request(server: GatewayServer, data: bytes) -> tuple[int, dict, dict]:
    with socket.create_connection(("127.0.0.1", server.http.port), timeout=10) as sock:
        sock.sendall(data)
        status, headers, body = Reader(sock).response()
    return status, headers, json.loads(body) if body else {}


def test_the_server_refuses_a_declared_body_over_the_operations_limit_before_it_is_sent(server, backend, token):
    status, headers, body = raw_request(server, request(
        "/v1/orgs", headers={**auth(token), "Content-Type": "application/json", "Content-Length": str(65 * KIB)}))
    assert status == 413 and body["error"]["code"] == "BODY_TOO_LARGE" and "64 KiB" in body["error"]["message"]
    assert body["request_id"] == headers["x-request-id"]
    status, _, body = raw_request(server, request(
        "/v1/activities/act-1/photos", headers={**auth(token), "Content-Type": "image/png",
                                                "Content-Length": str(5 * MIB + 1)}))
    assert status == 413 and "5 MiB" in body["error"]["message"]
    assert backend.calls == []


def test_the_server_refuses_a_chunked_body_as_it_grows_past_the_operations_limit(server, backend, token):
    head = (f"POST /v1/orgs HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"x" * (16 * KIB)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(5))
    status, _, body = raw_request(server, head + chunks)
    assert status == 413 and body["error"]["code"] == "BODY_TOO_LARGE"
    assert backend.calls == []


def test_the_server_lets_a_larger_body_through_where_the_operation_takes_one(server, backend, token):
    content = PNG_HEADER + b"\0" * (1 * MIB)
    status, _, _ = raw_request(server, request("/v1/activities/act-1/photos", body=content,
                                               headers={**auth(token), "Content-Type": "image/png"}))
    assert status == 200
    assert [call.method for call in backend.calls] == ["add_photo"]


def test_grpc_refuses_a_message_over_its_operations_limit(grpc_client, backend, token):
    with pytest.raises(ApiError) as refused:
        grpc_client.call("CreateOrg", {"parent_id": "p", "name": "x" * (70 * KIB)}, token)
    assert (refused.value.status, refused.value.code) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "BODY_TOO_LARGE")
    with pytest.raises(ApiError) as photo:
        grpc_client.call("AddPhoto", {"activity_id": "a", "content_type": "image/png",
                                      "content": PNG_HEADER + b"\0" * (5 * MIB + 100 * KIB)}, token)
    assert photo.value.code == "BODY_TOO_LARGE"              # the file's limit and room for the other fields
    assert backend.calls == []
    grpc_client.call("AddPhoto", {"activity_id": "a", "content_type": "image/png",
                                  "content": PNG_HEADER + b"\0" * MIB}, token)
    assert [call.method for call in backend.calls] == ["add_photo"]


def test_openapi_states_413_with_each_operations_limit(admin_http):
    document = admin_http.get("/openapi.json").get_json()
    photo = document["paths"][BY_RPC["AddPhoto"].path]["post"]["responses"]["413"]
    assert "5 MiB" in photo["description"] and photo["$ref"] == "#/components/responses/Error"
    assert "64 KiB" in document["paths"]["/v1/orgs"]["post"]["responses"]["413"]["description"]
    # the server refuses an oversized body before choosing the operation, a GET's too
    assert "64 KiB" in document["paths"]["/v1/me"]["get"]["responses"]["413"]["description"]
    assert "request_id" in document["components"]["schemas"]["ErrorBody"]["required"]


# ---- request ids ------------------------------------------------------------------------------------------

def test_every_answer_has_its_own_request_id_and_an_error_names_it(http, backend, token):
    ok = http.get("/v1/me", headers=auth(token))
    refused = http.get("/v1/me")
    unrouted = http.get("/v1/nowhere")
    ids = [answer.headers["X-Request-Id"] for answer in (ok, refused, unrouted)]
    assert len(set(ids)) == 3 and all(request_ids.ACCEPTED.fullmatch(i) for i in ids)
    assert refused.get_json()["request_id"] == ids[1] and unrouted.get_json()["request_id"] == ids[2]
    assert "request_id" not in ok.get_json()


def test_a_clients_request_id_is_kept_only_from_a_trusted_proxy(dispatcher, backend):
    peer = {"REMOTE_ADDR": "10.0.0.9"}
    direct = Client(GatewayApp(dispatcher, trusted_proxies=TrustedProxies("127.0.0.1")))
    assert direct.get("/v1/me", headers={"X-Request-Id": "chosen-1"}, environ_base=peer) \
        .headers["X-Request-Id"] != "chosen-1"
    proxied = Client(GatewayApp(dispatcher, trusted_proxies=TrustedProxies("10.0.0.0/8")))
    answer = proxied.get("/v1/me", headers={"X-Request-Id": "chosen-1"}, environ_base=peer)
    assert answer.headers["X-Request-Id"] == "chosen-1" and answer.get_json()["request_id"] == "chosen-1"
    odd = proxied.get("/v1/me", headers={"X-Request-Id": "a b\u00e9"}, environ_base=peer)
    assert odd.headers["X-Request-Id"] != "a b\u00e9"


def test_an_unexpected_error_answers_only_the_generic_message_and_the_request_id(http, backend, token, caplog):
    caplog.handler.addFilter(request_ids.LogFilter())
    backend.fail_with(RuntimeError("the store said: secret detail"))
    with caplog.at_level(logging.ERROR, logger="gateway.errors"):
        response = http.get("/v1/me", headers=auth(token))
    assert response.status_code == 500
    body = response.get_json()
    assert body == {"error": {"code": "INTERNAL", "message": "internal error"},
                    "request_id": response.headers["X-Request-Id"]}
    [record] = [r for r in caplog.records if r.name == "gateway.errors"]
    assert record.request_id == body["request_id"]


def test_a_grpc_error_carries_the_request_id_in_its_trailers(channel, backend):
    stub = channel.unary_unary("/partybuilding.v1.IdentityApi/GetMe", request_serializer=lambda raw: raw,
                               response_deserializer=lambda raw: raw)
    ids = set()
    for _ in range(2):
        with pytest.raises(grpc.RpcError) as refused:
            stub(b"", timeout=5, metadata=(("x-request-id", "chosen-by-client"),))
        trailers = dict(refused.value.trailing_metadata())
        assert trailers["error-code"] == "TOKEN_MISSING"
        ids.add(trailers["x-request-id"])
    assert len(ids) == 2 and "chosen-by-client" not in ids            # the peer is no trusted proxy


def test_a_malformed_request_is_refused_with_a_request_id_too(server):
    status, headers, body = raw_request(server, b"GET / HTTP/1.1\r\nHost t\r\n\r\n")
    assert status == 400 and body["error"]["code"] == "MALFORMED_REQUEST"
    assert body["request_id"] == headers["x-request-id"]


def test_the_log_filter_names_the_current_request_or_a_dash_outside_one():
    def filtered() -> str:
        record = logging.LogRecord("gateway", logging.INFO, __file__, 1, "m", (), None)
        request_ids.LogFilter().filter(record)
        return record.request_id

    def in_a_request() -> str:
        request_ids.begin("r-1")
        return filtered()

    assert contextvars.Context().run(filtered) == "-"
    assert contextvars.Context().run(in_a_request) == "r-1"


# ---- the admin listener -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/metrics", "/docs", "/openapi.json"])
def test_metrics_and_the_api_description_are_not_on_the_public_listener(path, http, admin_http):
    assert http.get(path).status_code == 404
    assert admin_http.get(path).status_code == 200


def test_the_admin_listener_serves_metrics_and_docs_and_reflection_only_there(server, token):
    import urllib.request
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    assert server.admin_url.startswith("http://127.0.0.1:") and server.admin.port != server.http.port
    metrics = urllib.request.urlopen(server.admin_url + "/metrics", timeout=5)
    assert metrics.status == 200 and b"gateway_requests_total" in metrics.read()
    assert urllib.request.urlopen(server.admin_url + "/docs", timeout=5).status == 200
    with pytest.raises(urllib.error.HTTPError) as public:
        urllib.request.urlopen(server.http_url + "/metrics", timeout=5)
    assert public.value.code == 404
    ask = reflection_pb2.ServerReflectionRequest(list_services="")
    with grpc.insecure_channel(server.admin_grpc_target) as channel:
        [answer] = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(iter([ask]), timeout=5)
        assert "partybuilding.v1.IdentityApi" in {s.name for s in answer.list_services_response.service}
    with grpc.insecure_channel(server.grpc_target) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            list(reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(iter([ask]), timeout=5))
        assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_without_an_admin_port_there_is_no_admin_listener(dispatcher):
    server = GatewayServer(dispatcher, host="127.0.0.1", http_port=0, grpc_port=0, http_threads=1, grpc_workers=1)
    try:
        assert server.admin is None and server.admin_grpc is None and server.admin_url is None
    finally:
        server.stop(grace=0)


def test_the_admin_port_setting_takes_a_number_or_off():
    from gateway.__main__ import optional_port
    assert optional_port("8081") == 8081 and optional_port("0") == 0
    assert optional_port("off") is None and optional_port("") is None


# ---- TLS and security headers -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return tls.ensure_self_signed(tmp_path_factory.mktemp("edge-keys"), ["localhost"], ["127.0.0.1"])


def test_grpc_speaks_tls_with_the_configured_certificate(dispatcher, certificate, token, monkeypatch):
    monkeypatch.setenv("GATEWAY_TLS_CERT", str(certificate[0]))
    monkeypatch.setenv("GATEWAY_TLS_KEY", str(certificate[1]))
    gateway = GrpcGateway(dispatcher, "127.0.0.1:0", max_workers=2,
                          credentials=tls.grpc_credentials_from_env()).start()
    try:
        secure = grpc.secure_channel(f"127.0.0.1:{gateway.port}",
                                     grpc.ssl_channel_credentials(certificate[0].read_bytes()),
                                     options=(("grpc.ssl_target_name_override", "localhost"),))
        with GrpcClient("", channel=secure, timeout=10) as client:
            assert client.call("GetMe", {}, token)["account"]
        with grpc.insecure_channel(f"127.0.0.1:{gateway.port}") as plain:
            with pytest.raises(grpc.RpcError) as refused:
                plain.unary_unary("/partybuilding.v1.IdentityApi/GetMe")(b"", timeout=3)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        gateway.stop(grace=0)


def test_grpc_tls_settings_go_together(monkeypatch, certificate):
    from servicekit.process.config import ConfigError

    monkeypatch.delenv("GATEWAY_TLS_KEY", raising=False)
    monkeypatch.delenv("GATEWAY_TLS_CERT", raising=False)
    assert tls.grpc_credentials_from_env() is None
    monkeypatch.setenv("GATEWAY_TLS_CERT", str(certificate[0]))
    with pytest.raises(ConfigError):
        tls.grpc_credentials_from_env()
    monkeypatch.setenv("GATEWAY_TLS_KEY", str(certificate[0]))        # not a key
    with pytest.raises(ConfigError):
        tls.grpc_credentials_from_env()


def test_api_answers_are_never_cached_nor_framed_and_a_photo_keeps_its_own_caching(http, backend, token):
    for answer in (http.get("/v1/me", headers=auth(token)), http.get("/v1/me"), http.post("/v1/orgs", data="x")):
        assert answer.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    photo = http.get("/v1/activities/act-1/uploads/up-1/photo", headers=auth(token))
    assert photo.status_code == 200 and photo.headers["Cache-Control"].startswith("private, max-age=")


def test_a_scan_answered_on_the_loop_over_tls_carries_hsts_and_the_api_headers(dispatcher, certificate, token):
    server = GatewayServer(dispatcher, host="127.0.0.1", http_port=0, grpc_port=0, http_threads=1, grpc_workers=1,
                           ssl_context=tls.server_context(*certificate)).start()
    try:
        context = ssl.create_default_context(cafile=str(certificate[0]))
        with socket.create_connection(("127.0.0.1", server.http.port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as sock:
                sock.sendall(request("/v1/scans", body=b"{}", headers={**auth(token),
                                                                        "Content-Type": "application/json"}))
                status, headers, _ = Reader(sock).response()
        assert headers["strict-transport-security"].startswith("max-age=")
        assert headers["cache-control"] == "no-store" and headers["x-request-id"]
    finally:
        server.stop(grace=1)


def test_describe_keeps_the_kind_of_a_too_large_body():
    reply = describe(limits.too_large(5 * MIB))
    assert (reply.http_status, reply.grpc_code, reply.code) == (413, grpc.StatusCode.RESOURCE_EXHAUSTED,
                                                                "BODY_TOO_LARGE")
