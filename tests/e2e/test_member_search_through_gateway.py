"""Member search (ListMembers ``q``) through the gateway: the URL's query over HTTP, the request field over gRPC."""
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import date

import pytest

from gateway.client import ApiError, GrpcClient, HttpClient
from tests.support.identity import PASSWORD, new_unique_id_number

pytestmark = pytest.mark.e2e


@pytest.fixture
def city(gateway_process, operator_password):
    operator = HttpClient(gateway_process.http_url)
    operator.login("", "operator", operator_password)
    code = f"search-{uuid.uuid4().hex[:8]}"
    root = operator.call("CreateTenant", {"code": code, "name": "检索市", "admin_username": "admin",
                                          "admin_password": PASSWORD})["root_org"]["id"]
    admin = HttpClient(gateway_process.http_url)
    admin.login(code, "admin", PASSWORD)
    counties = [admin.call("CreateOrg", {"parent_id": root, "name": f"{side}区", "kind": "county"})
                for side in ("东", "西")]
    branches = [admin.call("CreateOrg", {"parent_id": county["id"], "name": f"{county['name']}第一支部",
                                         "kind": "branch", "field": "community"}) for county in counties]
    for (name, phone), branch in zip([("孙小红", "13700000011"), ("孙大伟", "13700000022")], branches):
        number = new_unique_id_number(date(1984, 6, 1))
        admin.call("CreateMember", {"branch_id": branch["id"], "name": name, "id_number": number, "phone": phone,
                                    "status": "applicant", "status_dates": {"applicant": "2020-01-01"}})
    admin.call("CreateAccount", {"username": "east", "password": PASSWORD, "role": "org_admin",
                                 "org_id": counties[0]["id"]})
    east = HttpClient(gateway_process.http_url)
    east.login(code, "east", PASSWORD)
    return {"root": root, "admin": admin, "east": east, "counties": counties}


def get(gateway_process, path: str, token: str, **query) -> tuple[int, dict]:
    url = f"{gateway_process.http_url}{path}?{urllib.parse.urlencode(query)}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_search_text_in_the_url_finds_members_by_name_and_phone(city, gateway_process):
    path, token = f"/v1/orgs/{city['root']}/members", city["admin"].token
    status, body = get(gateway_process, path, token, q="小红")
    assert status == 200 and [m["name"] for m in body["members"]] == ["孙小红"]
    assert sorted(m["name"] for m in get(gateway_process, path, token, q="孙")[1]["members"]) == ["孙大伟", "孙小红"]
    assert [m["name"] for m in get(gateway_process, path, token, q="0022")[1]["members"]] == ["孙大伟"]
    assert [m["name"] for m in get(gateway_process, path, token, q="13700000011", status="applicant")[1][
        "members"]] == ["孙小红"]


def test_http_and_grpc_find_the_same_and_both_stay_in_the_callers_subtree(city, gateway_process):
    request = {"org_id": city["root"], "q": "孙", "page_size": 10}
    over_http = city["admin"].call("ListMembers", request)
    with GrpcClient(gateway_process.grpc_target, token=city["admin"].token) as grpc_client:
        over_grpc = grpc_client.call("ListMembers", request)
    assert [m["id"] for m in over_http["members"]] == [m["id"] for m in over_grpc["members"]]
    assert len(over_grpc["members"]) == 2
    east_county = {"org_id": city["counties"][0]["id"], "q": "大伟"}
    assert city["east"].call("ListMembers", east_county)["members"] == []
    with GrpcClient(gateway_process.grpc_target, token=city["east"].token) as grpc_client:
        assert grpc_client.call("ListMembers", east_county).get("members", []) == []
        assert [m["name"] for m in grpc_client.call("ListMembers", {**east_county, "q": "孙"})["members"]] == \
            ["孙小红"]


@pytest.mark.parametrize("q, code", [("孙\u200b", "CONTROL_CHARACTERS"), ("孙" * 33, "TOO_LONG"),
                                     ("137000", "PHONE_QUERY_INVALID")])
def test_a_bad_search_text_is_refused_with_its_code_over_both_protocols(city, gateway_process, q, code):
    status, body = get(gateway_process, f"/v1/orgs/{city['root']}/members", city["admin"].token, q=q)
    assert (status, body["error"]["code"], body["error"]["field"]) == (400, code, "q")
    with GrpcClient(gateway_process.grpc_target, token=city["admin"].token) as grpc_client:
        with pytest.raises(ApiError) as error:
            grpc_client.call("ListMembers", {"org_id": city["root"], "q": q})
    assert error.value.code == code and error.value.field == "q"
