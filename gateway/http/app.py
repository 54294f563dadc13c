"""The HTTP/JSON side: a werkzeug WSGI app generated from the operation table.

Strict JSON in (an object nested at most MAX_JSON_DEPTH levels, known fields, right types: a
number field takes a JSON number, not text, a bool or null; null only where a field may be left
unset; a string with ``(choices)`` only one of them), as /openapi.json describes it, JSON out
with every field shown. Path parameters, and for GET the query string, bind into the request message;
imports take the raw file as the body, each operation within its body limit (``gateway.limits``).

The API description (/openapi.json, /docs) and /metrics are not here but on the admin listener
(``gateway.http.admin``); this app serves the operations, the pages and /healthz.
"""
from __future__ import annotations

import logging

import base64
import json
import re
import time
from array import array
from dataclasses import dataclass
from itertools import accumulate
from typing import NamedTuple
from urllib.parse import parse_qsl, quote

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.http import parse_cookie
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request, Response

from gateway import audit, limits, metrics, request_ids
from gateway.client_address import TrustedProxies
from gateway.convert import as_kwargs, to_kwargs, to_message
from gateway.dispatch import Dispatcher
from gateway.errors import ErrorReply, GatewayError, describe
from gateway.http import descriptions
from gateway.limits import too_large
from gateway.http.pages import (COMMON_HEADERS, CSRF_COOKIE, CSRF_HEADER, REFRESH_COOKIE, StaticFiles, caller_token,
                                check_csrf, cleared_cookies, new_csrf_token, security_headers, session_cookies)
from gateway.operations import OPERATIONS, Download, Operation
from servicekit.errors import ServiceError, Unauthenticated
from servicekit.process.config import env

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
JSON_MEDIA_TYPE = "application/json"
JSON_TYPE = f"{JSON_MEDIA_TYPE}; charset=utf-8"
DOWNLOAD_PARAMETER = "download"     # ?download=1: a file operation's answer as the file itself
UNKNOWN_FIELD = re.compile(r'has no field named "([^"]+)" at "([^"]+)"')
FAILED_FIELD = re.compile(r"Failed to parse (\w+) field")
AT_PATH = re.compile(r" at ([\w.\[\]]+?)\.?$")
INTEGER_TYPES = {FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_UINT32,
                 FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64,
                 FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_SFIXED32,
                 FieldDescriptor.TYPE_SFIXED64}
NUMBER_TYPES = {FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE}
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
# No request message nests deeper than a few levels; a caller's JSON deeper than this is refused before it is
# parsed (json.loads recurses once per level, so thousands of levels raise RecursionError, a 500).
MAX_JSON_DEPTH = 32
_DEPTH_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")     # +1 / -1 as signed bytes
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
# "\ud800" alone is valid JSON but no character: json.loads keeps it as a lone surrogate, which protobuf and UTF-8
# cannot carry (it made a 500); a well-formed pair becomes one character and passes
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
SESSION_PATH = "/v1/auth/session"           # a page's login: the token as an HttpOnly cookie (``gateway.http.pages``)
SESSION_END_PATH = "/v1/auth/session:end"
SESSION_TOTP_PATH = "/v1/auth/session:totp"   # a page's login, second step: the TOTP code for the challenge
SESSION_REFRESH_PATH = "/v1/auth/session:refresh"   # a page's new access token, from its refresh cookie
log = logging.getLogger(__name__)

