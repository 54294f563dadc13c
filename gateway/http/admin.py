"""The admin listener's app (``GATEWAY_ADMIN_HOST``:``GATEWAY_ADMIN_PORT``, 127.0.0.1:8081 by default): /metrics,
the API description (/openapi.json and /docs), /healthz (the listener answers) and the process's /livez and /readyz
(``gateway.health``), kept off the public listener.

The metrics tell an outsider the load and the error rates of every operation; the API description names every
operation and field, open ones included. Neither is needed by the pages or the apps, so both stay where only the
operator's network reaches (Prometheus, a developer's browser, the fuzzing run).
"""
from __future__ import annotations

import json

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from gateway import request_ids
from gateway.errors import ErrorReply
from gateway.health import GatewayHealth
from gateway.http.app import API_SECURITY_HEADERS, JSON_TYPE, error_response, json_response
from gateway.http.docs import render_docs
from gateway.http.openapi import build_openapi
from gateway.http.pages import COMMON_HEADERS
from gateway.operations import OPERATIONS, Operation
from servicekit.process.metrics import sample_names

# /docs is a page of its own (inline style and script): only the framing and sniffing rules apply to it
DOCS_HEADERS = (("X-Frame-Options", "DENY"), ("Cache-Control", "no-store"))


class AdminApp:
    def __init__(self, operations: tuple[Operation, ...] = OPERATIONS, health: GatewayHealth | None = None):
        self.url_map = Map([Rule("/openapi.json", methods=["GET"], endpoint="openapi"),
                            Rule("/docs", methods=["GET"], endpoint="docs"),
                            Rule("/healthz", methods=["GET"], endpoint="healthz"),
                            Rule("/livez", methods=["GET"], endpoint="livez"),
                            Rule("/readyz", methods=["GET"], endpoint="readyz"),
                            Rule("/metrics", methods=["GET"], endpoint="metrics")])
        self.openapi = json.dumps(build_openapi(operations), ensure_ascii=False, indent=1)
        self.docs = render_docs(operations)
        self.health = health or GatewayHealth()

    def __call__(self, environ, start_response):
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        request_ids.begin(request.environ.get("gateway.request_id") or request_ids.new_id())
        try:
            endpoint, _ = self.url_map.bind_to_environ(request.environ).match()
            response = getattr(self, f"serve_{endpoint}")(request)
        except NotFound:
            response = error_response(ErrorReply("NOT_FOUND", "ROUTE_NOT_FOUND", f"no route for {request.path}"))
        except MethodNotAllowed as exc:
            response = error_response(ErrorReply("METHOD_NOT_ALLOWED", "METHOD_NOT_ALLOWED",
                                                 f"{request.method} is not allowed on {request.path}"),
                                      {"Allow": ", ".join(sorted(exc.valid_methods or []))})
        extra = DOCS_HEADERS if request.path == "/docs" else API_SECURITY_HEADERS
        for name, value in (*COMMON_HEADERS, *extra):
            response.headers.setdefault(name, value)
        response.headers[request_ids.HEADER] = request_ids.current_or_new()
        return response

    @staticmethod
    def serve_batched(_request):
        return None                                 # every request on a thread (``gateway.http.server``)

    def body_limit(self, _method: str, _path: str) -> int:
        return 0                                    # nothing here takes a body

    def serve_openapi(self, _request: Request) -> Response:
        return Response(self.openapi, content_type=JSON_TYPE)

    def serve_docs(self, _request: Request) -> Response:
        return Response(self.docs, content_type="text/html; charset=utf-8")

    @staticmethod
    def serve_healthz(_request: Request) -> Response:
        return json_response({"status": "ok"})

    def serve_livez(self, _request: Request) -> Response:
        status, body = self.health.live()
        return json_response(body, status)

    def serve_readyz(self, _request: Request) -> Response:
        status, body = self.health.ready()
        return json_response(body, status)

    @staticmethod
    def serve_metrics(request: Request) -> Response:
        """The process's metrics; ``?name[]=...`` (repeated) only those series, as prometheus_client's own server."""
        names = request.args.getlist("name[]")
        registry = REGISTRY.restricted_registry(sample_names(names)) if names else REGISTRY
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
