"""The HTTP side's server: HTTP/1.1 (httptools, the llhttp parser) on the gateway's event loop, the WSGI
app behind it.

A member's scan is answered on the loop itself, as on the gRPC side: the request is parsed, its
token checked and it joins its batch as a future (``GatewayApp.serve_batched``), so thousands of
phones waiting for their batch hold no thread. Every other request runs the WSGI app
(``GatewayApp``) on a worker thread, since its nameko RPC blocks. httptools parses in C and the answer
is written as bytes here (docs/performance.md#the-gateways-work-per-scan).

What the server enforces (each refused with a JSON error body, as the app's own errors):
- the request's syntax, by the parser (a malformed request line or header, two lengths), and a body
  framed both by Content-Length and Transfer-Encoding (request smuggling): 400 ``MALFORMED_REQUEST``,
  and the connection is closed;
- header size (``MAX_HEADER_BYTES``: 431 ``HEADERS_TOO_LARGE``), body size (``max_body``: 413
  ``BODY_TOO_LARGE``, from Content-Length before anything is read, or as a chunked body grows);
- time: a request must arrive whole within ``request_timeout`` of its first byte (408
  ``REQUEST_TIMEOUT``), and an idle keep-alive connection is closed after ``idle_timeout``;
- ``max_connections`` open at once (more are closed at once).
``Expect: 100-continue`` is answered when the body is wanted; HTTP/1.0 and ``Connection: close`` close
after the answer; pipelined requests are answered in order, one at a time per connection; a request
asking to upgrade the protocol is answered as HTTP and the connection then closed.
"""
from __future__ import annotations

import asyncio
import io
import logging
import ssl
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from urllib.parse import unquote_to_bytes

import httptools

from gateway.errors import INTERNAL_REPLY, ErrorReply
from gateway.event_loop import LoopThread, shared_loop
from gateway.http.app import Answer, PlainRequest, error_answer

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 16 * 1024
REQUEST_TIMEOUT = 30.0
IDLE_TIMEOUT = 75.0
LINGER_SECONDS = 2.0
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


class Refused(Exception):
    """Raised in a parser callback: the request is answered with ``answer`` and the connection closed."""

    def __init__(self, answer: Answer):
        super().__init__(answer.status)
        self.answer = answer


