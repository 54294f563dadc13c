"""The nonce in every call's proof (servicekit.security.proofs) and the request id a call carries to the services
(servicekit.request_ids): what travels in the headers, and which id a batch item's log lines name."""
from __future__ import annotations

import json
import logging
import time

import pytest

from servicekit import request_ids
from servicekit.errors import Unauthenticated
from servicekit.messaging.rpc import answer_each
from servicekit.security.proofs import (KEYS_DIR_VARIABLE, NONCE_HEADER, call_headers, current_principal,
                                        ensure_call_keys, forget_keys, use_principal, verify_call)

BODY = json.dumps({"args": [], "kwargs": {"scope": {"account_id": "a1"}, "org_id": "o1"}}).encode()


@pytest.fixture(autouse=True)
def no_request_id():
    """This thread outside any request (another test may have left one current)."""
    token = request_ids.CURRENT.set(None)
    yield
    request_ids.CURRENT.reset(token)


@pytest.fixture(autouse=True)
def keys(tmp_path, monkeypatch):
    monkeypatch.setenv(KEYS_DIR_VARIABLE, str(ensure_call_keys(tmp_path / "calls")))
    previous = current_principal()
    use_principal("gateway")
    yield
    forget_keys()
    if previous:
        use_principal(previous)


def test_two_identical_calls_in_one_second_carry_different_nonces_and_signatures():
    now = time.time()
    first, second = call_headers("identity.get_org", BODY, now=now), call_headers("identity.get_org", BODY, now=now)
    assert first["pb-expires"] == second["pb-expires"]
    assert first[NONCE_HEADER] != second[NONCE_HEADER] and first["pb-signature"] != second["pb-signature"]
    assert verify_call("identity.get_org", BODY, first) == verify_call("identity.get_org", BODY, second) == "gateway"


@pytest.mark.parametrize("nonce", ["0" * 32, None, "", "not hex" * 5, "ab" * 17])
def test_a_proof_whose_nonce_is_changed_or_missing_is_refused(nonce):
    headers = call_headers("identity.get_org", BODY)
    headers = {**headers, NONCE_HEADER: nonce} if nonce is not None else {
        key: value for key, value in headers.items() if key != NONCE_HEADER}
    with pytest.raises(Unauthenticated) as refused:
        verify_call("identity.get_org", BODY, headers)
    assert refused.value.code == "CALL_PROOF_INVALID"


def test_a_call_carries_the_current_request_id_and_a_batch_its_items_ids():
    assert request_ids.outgoing_headers({}) == {}
    token = request_ids.CURRENT.set("r123")
    try:
        assert request_ids.outgoing_headers({}) == {"nameko.request_id": "r123"}
        # a worker's own context data (nameko's headers) already names the id it passes on
        assert request_ids.outgoing_headers({"nameko.request_id": "b9"}) == {}
        items = request_ids.OUTGOING_ITEMS.set(("r1", "r2"))
        try:
            assert request_ids.outgoing_headers({})["pb-request-ids"] == "r1,r2"
        finally:
            request_ids.OUTGOING_ITEMS.reset(items)
    finally:
        request_ids.CURRENT.reset(token)


def test_item_ids_that_are_malformed_or_do_not_match_the_batch_are_ignored():
    assert request_ids.received_items({"pb-request-ids": b"r1,r2"}) == ("r1", "r2")
    assert request_ids.received_items({"pb-request-ids": "r1,bad id\n"}) is None
    assert request_ids.received_items({}) is None
    assert request_ids.well_formed("x" * 129) is None and request_ids.well_formed(b"abc") == "abc"
    token = request_ids.ITEMS.set(("r1", "r2"))
    try:
        assert request_ids.item_ids(2) == ("r1", "r2") and request_ids.item_ids(3) is None
    finally:
        request_ids.ITEMS.reset(token)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_each_batch_item_is_handled_and_logged_under_its_own_request_id(concurrency, caplog):
    logger = logging.getLogger("tests.batch_item")
    seen = []

    def handle(item):
        seen.append((item, request_ids.current()))
        logger.warning("handled %s", item)
        if item == "bad":
            raise RuntimeError("boom")
        return item

    batch, items = request_ids.CURRENT.set("b42"), request_ids.ITEMS.set(("r1", "r2", "r3"))
    naming = request_ids.LogFilter()
    caplog.handler.addFilter(naming)
    try:
        with caplog.at_level(logging.WARNING):
            answers = answer_each(["a", "bad", "c"], handle, concurrency=concurrency)
        assert request_ids.current() == "b42"                # the batch's id again once the items are done
    finally:
        caplog.handler.removeFilter(naming)
        request_ids.ITEMS.reset(items)
        request_ids.CURRENT.reset(batch)
    assert sorted(seen) == [("a", "r1"), ("bad", "r2"), ("c", "r3")]
    assert answers[1]["error"]["code"] == "INTERNAL" and answers[2] == {"result": "c"}
    named = {(record.getMessage(), record.request_id) for record in caplog.records}
    assert {("handled a", "r1"), ("a batch item failed", "r2"), ("handled c", "r3")} <= named


def test_without_item_ids_every_item_runs_under_the_batch_id():
    token = request_ids.CURRENT.set("b7")
    try:
        assert answer_each([1, 2], lambda item: request_ids.current()) == [{"result": "b7"}, {"result": "b7"}]
    finally:
        request_ids.CURRENT.reset(token)


def test_the_container_makes_a_workers_request_id_current_for_that_worker_alone():
    import eventlet
    from nameko.containers import WorkerContext
    from nameko.rpc import rpc as nameko_rpc

    from servicekit.process.container import Container

    class Probe:
        name = "probe"

        @nameko_rpc
        def method(self):
            return request_ids.current(), request_ids.ITEMS.get()

    container = Container(Probe, {"AMQP_URI": "memory://"})
    entrypoint = next(iter(container.entrypoints))
    worker = WorkerContext(container, Probe(), entrypoint, data={"request_id": "b1", "pb-request-ids": "r1,r2"})
    answered = []

    def handle_result(worker_ctx, result, exc_info):
        answered.append(result)
        return result, exc_info
    outer = request_ids.CURRENT.set("outer")
    eventlet.spawn(container._run_worker, worker, handle_result).wait()
    assert request_ids.current() == "outer"                 # nothing leaked to this thread
    request_ids.CURRENT.reset(outer)
    assert answered == [("b1", ("r1", "r2"))]
    # the id is passed on with the worker's own calls; the batch's item ids are not
    assert worker.context_data["request_id"] == "b1" and "pb-request-ids" not in worker.context_data
