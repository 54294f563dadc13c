"""Schemathesis against the running platform's own /openapi.json: every operation, with the token of a city admin
of a tenant made for this test and without a token, answers no 5xx and only what the document says (its status,
its media type, a body matching its schema).

The run is bounded (FUZZ_EXAMPLES valid and FUZZ_NEGATIVE_EXAMPLES invalid requests per operation) and
derandomized, so CI sees the same requests every run. Every failure of every operation is collected and shown
together, each with a curl command that repeats it.
"""
from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.control import SkipTest
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)
from schemathesis.checks import not_a_server_error

from gateway.client import HttpClient
from tests.support.identity import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]       # the platform's start and ~1,000 requests

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
NEGATIVE_EXAMPLES = int(os.environ.get("FUZZ_NEGATIVE_EXAMPLES", "1"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The gateway's refusals of a request its document does not describe (a type, a field, a value outside an enum, a
# null, a media type): a request generated as valid from the document must never get one, else the document drifts.
MALFORMED = {"INVALID_TYPE", "UNKNOWN_FIELD", "UNKNOWN_VALUE", "MALFORMED_JSON", "BODY_NOT_OBJECT", "REPEATED_PARAMETER",
             "UNSUPPORTED_MEDIA_TYPE"}
# Fuzzed requests come "from" a documentation address through the trusted proxy (tests/e2e/conftest.py), so the
# failed logins they make are throttled there and never against the address other tests log in from.
FUZZ_CLIENT = {"X-Forwarded-For": "198.51.100.77"}
# Operations that end the caller's own session or touch its password run with a spare account's token, so the
# admin's token stays good for the rest of the run.
SPARE_ACCOUNT_OPERATIONS = {"Logout", "ChangePassword", "RevokeSession"}
# Operations whose fuzzed requests would remove the objects other operations are pointed at.
KEEP_RANDOM_IDS = {"DELETE"}


@pytest.fixture(scope="module")
def platform(gateway_process, attendance_service, scoring_service, content_service, volunteer_service):
    """The gateway with every service behind it, so no operation answers 503 for a missing service."""
    return gateway_process


@pytest.fixture(scope="module")
def fuzz_city(platform, operator_password) -> dict:
    operator = HttpClient(platform.http_url)
    operator.login("", "operator", operator_password)
    code = f"fuzz-{uuid.uuid4().hex[:8]}"
    created = operator.call("CreateTenant", {"code": code, "name": "模糊测试市", "admin_username": "admin",
                                             "admin_password": PASSWORD})
    admin = HttpClient(platform.http_url)
    admin.login(code, "admin", PASSWORD)
    root = created["root_org"]["id"]
    county = admin.call("CreateOrg", {"parent_id": root, "name": "测试区", "kind": "county"})
    branch = admin.call("CreateOrg", {"parent_id": county["id"], "name": "测试区机关支部", "kind": "branch",
                                      "field": "government"})
    admin.call("CreateAccount", {"username": "spare", "password": PASSWORD, "role": "org_admin", "org_id": root})
    return {"code": code, "admin": admin, "http_url": platform.http_url,
            "known": {"org_id": [root, county["id"], branch["id"]], "parent_id": [root, county["id"]],
                      "branch_id": [branch["id"]], "tenant_code": [code]}}


@pytest.fixture(scope="module")
def schema(platform):
    with urllib.request.urlopen(f"{platform.admin_url}/openapi.json", timeout=30) as answer:
        return schemathesis.openapi.from_dict(json.loads(answer.read()))


def malformed_refusal(response) -> str | None:
    """``"<code>: <message>"`` of a refusal in MALFORMED, else None."""
    if response.status_code not in (400, 415):
        return None
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return None
    return f"{error['code']}: {error.get('message')}" if error.get("code") in MALFORMED else None


class Fuzzer:
    def __init__(self, schema, city: dict):
        self.schema, self.city = schema, city
        self.base_url = city["http_url"]
        self.session = requests.Session()
        self.failures: dict[str, str] = {}
        self.statuses: dict[int, int] = {}
        self.skipped: list[str] = []
        self.by_operation: dict[str, list[int]] = {}
        self.seconds: dict[str, float] = {}
        self.refused_token = False

    def token(self, rpc: str | None) -> str:
        if rpc in SPARE_ACCOUNT_OPERATIONS:
            return HttpClient(self.base_url).login(self.city["code"], "spare", PASSWORD)["access_token"]
        admin = self.city["admin"]
        if self.refused_token:          # an operation fuzzed before may have ended it: log in again if so
            self.refused_token = False
            try:
                admin.call("GetMe")
            except Exception:  # noqa: BLE001 - whatever ended it, a new login is the answer
                admin.login(self.city["code"], "admin", PASSWORD)
        return admin.token

    def run(self, mode: GenerationMode, examples: int, with_token: bool) -> None:
        for result in self.schema.get_all_operations():
            operation = result.ok()
            rpc = operation.definition.raw.get("operationId")
            headers = dict(FUZZ_CLIENT)
            if with_token:
                headers["Authorization"] = f"Bearer {self.token(rpc)}"
            known = {} if operation.method.upper() in KEEP_RANDOM_IDS else self.city["known"]
            self.fuzz(operation, mode, examples, headers, known)

    def fuzz(self, operation, mode: GenerationMode, examples: int, headers: dict, known: dict) -> None:
        label = f"{operation.method.upper()} {operation.path} ({mode.value})"

        @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate], verbosity=Verbosity.quiet,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode), pick=st.integers(0, 5))
        def one(case, pick):
            # half the requests name the tenant's real objects, so the services behind the ids are reached too
            for name in case.path_parameters or {}:
                if name in known and pick % 2 == 0:
                    case.path_parameters[name] = known[name][pick // 2 % len(known[name])]
            if "Authorization" in headers:      # invalid data, not an invalid token: that is the other test's
                case.headers = {**(case.headers or {}), "Authorization": headers["Authorization"]}
            response = case.call(base_url=self.base_url, session=self.session, headers=headers, timeout=60)
            self.session.cookies.clear()        # a page login must not turn later requests into a session's
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
            self.by_operation.setdefault(label, []).append(response.status_code)
            self.refused_token |= response.status_code == 401
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except FailureGroup as group:
                self.failures.setdefault(label, str(group))
            refusal = malformed_refusal(response) if mode == GenerationMode.POSITIVE else None
            if refusal:
                self.failures.setdefault(label, f"valid by the document, refused as {refusal}\n"
                                                f"    {case.as_curl_command(headers=headers)}")

        started = time.monotonic()
        try:
            one()
        except (SkipTest, Unsatisfiable):        # nothing invalid to send (an operation without parameters)
            self.skipped.append(label)
        except Exception as error:  # noqa: BLE001 - a request that could not be sent or read fails the run too
            self.failures.setdefault(label, f"{type(error).__name__}: {error}")
        self.seconds[label] = time.monotonic() - started

    def report(self) -> str:
        return "\n".join(f"==== {label}\n{text}" for label, text in sorted(self.failures.items()))


def test_every_operation_with_a_token_answers_as_documented_and_never_5xx(schema, fuzz_city):
    fuzzer = Fuzzer(schema, fuzz_city)
    started = time.monotonic()
    fuzzer.run(GenerationMode.POSITIVE, EXAMPLES, with_token=True)
    fuzzer.run(GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES, with_token=True)
    print(f"fuzzed with a token in {time.monotonic() - started:.0f} s; statuses {sorted(fuzzer.statuses.items())}")
    for status in (401, 415):
        print(f"{status} with a token:", [label for label, codes in fuzzer.by_operation.items() if status in codes])
    print("slowest:", [(label, round(seconds, 1)) for label, seconds in
                       sorted(fuzzer.seconds.items(), key=lambda item: -item[1])[:5]])
    assert sum(fuzzer.statuses.values()) > len(schema.raw_schema["paths"])
    assert not fuzzer.failures, f"{len(fuzzer.failures)} operations answered outside the document:\n" \
                                f"{fuzzer.report()}"


def test_every_operation_without_a_token_answers_as_documented_and_never_5xx(schema, fuzz_city):
    fuzzer = Fuzzer(schema, fuzz_city)
    started = time.monotonic()
    fuzzer.run(GenerationMode.POSITIVE, NEGATIVE_EXAMPLES, with_token=False)
    print(f"fuzzed without a token in {time.monotonic() - started:.0f} s; statuses {sorted(fuzzer.statuses.items())}")
    assert fuzzer.statuses.get(401, 0) > 0
    assert not fuzzer.failures, f"{len(fuzzer.failures)} operations answered outside the document:\n" \
                                f"{fuzzer.report()}"
