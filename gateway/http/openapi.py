"""The OpenAPI 3.1 document, generated from the operation table and the proto descriptors."""
from __future__ import annotations

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from gateway import limits
from gateway.http import descriptions
from gateway.http.descriptions import comment, is_map, is_optional
from gateway.operations import Operation
from gateway.http.pages import CSRF_COOKIE, SESSION_COOKIE
from protos.partybuilding.v1 import common_pb2

API_PACKAGE = "partybuilding.v1."
WELL_KNOWN = {
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
}
SCALARS = {
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "format": "uint32", "minimum": 0},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "format": "uint32", "minimum": 0},
    # 64-bit integers travel as JSON strings in proto3 JSON.
    FieldDescriptor.TYPE_INT64: {"type": ["string", "integer"], "format": "int64"},
    FieldDescriptor.TYPE_SINT64: {"type": ["string", "integer"], "format": "int64"},
    FieldDescriptor.TYPE_SFIXED64: {"type": ["string", "integer"], "format": "int64"},
    FieldDescriptor.TYPE_UINT64: {"type": ["string", "integer"], "format": "uint64"},
    FieldDescriptor.TYPE_FIXED64: {"type": ["string", "integer"], "format": "uint64"},
}
ERROR_BODY = "ErrorBody"
ERROR_STATUSES = {"400": "Invalid request (bad JSON, unknown field, wrong type, null for a field that takes none, "
                         "a value outside its enum, rule broken)",
                  "401": "No valid bearer token", "403": "Not allowed for this caller",
                  "404": "Not found, or outside the caller's tenant or subtree",
                  "408": "REQUEST_TIMEOUT: the request did not arrive whole in time",
                  "409": "Conflicts with the current state",
                  "415": "UNSUPPORTED_MEDIA_TYPE: the body is not of a media type this operation takes",
                  "422": "Understood but refused by a rule of the domain (REJECTED, or the code given)",
                  "429": "Too many requests", "431": "HEADERS_TOO_LARGE: the request line and headers are too large",
                  "500": "Internal error",
                  "503": "Unavailable for now: SERVICE_UNAVAILABLE (the service is not running) or STORE_UNAVAILABLE "
                         "(its store does not answer); Retry-After gives the seconds to wait",
                  "504": "The service did not answer in time"}
# Open operations whose service checks credentials of its own (a password, a refresh token): they answer 401 too.
CREDENTIAL_RPCS = frozenset({"Login", "Refresh"})
CREDENTIALS_REFUSED = "The credentials are refused (LOGIN_FAILED, REFRESH_INVALID, ACCOUNT_GONE...)"


SESSION_NOTE = ("A page's session: the access token in the HttpOnly pb_session cookie. An Authorization header "
                "wins over it; a request it authenticates with a method other than GET/HEAD must send X-CSRF-Token "
                "equal to the pb_csrf cookie, else 403 CSRF_FAILED.")
DOWNLOAD_NOTE = ("The file itself instead of JSON: send `?download=1`, or an Accept header naming the file's media "
                 "type (without either, or with `*/*`, the JSON form). The file answers with its media type and a "
                 "Content-Disposition carrying its Chinese name.")
DOWNLOAD_PARAMETER = {"name": "download", "in": "query", "required": False,
                      "schema": {"type": "string", "enum": ["1", "0", "true", "false"]},
                      "description": "1 (or true): answer with the file itself, not JSON"}
INLINE_NOTE = ("Over HTTP the answer is the image itself (no JSON form), shown in place: Content-Disposition "
               "inline, an ETag naming the content, Cache-Control private; a request whose If-None-Match names the "
               "ETag is answered 304 with no body. Over gRPC it is the message.")
IF_NONE_MATCH_PARAMETER = {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
                           "description": "The ETag of the copy the client holds: 304 when it is still current"}
DISPOSITION_HEADER = {"description": "With the file only: `attachment; filename=\"<ASCII fallback>\"; "
                                     "filename*=UTF-8''<the Chinese name, percent-encoded>` (RFC 6266, RFC 5987)",
                      "schema": {"type": "string"}}


