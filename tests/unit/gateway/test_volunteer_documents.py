"""/openapi.json and /docs for the volunteer operations and a citizen's registration: the open ones need no token
(and promise no 401), a completion photo is an image answered in place, the statistics export a workbook, and a
raw photo upload is the request body."""
import pytest

from gateway.operations import BY_RPC
from servicekit.spreadsheets import XLSX_MEDIA_TYPE


@pytest.fixture(scope="module")
def paths(admin_app) -> dict:
    from werkzeug.test import Client

    return Client(admin_app).get("/openapi.json").get_json()["paths"]


def operation(paths: dict, rpc: str) -> dict:
    op = BY_RPC[rpc]
    return paths[op.path][op.http_method.lower()]


@pytest.mark.parametrize("rpc", ["RegisterCitizen", "ListOpenCommunities", "PlaceGuestOrder", "GetTrackedOrder",
                                 "ConfirmTrackedOrder"])
def test_the_open_operations_need_no_token(paths, rpc):
    described = operation(paths, rpc)
    assert described["security"] == [] and "401" not in described["responses"]
    assert {"400", "403", "429"} <= set(described["responses"])


def test_the_citizens_own_operations_say_they_may_be_refused(paths):
    for rpc in ("PlaceOrder", "ListOrders", "ClaimOrder"):
        assert {"401", "403", "404", "409"} <= set(operation(paths, rpc)["responses"]), rpc


def test_a_completion_photo_is_an_image_and_the_export_a_workbook(paths):
    photo = operation(paths, "GetCompletionPhoto")["responses"]
    assert set(photo["200"]["content"]) == {"image/jpeg", "image/png", "image/webp"} and "304" in photo
    export = operation(paths, "ExportVolunteerStatistics")["responses"]["200"]
    assert XLSX_MEDIA_TYPE in export["content"] and "Content-Disposition" in export["headers"]
    upload = operation(paths, "AddCompletionPhoto")["requestBody"]["content"]
    assert set(upload) == {"image/jpeg", "image/png", "image/webp"}


def test_docs_describe_the_order_and_the_registration(admin_http):
    page = admin_http.get("/docs").get_data(as_text=True)
    for rpc, words in (("RegisterCitizen", "mobile number"), ("PlaceGuestOrder", "tracking code"),
                       ("ClaimOrder", "never more volunteers than the order needs")):
        section = page[page.index(f'id="{rpc}"'):]
        assert words in section[:section.index("</section>")], rpc
