"""Every XLSX the platform answers can be downloaded as a file over HTTP; the JSON form stays as it was."""
from __future__ import annotations

import base64
import io
import os
import urllib.request
import uuid
import zipfile
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from gateway.client import ApiError, HttpClient
from servicekit.spreadsheets import XLSX_MEDIA_TYPE
from tests.support import scoring
from tests.support.attendance import ThemedDay
from tests.support.identity import PASSWORD, City, member_fields

pytestmark = pytest.mark.e2e
MONTH = "2026-08"
HOSTILE = '=HYPERLINK("mailto:boss@example.com", "点此查看")'


@pytest.fixture(scope="module")
def publisher(scoring_service, mongo_uri, bus_uri):
    sender = scoring.AttendancePublisher(mongo_uri, bus_uri, os.environ["DB_PREFIX"] + "_scratch_e2e_downloads")
    yield sender
    sender.close()


def check_download(client: HttpClient, rpc: str, request: dict) -> dict[str, list]:
    """Both forms of one export: the JSON as before, the file with its headers; the file's sheets as values."""
    as_json = client.call(rpc, request)
    media_field = "content_type" if "content_type" in as_json else "media_type"
    assert set(as_json) == {"filename", media_field, "content"} and as_json[media_field] == XLSX_MEDIA_TYPE
    assert as_json["filename"].endswith(".xlsx") and not as_json["filename"].isascii()
    headers, body = client.download(rpc, request)
    assert headers["content-type"] == XLSX_MEDIA_TYPE
    assert headers["content-disposition"].startswith('attachment; filename="')
    assert headers["content-disposition"].endswith(f"filename*=UTF-8''{quote(as_json['filename'], safe='')}")
    assert int(headers["content-length"]) == len(body)
    from_file, from_json = (load_workbook(io.BytesIO(data)) for data in (body, base64.b64decode(as_json["content"])))
    sheets = {sheet.title: [[cell.value for cell in row] for row in sheet.iter_rows()] for sheet in from_file}
    assert sheets == {sheet.title: [[cell.value for cell in row] for row in sheet.iter_rows()] for sheet in from_json}
    with zipfile.ZipFile(io.BytesIO(body)) as book:
        assert not any(b"<f>" in book.read(name) or b"<f " in book.read(name) for name in book.namelist()
                       if name.startswith("xl/worksheets/"))
    return sheets


def test_attendance_statistics_download(rpc, operator_scope, attendance_service, gateway_process):
    city = City(rpc, operator_scope)
    rpc.identity.update_org(scope=city.admin, org_id=city.branches[0][0]["id"], name=HOSTILE)
    day = ThemedDay(rpc, city).prepared()
    day.at("start_at", -5)
    day.scan(day.member_scopes[0], "in")
    day.at("end_at", 1)
    day.scan(day.member_scopes[0], "out")
    day.at("checkout_closes_at", 1)
    admin = HttpClient(gateway_process.http_url)
    admin.login(city.code, "county1", PASSWORD)
    request = {"org_id": day.county["id"], "month_from": day.month}
    sheets = check_download(admin, "ExportStatistics", request)
    members = sheets["按党员"]
    assert members[0][:4] == ["党员编号", "党员姓名", "支部编号", "支部名称"]
    assert ["党员0", HOSTILE] in [row[1:4:2] for row in members[1:]]

    path = f"/v1/orgs/{day.county['id']}/attendance-statistics.xlsx?month_from={day.month}"
    asked = urllib.request.Request(gateway_process.http_url + path,
                                   headers={"Authorization": f"Bearer {admin.token}", "Accept": XLSX_MEDIA_TYPE})
    with urllib.request.urlopen(asked, timeout=30) as answer:
        assert answer.status == 200 and answer.headers["Content-Type"] == XLSX_MEDIA_TYPE
        assert "filename*=UTF-8''%E8%80%83%E5%8B%A4%E7%BB%9F%E8%AE%A1" in answer.headers["Content-Disposition"]
        assert load_workbook(io.BytesIO(answer.read())).sheetnames == ["按活动", "按支部", "按党员"]


def test_every_scoring_report_download(gateway_process, operator_password, publisher):
    operator = HttpClient(gateway_process.http_url)
    operator.login("", "operator", operator_password)
    code = f"dl-{uuid.uuid4().hex[:8]}"
    created = operator.call("CreateTenant", {"code": code, "name": "下载市", "admin_username": "admin",
                                             "admin_password": PASSWORD})
    admin = HttpClient(gateway_process.http_url)
    admin.login(code, "admin", PASSWORD)
    county = admin.call("CreateOrg", {"parent_id": created["root_org"]["id"], "name": "东区", "kind": "county"})
    branch = admin.call("CreateOrg", {"parent_id": county["id"], "name": HOSTILE, "kind": "branch",
                                      "field": "community"})
    members = [admin.call("CreateMember", member_fields(branch["id"], f"党员{i}"))["id"] for i in range(2)]
    day = scoring.ThemedDay(created["tenant"]["id"], branch, MONTH, members)
    publisher.publish([day.issued(), *day.planned_and_opened(), day.scan(members[0]), day.scan(members[0], "out"),
                       day.closed({members[0]: "present", members[1]: "absent"})])
    root = created["root_org"]["id"]

    def ranked():
        try:                                # 404 until scoring has heard of the city
            return admin.call("GetRanking", {"org_id": root, "period": MONTH})["total"] == 1 or None
        except ApiError:
            return None
    scoring.wait_for(ranked)
    for kind, period in (("supervision", MONTH), ("bulletin", "2026-Q3"), ("assessment", "2026")):
        request = {"org_id": root, "kind": kind, "period": period, "today": f"{MONTH}-28"}
        sheets = check_download(admin, "ExportReport", request)
        first = next(iter(sheets.values()))
        assert HOSTILE in first[1], (kind, first)