class HttpConnection(asyncio.Protocol):
    """One client connection: httptools parses (the parser calls the ``on_*`` methods), ``HttpGateway.answer``
    answers, one request at a time and in order."""

    def __init__(self, server: "HttpGateway"):
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.incoming: Incoming | None = None           # the request being received
        self.ready: deque[Incoming] = deque()           # received whole, waiting for the one being answered
        self.answering = False
        self.last = False              # no request after those received (an upgrade was asked for, or the peer is done)
        self.refusal: Answer | None = None              # to write once the answers under way are written
        self.discarding = False
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Future | None = None

    # --- asyncio callbacks -------------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport
        if not self.server.opened(self):
            transport.abort()
            return
        self._arm(self.server.idle_timeout, idle=True)

    def connection_lost(self, exc) -> None:
        self.server.closed(self)
        self._disarm()

    def data_received(self, data: bytes) -> None:
        if self.discarding or self.last:
            return
        mid_head = self.incoming if self.incoming is not None and not self.incoming.head_done else None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            if not isinstance(error.__context__, Refused):
                raise
            self._refuse(error.__context__.answer)
        except httptools.HttpParserUpgrade:
            self.last = True            # no protocol switch is offered: what was asked is answered, then we close
        except httptools.HttpParserError as error:
            self._refuse(app_error("INVALID_ARGUMENT", "MALFORMED_REQUEST", f"malformed HTTP request: {error}"))
        else:
            if mid_head is not None and self.incoming is mid_head and not mid_head.head_done:
                self.incoming.head_bytes += len(data)
                if self.incoming.head_bytes > MAX_HEADER_BYTES:      # a head arriving in pieces, without end
                    self._refuse(self._headers_too_large())
        if self.answering and not self.discarding:
            self.transport.pause_reading()      # a pipelining client waits: requests would pile up without limit
        self._next()                            # requests received whole before anything refused are answered

    def eof_received(self) -> bool:
        self.last = True
        if not self.answering and not self.ready:
            self.transport.close()
        # the answers under way are still written; TLS has no half-close (asyncio closes the connection anyway)
        return self.server.ssl_context is None

    # --- parser callbacks --------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.incoming = Incoming()
        if not self.answering and not self.ready:
            self._arm(self.server.request_timeout, idle=False)      # the request has that long to arrive whole

    def on_url(self, url: bytes) -> None:
        self.incoming.target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.incoming.headers.append((name, value))

    def on_headers_complete(self) -> None:
        request = self.incoming
        request.head_done = True
        request.method, request.http_version = self.parser.get_method(), self.parser.get_http_version()
        request.keep_alive = self.parser.should_keep_alive() and request.http_version == "1.1"
        refusal = self._refusal_of(request)
        if refusal is not None:
            raise Refused(refusal)
        if not self.answering and not self.ready:
            self._maybe_continue(request)

    def on_body(self, body: bytes) -> None:
        self.incoming.body += body
        if len(self.incoming.body) > self.server.max_body:
            raise Refused(self._too_large())

    def on_message_complete(self) -> None:
        self.ready.append(self.incoming)
        self.incoming = None
        if not self.answering:
            self._disarm()

    # --- answers -----------------------------------------------------------------------
    def _next(self) -> None:
        if self.answering or not self.ready or self.transport is None or self.transport.is_closing():
            return
        self.answering = True
        self._disarm()
        self.task = asyncio.ensure_future(self._answer(self.ready.popleft()))

    def _maybe_continue(self, request: Incoming) -> None:
        if not request.continued and request.wants_continue():
            request.continued = True
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    async def _answer(self, request: Incoming) -> None:
        try:
            answer = await self.server.answer(request, self.transport.get_extra_info("peername"))
        except Exception:  # noqa: BLE001  the app answers its own errors; this is a bug in the server
            log.exception("HTTP request %s %s failed", request.method, request.target)
            answer = error_answer(INTERNAL_REPLY)
        if self.transport is None or self.transport.is_closing():
            return
        close = not request.keep_alive or (self.last and not self.ready and self.refusal is None)
        self.transport.write(response_bytes(answer, head_only=request.method == b"HEAD", close=close))
        if close:
            self.transport.close()
            return
        self.answering = False
        if self.ready:
            self._next()
        elif self.refusal is not None:
            self._refuse(self.refusal)
        else:
            self.transport.resume_reading()
            if self.incoming is not None:                   # begun while this one was answered
                self._arm(self.server.request_timeout, idle=False)
                if self.incoming.head_done:
                    self._maybe_continue(self.incoming)
            else:
                self._arm(self.server.idle_timeout, idle=True)

    def _refuse(self, answer: Answer) -> None:
        """Answer an error before the request was read whole, and close: what follows cannot be trusted. Answers
        to the requests before it are written first."""
        self._disarm()
        self.discarding, self.incoming = True, None
        if self.answering or self.ready:
            self.refusal = answer
            return
        self.refusal = None
        self.transport.write(response_bytes(answer, close=True))
        self._linger()

    def _linger(self) -> None:
        """Close without losing the answer: stop writing, discard what the client still sends (the rest of
        a refused body) until it stops or ``LINGER_SECONDS`` pass, then close. Closing at once, with its data
        unread, would reset the connection, and the reset can destroy the answer before the client reads it."""
        self.transport.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.timer = asyncio.get_running_loop().call_later(LINGER_SECONDS, self.transport.close)

    def _too_large(self) -> Answer:
        return app_error("PAYLOAD_TOO_LARGE", "BODY_TOO_LARGE", f"the body may be at most {self.server.max_body} bytes")

    @staticmethod
    def _headers_too_large() -> Answer:
        return app_error("HEADERS_TOO_LARGE", "HEADERS_TOO_LARGE",
                         f"the request's line and headers may be at most {MAX_HEADER_BYTES} bytes")

    def _refusal_of(self, request: Incoming) -> Answer | None:
        """What a request's head alone is refused for, before its body is read (the parser has refused a
        body framed both by Content-Length and Transfer-Encoding, and two lengths)."""
        headers = request.headers
        if len(request.target) + sum(len(name) + len(value) + 4 for name, value in headers) > MAX_HEADER_BYTES:
            return self._headers_too_large()
        length = next((value for name, value in headers if name.lower() == b"content-length"), b"0")
        if int(length) > self.server.max_body:           # the parser has checked it is one run of digits
            return self._too_large()
        return None

    # --- timers ------------------------------------------------------------------------
    def _arm(self, seconds: float, idle: bool) -> None:
        self._disarm()
        self.timer = asyncio.get_running_loop().call_later(seconds, self._timed_out, idle)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _timed_out(self, idle: bool) -> None:
        self.timer = None
        if self.transport is None or self.transport.is_closing() or self.answering:
            return
        if idle:
            self.transport.close()
        else:
            self._refuse(app_error("REQUEST_TIMEOUT", "REQUEST_TIMEOUT",
                                   f"the request did not arrive whole within {self.server.request_timeout:g} s"))


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


