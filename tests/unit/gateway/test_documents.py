import json
from html import escape
import re

import pytest

from gateway.operations import OPERATIONS


@pytest.fixture(scope="module")
def openapi(admin_app) -> dict:
    from werkzeug.test import Client

    response = Client(admin_app).get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return json.loads(response.get_data(as_text=True))


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(document: dict, ref: str):
    node = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_openapi_is_a_3_1_document(openapi):
    assert openapi["openapi"] == "3.1.0"
    assert openapi["info"]["title"] and openapi["info"]["version"] == "v1"


def test_openapi_lists_every_operation_under_its_path_and_method(openapi):
    for op in OPERATIONS:
        operation = openapi["paths"][op.path][op.http_method.lower()]
        assert operation["operationId"] == op.rpc
        assert operation["summary"] == op.summary
    # and the pages' session login, status, refresh and logout (HTTP only)
    assert sum(len(methods) for methods in openapi["paths"].values()) == len(OPERATIONS) + 4
    assert openapi["paths"]["/v1/auth/session"]["post"]["operationId"] == "CreateSession"
    assert openapi["paths"]["/v1/auth/session"]["get"]["operationId"] == "GetSession"
    assert openapi["paths"]["/v1/auth/session:refresh"]["post"]["operationId"] == "RefreshSession"
    assert openapi["paths"]["/v1/auth/session:end"]["post"]["operationId"] == "EndSession"


def test_openapi_describes_operations_with_the_proto_comments(openapi):
    login = openapi["paths"]["/v1/auth/login"]["post"]
    assert login["description"] == "Exchange a username and password for a bearer access token."
    org = openapi["components"]["schemas"]["Org"]
    assert "organisation tree" in org["description"]
    assert "city = 0" in org["properties"]["level"]["description"]


def test_every_reference_in_openapi_resolves(openapi):
    for ref in set(refs(openapi)):
        assert resolve(openapi, ref) is not None, ref


def test_path_parameters_are_declared_for_every_templated_path(openapi):
    for path, methods in openapi["paths"].items():
        for operation in methods.values():
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == set(re.findall(r"\{(\w+)\}", path)), path


def test_only_the_open_operations_are_open_in_openapi(openapi):
    assert openapi["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    open_ops = [op["operationId"] for methods in openapi["paths"].values() for op in methods.values()
                if op["security"] == []]
    # the pages' login (HTTP only), login, a citizen's registration and a guest's order
    assert sorted(open_ops) == sorted([op.rpc for op in OPERATIONS if not op.auth] + ["CreateSession"])
    assert {"Login", "RegisterCitizen", "PlaceGuestOrder", "GetTrackedOrder"} <= set(open_ops)


def test_openapi_lists_allowed_values_as_enums(openapi):
    schemas = openapi["components"]["schemas"]
    assert schemas["Org"]["properties"]["kind"]["enum"] == ["city", "county", "committee", "general_branch",
                                                            "branch", "group"]
    assert "" in schemas["Org"]["properties"]["category"]["enum"]


def test_openapi_describes_the_error_body(openapi):
    schemas = openapi["components"]["schemas"]
    assert resolve(openapi, schemas["ErrorBody"]["properties"]["error"]["$ref"])["properties"].keys() == \
        {"code", "message", "field", "details"}
    get_me = openapi["paths"]["/v1/me"]["get"]
    assert get_me["responses"]["401"]["$ref"] == "#/components/responses/Error"


def test_openapi_takes_list_filters_from_the_query_and_files_as_raw_bodies(openapi):
    members = openapi["paths"]["/v1/orgs/{org_id}/members"]["get"]
    assert {p["name"] for p in members["parameters"] if p["in"] == "query"} == \
        {"status", "mobile", "page_size", "page_token", "q"}
    upload = openapi["paths"]["/v1/orgs/{parent_id}/org-imports"]["post"]["requestBody"]["content"]
    assert set(upload) == {"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def test_docs_list_every_operation_with_its_fields(admin_http):
    response = admin_http.get("/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for op in OPERATIONS:
        assert f'id="{op.rpc}"' in page
        assert op.path in page and escape(op.summary) in page
        section = page[page.index(f'id="{op.rpc}"'):]
        section = section[:section.index("</section>")]
        for field in (*op.request.DESCRIPTOR.fields, *op.response.DESCRIPTOR.fields):
            assert f"<code>{field.name}</code>" in section, (op.rpc, field.name)


def test_docs_are_self_contained(admin_http):
    page = admin_http.get("/docs").get_data(as_text=True)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script" not in page


def test_health_answers_ok(http):
    response = http.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
