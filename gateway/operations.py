"""The operation table: every API operation, once, for HTTP, gRPC, OpenAPI and /docs.

A row names an rpc of a proto service, its HTTP method and path (``{field}`` binds a
request field), the nameko method that carries it out, whether it needs a token
and a one-line summary. Request and response types come from the proto service.
To add a service: write its .proto, then one ``api_operations(...)`` block below.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from protos.partybuilding.v1 import identity_pb2

PATH_PARAM = re.compile(r"\{(\w+)\}")
UPLOAD_MEDIA_TYPES = {
    "text/csv": "csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}


@dataclass(frozen=True)
class Upload:
    """The HTTP body is a raw file: it fills content_field, its type fills format_field."""
    content_field: str = "content"
    format_field: str = "format"


FILE_UPLOAD = Upload()
PUBLIC = False


@dataclass(frozen=True)
class Row:
    rpc: str
    http_method: str
    path: str
    method: str
    auth: bool = True
    summary: str = ""
    upload: Upload | None = None


@dataclass(frozen=True)
class Operation:
    rpc: str
    api: str                       # full name of the proto service, e.g. partybuilding.v1.IdentityApi
    request: type[Message]
    response: type[Message]
    http_method: str
    path: str
    service: str                   # nameko service name
    method: str                    # nameko method name
    auth: bool
    summary: str
    upload: Upload | None = None

    @property
    def grpc_path(self) -> str:
        return f"/{self.api}/{self.rpc}"

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(PATH_PARAM.findall(self.path))


def api_operations(api: ServiceDescriptor, service: str, rows: list[Row]) -> tuple[Operation, ...]:
    """Bind rows to a proto service: every rpc needs exactly one row, every row an rpc."""
    by_rpc = {row.rpc: row for row in rows}
    if len(by_rpc) != len(rows) or set(by_rpc) != set(api.methods_by_name):
        raise ValueError(f"{api.full_name}: rows {sorted(by_rpc)} do not match rpcs {sorted(api.methods_by_name)}")
    operations = []
    for method in api.methods:
        row = by_rpc[method.name]
        request, response = GetMessageClass(method.input_type), GetMessageClass(method.output_type)
        if "scope" in request.DESCRIPTOR.fields_by_name:
            raise ValueError(f"{row.rpc}: 'scope' is reserved for the caller's scope")
        for name in PATH_PARAM.findall(row.path):
            if name not in request.DESCRIPTOR.fields_by_name:
                raise ValueError(f"{row.rpc}: path parameter {name} is not a field of {request.DESCRIPTOR.name}")
        operations.append(Operation(row.rpc, api.full_name, request, response, row.http_method, row.path,
                                    service, row.method, row.auth, row.summary, row.upload))
    return tuple(operations)


IDENTITY = api_operations(identity_pb2.DESCRIPTOR.services_by_name["IdentityApi"], "identity", [
    #   rpc                  HTTP      path                                         nameko method           auth
    Row("Login",              "POST",   "/v1/auth/login",                            "login",                PUBLIC,
        summary="Log in with tenant code, username and password; get a bearer token"),
    Row("CreateTenant",       "POST",   "/v1/tenants",                               "create_tenant",
        summary="Create a tenant with its root organisation and admin (operator only)"),
    Row("GetMe",              "GET",    "/v1/me",                                    "get_me",
        summary="The calling account, its member record and its organisations"),
    Row("GetOrg",             "GET",    "/v1/orgs/{org_id}",                         "get_org",
        summary="Read one organisation"),
    Row("ListSubtree",        "GET",    "/v1/orgs/{org_id}/subtree",                 "list_subtree",
        summary="List an organisation and the nodes below it"),
    Row("CreateOrg",          "POST",   "/v1/orgs",                                  "create_org",
        summary="Create an organisation under a parent"),
    Row("UpdateOrg",          "PATCH",  "/v1/orgs/{org_id}",                         "update_org",
        summary="Rename or reclassify an organisation"),
    Row("MoveOrg",            "POST",   "/v1/orgs/{org_id}:move",                    "move_org",
        summary="Move an organisation and its subtree under another parent"),
    Row("DissolveOrg",        "DELETE", "/v1/orgs/{org_id}",                         "dissolve_org",
        summary="Dissolve an empty organisation"),
    Row("CreateMember",       "POST",   "/v1/members",                               "create_member",
        summary="Register a member in a branch"),
    Row("GetMember",          "GET",    "/v1/members/{member_id}",                   "get_member",
        summary="Read one member"),
    Row("UpdateMember",       "PATCH",  "/v1/members/{member_id}",                   "update_member",
        summary="Correct a member's data"),
    Row("RemoveMember",       "DELETE", "/v1/members/{member_id}",                   "remove_member",
        summary="Remove a member from the register"),
    Row("ListMembers",        "GET",    "/v1/orgs/{org_id}/members",                 "list_members",
        summary="List the members of an organisation's subtree"),
    Row("ChangeMemberStatus", "POST",   "/v1/members/{member_id}:change-status",     "change_member_status",
        summary="Advance a member to the next political status"),
    Row("CreateAccount",      "POST",   "/v1/accounts",                              "create_account",
        summary="Create a login account with one role"),
    Row("RequestTransfer",    "POST",   "/v1/transfers",                             "request_transfer",
        summary="Ask to move a member to another branch"),
    Row("AcceptTransfer",     "POST",   "/v1/transfers/{transfer_id}:accept",        "accept_transfer",
        summary="Accept a pending transfer"),
    Row("RejectTransfer",     "POST",   "/v1/transfers/{transfer_id}:reject",        "reject_transfer",
        summary="Reject a pending transfer with a reason"),
    Row("ListTransfers",      "GET",    "/v1/orgs/{org_id}/transfers",               "list_transfers",
        summary="List transfers leaving or entering an organisation's subtree"),
    Row("ImportOrgs",         "POST",   "/v1/orgs/{parent_id}/org-imports",          "import_orgs",
        summary="Import organisations from a CSV or XLSX file", upload=FILE_UPLOAD),
    Row("ImportMembers",      "POST",   "/v1/orgs/{org_id}/member-imports",          "import_members",
        summary="Import members from a CSV or XLSX file", upload=FILE_UPLOAD),
])

# ATTENDANCE: the attendance service's block (replaced by its api_operations block).
ATTENDANCE: tuple[Operation, ...] = ()

# SCORING: the scoring service's block (replaced by its api_operations block).
SCORING: tuple[Operation, ...] = ()

OPERATIONS: tuple[Operation, ...] = (*IDENTITY, *ATTENDANCE, *SCORING)


def index(operations: tuple[Operation, ...]) -> dict[str, Operation]:
    by_rpc = {op.rpc: op for op in operations}
    if len(by_rpc) != len(operations):
        raise ValueError("rpc names must be unique across the gateway's operations")
    return by_rpc


BY_RPC = index(OPERATIONS)
API_NAMES: tuple[str, ...] = tuple(dict.fromkeys(op.api for op in OPERATIONS))
