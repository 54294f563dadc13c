import base64

import pytest
from google.protobuf import json_format

from gateway.operations import BY_RPC, OPERATIONS, Row, api_operations
from protos.partybuilding.v1 import identity_pb2
from tests.unit.gateway.audit_samples import unmarked, without_request_id
from tests.unit.gateway.conftest import http_call
from tests.unit.gateway.samples import CALLER, REQUESTS, RESULTS, request_for

IDENTITY_API = identity_pb2.DESCRIPTOR.services_by_name["IdentityApi"]
RPCS = [op.rpc for op in OPERATIONS]


def expected_answer(op) -> dict:
    message = json_format.ParseDict(RESULTS[op.method], op.response(), ignore_unknown_fields=True)
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def test_every_rpc_of_the_identity_api_has_exactly_one_row():
    assert {op.rpc for op in OPERATIONS if op.api == IDENTITY_API.full_name} == set(IDENTITY_API.methods_by_name)
    assert set(REQUESTS) == set(RPCS)


def test_a_table_missing_an_rpc_is_refused():
    with pytest.raises(ValueError, match="do not match"):
        api_operations(IDENTITY_API, "identity", [Row("Login", "POST", "/v1/auth/login", "login")])


OPEN_OPERATIONS = ["Login", "RegisterCitizen", "Refresh", "VerifyLoginTotp", "ListOpenCommunities", "PlaceGuestOrder", "GetTrackedOrder",
                   "CancelTrackedOrder", "ConfirmTrackedOrder", "DisputeTrackedOrder"]


def test_only_login_its_second_step_refresh_a_citizens_registration_and_a_guests_order_are_open_without_a_token():
    assert [op.rpc for op in OPERATIONS if not op.auth] == OPEN_OPERATIONS
    # each is sent the caller's address, the one thing that tells two anonymous callers apart
    assert all(op.client_address for op in OPERATIONS if not op.auth)


@pytest.mark.parametrize("rpc", RPCS)
def test_every_operation_is_reachable_over_http(rpc, http, backend, token):
    op = BY_RPC[rpc]
    response = http_call(http, op, request_for(rpc), token)
    assert response.status_code == 200, response.get_data(as_text=True)
    if op.download and op.download.inline:          # an image shown in place: the file itself, never JSON
        assert response.get_data() == base64.b64decode(RESULTS[op.method][op.download.content_field])
    else:
        assert response.get_json() == expected_answer(op)
    [call] = backend.calls
    assert (call.service, call.method) == (op.service, op.method)


@pytest.mark.parametrize("rpc", RPCS)
def test_every_operation_is_reachable_over_grpc(rpc, grpc_client, backend, token):
    op = BY_RPC[rpc]
    assert grpc_client.call(rpc, request_for(rpc), token) == expected_answer(op)
    [call] = backend.calls
    assert (call.service, call.method) == (op.service, op.method)


@pytest.mark.parametrize("rpc", RPCS)
def test_both_protocols_send_the_service_the_same_keyword_arguments(rpc, http, grpc_client, backend, token):
    http_call(http, BY_RPC[rpc], request_for(rpc), token)
    grpc_client.call(rpc, request_for(rpc), token)
    over_http, over_grpc = backend.calls
    assert without_request_id(over_http.kwargs) == without_request_id(over_grpc.kwargs)


@pytest.mark.parametrize("rpc", [rpc for rpc in RPCS if BY_RPC[rpc].auth])
def test_the_scope_passed_to_the_service_is_the_tokens_claims(rpc, http, grpc_client, backend, token):
    http_call(http, BY_RPC[rpc], request_for(rpc), token)
    grpc_client.call(rpc, request_for(rpc), token)
    assert [unmarked(call.kwargs["scope"]) for call in backend.calls] == [CALLER, CALLER]


def test_login_is_sent_without_a_scope_and_with_the_callers_address(http, backend):
    http_call(http, BY_RPC["Login"], request_for("Login"))
    assert backend.calls[0].kwargs == {"tenant_code": "xa", "username": "admin", "password": "s3cret!",
                                       "client_address": "127.0.0.1"}


def test_an_update_sends_only_the_fields_that_were_set(http, backend, token):
    http_call(http, BY_RPC["UpdateOrg"], {"org_id": "org-1", "name": "新名称"}, token)
    kwargs = backend.calls[0].kwargs
    assert {**kwargs, "scope": unmarked(kwargs["scope"])} == {"org_id": "org-1", "name": "新名称", "scope": CALLER}