class HttpGateway:
    """``HttpGateway(app, "127.0.0.1", 8080).start()``; ``app`` is the WSGI ``GatewayApp`` (its
    ``serve_batched(PlainRequest)`` answers a batched operation on the loop, or returns None)."""

    def __init__(self, app, host: str, port: int, max_body: int, workers: int = 32,
                 loop: LoopThread | None = None, request_timeout: float = REQUEST_TIMEOUT,
                 idle_timeout: float = IDLE_TIMEOUT, max_connections: int = MAX_CONNECTIONS,
                 ssl_context: ssl.SSLContext | None = None):
        self.app, self.host, self.max_body = app, host, max_body
        self.ssl_context = ssl_context                  # HTTPS when set (``gateway.http.tls``)
        self.scheme = "https" if ssl_context is not None else "http"
        self.request_timeout, self.idle_timeout, self.max_connections = request_timeout, idle_timeout, max_connections
        self.loop_thread = loop or shared_loop()
        self.workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="http")
        self.connections: set[HttpConnection] = set()
        self.server = self.loop_thread.run(self._listen(port))
        self.port = self.server.sockets[0].getsockname()[1]

    async def _listen(self, port: int) -> asyncio.AbstractServer:
        tls = {"ssl": self.ssl_context, "ssl_handshake_timeout": self.request_timeout} if self.ssl_context else {}
        return await asyncio.get_running_loop().create_server(lambda: HttpConnection(self), self.host, port,
                                                               start_serving=False, reuse_address=True, **tls)

    def start(self) -> "HttpGateway":
        self.loop_thread.run(self.server.start_serving())
        return self

    def stop(self, grace: float = 5.0) -> None:
        self.loop_thread.run(self._stop(grace), timeout=grace + 5)
        self.workers.shutdown(wait=False)

    async def _stop(self, grace: float) -> None:
        self.server.close()
        deadline = asyncio.get_running_loop().time() + grace
        while any(connection.answering for connection in self.connections) \
                and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)                      # answers under way are written first
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()

    # --- connections -------------------------------------------------------------------
    def opened(self, connection: HttpConnection) -> bool:
        if len(self.connections) >= self.max_connections:
            log.warning("HTTP: %d connections open; refusing another", len(self.connections))
            return False
        self.connections.add(connection)
        return True

    def closed(self, connection: HttpConnection) -> None:
        self.connections.discard(connection)

    async def answer(self, request: Incoming, peer) -> Answer:
        batched = self.app.serve_batched(plain_request(request))
        if batched is not None:
            return await batched
        environ = wsgi_environ(request, (self.host, self.port), peer, self.scheme)
        return await asyncio.get_running_loop().run_in_executor(self.workers, run_wsgi, self.app, environ)
