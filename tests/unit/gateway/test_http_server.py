"""The gateway's HTTP/1.1 server (uvicorn with the gateway's protocol, gateway.http.server) over raw sockets:
keep-alive and pipelining, what it refuses
(malformed requests, smuggling, oversized headers and bodies, slow requests) with the app's JSON error body,
100-continue, chunked bodies, HEAD, and scans answered on the loop in batches."""
from __future__ import annotations

import json
import select
import socket
import threading
import time

import pytest

from gateway.batching import Batcher
from gateway.dispatch import Dispatcher
from gateway.http.app import GatewayApp
from gateway.http.server import HttpGateway
from servicekit.security.tokens import TokenVerifier
from tests.unit.gateway.samples import REQUESTS, RESULTS
from tests.unit.gateway.virtual_time import VirtualTime

MAX_BODY = 1000


class EchoApp:
    """A WSGI app answering what it was given; ``serve_batched`` never takes a request."""

    def __init__(self):
        self.threads: set[str] = set()

    def serve_batched(self, request):
        return None

    def __call__(self, environ, start_response):
        self.threads.add(threading.current_thread().name)
        if environ["PATH_INFO"] == "/boom":
            raise RuntimeError("a bug")
        if environ["PATH_INFO"] == "/slow":
            time.sleep(0.3)
        body = environ["wsgi.input"].read()
        answer = json.dumps({"method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"].encode("latin-1")
                             .decode("utf-8"), "query": environ["QUERY_STRING"], "body": body.decode(),
                             "type": environ.get("CONTENT_TYPE", ""), "x": environ.get("HTTP_X_TAG", ""),
                             "peer": environ["REMOTE_ADDR"], "forwarded": environ.get("HTTP_X_FORWARDED_FOR"),
                             "scheme": environ["wsgi.url_scheme"]},
                            ensure_ascii=False).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("X-Answer", "yes")])
        return [answer]


def http_server(app, workers: int = 2, max_body: int = MAX_BODY, **options) -> HttpGateway:
    """The gateway's HTTP server on a free port, serving ``app``."""
    return HttpGateway(app, "127.0.0.1", 0, max_body=max_body, workers=workers, **options).start()


def serve(app, **options) -> HttpGateway:
    return http_server(app, **options)


@pytest.fixture
def echo():
    app = EchoApp()
    server = serve(app)
    yield server
    server.stop(grace=1)


def connect(server: HttpGateway) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    return sock