def test_an_update_can_set_a_field_to_its_zero_value(http, backend, token):
    http_call(http, BY_RPC["UpdateMember"], {"member_id": "mem-1", "mobile": False, "education": ""}, token)
    kwargs = backend.calls[0].kwargs
    assert {**kwargs, "scope": unmarked(kwargs["scope"])} == {"member_id": "mem-1", "mobile": False, "education": "",
                                                              "scope": CALLER}


def test_a_new_member_without_status_leaves_the_services_default(http, backend, token):
    request = request_for("CreateMember")
    del request["status"]
    http_call(http, BY_RPC["CreateMember"], request, token)
    kwargs = backend.calls[0].kwargs
    assert "status" not in kwargs and "enrolment" not in kwargs
    assert kwargs["status_dates"] == {"applicant": "2024-01-02"} and kwargs["mobile"] is False


def test_the_mobile_filter_is_sent_only_when_given(http, backend, token):
    http.get("/v1/orgs/org-city/members", headers={"Authorization": f"Bearer {token}"})
    http.get("/v1/orgs/org-city/members?mobile=true", headers={"Authorization": f"Bearer {token}"})
    without, with_filter = (call.kwargs for call in backend.calls)
    assert "mobile" not in without and with_filter["mobile"] is True


def test_plain_fields_are_always_sent_with_their_zero_value(http, backend, token):
    http.get("/v1/orgs/org-city/subtree", headers={"Authorization": f"Bearer {token}"})
    assert backend.calls[0].kwargs == {"org_id": "org-city", "max_depth": 0, "kind": "", "field": "",
                                       "page_token": "", "scope": CALLER}


def test_a_page_size_of_zero_leaves_the_services_default(http, backend, token):
    http.get("/v1/orgs/org-city/members?page_size=0", headers={"Authorization": f"Bearer {token}"})
    assert "page_size" not in backend.calls[0].kwargs


def test_a_page_size_within_the_cap_is_passed_on(http, backend, token):
    http.get("/v1/orgs/org-city/members?page_size=500", headers={"Authorization": f"Bearer {token}"})
    assert backend.calls[0].kwargs["page_size"] == 500


def test_an_import_sends_the_raw_file_base64_encoded_with_its_format(http, backend, token):
    response = http.post("/v1/orgs/org-committee/org-imports", data=REQUESTS["ImportOrgs"]["content"],
                         content_type="text/csv; charset=utf-8", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    kwargs = backend.calls[0].kwargs
    assert kwargs["parent_id"] == "org-committee" and kwargs["format"] == "csv"
    assert base64.b64decode(kwargs["content"]) == REQUESTS["ImportOrgs"]["content"]


def test_an_import_may_name_its_format_in_the_query(http, backend, token):
    response = http.post("/v1/orgs/org-committee/member-imports?format=xlsx", data=b"PK\x03\x04",
                         content_type="application/octet-stream", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert backend.calls[0].kwargs["format"] == "xlsx"


def test_answers_show_empty_lists_false_and_zero(http, backend, token):
    backend.results["list_members"] = {"members": [], "next_page_token": ""}
    response = http.get("/v1/orgs/org-city/members", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json() == {"members": [], "next_page_token": ""}


def test_answers_are_utf8_json_with_chinese_unescaped(http, backend, token):
    response = http.get("/v1/orgs/org-branch-1", headers={"Authorization": f"Bearer {token}"})
    assert response.content_type == "application/json; charset=utf-8"
    assert "第一党支部" in response.get_data(as_text=True)


def test_fields_the_service_adds_later_do_not_break_the_answer(http, backend, token):
    backend.results["get_org"] = {**RESULTS["get_org"], "added_in_a_later_version": 1}
    response = http.get("/v1/orgs/org-branch-1", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and "added_in_a_later_version" not in response.get_json()


def test_a_path_parameter_wins_only_when_the_body_agrees(http, backend, token):
    auth = {"Authorization": f"Bearer {token}"}
    agreeing = http.patch("/v1/orgs/org-1", json={"org_id": "org-1", "name": "x"}, headers=auth)
    clashing = http.patch("/v1/orgs/org-1", json={"org_id": "org-2", "name": "x"}, headers=auth)
    assert agreeing.status_code == 200
    assert clashing.status_code == 400 and clashing.get_json()["error"]["code"] == "PATH_BODY_MISMATCH"
    assert len(backend.calls) == 1


def test_an_id_with_a_colon_action_binds_without_the_action(http, backend, token):
    http.post("/v1/transfers/tr-9:accept", headers={"Authorization": f"Bearer {token}"})
    assert backend.calls[0].kwargs["transfer_id"] == "tr-9"
