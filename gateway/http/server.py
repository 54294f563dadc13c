"""The gateway's HTTP server: uvicorn (httptools) on the gateway's one event loop, where grpc.aio and the scan
batcher live, so a member's scan joins its batch with no thread (``GatewayApp.serve_batched``); every other
request runs the WSGI app on a pool of ``workers`` threads (its nameko RPC blocks).

Beside what uvicorn refuses itself, the protocol answers a malformed request with the app's JSON error (400
``MALFORMED_REQUEST``), refuses a head over ``MAX_HEADER_BYTES`` (431) and a body over the request's limit (413, from
Content-Length or as a chunked body grows: ``max_body``, or less when the app's ``body_limit`` says so for the
operation, ``gateway.limits``), and gives a request ``request_timeout`` from its first byte to
arrive whole (408 ``REQUEST_TIMEOUT``: a client trickling bytes cannot hold a connection); an idle keep-alive
connection closes after ``idle_timeout``; connections over ``max_connections`` are answered 503.

Every answer carries the request's id (``X-Request-Id``, ``gateway.request_ids``), and under TLS
Strict-Transport-Security.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway import request_ids
from gateway.client_address import TrustedProxies
from gateway.errors import INTERNAL_REPLY, describe
from gateway.event_loop import LoopThread, shared_loop
from gateway.http.app import REQUEST_ID_ENVIRON, Answer, error_answer
from gateway.http.pages import HSTS
from gateway.limits import SMALL_BODY_BYTES
from gateway.limits import too_large as body_too_large
from gateway.http.wsgi import (BODILESS, IDLE_TIMEOUT, MAX_CONNECTIONS, MAX_HEADER_BYTES, REQUEST_TIMEOUT,
                               SERVER_NAME, SKIPPED_HEADERS, Incoming, app_error, path_and_query, plain_request,
                               response_bytes, run_wsgi, wsgi_environ)

log = logging.getLogger(__name__)

class GatewayHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering a malformed request with the app's JSON error (400
    MALFORMED_REQUEST) after the answers already under way, answering a request whose client has stopped
    sending (half-close) before closing, closing after answering a request to upgrade, and refusing a request
    that does not arrive whole in time."""

    refusal: bytes | None = None
    request_timeout: float = REQUEST_TIMEOUT        # a server's own subclass sets its value
    deadline: asyncio.TimerHandle | None = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.deadline = self.loop.call_later(self.request_timeout, self._request_late)

    def on_message_complete(self) -> None:
        self._cancel_deadline()
        super().on_message_complete()

    def connection_lost(self, exc) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def _cancel_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _request_late(self) -> None:
        self.deadline = None
        if not self.transport.is_closing():
            self.transport.write(response_bytes(app_error(
                "REQUEST_TIMEOUT", "REQUEST_TIMEOUT",
                f"the request did not arrive whole within {self.request_timeout:g} s"), close=True))
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        if self.refusal is not None:
            return                       # the parser stays in error: later data repeats the same refusal
        self.refusal = response_bytes(app_error("INVALID_ARGUMENT", "MALFORMED_REQUEST",
                                                "malformed HTTP request"), close=True)
        self.flow.pause_reading()
        if self.cycle is None or self.cycle.response_complete:
            self._write_refusal()        # else once the requests before it are answered (on_response_complete)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.refusal is not None and not self.pipeline and not self.transport.is_closing() \
                and (self.cycle is None or self.cycle.response_complete):
            self._write_refusal()

    def _write_refusal(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(self.refusal)
            self.transport.close()

    def _unsupported_upgrade_warning(self) -> None:
        # no protocol switch is offered: what was asked is answered, then the connection closed (what follows
        # the head is in the other protocol)
        self.flow.pause_reading()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
        else:
            self.transport.close()

    def eof_received(self) -> bool | None:
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False          # answer what was asked, then close
            return True if self.transport.get_extra_info("sslcontext") is None else None
        return None


class AsgiAdapter:
    """The ASGI app uvicorn calls: the gateway's WSGI app with its scan fast path."""

    def __init__(self, app, max_body: int, workers: ThreadPoolExecutor, server: tuple[str, int], tls: bool = False):
        self.app, self.max_body, self.workers, self.server, self.tls = app, max_body, workers, server, tls
        proxies = getattr(app, "trusted_proxies", None)
        self.trusted_proxies = proxies if isinstance(proxies, TrustedProxies) else TrustedProxies.from_env()
        self.app_limit = getattr(app, "body_limit", None)
        # a body this small needs no look-up of its operation's limit: every operation takes at least as much
        self.small_body = min(max_body, SMALL_BODY_BYTES)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return                                  # lifespan is off and WebSocket not offered
        client = scope.get("client")
        given = next((value for name, value in scope["headers"] if name == b"x-request-id"), None)
        request_id = request_ids.begin(request_ids.chosen(given.decode("latin-1") if given else None,
                                                          client[0] if client else None, self.trusted_proxies))
        request = Incoming()
        request.method = scope["method"].encode("ascii")
        query = scope.get("query_string", b"")
        request.target = scope.get("raw_path") or scope["path"].encode("latin-1")
        if query:
            request.target += b"?" + query
        request.http_version = scope["http_version"]
        request.headers = scope["headers"]
        head_only = scope["method"] == "HEAD"
        try:
            answer = self._refusal_of(request)
            if answer is None:
                answer = await self._read_body(request, receive)
            if answer is None:
                answer = await self._answer(request, scope, request_id)
            else:
                answer.headers.append(("Connection", "close"))      # what follows the refused part is not read
        except Exception:  # noqa: BLE001  the app answers its own errors; this is a bug in the adapter
            log.exception("HTTP request %s %s failed", scope["method"], scope["path"])
            answer = error_answer(INTERNAL_REPLY)
        if not any(name == request_ids.HEADER for name, _ in answer.headers):
            answer.headers.append((request_ids.HEADER, request_id))
        if self.tls and not any(name == HSTS[0] for name, _ in answer.headers):
            answer.headers.append(HSTS)
        await send_answer(send, answer, head_only)

    def limit(self, request: Incoming) -> int:
        """The most bytes this request's body may have: the app's limit for its operation, within ``max_body``."""
        if self.app_limit is None:
            return self.max_body
        method = request.method.decode("ascii")
        return min(self.max_body, self.app_limit(method, path_and_query(request)[0]))

    def _refusal_of(self, request: Incoming) -> Answer | None:
        """A head refused before its body is read: too large, or a declared body over the limit."""
        size, length = len(request.target), None
        for name, value in request.headers:
            size += len(name) + len(value) + 4
            if name == b"content-length" and length is None:
                length = value
        if size > MAX_HEADER_BYTES:
            return app_error("HEADERS_TOO_LARGE", "HEADERS_TOO_LARGE",
                             f"the request's line and headers may be at most {MAX_HEADER_BYTES} bytes")
        length = int(b"0" if length is None else length)
        if length > self.small_body:                 # httptools has checked it is one run of digits
            limit = self.limit(request)
            if length > limit:
                return too_large(limit)
        return None

    async def _read_body(self, request: Incoming, receive) -> Answer | None:
        """The body, as it arrives; refused as soon as it grows over the limit (a chunked body)."""
        bound, looked_up = self.small_body, False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ConnectionResetError("the client left before its request was read")
            request.body += message.get("body", b"")
            if len(request.body) > bound and not looked_up:
                bound, looked_up = self.limit(request), True
            if len(request.body) > bound:
                return too_large(bound)
            if not message.get("more_body", False):
                return None

    async def _answer(self, request: Incoming, scope, request_id: str) -> Answer:
        batched = self.app.serve_batched(plain_request(request))
        if batched is not None:
            return await batched
        client = scope.get("client")
        environ = wsgi_environ(request, self.server, tuple(client) if client else None, scope.get("scheme", "http"))
        environ[REQUEST_ID_ENVIRON] = request_id
        return await asyncio.get_running_loop().run_in_executor(
            self.workers, contextvars.copy_context().run, run_wsgi, self.app, environ)


def too_large(limit: int) -> Answer:
    return error_answer(describe(body_too_large(limit)))


async def send_answer(send, answer: Answer, head_only: bool) -> None:
    """The answer as ASGI messages, framed as ``response_bytes`` frames it (Content-Length; uvicorn drops a
    HEAD's body and closes on ``Connection: close``)."""
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers
               if name.lower() not in SKIPPED_HEADERS]
    if any(name == "Connection" and value == "close" for name, value in answer.headers):
        headers.append((b"connection", b"close"))
    body = b"" if answer.status in BODILESS else answer.body
    if answer.status not in BODILESS:
        headers.append((b"content-length", str(len(body)).encode("ascii")))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HttpGateway:
    """``HttpGateway(app, "127.0.0.1", 8080, max_body).start()``; ``port``, ``scheme``, ``stop``. The socket is
    bound at construction, so ``port`` is known before ``start`` (port 0 picks a free one)."""

    def __init__(self, app, host: str, port: int, max_body: int, workers: int = 32,
                 loop: LoopThread | None = None, request_timeout: float = REQUEST_TIMEOUT,
                 idle_timeout: float = IDLE_TIMEOUT, max_connections: int = MAX_CONNECTIONS,
                 ssl_context: ssl.SSLContext | None = None, reuse_port: bool = False):
        self.app, self.host, self.max_body = app, host, max_body
        self.ssl_context = ssl_context
        self.scheme = "https" if ssl_context is not None else "http"
        self.loop_thread = loop or shared_loop()
        self.workers = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="http")
        self.socket = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                                           reuse_port=reuse_port, backlog=2048)
        self.socket.setblocking(False)
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(
            AsgiAdapter(app, max_body, self.workers, (host, self.port), tls=ssl_context is not None),
            host=host, port=self.port,
            http=type("Protocol", (GatewayHttpProtocol,), {"request_timeout": request_timeout}), ws="none", lifespan="off", interface="asgi3", loop="none",
            log_config=None, access_log=False,
            proxy_headers=False,                # TRUSTED_PROXIES is the app's (a login's client address)
            server_header=False, date_header=False, headers=[("Server", SERVER_NAME)],
            timeout_keep_alive=idle_timeout,    # type: ignore[arg-type]  call_later takes a float
            limit_concurrency=max_connections + 1, backlog=2048,   # uvicorn counts the new one itself
            ssl_context_factory=(lambda _config, _default: ssl_context) if ssl_context is not None else None)
        config.load()
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task | None = None

    def start(self) -> "HttpGateway":
        self.loop_thread.run(self._start())
        return self

    async def _start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.server.serve(sockets=[self.socket]))
        while not self.server.started:
            if self.task.done():
                self.task.result()                  # its failure, raised here
                raise RuntimeError("uvicorn stopped while starting")
            await asyncio.sleep(0)               # not a timed sleep: the loop's clock may be a test's

    def stop(self, grace: float = 5.0) -> None:
        self.server.config.timeout_graceful_shutdown = max(1, int(grace))
        self.loop_thread.run(self._stop(), timeout=grace + 5)
        self.workers.shutdown(wait=False)
        self.socket.close()

    async def _stop(self) -> None:
        self.server.should_exit = True               # answers under way are written, idle connections closed
        if self.task is not None:
            await self.task
