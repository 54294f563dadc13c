"""The HTTP side's server: HTTP/1.1 (h11) on the gateway's event loop, the WSGI app behind it.

A member's scan is answered on the loop itself, as on the gRPC side: the request is parsed, its
token checked and it joins its batch as a future (``GatewayApp.serve_batched``), so thousands of
phones waiting for their batch hold no thread. Every other request runs the WSGI app
(``GatewayApp``) on a worker thread, since its nameko RPC blocks.

Before this server the HTTP side ran under waitress (a thread per request in flight). Measured on
one machine with echo handlers, 256 keep-alive connections: an asyncio server with h11 spends about
0.09 ms of CPU per request, where the gRPC side (grpc.aio) spends 0.25-0.3 ms; a phone's scan over
HTTP/JSON is the cheapest way in.

What the server enforces (each refused with a JSON error body, as the app's own errors):
- the request's syntax, by h11 (a malformed request line or header, two lengths), and a body framed
  both by Content-Length and Transfer-Encoding (request smuggling): 400 ``MALFORMED_REQUEST``, and the
  connection is closed;
- header size (``MAX_HEADER_BYTES``: 431 ``HEADERS_TOO_LARGE``), body size (``max_body``: 413
  ``BODY_TOO_LARGE``, from Content-Length before anything is read, or as a chunked body grows);
- time: a request must arrive whole within ``request_timeout`` of its first byte (408
  ``REQUEST_TIMEOUT``), and an idle keep-alive connection is closed after ``idle_timeout``;
- ``max_connections`` open at once (more are closed at once).
``Expect: 100-continue`` is answered when the body is wanted; HTTP/1.0 and ``Connection: close`` close
after the answer; pipelined requests are answered in order, one at a time per connection.
"""
from __future__ import annotations

import asyncio
import io
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from urllib.parse import unquote_to_bytes

import h11

from gateway.errors import INTERNAL_REPLY, ErrorReply
from gateway.event_loop import LoopThread, shared_loop
from gateway.http_app import Answer, PlainRequest, error_answer

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 16 * 1024
REQUEST_TIMEOUT = 30.0
IDLE_TIMEOUT = 75.0
LINGER_SECONDS = 2.0
MAX_CONNECTIONS = 20_000
SERVER_NAME = "partybuilding-gateway"


def app_error(kind: str, code: str, message: str) -> Answer:
    """The app's own error answer (``gateway.errors``: status by kind, the JSON error body)."""
    return error_answer(ErrorReply(kind, code, message))


def path_and_query(request: h11.Request) -> tuple[str, str]:
    """The request target's path, percent-decoded as PATH_INFO, and its query string."""
    path, _, query = request.target.decode("latin-1").partition("?")
    return (unquote_to_bytes(path).decode("latin-1") if "%" in path else path), query


def plain_request(request: h11.Request, body: bytes) -> PlainRequest:
    path, query = path_and_query(request)
    authorization, content_type = None, ""
    for name, value in request.headers.raw_items():
        name = name.lower()
        if name == b"authorization":         # repeated: joined, as in a WSGI environ (and then refused)
            text = value.decode("latin-1")
            authorization = text if authorization is None else f"{authorization}, {text}"
        elif name == b"content-type":
            content_type = value.decode("latin-1")
    return PlainRequest(request.method.decode("ascii"), path, query, authorization, content_type, body)


