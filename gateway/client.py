"""Small clients for tests and scripts: the same operations by rpc name over HTTP or gRPC.

    http = HttpClient("http://127.0.0.1:8080")
    http.login("xa", "admin", "secret")
    http.call("GetOrg", {"org_id": "..."})

    with GrpcClient("127.0.0.1:50051") as rpc:
        token = rpc.call("Login", {"tenant_code": "xa", "username": "admin", "password": "secret"})["access_token"]
        rpc.call("GetMe", {}, token)

Both raise ApiError(status, code, message, field, details) for an error answer.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import grpc
from google.protobuf import json_format

from gateway.operations import BY_RPC, Operation


class ApiError(Exception):
    def __init__(self, status, code: str, message: str, field: str | None = None, details: list | None = None):
        self.status, self.code, self.message, self.field, self.details = status, code, message, field, details or []
        super().__init__(f"{status} {code}: {message}" + (f" ({field})" if field else ""))


class HttpClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.refresh_token = ""         # from login: a call answered TOKEN_EXPIRED refreshes and is sent once more
        self.timeout = timeout

    def login(self, tenant_code: str, username: str, password: str) -> dict:
        answer = self.call("Login", {"tenant_code": tenant_code, "username": username, "password": password})
        self.token, self.refresh_token = answer["access_token"], answer.get("refresh_token") or ""
        return answer

    def call(self, rpc: str, request: dict | None = None, token: str | None = None) -> dict:
        """Run an operation by rpc name: path fields go into the path, the rest into the query (GET) or body."""
        op = BY_RPC[rpc]
        fields = dict(request or {})
        path = _path(op, fields)
        if op.upload:
            file_format = fields.pop(op.upload.format_field)
            media_of_format = {value: media for media, value in op.upload.media_types}
            return self.request(op.http_method, path, data=fields.pop(op.upload.content_field), query=fields or None,
                                content_type=media_of_format[file_format], token=token)
        if op.http_method == "GET":
            return self.request("GET", path, query=fields, token=token)
        return self.request(op.http_method, path, body=fields, token=token)

    def download(self, rpc: str, request: dict | None = None, token: str | None = None) -> tuple[dict, bytes]:
        """A file operation's file itself (``?download=1``; an inline file, such as a photo, is always answered as
        the file): its response headers (lower-case names) and bytes."""
        op = BY_RPC[rpc]
        fields = dict(request or {})
        path = _path(op, fields)
        if not op.download.inline:
            fields["download"] = 1
        query = urllib.parse.urlencode({key: _query_text(value) for key, value in fields.items()})
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        headers = {"Authorization": f"Bearer {token or self.token}"} if token or self.token else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=self.timeout) as answer:
                return {name.lower(): value for name, value in answer.headers.items()}, answer.read()
        except urllib.error.HTTPError as exc:
            raise _api_error(exc) from None

    def request(self, method: str, path: str, body: dict | None = None, *, query: dict | None = None,
                data: bytes | None = None, content_type: str | None = None, token: str | None = None) -> dict:
        try:
            return self._request(method, path, body, query, data, content_type, token)
        except ApiError as error:
            # the client's own login outlived its access token (they are short): refresh, then once more
            if error.code != "TOKEN_EXPIRED" or token is not None or not self.refresh_token:
                raise
            answer = self._request("POST", "/v1/auth/refresh", {"refresh_token": self.refresh_token}, None, None,
                                   None, None, anonymous=True)
            self.token, self.refresh_token = answer["access_token"], answer["refresh_token"]
            return self._request(method, path, body, query, data, content_type, token)

    def _request(self, method: str, path: str, body: dict | None, query: dict | None, data: bytes | None,
                 content_type: str | None, token: str | None, anonymous: bool = False) -> dict:
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode({key: _query_text(value) for key, value in query.items()})
        headers = {"Accept": "application/json"}
        if body is not None:
            data, content_type = json.dumps(body, ensure_ascii=False).encode(), "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        if (token or self.token) and not anonymous:
            headers["Authorization"] = f"Bearer {token or self.token}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise _api_error(exc) from None


def _path(op: Operation, fields: dict) -> str:
    """The operation's path with its path fields (taken out of ``fields``) filled in."""
    path = op.path
    for name in op.path_params:
        path = path.replace("{" + name + "}", urllib.parse.quote(str(fields.pop(name)), safe=""))
    return path


def _api_error(exc: urllib.error.HTTPError) -> ApiError:
    try:
        error = json.loads(exc.read()).get("error", {})
    except ValueError:
        error = {}
    return ApiError(exc.code, error.get("code", "HTTP_ERROR"), error.get("message", str(exc)), error.get("field"),
                    error.get("details"))


def _query_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class GrpcClient:
    def __init__(self, target: str, token: str | None = None, timeout: float = 30.0,
                 channel: grpc.Channel | None = None):
        self.channel = channel or grpc.insecure_channel(target)
        self.token = token
        self.timeout = timeout
        self._stubs: dict[str, grpc.UnaryUnaryMultiCallable] = {}

    def __enter__(self) -> "GrpcClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def login(self, tenant_code: str, username: str, password: str) -> dict:
        answer = self.call("Login", {"tenant_code": tenant_code, "username": username, "password": password})
        self.token = answer["access_token"]
        return answer

    def call(self, rpc: str, request: dict | None = None, token: str | None = None) -> dict:
        op = BY_RPC[rpc]
        message = build_request(op, request or {})
        token = token or self.token
        metadata = (("authorization", f"Bearer {token}"),) if token else ()
        try:
            answer = self._stub(op)(message, metadata=metadata, timeout=self.timeout)
        except grpc.RpcError as exc:
            raise grpc_api_error(exc) from None
        return json_format.MessageToDict(answer, preserving_proto_field_name=True,
                                         always_print_fields_with_no_presence=True)

    def _stub(self, op: Operation) -> grpc.UnaryUnaryMultiCallable:
        if op.rpc not in self._stubs:
            self._stubs[op.rpc] = self.channel.unary_unary(op.grpc_path,
                                                           request_serializer=op.request.SerializeToString,
                                                           response_deserializer=op.response.FromString)
        return self._stubs[op.rpc]


def build_request(op: Operation, request: dict):
    """A request message from a dict; bytes values (file contents) may be given raw."""
    raw = {key: value for key, value in request.items() if isinstance(value, (bytes, bytearray))}
    message = json_format.ParseDict({k: v for k, v in request.items() if k not in raw}, op.request())
    for key, value in raw.items():
        setattr(message, key, bytes(value))
    return message


def grpc_api_error(exc: grpc.RpcError) -> ApiError:
    trailers = dict(exc.trailing_metadata() or ())
    details = trailers.get("error-details-bin")
    return ApiError(exc.code(), trailers.get("error-code", exc.code().name), exc.details() or "",
                    trailers.get("error-field"), json.loads(details) if details else [])
