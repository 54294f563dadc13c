"""Properties of the HTTP app's request parsing, driven in-process over the fake backend: any path, method, query
string, header and body answers 2xx, 3xx or 4xx, and every 4xx is the JSON error body with a code, never a 5xx
(a 5xx here could only be the gateway's own parsing failing: the fake backend never fails)."""
from __future__ import annotations

import json
import urllib.parse

from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import Client

from gateway.operations import OPERATIONS
from tests.support.properties import bounded

GET_OPERATIONS = [op for op in OPERATIONS if op.http_method == "GET" and not op.upload]
JSON_OPERATIONS = [op for op in OPERATIONS if op.http_method != "GET" and not op.upload]
UPLOADS = [op for op in OPERATIONS if op.upload]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "PROPFIND", "get"]
PEER = {"REMOTE_ADDR": "127.0.0.1"}

# text that tends to break parsers: separators, escapes, controls, surrogates, full-width digits, long runs
nasty = st.lists(st.characters(codec="utf-8") | st.sampled_from(list("/%?#&=;.+ \\\"'\x00\r\n\t\ud800\udfff١２") +
                                                                ["%00", "%2F", "%ZZ", "..", "../", "%ff", "\ufeff"]),
                 max_size=30).map("".join)
json_scalars = (st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30)
                | st.floats(allow_nan=False, allow_infinity=False) | nasty
                | st.sampled_from([1e308, -1e308, 5e-324, 2**63, -2**63 - 1, 2**64, 1.5, "NaN", "Infinity", "1e999",
                                   "", "0x10", "０", "true"]))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(nasty, inner, max_size=4), max_leaves=12)


def filled_path(op, values) -> str:
    path = op.path
    for name in op.path_params:
        path = path.replace("{" + name + "}", urllib.parse.quote(values.get(name, "x") or "x", safe="", errors="surrogatepass"))
    return path