LOGIN_RPC = "Login"
VERIFY_TOTP_RPC = "VerifyLoginTotp"
CHALLENGE_FIELDS = ("next_step", "challenge_token", "challenge_expires_in", "totp_secret", "totp_uri")
LOGOUT_RPC = "Logout"
REFRESH_RPC = "Refresh"
PAGE_REDIRECTS = {"/": "/console/", "/m": "/m/", "/console": "/console/", "/v": "/v/"}
# every API answer (pages have their own set, ``gateway.http.pages``): JSON is never framed nor run as a document,
# and no cache keeps a caller's answer unless the operation names its own caching (a photo's private day)
API_SECURITY_HEADERS = (("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
                        ("Cache-Control", "no-store"))
API_HEADERS = dict(COMMON_HEADERS + API_SECURITY_HEADERS)
REQUEST_ID_ENVIRON = "gateway.request_id"     # set by the gateway's HTTP server (``gateway.http.server``)


def max_body_bytes() -> int:
    return int(env("GATEWAY_MAX_BODY_BYTES", str(DEFAULT_MAX_BODY_BYTES)))


class SegmentConverter(BaseConverter):
    """One path segment up to a ':' (so /orgs/{org_id}:move binds org_id without ':move')."""
    regex = r"[^/:]+"


def werkzeug_rule(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"<segment:\1>", path)


_RULE_PART = re.compile(r"<segment:(\w+)>")


def _segments(rule: str) -> list[tuple[str, str | None]] | None:
    """A werkzeug rule's segments, each as (static text, None) or (the converter's name, the text after it); None
    for a rule of another shape (a converter inside a segment), which then may match anything."""
    segments = []
    for segment in rule.split("/"):
        found = _RULE_PART.match(segment)
        if found is None and "<" not in segment:
            segments.append((segment, None))
        elif found is None or "<" in segment[found.end():]:
            return None
        else:
            segments.append((found.group(1), segment[found.end():]))
    return segments


def _may_overlap(one: list, other: list) -> bool:
    """Whether some path could match both rules' segments (conservative: True when unsure)."""
    if one is None or other is None:
        return True
    if len(one) != len(other):
        return False       # no converter matches a '/'
    for (text, suffix), (other_text, other_suffix) in zip(one, other):
        if suffix is None and other_suffix is None:
            if text != other_text:
                return False
        elif suffix is None or other_suffix is None:
            static, converter_suffix = (text, other_suffix) if suffix is None else (other_text, suffix)
            if not re.fullmatch(SegmentConverter.regex + re.escape(converter_suffix), static):
                return False
        elif suffix != other_suffix and all(not part or part.startswith(":") for part in (suffix, other_suffix)):
            return False   # a converter holds no ':': what follows the first ':' is the suffix, and they differ
    return True


def definite_routes(url_map: Map, operations) -> dict[str, list[tuple[re.Pattern, Operation]]]:
    """For the batched operations with path parameters whose paths no other rule of the same method can match:
    a pattern per method, whose match is the routing table's answer. A batched request (a quiz answer, an item
    opened) then skips the table's matcher; every other path still goes through it."""
    rules = [(rule, _segments(rule.rule)) for rule in url_map.iter_rules()]
    definite: dict[str, list[tuple[re.Pattern, Operation]]] = {}
    for operation in operations:
        mine = next(rule for rule, _ in rules if rule.endpoint == operation.rpc)
        segments = _segments(mine.rule)
        if segments is None or any(rule is not mine and operation.http_method in (rule.methods or ())
                                   and _may_overlap(segments, theirs) for rule, theirs in rules):
            continue
        pattern = "/".join(re.escape(text) if suffix is None
                           else f"(?P<{text}>{SegmentConverter.regex}){re.escape(suffix)}"
                           for text, suffix in segments)
        definite.setdefault(operation.http_method, []).append((re.compile(pattern), operation))
    return definite


def invalid(code: str, message: str, field: str | None = None) -> GatewayError:
    return GatewayError("INVALID_ARGUMENT", code, message, field)


def message_to_json(message: Message) -> dict:
    """``MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)``,
    without json_format for plain messages (``gateway.convert``)."""
    return to_kwargs(message)


class Answer:
    """A whole HTTP answer: status, headers (str pairs) and body. What ``gateway.http.wsgi.response_bytes`` writes; a
    batched operation's answer is built as one directly, without a werkzeug Response."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes):
        self.status, self.headers, self.body = status, headers, body


@dataclass(slots=True)      # not frozen: a frozen dataclass sets each field through object.__setattr__
class PlainRequest:
    """What a batched operation needs of an HTTP request, taken from the server's parser with no WSGI
    environ: building the environ and a werkzeug Request cost a fifth of the gateway's CPU per scan."""
    method: str
    path: str                   # percent-decoded, as PATH_INFO
    query: str
    authorization: str | None
    content_type: str
    body: bytes
    cookie: str | None = None           # the Cookie header: a page's session (``gateway.http.pages``)
    csrf_token: str | None = None       # X-CSRF-Token, which a session cookie needs on a POST


def json_response(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers, content_type=JSON_TYPE)


def json_answer(body: dict, status: int = 200, headers: dict | None = None) -> Answer:
    """``json_response`` as an ``Answer``."""
    return Answer(status, [("Content-Type", JSON_TYPE), *(headers or {}).items()],
                  _ANSWER_ENCODER.encode(body).encode())


def error_headers(reply: ErrorReply, headers: dict | None = None) -> dict:
    headers = dict(headers or {})
    headers[request_ids.HEADER] = request_ids.current_or_new()      # the id its body names
    if reply.kind == "UNAUTHENTICATED":
        headers["WWW-Authenticate"] = "Bearer"
    if reply.retry_after is not None:
        headers["Retry-After"] = str(reply.retry_after)
    return headers


def error_response(reply: ErrorReply, headers: dict | None = None) -> Response:
    return json_response(reply.http_body(), reply.http_status, error_headers(reply, headers))


def error_answer(reply: ErrorReply, headers: dict | None = None) -> Answer:
    return json_answer(reply.http_body(), reply.http_status, error_headers(reply, headers))


def failure(error: Exception, outcome: metrics.track) -> ErrorReply:
    """The error table's reply for ``error``, counted as its kind."""
    reply = describe(error)
    outcome.value = reply.kind
    return reply


def media_type(content_type: str) -> str:
    """``Content-Type``'s media type, lower case, without parameters (werkzeug's ``mimetype``)."""
    return content_type.partition(";")[0].strip().lower()


def parse_error(error: json_format.ParseError) -> GatewayError:
    """Turn a ParseDict complaint into UNKNOWN_FIELD / INVALID_TYPE naming the field at fault."""
    text = str(error)
    unknown = UNKNOWN_FIELD.search(text)
    if unknown:
        name, at = unknown.groups()
        field = ".".join(at.split(".")[1:] + [name])
        return invalid("UNKNOWN_FIELD", f"unknown field {field!r}", field)
    at = AT_PATH.search(text)
    field = ".".join(at.group(1).split(".")[1:]) if at else ".".join(FAILED_FIELD.findall(text))
    return invalid("INVALID_TYPE", f"field {field!r} has the wrong type" if field else "a field has the wrong type",
                   field or None)


def json_depth(data: bytes) -> int:
    """How deeply the JSON text nests arrays and objects, brackets inside strings not counted, in C-speed passes
    (no Python step per character: a 64 MB body of brackets takes seconds, as json.loads itself would). Escaped
    backslashes and quotes go first, so every remaining quote opens or closes a string; text that is not JSON
    gets some figure, and json.loads refuses it afterwards."""
    outside = b"".join(data.replace(b"\\\\", b"").replace(b'\\"', b"").split(b'"')[::2])
    return max(accumulate(array("b", outside.translate(_DEPTH_STEPS, _NOT_BRACKETS))), default=0)


def refuse_deep_json(data: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """JSON_TOO_DEEP when ``data`` nests deeper than ``limit``. A body with no more than ``limit`` opening brackets
    cannot (a member's scan has two), so most bodies cost two counts and no more."""
    if data.count(b"{") + data.count(b"[") > limit and json_depth(data) > limit:
        raise too_deep(limit)


def too_deep(limit: int = MAX_JSON_DEPTH) -> GatewayError:
    return invalid("JSON_TOO_DEEP", f"the body's arrays and objects may nest at most {limit} levels deep")


class _Check(NamedTuple):
    null_refused: bool                  # all but an ``optional`` scalar: null would silently become "", 0, [] or unset
    allowed: tuple[str, ...] | None     # a string field's ``(choices)``
    message: Descriptor | None          # a message field (not a well-known type, not a map) to look inside


_CHECKS: dict[str, dict[str, _Check]] = {}
VALUE_TYPE = "google.protobuf.Value"         # any JSON, null included


def _checks_of(descriptor: Descriptor) -> dict[str, _Check]:
    """By field name and JSON name: what ``refuse_nulls_and_choices`` holds each field of ``descriptor`` to."""
    checks = _CHECKS.get(descriptor.full_name)
    if checks is None:
        checks = {}
        for field in descriptor.fields:
            nested = field.message_type
            opaque = nested is not None and (nested.full_name.startswith("google.protobuf.")
                                             or nested.GetOptions().map_entry)
            allowed = descriptions.choices(field)
            check = _Check(not descriptions.is_optional(field) and not (opaque and nested.full_name == VALUE_TYPE),
                           tuple(allowed) if allowed is not None else None, None if opaque else nested)
            checks[field.name] = checks[field.json_name] = check
        _CHECKS[descriptor.full_name] = checks
    return checks


def refuse_nulls_and_choices(descriptor: Descriptor, values: dict, prefix: str = "") -> None:
    """What the OpenAPI document promises beyond json_format, which reads null as the default: null only for an
    ``optional`` scalar (not given) or a ``Value``, and a string with ``(choices)`` only one of them ("" only when
    listed). Other type errors are json_format's to word."""
    checks = _checks_of(descriptor)
    for name, value in values.items():
        check = checks.get(name)
        if check is None:
            continue
        if value is None:
            if check.null_refused:
                raise invalid("INVALID_TYPE", f"字段 {prefix}{name} 不能为 null", f"{prefix}{name}")
            continue
        items = value if type(value) is list else (value,)
        if check.allowed is not None:
            for item in items:
                if type(item) is str and item not in check.allowed:
                    shown = "、".join(one or "空字符串" for one in check.allowed)
                    raise invalid("UNKNOWN_VALUE", f"字段 {prefix}{name} 只能是 {shown}", f"{prefix}{name}")
        elif check.message is not None:
            for item in items:
                if type(item) is dict:
                    refuse_nulls_and_choices(check.message, item, f"{prefix}{name}.")


def refuse_query(names) -> None:
    """A body-carrying operation takes no query parameters."""
    name = next(iter(names), None)
    if name is not None:
        raise invalid("UNKNOWN_FIELD", f"query parameter {name!r} is not accepted here; send it in the body", name)


def with_path_args(values: dict, path_args: dict) -> dict:
    """The request's fields with its path's: a field given in both must agree (PATH_BODY_MISMATCH)."""
    for name, value in path_args.items():
        if name in values and values[name] != value:
            raise invalid("PATH_BODY_MISMATCH", f"{name} differs between the path and the body", name)
        values[name] = value
    return values


def wants_file(download: Download, request: Request) -> bool:
    """Whether the client asks for the file itself: ``?download=1`` (``0`` for the JSON), else an Accept that
    prefers ``download.media_type`` to JSON. No Accept, or ``*/*``, keeps the JSON existing clients read."""
    raw = request.args.getlist(DOWNLOAD_PARAMETER)
    if len(raw) > 1:
        raise invalid("REPEATED_PARAMETER", f"query parameter {DOWNLOAD_PARAMETER!r} given more than once",
                      DOWNLOAD_PARAMETER)
    if raw:
        if raw[0].lower() not in BOOLEANS:
            raise invalid("INVALID_TYPE", f"query parameter {DOWNLOAD_PARAMETER!r} must be 1, 0, true or false",
                          DOWNLOAD_PARAMETER)
        return BOOLEANS[raw[0].lower()]
    return request.accept_mimetypes.best_match([JSON_MEDIA_TYPE, download.media_type],
                                               default=JSON_MEDIA_TYPE) == download.media_type


def content_disposition(filename: str, ascii_name: str, disposition: str = "attachment") -> str:
    """``attachment`` (or ``inline``) with the UTF-8 file name (RFC 6266 / RFC 5987 ``filename*``) and a
    plain-ASCII ``filename`` for older clients: the name's ASCII part, after ``ascii_name`` when the name has
    more."""
    stem, dot, extension = filename.rpartition(".") if "." in filename else (filename, "", "")
    extension = re.sub(r"[^A-Za-z0-9]", "", extension)
    plain = re.sub(r"[^A-Za-z0-9_-]+", "", stem).strip("_-")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", stem):
        plain = f"{ascii_name}-{plain}" if plain else ascii_name
    fallback = f"{plain}.{extension}" if dot and extension else plain
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(download: Download, answer: Message, request: Request) -> Response:
    """The file an answer carries, as the HTTP body; an inline file with its ETag and cache life, or only
    those (304) when the client's If-None-Match names that ETag."""
    filename = getattr(answer, download.filename_field) or download.ascii_name
    media = getattr(answer, download.media_field) or download.media_type
    disposition = content_disposition(filename, download.ascii_name, "inline" if download.inline else "attachment")
    headers = {}
    if download.max_age:
        headers["Cache-Control"] = f"private, max-age={download.max_age}"
    etag = getattr(answer, download.etag_field) if download.etag_field else ""
    if etag:
        headers["ETag"] = f'"{etag}"'
        if request.if_none_match.contains_weak(etag):
            return Response(status=304, headers=headers)
    return Response(getattr(answer, download.content_field), content_type=media,
                    headers={**headers, "Content-Disposition": disposition})


def query_value(field: FieldDescriptor, raw: str):
    if field.type in INTEGER_TYPES:
        return int(raw)
    if field.type in NUMBER_TYPES:
        return float(raw)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return BOOLEANS[raw.lower()]
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        raise ValueError("messages cannot be given in the query string")
    return raw


class GatewayApp:
    def __init__(self, dispatcher: Dispatcher, operations: tuple[Operation, ...] = OPERATIONS,
                 max_body: int | None = None, trusted_proxies: TrustedProxies | None = None):
        self.dispatcher = dispatcher
        self.trusted_proxies = trusted_proxies if trusted_proxies is not None else TrustedProxies.from_env()
        self.operations = {op.rpc: op for op in operations}
        self.max_body = max_body if max_body is not None else max_body_bytes()
        self.url_map = Map([Rule(werkzeug_rule(op.path), methods=[op.http_method], endpoint=op.rpc)
                            for op in operations] + [
            Rule("/healthz", methods=["GET"], endpoint="healthz"),
            Rule(SESSION_PATH, methods=["POST"], endpoint="session_start"),
            Rule(SESSION_TOTP_PATH, methods=["POST"], endpoint="session_totp"),
            Rule(SESSION_PATH, methods=["GET"], endpoint="session_status"),
            Rule(SESSION_END_PATH, methods=["POST"], endpoint="session_end"),
            Rule(SESSION_REFRESH_PATH, methods=["POST"], endpoint="session_refresh"),
        ], converters={"segment": SegmentConverter}, merge_slashes=False)
        # batched operations are answered on the server's loop (``serve_batched``): those without path parameters
        # found by (method, path) at once, the others by the routing table (whose other rules may win)
        self.batched_routes = {(op.http_method, op.path): op for op in operations
                               if op.batch_method and not op.path_params}
        self.batched_with_params = any(op.batch_method and op.path_params for op in operations)
        self._loop_routes = self.url_map.bind("gateway")
        self._definite_routes = definite_routes(self.url_map, [op for op in operations
                                                               if op.batch_method and op.path_params])
        self.static = StaticFiles()

    def __call__(self, environ, start_response):
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        """``route``'s answer with the security headers (the pages' full set on pages and their assets, the API's
        on the others) and the request id (the server's, else one chosen here)."""
        request_id = request.environ.get(REQUEST_ID_ENVIRON) or request_ids.chosen(
            request.headers.get(request_ids.HEADER), request.remote_addr, self.trusted_proxies)
        request_ids.begin(request_id)
        page = request.path in PAGE_REDIRECTS or self.static.mounted(request.path)
        response = self.serve_static(request) if page else self.route(request)
        headers = security_headers(page, request.scheme == "https")
        for name, value in headers if page else (*headers, *API_SECURITY_HEADERS):
            response.headers.setdefault(name, value)
        response.headers[request_ids.HEADER] = request_id
        return response

    def body_limit(self, method: str, path: str) -> int:
        """The most bytes the body of a request to ``path`` may have (``gateway.limits``), for the server to refuse
        a larger one before reading it; ``path`` percent-decoded, as PATH_INFO."""
        operation = self.batched_routes.get((method, path))
        if operation is None:
            try:
                endpoint, _ = self._loop_routes.match(path, method=method)
            except HTTPException:
                endpoint = None
            operation = self.operations.get(endpoint) or (self.operations.get(LOGIN_RPC)
                                                          if endpoint == "session_start" else None)
        return self.limit_of(operation)

    def limit_of(self, operation: Operation | None) -> int:
        return limits.body_limit(operation.rpc if operation is not None else None, self.max_body)

    def route(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, path_args = adapter.match()
        except NotFound:
            return self._unrouted(ErrorReply("NOT_FOUND", "ROUTE_NOT_FOUND", f"no route for {request.path}"))
        except MethodNotAllowed as exc:
            reply = ErrorReply("METHOD_NOT_ALLOWED", "METHOD_NOT_ALLOWED",
                               f"{request.method} is not allowed on {request.path}")
            return self._unrouted(reply, {"Allow": ", ".join(sorted(exc.valid_methods or []))})
        if endpoint in self.operations:
            return self.serve(self.operations[endpoint], request, path_args)
        return getattr(self, f"serve_{endpoint}")(request)

    def serve(self, operation: Operation, request: Request, path_args: dict) -> Response:
        with metrics.track("http", operation.rpc) as outcome:
            try:
                scope, message = self.prepare(operation, request, path_args)
                client = (self.client_address(request)
                          if operation.client_address or audit.kind_of(operation) else None)
                download = operation.download
                as_file = download is not None and (download.inline or wants_file(download, request))
                answer = self.dispatcher.call(operation, message, scope, client)
                if as_file:
                    return file_response(download, answer, request)
                return json_response(message_to_json(answer))
            except Exception as exc:
                return error_response(failure(exc, outcome))

    def serve_batched(self, request: PlainRequest):
        """For a server on the gateway's event loop (``gateway.http.server``): the awaitable ``Answer`` of a
        request of a batched operation (a member's scan, feed, notice, quiz answer), which then joins its batch on
        the loop with no thread of its own, or None for any other request (served by calling the app on a thread).
        The same checks as ``serve``: token first, then a GET's query fields or a JSON object of known fields and no
        query string."""
        operation, path_args = self._batched_route(request)
        if operation is None or not self.dispatcher.batches(operation):
            return None
        return self._serve_batched(operation, path_args, request)

    def _batched_route(self, request: PlainRequest) -> tuple[Operation | None, dict]:
        operation = self.batched_routes.get((request.method, request.path))
        if operation is not None or not self.batched_with_params:
            return operation, {}
        for pattern, operation in self._definite_routes.get(request.method, ()):
            match = pattern.fullmatch(request.path)
            if match is not None:
                return operation, match.groupdict()
        try:
            endpoint, path_args = self._loop_routes.match(request.path, method=request.method)
        except HTTPException:         # not found, another method, a redirect: the thread's route answers it
            return None, {}
        operation = self.operations.get(endpoint)
        return (operation, path_args) if operation is not None and operation.batch_method else (None, {})

    async def _serve_batched(self, operation: Operation, path_args: dict, request: PlainRequest) -> Answer:
        with metrics.track("http", operation.rpc) as outcome:
            try:
                cookies = parse_cookie(request.cookie) if request.cookie and not request.authorization else None
                scope = self.dispatcher.authenticate(
                    operation, caller_token(request.authorization, cookies, request.csrf_token, request.method))
                if operation.http_method == "GET":
                    values = self._query_fields(operation, MultiDict(parse_qsl(request.query, keep_blank_values=True)))
                else:
                    refuse_query(name for name, _ in parse_qsl(request.query, keep_blank_values=True))
                    if len(request.body) > self.limit_of(operation):
                        raise self._too_large(self.limit_of(operation))
                    values = self._json_body(request.body, media_type(request.content_type))
                values = self._parse(operation, with_path_args(values, path_args), as_kwargs)
                return json_answer(await self.dispatcher.call_async(operation, values, scope, plain=True),
                                   headers=API_HEADERS)
            except Exception as exc:
                return error_answer(failure(exc, outcome), API_HEADERS)

    def client_address(self, request: Request) -> str:
        """The peer's address, or X-Forwarded-For's when the peer is a trusted proxy (``gateway.client_address``)."""
        return self.trusted_proxies.client_address(request.remote_addr, request.headers.get("X-Forwarded-For"))

    def prepare(self, operation: Operation, request: Request, path_args: dict) -> tuple[dict | None, Message]:
        """The caller's scope and the request message (the token is checked first)."""
        # an operation open to anyone ignores the session cookie (its CSRF check included)
        token = caller_token(request.headers.get("Authorization"), request.cookies if operation.auth else None,
                             request.headers.get(CSRF_HEADER), request.method)
        scope = self.dispatcher.authenticate(operation, token)
        return scope, self.bind(operation, request, path_args)

    def bind(self, operation: Operation, request: Request, path_args: dict) -> Message:
        if operation.upload:
            return self._bind_upload(operation, request, path_args)
        if operation.http_method == "GET":
            values = self._query_fields(operation, request.args)
        else:
            refuse_query(request.args)
            values = self._json_body(self._read_body(request, self.limit_of(operation)), request.mimetype)
        return self._parse(operation, with_path_args(values, path_args))

    @staticmethod
    def _parse(operation: Operation, values: dict, convert=to_message):
        """The request message, strictly (a key no field has is refused); with ``convert=as_kwargs`` its keyword
        arguments, without the message. json_format's complaints become UNKNOWN_FIELD / INVALID_TYPE."""
        refuse_nulls_and_choices(operation.request.DESCRIPTOR, values)
        try:
            return convert(operation.request, values, strict=True)
        except json_format.ParseError as exc:
            raise parse_error(exc) from None

    def _read_body(self, request: Request, limit: int) -> bytes:
        if request.content_length is not None and request.content_length > limit:
            raise self._too_large(limit)
        data = request.stream.read(limit + 1)
        if len(data) > limit:
            raise self._too_large(limit)
        return data

    @staticmethod
    def _too_large(limit: int) -> GatewayError:
        return too_large(limit)

    @staticmethod
    def _json_body(data: bytes, mimetype: str) -> dict:
        if not data.strip():
            return {}
        if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
            raise GatewayError("UNSUPPORTED_MEDIA_TYPE", "UNSUPPORTED_MEDIA_TYPE", f"send application/json, not {mimetype}")
        refuse_deep_json(data)
        try:
            body = _BODY_DECODER.decode(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise invalid("MALFORMED_JSON", "the body is not valid UTF-8 JSON") from None
        except RecursionError:      # not JSON the depth check could read, nested beyond Python's stack
            raise too_deep() from None
        if not isinstance(body, dict):
            raise invalid("BODY_NOT_OBJECT", "the body must be a JSON object")
        if b"\\u" in data and _SURROGATE_ESCAPE.search(data) and not _encodable(body):
            raise invalid("MALFORMED_JSON", "the body has a \\u escape of half a surrogate pair, which is no character")
        return body

    def _query_fields(self, operation: Operation, args: MultiDict) -> dict:
        fields = operation.request.DESCRIPTOR.fields_by_name
        values: dict = {}
        for name in args:
            raw_values = args.getlist(name)
            field = fields.get(name)
            if operation.download and not operation.download.inline and name == DOWNLOAD_PARAMETER:
                continue                    # not a request field: which form of the answer (``wants_file``)
            if field is None or name in operation.path_params:
                raise invalid("UNKNOWN_FIELD", f"unknown query parameter {name!r}", name)
            if len(raw_values) > 1 and not field.is_repeated:
                raise invalid("REPEATED_PARAMETER", f"query parameter {name!r} given more than once", name)
            try:
                converted = [query_value(field, raw) for raw in raw_values]
            except (ValueError, KeyError):
                raise invalid("INVALID_TYPE", f"query parameter {name!r} has the wrong type", name) from None
            values[name] = converted if field.is_repeated else converted[0]
        return values

    def _bind_upload(self, operation: Operation, request: Request, path_args: dict) -> Message:
        upload = operation.upload
        extra = [name for name in request.args if name not in (upload.format_field, *upload.query_fields)]
        if extra:
            raise invalid("UNKNOWN_FIELD", f"unknown query parameter {extra[0]!r}", extra[0])
        media = upload.media_map
        formats = set(media.values())
        # a format named in the query wins, even "" (refused as any other unknown one, as the document's enum says)
        file_format = request.args[upload.format_field] if upload.format_field in request.args \
            else media.get(request.mimetype)
        if file_format not in formats:
            accepted = f"{' or '.join(media)} (or ?{upload.format_field}={'|'.join(sorted(formats))})"
            raise GatewayError("UNSUPPORTED_MEDIA_TYPE", "UNSUPPORTED_MEDIA_TYPE", f"send the file as {accepted}",
                               upload.format_field)
        values = {name: request.args[name] for name in upload.query_fields if name in request.args}
        message = self._parse(operation, {**values, **path_args})
        setattr(message, upload.format_field, file_format)
        setattr(message, upload.content_field, self._read_body(request, self.limit_of(operation)))
        return message

    @staticmethod
    def _unrouted(reply: ErrorReply, headers: dict | None = None) -> Response:
        metrics.REQUESTS.labels("http", metrics.UNROUTED, reply.kind).inc()
        return error_response(reply, headers)

    def serve_static(self, request: Request) -> Response:
        """A page or asset (``gateway.http.pages.StaticFiles``), gzipped when the client accepts it; ``/`` and a mount
        without its slash redirect."""
        if request.path in PAGE_REDIRECTS:
            return Response(status=302, headers={"Location": PAGE_REDIRECTS[request.path]})
        if request.method not in ("GET", "HEAD"):
            return self._unrouted(ErrorReply("METHOD_NOT_ALLOWED", "METHOD_NOT_ALLOWED",
                                             f"{request.method} is not allowed on {request.path}"),
                                  {"Allow": "GET, HEAD"})
        found = self.static.find(request.path)
        if found is None:
            return self._unrouted(ErrorReply("NOT_FOUND", "ROUTE_NOT_FOUND", f"no page at {request.path}"))
        headers = {"Cache-Control": "no-cache", "ETag": f'"{found.etag}"', "Vary": "Accept-Encoding"}
        if request.if_none_match.contains(found.etag):
            return Response(status=304, headers=headers)
        body = found.body
        if found.gzipped is not None and "gzip" in request.accept_encodings:
            body, headers["Content-Encoding"] = found.gzipped, "gzip"
        return Response(body, content_type=found.content_type, headers=headers)

    def serve_session_totp(self, request: Request) -> Response:
        """The page's second login step (``VerifyLoginTotp``), answered as ``serve_session_start`` answers."""
        return self.serve_session_start(request, VERIFY_TOTP_RPC)

    def serve_session_start(self, request: Request, rpc: str = LOGIN_RPC) -> Response:
        """Log in as ``/v1/auth/login`` does (same checks, same throttling, the client's address), but answer the
        token as an HttpOnly cookie, not in the body, with a CSRF value the page sends back as X-CSRF-Token. A login
        that still needs its TOTP code answers the challenge (no cookie) for ``/v1/auth/session:totp``."""
        login = self.operations[rpc]
        with metrics.track("http", "CreateSession") as outcome:
            try:
                message = self.bind(login, request, {})
                answer = message_to_json(self.dispatcher.call(login, message, None, self.client_address(request)))
                if answer.get("next_step"):
                    challenge = json_response({name: answer.get(name) for name in CHALLENGE_FIELDS})
                    challenge.headers["Cache-Control"] = "no-store"
                    return challenge
                csrf = new_csrf_token()
                response = json_response({"account": answer["account"], "expires_in": answer["expires_in"],
                                          "csrf_token": csrf})
                for cookie in session_cookies(answer["access_token"], csrf, int(answer["expires_in"]),
                                              request.scheme == "https", answer.get("refresh_token") or "",
                                              int(answer.get("refresh_expires_in") or 0)):
                    response.headers.add("Set-Cookie", cookie)
                response.headers["Cache-Control"] = "no-store"
                return response
            except Exception as exc:
                return error_response(failure(exc, outcome))

    def serve_session_end(self, request: Request) -> Response:
        """Log out: end the session in identity (its token is refused by every gateway within seconds), then clear
        both cookies. With a session open, the CSRF header is needed (no other site may end it)."""
        with metrics.track("http", "EndSession") as outcome:
            try:
                if request.cookies.get(CSRF_COOKIE):
                    token = caller_token(None, request.cookies, request.headers.get(CSRF_HEADER), request.method)
                    if token:
                        self._end_session(token, request)
                response = json_response({})
                for cookie in cleared_cookies(request.scheme == "https"):
                    response.headers.add("Set-Cookie", cookie)
                return response
            except Exception as exc:
                return error_response(failure(exc, outcome))

    def _end_session(self, token: str, request: Request) -> None:
        """Identity's ``Logout`` for a page's session. An expired access token is first refreshed with the refresh
        cookie (the session itself lives on until ended); a revoked one has nothing left to end."""
        logout = self.operations[LOGOUT_RPC]
        try:
            try:
                scope = self.dispatcher.authenticate(logout, token)
            except ServiceError as refused:
                refresh_token = request.cookies.get(REFRESH_COOKIE)
                if getattr(refused, "code", "") != "TOKEN_EXPIRED" or not refresh_token:
                    raise
                scope = self.dispatcher.authenticate(logout, self._refreshed(refresh_token, request)["access_token"])
            self.dispatcher.call(logout, {}, scope, plain=True)
        except (GatewayError, ServiceError) as refused:
            log.info("page logout: the session was not ended in identity (%s)", getattr(refused, "code", refused))

    def _refreshed(self, refresh_token: str, request: Request) -> dict:
        """Identity's ``Refresh`` for a page's refresh cookie: the new tokens (the one given is retired)."""
        refresh = self.operations[REFRESH_RPC]
        return self.dispatcher.call(refresh, {"refresh_token": refresh_token}, None, self.client_address(request),
                                    plain=True)

    def serve_session_status(self, request: Request) -> Response:
        """Whether a page's session still holds: ``{expires_in}`` (the access token's seconds left), or 401 as any
        call would answer (TOKEN_EXPIRED, TOKEN_REVOKED...). The gateway alone answers it (the token check and the
        revocations it polls): pages ask it every few seconds to notice a session ended elsewhere."""
        with metrics.track("http", "GetSession") as outcome:
            try:
                token = caller_token(request.headers.get("Authorization"), request.cookies,
                                     request.headers.get(CSRF_HEADER), request.method)
                if not token:
                    raise Unauthenticated("this operation needs a bearer token", code="TOKEN_MISSING")
                self.dispatcher.verifier.verify(token)
                expires = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==="))["exp"]
                return json_response({"expires_in": max(0, int(expires - time.time()))})
            except Exception as exc:
                return error_response(failure(exc, outcome))

    def serve_session_refresh(self, request: Request) -> Response:
        """A page's access token has expired (401 TOKEN_EXPIRED): swap the refresh cookie for new tokens, set as
        cookies as at login (the CSRF value kept: a write another tab is sending stays valid). The CSRF header is
        needed as for any write by cookie. Refused (the session is over, or a retired refresh token was presented
        again and identity ended the whole session): 401 REFRESH_INVALID and every cookie cleared."""
        with metrics.track("http", "RefreshSession") as outcome:
            secure = request.scheme == "https"
            try:
                check_csrf(request.cookies, request.headers.get(CSRF_HEADER))
                refresh_token = request.cookies.get(REFRESH_COOKIE)
                if not refresh_token:
                    raise Unauthenticated("登录已失效，请重新登录", code="REFRESH_INVALID", field="refresh_token")
                answer = self._refreshed(refresh_token, request)
                csrf = request.cookies[CSRF_COOKIE]
                response = json_response({"account": answer["account"], "expires_in": answer["expires_in"],
                                          "csrf_token": csrf})
                for cookie in session_cookies(answer["access_token"], csrf, int(answer["expires_in"]), secure,
                                              answer["refresh_token"], int(answer["refresh_expires_in"])):
                    response.headers.add("Set-Cookie", cookie)
                return response
            except Exception as exc:
                response = error_response(failure(exc, outcome))
                if getattr(exc, "code", "") == "REFRESH_INVALID":
                    for cookie in cleared_cookies(secure):
                        response.headers.add("Set-Cookie", cookie)
                return response

    @staticmethod
    def serve_healthz(_request: Request) -> Response:
        return json_response({"status": "ok"})


def _encodable(value) -> bool:
    """Whether every string in the decoded JSON ``value`` is text UTF-8 can carry (no lone surrogate)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")


# json.loads and json.dumps with an argument build their decoder or encoder anew on every call
_BODY_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ANSWER_ENCODER = json.JSONEncoder(ensure_ascii=False)