def nullable(schema: dict) -> dict:
    """A scalar's ``schema`` or null."""
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    schema = {**schema, "type": [*kinds, "null"]}
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def schema_name(message: Descriptor) -> str:
    return message.full_name.removeprefix(API_PACKAGE)


class SchemaBuilder:
    def __init__(self):
        self.schemas: dict[str, dict] = {}

    def ref(self, message: Descriptor) -> dict:
        if message.full_name in WELL_KNOWN:
            return dict(WELL_KNOWN[message.full_name])
        name = schema_name(message)
        if name not in self.schemas:
            self.schemas[name] = {}
            self.schemas[name] = self.message_schema(message)
        return {"$ref": f"#/components/schemas/{name}"}

    def message_schema(self, message: Descriptor) -> dict:
        schema = {"type": "object", "properties": {name: self.field_schema(field)
                                                   for name, field in message.fields_by_name.items()},
                  "additionalProperties": False}
        if comment(message.full_name):
            schema["description"] = comment(message.full_name)
        return schema

    def field_schema(self, field: FieldDescriptor, with_description: bool = True, in_body: bool = True) -> dict:
        """``in_body``: as a JSON body holds it, where an ``optional`` scalar takes null as "not given" and every
        other field refuses it (``gateway.http.app.refuse_nulls_and_choices``)."""
        if is_map(field):
            schema = {"type": "object",
                      "additionalProperties": self.value_schema(field.message_type.fields_by_name["value"])}
        elif field.is_repeated:
            schema = {"type": "array", "items": self.value_schema(field)}
        else:
            schema = self.value_schema(field)
            if in_body and is_optional(field):
                schema = nullable(schema)
        description = comment(field.full_name) if with_description else ""
        if is_optional(field):
            description = f"{description} Optional: omit (or null) to leave it unset.".strip()
        if description:
            schema = {**schema, "description": description} if "$ref" not in schema else \
                {"allOf": [schema], "description": description}
        return schema

    def value_schema(self, field: FieldDescriptor) -> dict:
        if field.message_type is not None:
            return self.ref(field.message_type)
        if field.enum_type is not None:
            return {"type": "string", "enum": [value.name for value in field.enum_type.values]}
        schema = dict(SCALARS[field.type])
        allowed = descriptions.choices(field)
        if allowed is not None:
            schema["enum"] = allowed
        return schema


def build_openapi(operations: tuple[Operation, ...]) -> dict:
    builder = SchemaBuilder()
    error_ref = builder.ref(common_pb2.Error.DESCRIPTOR)
    builder.schemas[ERROR_BODY] = {"type": "object", "required": ["error", "request_id"],
                                   "properties": {"error": error_ref, "request_id": {
                                       "type": "string", "description": "The request's id, as its X-Request-Id "
                                                                        "header and the gateway's log lines name it"}},
                                   "additionalProperties": False,
                                   "description": "Every error answer: {\"error\": Error, \"request_id\": ...}."}
    paths: dict[str, dict] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.http_method.lower()] = operation_object(builder, op)
    login = next((op for op in operations if op.path == "/v1/auth/login"), None)
    if login is not None:
        paths.update(session_paths(builder, login))
    apis = dict.fromkeys(op.api for op in operations)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Smart party-building (智慧党建) API", "version": "v1",
                 "description": "HTTP/JSON face of the platform's gRPC API: the same operations and messages "
                                "(protos/partybuilding/v1). Field names are snake_case; every field is shown "
                                "in answers. Errors answer {\"error\": {code, message, field, details}, "
                                "\"request_id\": ...}."},
        "tags": [{"name": api.removeprefix(API_PACKAGE), "description": comment(api)} for api in apis],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(builder.schemas.items())),
            "responses": {"Error": {"description": "An error",
                                    "content": {"application/json": {
                                        "schema": {"$ref": f"#/components/schemas/{ERROR_BODY}"}}}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                           "description": "The access_token from POST /v1/auth/login"},
                                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                                            "description": SESSION_NOTE}},
        },
    }


