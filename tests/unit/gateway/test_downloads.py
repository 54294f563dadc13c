"""File operations over HTTP: the JSON form by default, the file itself on ?download=1 or a matching Accept."""
import base64
from urllib.parse import quote

import pytest

from gateway.http.app import content_disposition
from gateway.operations import BY_RPC, OPERATIONS
from servicekit.spreadsheets import XLSX_MEDIA_TYPE

FILES = {"ExportStatistics": ("/v1/orgs/org-city/attendance-statistics.xlsx", "export_statistics", "content_type"),
         "ExportReport": ("/v1/orgs/org-city/reports/bulletin", "export_report", "media_type"),
         "ExportVolunteerStatistics": ("/v1/orgs/org-city/volunteer-statistics:export", "export_volunteer_statistics",
                                       "content_type"),
         "ExportAuditLog": ("/v1/audit-log.xlsx", "export_audit_log", "content_type"),
         "ExportDuesTotals": ("/v1/orgs/org-city/dues-totals.xlsx", "export_dues_totals", "content_type")}
WORKBOOK = b"PK\x03\x04 pretend this is a workbook"


def auth(token, **headers):
    return {"Authorization": f"Bearer {token}", **headers}


@pytest.fixture
def files(backend):
    backend.results["export_statistics"] = {"filename": "考勤统计-2026-12-2026-12.xlsx", "content_type": XLSX_MEDIA_TYPE,
                                            "content": base64.b64encode(WORKBOOK).decode()}
    backend.results["export_report"] = {"filename": "季度通报-2026-Q4.xlsx", "media_type": XLSX_MEDIA_TYPE,
                                        "content": base64.b64encode(WORKBOOK).decode()}
    backend.results["export_volunteer_statistics"] = {"filename": "志愿服务统计-2026-12.xlsx",
                                                      "content_type": XLSX_MEDIA_TYPE,
                                                      "content": base64.b64encode(WORKBOOK).decode()}
    backend.results["export_audit_log"] = {"filename": "审计日志-20261206.xlsx", "content_type": XLSX_MEDIA_TYPE,
                                           "content": base64.b64encode(WORKBOOK).decode()}
    backend.results["export_dues_totals"] = {"filename": "党费收缴统计-东区-2026-01至2026-12.xlsx",
                                             "content_type": XLSX_MEDIA_TYPE,
                                             "content": base64.b64encode(WORKBOOK).decode()}
    return backend


def test_every_operation_answering_a_file_offers_the_download():
    answering_files = {op.rpc for op in OPERATIONS
                       if {"filename", "content"} <= set(op.response.DESCRIPTOR.fields_by_name)}
    photos = {"GetUploadPhoto", "GetCompletionPhoto"}           # a photo: always the image (test_photos)
    assert answering_files == set(FILES) | photos | {"DownloadAttachment"}
    assert all(BY_RPC[rpc].download for rpc in answering_files)
    assert {rpc for rpc in answering_files if BY_RPC[rpc].download.inline} == photos


@pytest.mark.parametrize("rpc", FILES)
@pytest.mark.parametrize("how", ["query", "accept", "query true"])
def test_the_file_itself_with_its_type_and_chinese_name(rpc, how, http, files, token):
    path, method, _ = FILES[rpc]
    if how == "accept":
        response = http.get(path, headers=auth(token, Accept=XLSX_MEDIA_TYPE))
    else:
        response = http.get(f"{path}?download={'1' if how == 'query' else 'true'}", headers=auth(token))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == XLSX_MEDIA_TYPE
    assert response.get_data() == WORKBOOK
    filename = files.results[method]["filename"]
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"")
    assert disposition.endswith(f"; filename*=UTF-8''{quote(filename, safe='')}")
    assert disposition.isascii()
    [call] = files.calls
    assert "download" not in call.kwargs


@pytest.mark.parametrize("rpc", FILES)
@pytest.mark.parametrize("accept", [None, "application/json", "*/*", f"application/json, {XLSX_MEDIA_TYPE};q=0.5",
                                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"])
def test_without_asking_for_the_file_the_json_form_is_unchanged(rpc, accept, http, files, token):
    path, method, media_field = FILES[rpc]
    headers = auth(token, **({"Accept": accept} if accept else {}))
    for response in (http.get(path, headers=headers), http.get(f"{path}?download=0", headers=headers)):
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert response.get_json() == files.results[method]
        assert "Content-Disposition" not in response.headers


def test_a_bad_download_value_is_refused_and_other_operations_know_no_download(http, files, token):
    response = http.get("/v1/orgs/org-city/attendance-statistics.xlsx?download=yes", headers=auth(token))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "INVALID_TYPE"
    assert response.get_json()["error"]["field"] == "download"
    response = http.get("/v1/orgs/org-city/attendance-statistics?download=1", headers=auth(token))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "UNKNOWN_FIELD"
    assert files.calls == []


def test_the_token_comes_first_and_errors_stay_json(http, files):
    response = http.get("/v1/orgs/org-city/attendance-statistics.xlsx?download=1")
    assert response.status_code == 401 and response.mimetype == "application/json"


def test_the_ascii_fallback_keeps_what_it_can():
    assert content_disposition("考勤统计-2026-11-2026-12.xlsx", "attendance-statistics") == (
        "attachment; filename=\"attendance-statistics-2026-11-2026-12.xlsx\"; "
        "filename*=UTF-8''%E8%80%83%E5%8B%A4%E7%BB%9F%E8%AE%A1-2026-11-2026-12.xlsx")
    assert content_disposition("report-2026.xlsx", "report").startswith("attachment; filename=\"report-2026.xlsx\";")
    assert 'filename="report.xlsx"' in content_disposition("年度考核.xlsx", "report")
    assert 'filename="report-ab.xlsx"' in content_disposition('a"b\\.xlsx', "report")


def test_openapi_and_docs_describe_the_download(admin_http):
    document = admin_http.get("/openapi.json").get_json()
    for path, rpc in (("/v1/orgs/{org_id}/attendance-statistics.xlsx", "ExportStatistics"),
                      ("/v1/orgs/{org_id}/reports/{kind}", "ExportReport")):
        operation = document["paths"][path]["get"]
        assert set(operation["responses"]["200"]["content"]) == {"application/json", XLSX_MEDIA_TYPE}
        assert "Content-Disposition" in operation["responses"]["200"]["headers"]
        assert "download" in {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    page = admin_http.get("/docs").get_data(as_text=True)
    section = page[page.index('id="ExportReport"'):]
    assert "?download=1" in section[:section.index("</section>")]