def request(path: str = "/echo", method: str = "POST", body: bytes = b"", headers: dict | None = None,
            version: str = "1.1") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: test"]
    if body and "Transfer-Encoding" not in (headers or {}):
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Reader:
    """Reads whole responses (Content-Length framed) off a socket."""

    def __init__(self, sock: socket.socket):
        self.sock, self.buffer = sock, b""

    def _more(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def response(self, head_only: bool = False) -> tuple[int, dict, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            if not self._more():
                raise ConnectionError("closed before a response")
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
        length = 0 if head_only or status == 100 else int(headers.get("content-length", 0))
        while len(self.buffer) < length:
            if not self._more():
                raise ConnectionError("closed inside a body")
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, body

    def closed(self) -> bool:
        try:
            return not self.buffer and not self._more()
        except (ConnectionResetError, socket.timeout):
            return True


def test_keep_alive_answers_several_requests_on_one_connection(echo):
    sock = connect(echo)
    reader = Reader(sock)
    for n in range(3):
        sock.sendall(request(f"/echo/{n}", body=b'{"n": %d}' % n, headers={"X-Tag": f"t{n}"}))
        status, headers, body = reader.response()
        answer = json.loads(body)
        assert status == 200 and headers["x-answer"] == "yes" and headers["server"] == "partybuilding-gateway"
        assert (answer["path"], answer["body"], answer["x"]) == (f"/echo/{n}", '{"n": %d}' % n, f"t{n}")
    sock.close()


def test_the_peer_reaches_the_app_and_x_forwarded_for_is_left_to_it(echo):
    """The client address a login is throttled by: the peer as REMOTE_ADDR, X-Forwarded-For untouched (the app
    believes it only from TRUSTED_PROXIES; uvicorn would otherwise put it in REMOTE_ADDR for 127.0.0.1)."""
    sock = connect(echo)
    sock.sendall(request("/echo", "GET", headers={"X-Forwarded-For": "203.0.113.9"}))
    answer = json.loads(Reader(sock).response()[2])
    assert (answer["peer"], answer["forwarded"], answer["scheme"]) == ("127.0.0.1", "203.0.113.9", "http")
    sock.close()


def test_pipelined_requests_are_answered_in_order(echo):
    sock = connect(echo)
    sock.sendall(request("/slow", body=b"first") + request("/echo", body=b"second") + request("/echo", "GET"))
    reader = Reader(sock)
    bodies = [json.loads(reader.response()[2]) for _ in range(3)]
    assert [(b["path"], b["body"], b["method"]) for b in bodies] == [
        ("/slow", "first", "POST"), ("/echo", "second", "POST"), ("/echo", "", "GET")]
    sock.close()


def test_the_path_is_percent_decoded_and_the_query_kept(echo):
    sock = connect(echo)
    sock.sendall(request("/orgs/%E4%B8%AD%E5%BF%83?page_size=5&q=a%20b", "GET"))
    reader = Reader(sock)
    reader._more()
    assert reader.buffer.startswith(b"HTTP/1.1 200 OK\r\n")
    answer = json.loads(reader.response()[2])
    assert answer["path"] == "/orgs/中心" and answer["query"] == "page_size=5&q=a%20b"
    sock.close()


@pytest.mark.parametrize("version, headers", [("1.0", {}), ("1.1", {"Connection": "close"})])
def test_http_1_0_and_connection_close_close_after_the_answer(echo, version, headers):
    sock = connect(echo)
    sock.sendall(request("/echo", "GET", version=version, headers=headers))
    reader = Reader(sock)
    assert reader.response()[0] == 200 and reader.closed()


def assert_refused(reader: Reader, status: int, code: str) -> None:
    got, headers, body = reader.response()
    assert (got, json.loads(body)["error"]["code"]) == (status, code)
    assert headers["content-type"].startswith("application/json") and headers.get("connection") == "close"
    assert reader.closed()


@pytest.mark.parametrize("raw", [
    b"NOT A REQUEST\r\n\r\n",
    b"GET /echo HTTP/1.1\r\nHost: test\r\nBad Header\r\n\r\n",
    # a body framed twice (request smuggling)
    b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
])
def test_malformed_requests_are_refused_with_a_code_and_the_connection_closed(echo, raw):
    sock = connect(echo)
    sock.sendall(raw)
    assert_refused(Reader(sock), 400, "MALFORMED_REQUEST")


def test_a_malformed_request_after_a_good_one_is_refused_after_the_good_one_is_answered(echo):
    sock = connect(echo)
    sock.sendall(request("/slow", body=b"first") + b"NOT A REQUEST\r\n\r\n")
    reader = Reader(sock)
    status, _, body = reader.response()
    assert (status, json.loads(body)["body"]) == (200, "first")
    assert_refused(reader, 400, "MALFORMED_REQUEST")


def test_an_upgrade_is_not_offered_the_request_is_answered_and_the_connection_closed(echo):
    sock = connect(echo)
    sock.sendall(request("/echo", "GET", headers={"Connection": "Upgrade", "Upgrade": "websocket"})
                 + b"\x81\x05hello")                                    # what would follow a switch
    reader = Reader(sock)
    status, _, body = reader.response()
    assert (status, json.loads(body)["path"]) == (200, "/echo")
    assert reader.closed()


def test_a_client_that_stops_sending_after_its_request_still_gets_the_answer(echo):
    sock = connect(echo)
    sock.sendall(request("/slow", body=b"last words"))
    sock.shutdown(socket.SHUT_WR)
    reader = Reader(sock)
    assert json.loads(reader.response()[2])["body"] == "last words"
    assert reader.closed()


def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(echo):
    sock = connect(echo)
    sock.sendall(request("/echo", headers={"Content-Length": str(MAX_BODY + 1)}))    # no body sent at all
    assert_refused(Reader(sock), 413, "BODY_TOO_LARGE")


def test_a_chunked_body_is_read_and_one_over_the_limit_refused(echo):
    sock = connect(echo)
    chunked = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    sock.sendall(request("/echo", body=chunked, headers={"Transfer-Encoding": "chunked"}))
    reader = Reader(sock)
    assert json.loads(reader.response()[2])["body"] == "hello world"
    big = (b"%x\r\n" % 600) + b"a" * 600 + b"\r\n"
    sock.sendall(request("/echo", body=big * 40, headers={"Transfer-Encoding": "chunked"}))
    assert_refused(reader, 413, "BODY_TOO_LARGE")      # read although the client kept sending


@pytest.mark.parametrize("pieces", [1, 40])
def test_headers_over_the_limit_are_refused_whole_or_in_pieces(echo, pieces):
    sock = connect(echo)
    raw = request("/echo", "GET", headers={"X-Tag": "a" * 20_000})
    size = len(raw) // pieces + 1
    for start in range(0, len(raw), size):
        if select.select([sock], [], [], 0.01 if pieces > 1 else 0)[0]:
            break                                    # refused before the last pieces
        sock.sendall(raw[start:start + size])
    assert_refused(Reader(sock), 431, "HEADERS_TOO_LARGE")


def test_expect_100_continue_is_answered_before_the_body_is_sent(echo):
    sock = connect(echo)
    sock.sendall(request("/echo", headers={"Content-Length": "4", "Expect": "100-continue"}))
    reader = Reader(sock)
    assert reader.response()[0] == 100
    sock.sendall(b"body")
    assert json.loads(reader.response()[2])["body"] == "body"
    sock.close()


def test_head_answers_headers_only(echo):
    sock = connect(echo)
    sock.sendall(request("/echo", "HEAD") + request("/echo", "GET"))
    reader = Reader(sock)
    status, headers, body = reader.response(head_only=True)
    assert status == 200 and int(headers["content-length"]) > 0 and body == b""
    assert json.loads(reader.response()[2])["method"] == "GET"        # the next answer starts right after
    sock.close()


def test_an_app_that_fails_answers_500_and_keeps_the_connection(echo):
    sock = connect(echo)
    sock.sendall(request("/boom", "GET") + request("/echo", "GET"))
    reader = Reader(sock)
    status, _, body = reader.response()
    assert (status, json.loads(body)["error"]["code"]) == (500, "INTERNAL")
    assert reader.response()[0] == 200
    sock.close()


def receiving(server: HttpGateway) -> bool:
    """Whether a connection of ``server`` has begun a request it has not received whole (read on its loop)."""
    async def check() -> bool:
        return any(connection.deadline is not None for connection in server.server.server_state.connections)
    return server.loop_thread.run(check())


def test_a_request_that_does_not_arrive_in_time_is_refused_and_an_idle_connection_closed():
    """The server's loop keeps a clock of the test's, moved past each deadline."""
    clock = VirtualTime("http-deadlines")
    server = serve(EchoApp(), request_timeout=30.0, idle_timeout=75.0, loop=clock.thread)
    try:
        slow = connect(server)
        slow.sendall(b"POST /echo HTTP/1.1\r\nHost: te")          # and then nothing
        for _ in range(500):                                      # until the server has read it
            if receiving(server):
                break
            time.sleep(0.01)
        clock.advance(29.5)
        assert receiving(server)                                 # not yet refused
        clock.advance(0.5)
        assert_refused(Reader(slow), 408, "REQUEST_TIMEOUT")
        idle = connect(server)
        idle.sendall(request("/echo", "GET"))
        reader = Reader(idle)
        assert reader.response()[0] == 200
        assert not receiving(server)                             # a whole request holds no deadline
        clock.advance(75.0)
        assert reader.closed()
    finally:
        clock.while_running(lambda: server.stop(grace=1))     # uvicorn's shutdown polls on the loop's clock
        clock.close()


def test_connections_over_the_limit_are_answered_503():
    server = serve(EchoApp(), max_connections=1)
    try:
        first = connect(server)
        first.sendall(request("/echo", "GET"))
        assert Reader(first).response()[0] == 200
        second = connect(server)
        second.sendall(request("/echo", "GET"))
        assert Reader(second).response()[0] == 503
    finally:
        server.stop(grace=1)


class ScanBackend:
    def __init__(self):
        self.calls: list[list[dict]] = []

    def call(self, service, method, **kwargs):
        if (service, method) == ("attendance", "record_scan"):      # unbatched: one scan per call
            return self.call(service, "record_scans", items=[kwargs])[0]["result"]
        assert (service, method) == ("attendance", "record_scans")
        self.calls.append(kwargs["items"])
        return [{"result": {**RESULTS["record_scan"], "message": item["fix"]["device_id"]}}
                for item in kwargs["items"]]


def test_scans_are_answered_on_the_loop_in_one_batch_and_other_calls_on_threads(keys, token):
    backend = ScanBackend()
    batcher = Batcher(backend, max_batch=100, fill=8, max_wait=30.0, senders=1)     # sent once all 8 are in
    app = GatewayApp(Dispatcher(backend, TokenVerifier(keys.public_pem), batcher=batcher), max_body=MAX_BODY)
    server = http_server(app, workers=1)
    try:
        sockets = [connect(server) for _ in range(8)]
        for n, sock in enumerate(sockets):        # eight scans in flight at once, on one worker thread at most
            fix = {**REQUESTS["RecordScan"]["fix"], "device_id": f"d{n}"}
            body = json.dumps({**REQUESTS["RecordScan"], "fix": fix}).encode()
            sock.sendall(request("/v1/scans", body=body, headers={"Authorization": f"Bearer {token}",
                                                                  "Content-Type": "application/json"}))
        answers = [Reader(sock).response() for sock in sockets]
        assert [(status, json.loads(body)["message"]) for status, _, body in answers] == [
            (200, f"d{n}") for n in range(8)]
        assert len(backend.calls) == 1 and len(backend.calls[0]) == 8
        unknown = connect(server)                 # strict JSON and the error table hold on the fast path
        body = json.dumps({**REQUESTS["RecordScan"], "extra": 1}).encode()
        unknown.sendall(request("/v1/scans", body=body, headers={"Authorization": f"Bearer {token}"}))
        status, _, answer = Reader(unknown).response()
        assert (status, json.loads(answer)["error"]["code"]) == (400, "UNKNOWN_FIELD")
        anonymous = connect(server)
        anonymous.sendall(request("/v1/scans", body=b"{}"))
        status, headers, answer = Reader(anonymous).response()
        assert (status, json.loads(answer)["error"]["code"], headers["www-authenticate"]) == (
            401, "TOKEN_MISSING", "Bearer")
        health = connect(server)
        health.sendall(request("/healthz", "GET"))
        assert json.loads(Reader(health).response()[2]) == {"status": "ok"}
    finally:
        server.stop(grace=1)
        batcher.close()


SCAN = json.dumps(REQUESTS["RecordScan"]).encode()
BAD_TYPE = json.dumps({**REQUESTS["RecordScan"], "fix": {**REQUESTS["RecordScan"]["fix"], "lat": "north"}}).encode()
SCAN_CASES = {           # name: (path, body, headers beyond a good token and JSON type, expected status, code)
    "good": ("/v1/scans", SCAN, {}, 200, None),
    "percent-encoded path": ("/v1/%73cans", SCAN, {}, 200, None),
    "media type with parameters": ("/v1/scans", SCAN, {"Content-Type": "Application/JSON; charset=utf-8"}, 200, None),
    "query parameter": ("/v1/scans?token=x", SCAN, {}, 400, "UNKNOWN_FIELD"),
    "text body": ("/v1/scans", SCAN, {"Content-Type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
    "malformed JSON": ("/v1/scans", b"{", {}, 400, "MALFORMED_JSON"),
    "not an object": ("/v1/scans", b"[]", {}, 400, "BODY_NOT_OBJECT"),
    "wrong type": ("/v1/scans", BAD_TYPE, {}, 400, "INVALID_TYPE"),
    "unknown field": ("/v1/scans", SCAN[:-1] + b', "altitude": 3}', {}, 400, "UNKNOWN_FIELD"),
    "camelCase name": ("/v1/scans", SCAN.replace(b'"accuracy_m"', b'"accuracyM"'), {}, 200, None),
    "unpaired surrogate": ("/v1/scans", SCAN.replace(b'"token": "', b'"token": "\\ud800'), {}, 400, None),
    "number beyond a double": ("/v1/scans", SCAN.replace(b"33.07", b"1" + b"0" * 400), {}, 400, "INVALID_TYPE"),
    "latitude as text": ("/v1/scans", SCAN.replace(b"33.07", b'"33.07"'), {}, 400, "INVALID_TYPE"),
    "latitude true": ("/v1/scans", SCAN.replace(b"33.07", b"true"), {}, 400, "INVALID_TYPE"),
    "nested too deep": ("/v1/scans", SCAN.replace(b"33.07", b"[" * 400 + b"]" * 400), {}, 400, "JSON_TOO_DEEP"),
    "not bearer": ("/v1/scans", SCAN, {"Authorization": "Basic abc"}, 401, "TOKEN_MISSING"),
    "two tokens": ("/v1/scans", SCAN, {"authorization": "Bearer second"}, 401, None),
}


def without_request_id(answer: dict, headers: dict) -> dict:
    """An answer without its request id (each request has its own), checking an error's names the header's."""
    if "error" in answer:
        assert answer.pop("request_id") == headers["x-request-id"]
    return answer


@pytest.mark.parametrize("case", SCAN_CASES)
def test_a_scan_on_the_loop_is_answered_as_the_app_on_a_thread_answers_it(keys, token, case):
    """The loop's own path for scans (``PlainRequest``, no WSGI environ) against the WSGI app's path, which
    serves every scan when the gateway does not batch: the same status, error code and body."""
    path, body, headers, status, code = SCAN_CASES[case]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers}
    answers = {}
    for batched in (True, False):
        backend = ScanBackend()
        batcher = Batcher(backend, max_batch=100, max_wait=0.001, senders=1) if batched else None
        app = GatewayApp(Dispatcher(backend, TokenVerifier(keys.public_pem), batcher=batcher), max_body=MAX_BODY)
        server = http_server(app, workers=1)
        try:
            sock = connect(server)
            sock.sendall(request(path, body=body, headers=headers))
            answer_status, answer_headers, answer = Reader(sock).response()
            answers[batched] = (answer_status, without_request_id(json.loads(answer), answer_headers))
            assert len(backend.calls) == (1 if status == 200 else 0)
        finally:
            server.stop(grace=1)
            if batcher is not None:
                batcher.close()
    assert answers[True] == answers[False]
    answer_status, answer = answers[True]
    assert answer_status == status
    if status == 200:
        assert answer["message"] == "d1"
    elif code is not None:
        assert answer["error"]["code"] == code


class ContentBackend:
    """The content service's busiest calls, batched or one by one, answered with their contract samples."""
    SINGLE = {"get_feeds": "get_feed", "get_items": "get_item", "save_quiz_answers": "save_quiz_answer",
              "submit_quiz_attempts": "submit_quiz_attempt"}

    def __init__(self):
        self.calls: list[tuple[str, list[dict]]] = []

    def call(self, service, method, **kwargs):
        assert service == "content"
        if method in self.SINGLE:
            self.calls.append((method, kwargs["items"]))
            return [{"result": RESULTS[self.SINGLE[method]]} for _ in kwargs["items"]]
        self.calls.append((method, [kwargs]))
        return RESULTS[method]


FEED, ITEM = "/v1/feed", "/v1/items/itm-1"
ANSWER = "/v1/quiz-attempts/att-1/answers/q-1"
CONTENT_CASES = {        # name: (method, path, body, expected status, code, the batch method or None)
    "feed": ("GET", FEED + "?page_size=5", None, 200, None, "get_feeds"),
    "feed, page size as text": ("GET", FEED + "?page_size=five", None, 400, "INVALID_TYPE", None),
    "feed, unknown parameter": ("GET", FEED + "?colour=red", None, 400, "UNKNOWN_FIELD", None),
    "feed, repeated parameter": ("GET", FEED + "?page_size=5&page_size=6", None, 400, "REPEATED_PARAMETER", None),
    "an item": ("GET", ITEM, None, 200, None, "get_items"),
    "an item, its id in the query too": ("GET", ITEM + "?item_id=itm-2", None, 400, "UNKNOWN_FIELD", None),
    "an answer": ("PUT", ANSWER, b'{"choices": ["A"]}', 200, None, "save_quiz_answers"),
    "an answer for another attempt": ("PUT", ANSWER, b'{"attempt_id": "att-2"}', 400, "PATH_BODY_MISMATCH", None),
    "an answer with a query": ("PUT", ANSWER + "?text=x", b"{}", 400, "UNKNOWN_FIELD", None),
    "a submission": ("POST", "/v1/quiz-attempts/att-1:submit", b"", 200, None, "submit_quiz_attempts"),
    "an item's history (not batched)": ("GET", ITEM + "/history", None, 200, None, None),
}


@pytest.mark.parametrize("case", CONTENT_CASES)
def test_batched_content_calls_on_the_loop_are_answered_as_on_a_thread(keys, token, case):
    """Every batched operation with path parameters or a query string takes the loop's path: the same status,
    error code and body as the WSGI app on a thread, and a valid request travels in its batch."""
    method, path, body, status, code, batch_method = CONTENT_CASES[case]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    answers = {}
    for batched in (True, False):
        backend = ContentBackend()
        batcher = Batcher(backend, max_batch=100, max_wait=0.001, senders=1) if batched else None
        app = GatewayApp(Dispatcher(backend, TokenVerifier(keys.public_pem), batcher=batcher), max_body=MAX_BODY)
        routed = []                          # requests the app answered on a thread
        app.route = lambda wsgi_request, route=app.route: routed.append(wsgi_request.path) or route(wsgi_request)
        server = http_server(app, workers=1)
        try:
            sock = connect(server)
            sock.sendall(request(path, method, body=body or b"", headers=headers))
            answer_status, answer_headers, answer = Reader(sock).response()
            answers[batched] = (answer_status, without_request_id(json.loads(answer), answer_headers))
            if batched and batch_method:
                assert [name for name, _ in backend.calls] == [batch_method] and routed == []
        finally:
            server.stop(grace=1)
            if batcher is not None:
                batcher.close()
    assert answers[True] == answers[False]
    assert answers[True][0] == status
    if code is not None:
        assert answers[True][1]["error"]["code"] == code
