"""A request as the HTTP server hands it to the gateway's app: the parsed head and body (``Incoming``), its WSGI
environ or the plain request of the scan path, the app's answer as response bytes, and the limits the server
enforces."""
from __future__ import annotations

import io
import sys
from http import HTTPStatus
from urllib.parse import unquote_to_bytes

from gateway.errors import ErrorReply
from gateway.http.app import Answer, PlainRequest, error_answer

MAX_HEADER_BYTES = 16 * 1024
REQUEST_TIMEOUT = 30.0
IDLE_TIMEOUT = 75.0
MAX_CONNECTIONS = 20_000
SERVER_NAME = "partybuilding-gateway"
SERVER_HEADER = f"Server: {SERVER_NAME}\r\n".encode()


def app_error(kind: str, code: str, message: str) -> Answer:
    """The app's own error answer (``gateway.errors``: status by kind, the JSON error body)."""
    return error_answer(ErrorReply(kind, code, message))


def path_and_query(request: "Incoming") -> tuple[str, str]:
    """The request target's path, percent-decoded as PATH_INFO, and its query string."""
    path, _, query = request.target.decode("latin-1").partition("?")
    return (unquote_to_bytes(path).decode("latin-1") if "%" in path else path), query


def plain_request(request: "Incoming") -> PlainRequest:
    path, query = path_and_query(request)
    authorization, content_type, cookie, csrf_token = None, "", None, None
    for name, value in request.headers:
        name = name.lower()
        if name == b"authorization":         # repeated: joined, as in a WSGI environ (and then refused)
            text = value.decode("latin-1")
            authorization = text if authorization is None else f"{authorization}, {text}"
        elif name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"cookie":              # a page's session (gateway.http.pages); repeated: joined
            text = value.decode("latin-1")
            cookie = text if cookie is None else f"{cookie}; {text}"
        elif name == b"x-csrf-token":
            text = value.decode("latin-1")
            csrf_token = text if csrf_token is None else f"{csrf_token}, {text}"
    return PlainRequest(request.method.decode("ascii"), path, query, authorization, content_type, bytes(request.body),
                        cookie, csrf_token)


def wsgi_environ(request: "Incoming", server: tuple[str, int], peer, scheme: str = "http") -> dict:
    """The PEP 3333 environ of one request (its body already read whole); ``scheme`` is https when the
    connection is TLS (what a page's Secure cookies and HSTS go by)."""
    body = bytes(request.body)
    path, query = path_and_query(request)
    environ = {
        "REQUEST_METHOD": request.method.decode("ascii"), "SCRIPT_NAME": "",
        "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": server[0], "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{request.http_version}",
        "REMOTE_ADDR": peer[0] if peer else "", "REMOTE_PORT": str(peer[1]) if peer else "",
        "wsgi.version": (1, 0), "wsgi.url_scheme": scheme, "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in request.headers:
        key = name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = text
        elif key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
            continue                                    # the body is whole: its length is what was read
        else:
            key = "HTTP_" + key
            environ[key] = f"{environ[key]}, {text}" if key in environ else text
    return environ


def run_wsgi(app, environ: dict) -> Answer:
    """Call a WSGI app and gather its whole answer (on a worker thread)."""
    started: list = []

    def start_response(status: str, headers: list, exc_info=None):
        started[:] = [status, headers]
        return lambda data: chunks.append(data)

    chunks: list[bytes] = []
    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started
    return Answer(int(status.split(" ", 1)[0]), list(headers), b"".join(chunks))


class Incoming:
    """One request as the parser delivers it: the head, then the body as it arrives."""

    __slots__ = ("method", "target", "http_version", "headers", "body", "keep_alive", "head_done", "head_bytes",
                 "continued")

    def __init__(self):
        self.method, self.target, self.http_version = b"", b"", "1.1"
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.keep_alive, self.head_done, self.continued = True, False, False
        self.head_bytes = 0          # read while the head was incomplete, in whole reads (bounds the parser's buffer)

    def wants_continue(self) -> bool:
        return self.http_version == "1.1" and any(
            name.lower() == b"expect" and value.lower() == b"100-continue" for name, value in self.headers)


SKIPPED_HEADERS = frozenset(("content-length", "transfer-encoding", "connection", "server"))
BODILESS = frozenset((204, 304))


def response_bytes(answer: Answer, head_only: bool = False, close: bool = False) -> bytes:
    """The whole response: status line, the answer's headers (framing ours: Content-Length, and
    ``Connection: close`` when the connection closes after it), then the body unless ``head_only``."""
    lines = [b"HTTP/1.1 %d %s\r\n" % (answer.status, reason(answer.status))]
    for name, value in answer.headers:
        if name.lower() not in SKIPPED_HEADERS:
            line = f"{name}: {value}\r\n"
            if line.count("\n") != 1 or "\r" in line[:-2]:
                raise ValueError(f"header {name!r} holds a line break")
            lines.append(line.encode("latin-1"))
    body = b"" if answer.status in BODILESS else answer.body
    if answer.status not in BODILESS:
        lines.append(b"Content-Length: %d\r\n" % len(body))
    lines.append(SERVER_HEADER + (b"Connection: close\r\n\r\n" if close else b"\r\n"))
    if body and not head_only:
        lines.append(body)
    return b"".join(lines)


REASONS = {status.value: status.phrase.encode("ascii") for status in HTTPStatus}


def reason(status: int) -> bytes:
    return REASONS.get(status, b"")