def session_paths(builder: SchemaBuilder, login: Operation) -> dict:
    """The pages' login and logout (``gateway.http.pages``): HTTP only, no rpc of their own."""
    errors = {status: {"$ref": "#/components/responses/Error", "description": text}
              for status, text in ERROR_STATUSES.items() if status not in ("404", "409", "422")}
    ended = {status: answer for status, answer in errors.items() if status != "415"}     # its body is never read
    errors["401"] = {"$ref": "#/components/responses/Error", "description": CREDENTIALS_REFUSED}
    cookies = {"Set-Cookie": {"description": f"{SESSION_COOKIE} (HttpOnly), {CSRF_COOKIE} and pb_refresh (HttpOnly, "
                                             "Path=/v1/auth/); SameSite=Strict, Secure over TLS",
                              "schema": {"type": "string"}}}
    started = {"type": "object", "required": ["account", "expires_in", "csrf_token"], "additionalProperties": False,
               "properties": {"account": builder.ref(login.response.DESCRIPTOR.fields_by_name["account"].message_type),
                              "expires_in": {"type": "integer", "description": "Seconds the session lasts"},
                              "csrf_token": {"type": "string", "description": "What X-CSRF-Token must carry "
                                                                                "(also the pb_csrf cookie)"}}}
    tag = [login.api.removeprefix(API_PACKAGE)]
    return {
        "/v1/auth/session": {"post": {
            "operationId": "CreateSession", "tags": tag, "security": [], "parameters": [],
            "summary": "Log in for the pages: the token as an HttpOnly cookie, never in the answer",
            "description": f"Logs in as POST /v1/auth/login does (same checks and throttling). {SESSION_NOTE}",
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": builder.ref(login.request.DESCRIPTOR)}}},
            "responses": {"200": {"description": "Logged in", "headers": cookies,
                                  "content": {"application/json": {"schema": started}}}, **errors,
                          "413": too_large_response(login)}},
                             "get": {
            "operationId": "GetSession", "tags": tag, "security": [{"session": []}, {"bearer": []}], "parameters": [],
            "summary": "Whether the caller's session still holds, and its access token's seconds left",
            "description": "Answered by the gateway alone (the token and the revocations it polls), for pages to "
                           "notice within seconds a session ended elsewhere. 401 as any call: TOKEN_EXPIRED (refresh), "
                           "TOKEN_REVOKED, TOKEN_MISSING.",
            "responses": {"200": {"description": "The session holds", "content": {"application/json": {"schema": {
                "type": "object", "required": ["expires_in"], "additionalProperties": False,
                "properties": {"expires_in": {"type": "integer",
                                              "description": "Seconds the access token has left"}}}}}},
                          **{status: answer for status, answer in errors.items()
                             if status in ("401", "429", "431", "500", "503")}}}},
        "/v1/auth/session:end": {"post": {
            "operationId": "EndSession", "tags": tag, "security": [{"session": []}], "parameters": [],
            "summary": "Log out of the pages: clears both cookies (with a session, X-CSRF-Token is needed)",
            "responses": {"200": {"description": "Logged out", "headers": cookies,
                                  "content": {"application/json": {"schema": {"type": "object"}}}}, **ended,
                          "413": too_large_response(None)}}},
        "/v1/auth/session:refresh": {"post": {
            "operationId": "RefreshSession", "tags": tag, "security": [{"session": []}], "parameters": [],
            "summary": "A page's new access token from its pb_refresh cookie (after 401 TOKEN_EXPIRED)",
            "description": "Swaps the HttpOnly pb_refresh cookie (Path=/v1/auth/) for new pb_session and pb_refresh "
                           "cookies, as Refresh does; X-CSRF-Token is needed. 401 REFRESH_INVALID (the session is "
                           "over, or a retired refresh token was presented again) clears every cookie.",
            "responses": {"200": {"description": "Refreshed", "headers": cookies,
                                  "content": {"application/json": {"schema": started}}},
                          **{status: answer for status, answer in errors.items() if status != "415"},
                          "413": too_large_response(None)}}},
    }


