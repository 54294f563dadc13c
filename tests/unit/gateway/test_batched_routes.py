"""A batched request with path parameters (an item opened, a quiz answer) is routed on the loop by its own pattern,
without the routing table's matcher, only where that pattern's answer is the table's: every path any rule could
be given routes to the same operation with the same parameters either way."""
from __future__ import annotations

import random
import re

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

from gateway.dispatch import Dispatcher
from gateway.http.app import GatewayApp, PlainRequest, SegmentConverter, definite_routes, werkzeug_rule
from gateway.operations import OPERATIONS, Operation


@pytest.fixture(scope="module")
def app():
    return GatewayApp(Dispatcher(None, None, batcher=object()))


def by_table(app: GatewayApp, method: str, path: str):
    """What the routing table alone answers, as ``_batched_route`` did before its patterns."""
    operation = app.batched_routes.get((method, path))
    if operation is not None:
        return operation, {}
    try:
        endpoint, path_args = app._loop_routes.match(path, method=method)
    except HTTPException:
        return None, {}
    operation = app.operations.get(endpoint)
    return (operation, path_args) if operation is not None and operation.batch_method else (None, {})


def plain(method: str, path: str) -> PlainRequest:
    return PlainRequest(method, path, "", "Bearer t", "", b"")


SEGMENT_VALUES = ["a1", "abc-123", "x:submit", "x:y", ":submit", "answers", "attempts", "submit", "设备", "%2F",
                  "a b", "", "history", "receipts", "x.xlsx", "_", "quiz-attempts"]


def paths_from(template: str, rng: random.Random) -> list[str]:
    """Paths a rule's template could be asked with: its parameters filled in, and the same with a segment changed,
    added or dropped, a trailing slash, a suffix."""
    filled = re.sub(r"\{\w+\}", lambda _: rng.choice(SEGMENT_VALUES[:3]), template)
    parts = filled.split("/")
    variants = [filled, filled + "/", filled + ":submit", filled + "/answers", "/".join(parts[:-1])]
    for _ in range(6):
        changed = list(parts)
        changed[rng.randrange(1, len(changed))] = rng.choice(SEGMENT_VALUES)
        variants.append("/".join(changed))
    return variants


def test_the_members_batched_operations_with_parameters_skip_the_table(app):
    routed = {op.rpc for routes in app._definite_routes.values() for _, op in routes}
    assert {"GetItem", "StartQuizAttempt", "SaveQuizAnswer", "SubmitQuizAttempt"} <= routed


def test_every_path_a_rule_could_be_given_routes_alike(app):
    rng = random.Random(20261207)
    methods = sorted({op.http_method for op in OPERATIONS} | {"HEAD", "OPTIONS"})
    checked = 0
    for rule in app.url_map.iter_rules():
        template = re.sub(r"<segment:(\w+)>", r"{\1}", rule.rule)
        for path in paths_from(template, rng):
            for method in methods:
                assert app._batched_route(plain(method, path)) == by_table(app, method, path), (method, path)
                checked += 1
    assert checked > 5000


def operation(rpc: str, method: str, path: str) -> Operation:
    return Operation(rpc=rpc, api="partybuilding.v1.ContentApi", request=None, response=None, http_method=method,
                     path=path, service="content", method=rpc.lower(), auth=True, summary="",
                     batch_method=rpc.lower() + "s")


def table(operations) -> Map:
    return Map([Rule(werkzeug_rule(op.path), methods=[op.http_method], endpoint=op.rpc) for op in operations],
               converters={"segment": SegmentConverter}, merge_slashes=False)


@pytest.mark.parametrize("other, definite", [
    (("GetItemSearch", "GET", "/v1/items/search"), False),          # a static segment the parameter would take
    (("GetItemBy", "GET", "/v1/items/{other_id}"), False),
    (("ReviewItem", "POST", "/v1/items/{item_id}"), True),           # another method
    (("ItemVerb", "GET", "/v1/items/{item_id}:review"), True),       # a parameter holds no ':'
    (("ItemFile", "GET", "/v1/items/{item_id}.xlsx"), False),        # but it may hold a '.'
    (("ItemHistory", "GET", "/v1/items/{item_id}/history"), True),   # another number of segments
    (("Odd", "GET", "/v1/items/x{item_id}"), False),                 # a shape the patterns do not read
])
def test_a_rule_another_rule_could_also_match_is_left_to_the_table(other, definite):
    mine = operation("GetItem", "GET", "/v1/items/{item_id}")
    theirs = operation(*other)
    routes = definite_routes(table([mine, theirs]), [mine])
    assert bool(routes.get("GET")) is definite