def wsgi_environ(request: h11.Request, body: bytes, server: tuple[str, int], peer) -> dict:
    """The PEP 3333 environ of one request (its body already read whole)."""
    path, query = path_and_query(request)
    environ = {
        "REQUEST_METHOD": request.method.decode("ascii"), "SCRIPT_NAME": "",
        "PATH_INFO": path, "QUERY_STRING": query,
        "SERVER_NAME": server[0], "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{request.http_version.decode('ascii')}",
        "REMOTE_ADDR": peer[0] if peer else "", "REMOTE_PORT": str(peer[1]) if peer else "",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in request.headers.raw_items():
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


class HttpConnection(asyncio.Protocol):
    """One client connection: h11 parses, ``HttpGateway.answer`` answers, one request at a time."""

    def __init__(self, server: "HttpGateway"):
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
        self.request: h11.Request | None = None
        self.body = bytearray()
        self.answering = False
        self.continued = False
        self.receiving = False
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
        if self.discarding:
            return
        if not self.receiving and not self.answering:
            self.receiving = True                                   # a request has begun: it has
            self._arm(self.server.request_timeout, idle=False)      # request_timeout to arrive whole
        self.h11.receive_data(data)
        if self.answering:
            self.transport.pause_reading()      # a pipelining client waits: h11 would buffer without limit
        self._pump()

    def eof_received(self) -> bool:
        if self.discarding:
            self.transport.close()
            return True
        self.h11.receive_data(b"")
        self._pump()
        return True

    # --- requests ----------------------------------------------------------------------
    def _pump(self) -> None:
        while not self.answering and not self.discarding and self.transport is not None \
                and not self.transport.is_closing():
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as error:
                if error.error_status_hint == 431:
                    self._refuse(self._headers_too_large())
                else:
                    self._refuse(app_error("INVALID_ARGUMENT", "MALFORMED_REQUEST",
                                              f"malformed HTTP request: {error}"))
                return
            if event is h11.NEED_DATA:
                self._maybe_continue()
                return
            if event is h11.PAUSED:
                self.transport.pause_reading()              # the next request waits for this answer
                return
            if isinstance(event, h11.Request):
                self.request, self.body, self.continued = event, bytearray(), False
                refusal = self._refusal_of(event)
                if refusal is not None:
                    self._refuse(refusal)
                    return
            elif isinstance(event, h11.Data):
                self.body += event.data
                if len(self.body) > self.server.max_body:
                    self._refuse(self._too_large())
                    return
            elif isinstance(event, h11.EndOfMessage):
                self.answering, self.receiving = True, False
                self._disarm()
                self.task = asyncio.ensure_future(self._answer(self.request, bytes(self.body)))
                self.request, self.body = None, bytearray()
            elif isinstance(event, h11.ConnectionClosed):
                self.transport.close()
                return

    def _maybe_continue(self) -> None:
        if self.h11.they_are_waiting_for_100_continue and not self.continued:
            self.continued = True
            self.transport.write(self.h11.send(h11.InformationalResponse(status_code=100, headers=[])))

    async def _answer(self, request: h11.Request, body: bytes) -> None:
        try:
            answer = await self.server.answer(request, body, self.transport.get_extra_info("peername"))
        except Exception:  # noqa: BLE001  the app answers its own errors; this is a bug in the server
            log.exception("HTTP request %s %s failed", request.method, request.target)
            answer = error_answer(INTERNAL_REPLY)
        if self.transport is None or self.transport.is_closing():
            return
        self._write(answer, head_only=request.method == b"HEAD")
        if self.h11.our_state is h11.MUST_CLOSE or self.h11.their_state is h11.MUST_CLOSE:
            self.transport.close()
            return
        try:
            self.h11.start_next_cycle()
        except h11.LocalProtocolError:
            self.transport.close()
            return
        self.answering = False
        self._arm(self.server.idle_timeout, idle=True)
        self.transport.resume_reading()
        self._pump()

    def _write(self, answer: Answer, head_only: bool = False, close: bool = False) -> None:
        headers = [(name, value.encode("latin-1")) for name, value in answer.headers
                   if name.lower() not in ("content-length", "transfer-encoding", "connection", "server")]
        headers += [("Content-Length", str(len(answer.body))), ("Server", SERVER_NAME)]
        if close:
            headers.append(("Connection", "close"))
        data = self.h11.send(h11.Response(status_code=answer.status, headers=headers, reason=reason(answer.status)))
        if answer.body and not head_only:
            data += self.h11.send(h11.Data(data=answer.body))
        data += self.h11.send(h11.EndOfMessage())
        self.transport.write(data)

    def _refuse(self, answer: Answer) -> None:
        """Answer an error before the request was read whole, and close: what follows cannot be trusted."""
        self._disarm()
        if self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            try:
                self._write(answer, close=True)
            except h11.LocalProtocolError:
                self.transport.write(_raw(answer))
        self._linger()

    def _linger(self) -> None:
        """Close without losing the answer: stop writing, discard what the client still sends (the rest of
        a refused body) until it stops or ``LINGER_SECONDS`` pass, then close. Closing at once, with its data
        unread, would reset the connection, and the reset can destroy the answer before the client reads it."""
        self.discarding = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.timer = asyncio.get_running_loop().call_later(LINGER_SECONDS, self.transport.close)

    def _too_large(self) -> Answer:
        return app_error("PAYLOAD_TOO_LARGE", "BODY_TOO_LARGE",
                            f"the body may be at most {self.server.max_body} bytes")

    @staticmethod
    def _headers_too_large() -> Answer:
        return app_error("HEADERS_TOO_LARGE", "HEADERS_TOO_LARGE",
                            f"the request's line and headers may be at most {MAX_HEADER_BYTES} bytes")

    def _refusal_of(self, request: h11.Request) -> Answer | None:
        """What a request's head alone is refused for, before its body is read (``raw_items``: iterating
        h11's Headers as a sequence cost the gateway 6 % of its CPU per scan)."""
        headers = request.headers.raw_items()
        if len(request.target) + sum(len(name) + len(value) + 4 for name, value in headers) > MAX_HEADER_BYTES:
            return self._headers_too_large()             # h11 only limits a head that arrives in pieces
        names = {name.lower() for name, _ in headers}
        if b"content-length" in names and b"transfer-encoding" in names:      # RFC 9112 6.1: smuggling
            return app_error("INVALID_ARGUMENT", "MALFORMED_REQUEST",
                                "a body may be framed by Content-Length or Transfer-Encoding, not both")
        length = next((int(value) for name, value in headers if name.lower() == b"content-length"), 0)
        if length > self.server.max_body:                 # h11 has checked it is one run of digits
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


def reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b""


def _raw(answer: Answer) -> bytes:
    head = f"HTTP/1.1 {answer.status} {reason(status=answer.status).decode()}\r\nContent-Length: {len(answer.body)}\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in answer.headers)
    return head.encode("latin-1") + b"\r\n" + answer.body


class HttpGateway:
    """``HttpGateway(app, "127.0.0.1", 8080).start()``; ``app`` is the WSGI ``GatewayApp`` (its
    ``serve_batched(PlainRequest)`` answers a batched operation on the loop, or returns None)."""

    def __init__(self, app, host: str, port: int, max_body: int, workers: int = 32,
                 loop: LoopThread | None = None, request_timeout: float = REQUEST_TIMEOUT,
                 idle_timeout: float = IDLE_TIMEOUT, max_connections: int = MAX_CONNECTIONS):
        self.app, self.host, self.max_body = app, host, max_body
        self.request_timeout, self.idle_timeout, self.max_connections = request_timeout, idle_timeout, max_connections
        self.loop_thread = loop or shared_loop()
        self.workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="http")
        self.connections: set[HttpConnection] = set()
        self.server = self.loop_thread.run(self._listen(port))
        self.port = self.server.sockets[0].getsockname()[1]

    async def _listen(self, port: int) -> asyncio.AbstractServer:
        return await asyncio.get_running_loop().create_server(lambda: HttpConnection(self), self.host, port,
                                                               start_serving=False, reuse_address=True)

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

    async def answer(self, request: h11.Request, body: bytes, peer) -> Answer:
        batched = self.app.serve_batched(plain_request(request, body))
        if batched is not None:
            return await batched
        environ = wsgi_environ(request, body, (self.host, self.port), peer)
        return await asyncio.get_running_loop().run_in_executor(self.workers, run_wsgi, self.app, environ)
