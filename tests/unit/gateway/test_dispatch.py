"""The dispatcher's two call paths: ``call`` from a thread, ``call_async`` on the loop for an operation that batches;
with messages or plain keyword arguments, the same arguments reach the service and the same answer comes back."""
from __future__ import annotations

import asyncio
import copy

import pytest

from gateway.batching import Batcher
from gateway.client_address import UNKNOWN
from gateway.convert import as_kwargs, to_kwargs, to_message
from gateway.dispatch import Dispatcher
from gateway.operations import BY_RPC
from servicekit.errors import InvalidArgument
from servicekit.security.tokens import TokenVerifier
from tests.unit.gateway.samples import REQUESTS, RESULTS
from tests.unit.gateway.virtual_time import VirtualTime

SCAN, LOGIN, LIST_SUBTREE = BY_RPC["RecordScan"], BY_RPC["Login"], BY_RPC["ListSubtree"]


class BatchBackend:
    """``record_scans`` answers every item with the sample scan answer; the items it was sent are kept."""

    def __init__(self):
        self.items: list[dict] = []

    def call(self, service, method, **kwargs):
        assert (service, method) == ("attendance", "record_scans")
        self.items += kwargs["items"]
        return [{"result": copy.deepcopy(RESULTS["record_scan"])} for _ in kwargs["items"]]


@pytest.fixture
def clock():
    virtual = VirtualTime("dispatch")
    yield virtual
    virtual.close()


@pytest.fixture
def batching(keys, clock):
    backend = BatchBackend()
    batcher = Batcher(backend, fill=1, loop=clock.thread)           # each request sent at once
    yield Dispatcher(backend, TokenVerifier(keys.public_pem), batcher=batcher), backend
    batcher.close()


def request(operation, plain: bool):
    return (as_kwargs if plain else to_message)(operation.request, copy.deepcopy(REQUESTS[operation.rpc]))


def test_both_paths_send_the_same_arguments_and_give_the_same_answer_as_messages_or_plain(batching, clock, token):
    dispatcher, backend = batching
    scope = dispatcher.authenticate(SCAN, token)
    assert dispatcher.batches(SCAN)
    answers = [dispatcher.call(SCAN, request(SCAN, False), scope),
               dispatcher.call(SCAN, request(SCAN, True), scope, plain=True)]
    for plain in (False, True):
        answers.append(asyncio.run_coroutine_threadsafe(
            dispatcher.call_async(SCAN, request(SCAN, plain), scope, plain=plain), clock.loop).result(5))
    expected = {**as_kwargs(SCAN.request, REQUESTS["RecordScan"]), "scope": scope}
    assert backend.items == [expected] * 4
    assert [to_kwargs(answers[0]), answers[1], to_kwargs(answers[2]), answers[3]] == \
           [as_kwargs(SCAN.response, RESULTS["record_scan"])] * 4


def test_without_a_batcher_an_operation_calls_its_own_method(dispatcher, backend, token):
    assert not dispatcher.batches(SCAN)
    answer = dispatcher.call(SCAN, request(SCAN, False), dispatcher.authenticate(SCAN, token))
    assert [(call.service, call.method) for call in backend.calls] == [("attendance", "record_scan")]
    assert to_kwargs(answer) == as_kwargs(SCAN.response, RESULTS["record_scan"])


@pytest.mark.parametrize("plain", [False, True])
def test_the_callers_address_goes_to_an_operation_that_asks_for_it(dispatcher, backend, plain):
    dispatcher.call(LOGIN, request(LOGIN, plain), None, "203.0.113.9", plain=plain)
    dispatcher.call(LOGIN, request(LOGIN, plain), None, plain=plain)
    assert [call.kwargs["client_address"] for call in backend.calls] == ["203.0.113.9", UNKNOWN]
    assert all("scope" not in call.kwargs for call in backend.calls)      # an operation open to anyone


@pytest.mark.parametrize("plain", [False, True])
def test_page_sizes_are_checked_on_either_form(dispatcher, backend, token, plain):
    scope = dispatcher.authenticate(LIST_SUBTREE, token)

    def listing(page_size: int):
        fields = {**REQUESTS["ListSubtree"], "page_size": page_size}
        return (as_kwargs if plain else to_message)(LIST_SUBTREE.request, fields)

    with pytest.raises(InvalidArgument) as refused:
        dispatcher.call(LIST_SUBTREE, listing(501), scope, plain=plain)
    assert refused.value.code == "PAGE_SIZE_TOO_LARGE" and backend.calls == []
    dispatcher.call(LIST_SUBTREE, listing(0), scope, plain=plain)
    assert "page_size" not in backend.calls[-1].kwargs                      # 0: the service's default