def wsgi_text(text: str) -> str:
    """``text`` as a WSGI environ carries a request's bytes: UTF-8 (a lone surrogate as its three bytes), read as
    latin-1."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


def assert_answered(answer) -> None:
    """Not a 5xx; an error is the JSON body with a code (and the request id) that every error answer has."""
    data = answer.get_data()          # bytes: a download (a photo, a spreadsheet) answers 200 with a binary body
    assert answer.status_code < 500, (answer.status_code, data[:500])
    if answer.status_code >= 400:
        text = data.decode("utf-8")
        body = json.loads(text)
        assert set(body) == {"error", "request_id"} and body["error"]["code"], text[:500]


def client(app, session_backend) -> Client:
    session_backend.reset()
    return Client(app)


@bounded(150)
@given(method=st.sampled_from(METHODS), segments=st.lists(nasty, max_size=5), query=nasty)
def test_any_path_under_the_api_answers_a_json_error_or_an_answer(app, session_backend, token, method, segments,
                                                                  query):
    path = "/v1/" + "/".join(urllib.parse.quote(segment, safe="/:%", errors="surrogatepass") for segment in segments)
    answer = client(app, session_backend).open(path, method=method.upper(), query_string=wsgi_text(query), headers={"Authorization": f"Bearer {token}"}, environ_base=PEER)
    if method.upper() != "HEAD":
        assert_answered(answer)
    else:
        assert answer.status_code < 500


@bounded(200)
@given(op=st.sampled_from(GET_OPERATIONS), data=st.data())
def test_any_query_string_on_a_get_operation_is_bound_or_refused_with_a_code(app, session_backend, token, op, data):
    names = [*op.request.DESCRIPTOR.fields_by_name, "download", "page_token"]
    pairs = data.draw(st.lists(st.tuples(st.sampled_from(names) | nasty,
                                         nasty | st.sampled_from(["1", "-1", "0", "1e400", "nan", "inf", "-0",
                                                                  "99999999999999999999999", "true", "TRUE", "yes",
                                                                  "١٢", "1.5", "0x1f", "", "2026-12", "%"])),
                                max_size=6), label="query")
    raw = data.draw(st.booleans(), label="raw")
    query = "&".join(f"{k}={v}" for k, v in pairs) if raw else urllib.parse.urlencode(pairs, errors="surrogatepass")
    path_values = data.draw(st.fixed_dictionaries({name: nasty for name in op.path_params}), label="path")
    accept = data.draw(st.sampled_from(["", "*/*", "application/json", "text/csv", "image/png", "x/y;q=abc",
                                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]))
    answer = client(app, session_backend).get(filled_path(op, path_values),
                                              query_string=wsgi_text(query),
                                              headers={"Authorization": f"Bearer {token}", "Accept": accept},
                                              environ_base=PEER)
    assert_answered(answer)


@bounded(250)
@given(op=st.sampled_from(JSON_OPERATIONS), data=st.data())
def test_any_json_body_on_an_operation_is_bound_or_refused_with_a_code(app, session_backend, token, op, data):
    fields = list(op.request.DESCRIPTOR.fields_by_name)
    body = data.draw(st.dictionaries(st.sampled_from(fields) | nasty if fields else nasty, json_values, max_size=6)
                     | json_values, label="body")
    path_values = data.draw(st.fixed_dictionaries({name: nasty for name in op.path_params}), label="path")
    text = json.dumps(body, ensure_ascii=data.draw(st.booleans(), label="ascii"))
    encoded = text.encode("utf-8", "surrogatepass")
    answer = client(app, session_backend).open(filled_path(op, path_values), method=op.http_method, data=encoded,
                                               content_type="application/json",
                                               headers={"Authorization": f"Bearer {token}"}, environ_base=PEER)
    assert_answered(answer)


@bounded(150)
@given(op=st.sampled_from(JSON_OPERATIONS + UPLOADS), body=st.binary(max_size=300) | st.sampled_from([
    b"{", b"[]", b"null", b"1", b'"x"', b"{}", b'{"a":NaN}', b'{"a":Infinity}', b"\xef\xbb\xbf{}", b'{"a":1,"a":2}',
    b"[" * 5000, b'{"a":' * 40 + b"1" + b"}" * 40, b'{"\\ud800":1}', b"\xff\xfe{\x00}\x00", b'{"a":"\\u0000"}']),
       content_type=st.sampled_from(["application/json", "application/json; charset=gbk", "text/plain", "",
                                     "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                     "application/merge-patch+json", "text/csv", "application/octet-stream",
                                     ";;;", "application/json; charset=\"", "\u4e2d/\u6587"]))
def test_any_raw_body_of_any_media_type_is_refused_with_a_code_or_bound(app, session_backend, token, op, body,
                                                                       content_type):
    answer = client(app, session_backend).open(op.path.replace("{", "").replace("}", ""), method=op.http_method,
                                               data=body, headers={"Authorization": f"Bearer {token}",
                                                                   "Content-Type": content_type},
                                               environ_base=PEER)
    assert_answered(answer)


header_values = nasty | st.sampled_from(["Bearer", "Bearer ", "bearer x.y.z", "Basic Zm9vOmJhcg==", "Bearer a.b",
                                         "Bearer " + "A" * 5000, "pb_session=x; pb_csrf=y", "=;=;", "1.2.3.4, ::1",
                                         "not an address", "\u4e2d\u6587"])


@bounded(200)
@given(op=st.sampled_from(OPERATIONS), headers=st.dictionaries(
    st.sampled_from(["Authorization", "Cookie", "X-CSRF-Token", "Accept", "X-Forwarded-For", "X-Request-Id",
                     "If-None-Match", "Accept-Encoding", "Origin", "Content-Type"]),
    header_values, max_size=6))
def test_any_headers_are_answered_with_a_code_never_a_5xx(app, session_backend, op, headers):
    clean = {name: value.encode("utf-8", "surrogatepass").decode("latin-1").replace("\r", "").replace("\n", "")
             for name, value in headers.items()}
    answer = client(app, session_backend).open(op.path.replace("{", "").replace("}", ""), method=op.http_method,
                                               headers=clean, environ_base=PEER)
    assert_answered(answer)
