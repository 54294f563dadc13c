"""Refusal checks shared by the scope-refusal tests and the end-to-end refusal matrix.

``refused_by(call)``: the error a refused call raises (a call that answers fails the test). ``refusal_table``:
the loop the per-service integration tests share, each (caller, operation) refused with its error type and code.

For the matrix (tests/e2e/test_refusal_matrix.py): ``Entry`` (one operation's request against a seeded world and the
code each kind of caller is refused with), ``resolve`` (a request's ``@name`` references filled from the world),
``expired_token`` (a real caller's token, signed with the test keys, past its expiry), ``send`` (one request over
HTTP or gRPC, answered as ``Outcome``) and ``store_fingerprint`` (each service database's documents, counted and
hashed per collection, to show a run of refusals changed nothing).
"""
from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from typing import Callable

import bson
import grpc
import pymongo
import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from servicekit.security.tokens import TokenSigner, TokenVerifier


def refused_by(call: Callable[[], object], error_type: type[Exception] = Exception) -> Exception:
    """The error ``call`` raises; it must raise."""
    with pytest.raises(error_type) as refused:
        call()
    return refused.value


def refusal_table(callers: dict[str, dict], calls: dict[str, tuple[dict, str]], refuse, error_type) -> None:
    """Every caller (name → scope) refused every call (method → (kwargs, code)) with ``error_type`` and its code;
    ``refuse(scope, method, kwargs)`` returns the error a refused call raised."""
    for who, scope in callers.items():
        for method, (kwargs, code) in calls.items():
            refused = refuse(scope, method, kwargs)
            assert (type(refused), refused.code) == (error_type, code), (who, method, refused)


# --- the matrix ------------------------------------------------------------------------------------------------

OK = "ok"           # the caller kind may do this: not part of the refusal matrix
GRPC_STATUS = {401: grpc.StatusCode.UNAUTHENTICATED, 403: grpc.StatusCode.PERMISSION_DENIED,
               404: grpc.StatusCode.NOT_FOUND, 409: grpc.StatusCode.FAILED_PRECONDITION}


def http_status_of(code: str) -> int:
    """The status a refusal code answers with: a ``*_NOT_FOUND`` 404, a token's refusal 401, any other 403."""
    if code.endswith("NOT_FOUND"):
        return 404
    if code.startswith("TOKEN_"):
        return 401
    return 403


@dataclass(frozen=True)
class Entry:
    """One operation in the matrix: ``fields`` over the operation's contract sample (``@name`` values name objects
    of the seeded world) and, per scope kind, the code refusing it, or ``OK`` where that kind may do it."""
    fields: dict = field(default_factory=dict)
    codes: dict = field(default_factory=dict)


def resolve(value, world: dict):
    """``value`` with every ``"@name"`` string replaced by ``world[name]`` (recursively)."""
    if isinstance(value, str) and value.startswith("@"):
        return world[value[1:]]
    if isinstance(value, dict):
        return {key: resolve(item, world) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, world) for item in value]
    return value


def request_for(sample: dict, entry: Entry, world: dict) -> dict:
    return {**copy.deepcopy(sample), **resolve(entry.fields, world)}


def expired_token(token: str) -> str:
    """The same caller's token, signed with the test keys, expired a minute ago (its other claims all valid)."""
    return TokenSigner(lifetime_seconds=-60).issue(TokenVerifier().verify(token))


@dataclass(frozen=True)
class Outcome:
    status: object              # the HTTP status or the grpc.StatusCode; 200 / OK for an answer
    code: str
    message: str = ""
    field: str | None = None

    @property
    def shape(self) -> tuple:
        """What an outsider sees of a refusal: an object out of its reach must look like one that exists nowhere."""
        return self.status, self.code, self.message, self.field


def send(protocol: str, target: str, rpc: str, request: dict, token: str | None) -> Outcome:
    """One request over ``protocol`` (http | grpc) to the gateway at ``target`` (a URL or host:port)."""
    try:
        if protocol == "http":
            HttpClient(target, timeout=30).call(rpc, request, token=token)
        else:
            with GrpcClient(target, timeout=30) as client:
                client.call(rpc, request, token=token)
    except ApiError as error:
        return Outcome(error.status, error.code, error.message, error.field)
    except ValueError:          # an answer that is a file (a photo), not JSON: answered all the same
        pass
    return Outcome(200 if protocol == "http" else grpc.StatusCode.OK, "ANSWERED")


def expected_status(protocol: str, code: str):
    status = http_status_of(code)
    return status if protocol == "http" else GRPC_STATUS[status]


def store_fingerprint(mongo_uri: str, prefix: str, skip: frozenset[str], tenants: list[str]) -> dict:
    """(database, collection) → (count, SHA-256) of the given tenants' documents in the session's service
    databases; ``skip`` names collections left out (as ``collection`` or ``database.collection``). Documents with no
    tenant (relay leases, processed event ids, nonces) are bookkeeping shared with every other test's tenants, whose
    late events may still be arriving: left out too."""
    selector = {"tenant_id": {"$in": tenants}}
    prints = {}
    with pymongo.MongoClient(mongo_uri) as client:
        for database in sorted(name for name in client.list_database_names() if name.startswith(prefix + "_")):
            for collection in sorted(client[database].list_collection_names()):
                service_db = database[len(prefix) + 1:]
                if collection in skip or f"{service_db}.{collection}" in skip or collection.startswith("system."):
                    continue
                digest, count = hashlib.sha256(), 0
                for document in client[database][collection].find(selector).sort("_id", 1):
                    digest.update(bson.encode(document))
                    count += 1
                prints[(service_db, collection)] = (count, digest.hexdigest()[:16])
    return prints


def changed(before: dict, after: dict) -> dict:
    """The collections whose fingerprint differs, with both fingerprints."""
    return {key: (before.get(key), after.get(key)) for key in set(before) | set(after)
            if before.get(key) != after.get(key)}


def audit_outcomes(mongo_uri: str, prefix: str, tenants: list[str]) -> dict[str, str]:
    """Every audit entry of the given tenants, across the session's service databases: "database/id operation" →
    its outcome ("ok" or the refusal's code)."""
    outcomes = {}
    with pymongo.MongoClient(mongo_uri) as client:
        for database in (name for name in client.list_database_names() if name.startswith(prefix + "_")):
            for entry in client[database]["audit_log"].find({"tenant_id": {"$in": tenants}}):
                content = entry.get("content") if isinstance(entry.get("content"), dict) else {}
                outcomes[f"{database}/{entry['_id']} {content.get('operation')}"] = \
                    content.get("outcome") or repr(entry)[:400]
    return outcomes