def operation_object(builder: SchemaBuilder, op: Operation) -> dict:
    fields = op.request.DESCRIPTOR.fields_by_name
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": builder.field_schema(fields[name], with_description=False, in_body=False),
                   "description": comment(fields[name].full_name)} for name in op.path_params]
    body = None
    if op.upload:
        parameters.append({"name": op.upload.format_field, "in": "query", "required": False,
                           "schema": {"type": "string", "enum": sorted(set(op.upload.media_map.values()))},
                           "description": "The file's format when the Content-Type does not say it"})
        parameters += [{"name": name, "in": "query", "required": False,
                        "schema": builder.field_schema(fields[name], with_description=False, in_body=False),
                        "description": comment(fields[name].full_name)} for name in op.upload.query_fields]
        body = {"required": True, "description": "The file itself",
                "content": {media: {"schema": {"type": "string", "format": "binary"}}
                            for media in op.upload.media_map}}
    elif op.http_method == "GET":
        parameters += [{"name": name, "in": "query", "required": False,
                        "schema": builder.field_schema(field, with_description=False, in_body=False),
                        "description": comment(field.full_name)}
                       for name, field in fields.items() if name not in op.path_params]
    else:
        body = {"required": False, "content": {"application/json": {"schema": builder.ref(op.request.DESCRIPTOR)}}}
    responses = {"200": {"description": comment(op.response.DESCRIPTOR.full_name) or "OK",
                         "content": {"application/json": {"schema": builder.ref(op.response.DESCRIPTOR)}}}}
    if op.download and op.download.inline:
        parameters.append(dict(IF_NONE_MATCH_PARAMETER))
        binary = {"schema": {"type": "string", "format": "binary"}}
        responses["200"]["description"] += f" {INLINE_NOTE}"
        responses["200"]["content"] = {media: dict(binary) for media in op.download.all_media_types}
        responses["200"]["headers"] = {name: {"schema": {"type": "string"}, "description": text} for name, text in (
            ("Content-Disposition", "`inline; filename=\"<file name>\"; filename*=UTF-8''<file name>`"),
            ("ETag", "The content's SHA-256, quoted"),
            ("Cache-Control", f"`private, max-age={op.download.max_age}`"))}
        responses["304"] = {"description": "Not modified: If-None-Match named the current ETag"}
    elif op.download:
        parameters.append(dict(DOWNLOAD_PARAMETER))
        responses["200"]["description"] += f" {DOWNLOAD_NOTE}"
        responses["200"]["content"][op.download.media_type] = {"schema": {"type": "string", "format": "binary"}}
        responses["200"]["headers"] = {"Content-Disposition": DISPOSITION_HEADER}
    responses.update(error_responses(op))
    operation = {"operationId": op.rpc, "summary": op.summary,
                 "description": comment(f"{op.api}.{op.rpc}") or op.summary,
                 "tags": [op.api.removeprefix(API_PACKAGE)],
                 "security": [{"bearer": []}] if op.auth else [],
                 "parameters": parameters, "responses": responses}
    if body:
        operation["requestBody"] = body
    return operation


def error_statuses(op: Operation) -> list[str]:
    """Every error status ``op`` can answer over HTTP: a token refused (an operation needing one, or one checking
    credentials itself), a body of another media type (a JSON body or a file), and the rest for every operation (the
    server answers 408, 413 and 431 before any operation is chosen)."""
    statuses = set(ERROR_STATUSES) | {"413"}
    if not op.auth and op.rpc not in CREDENTIAL_RPCS:
        statuses.discard("401")
    if op.http_method == "GET" and not op.upload:
        statuses.discard("415")
    return sorted(statuses)


def error_responses(op: Operation) -> dict:
    responses = {}
    for status in error_statuses(op):
        if status == "413":
            responses[status] = too_large_response(op)
            continue
        text = CREDENTIALS_REFUSED if status == "401" and not op.auth else ERROR_STATUSES[status]
        responses[status] = {"$ref": "#/components/responses/Error", "description": text}
    return responses


def too_large_response(op: Operation | None) -> dict:
    limit = limits.body_limit(op.rpc if op is not None else None)
    return {"$ref": "#/components/responses/Error",
            "description": f"BODY_TOO_LARGE: the body is over {limits.described(limit)} ({limit} bytes)"}
