"""GATEWAY_EVENT_LOOP: the gateway's loop is uvloop's (the default) or asyncio's, and the HTTP server serves on either."""
from __future__ import annotations

import asyncio
import http.client
import json

import pytest

from gateway.event_loop import LoopThread, event_loop_kind
from servicekit.process.config import ConfigError
from tests.unit.gateway.test_http_server import EchoApp, http_server


def test_the_default_is_uvloop(monkeypatch):
    monkeypatch.delenv("GATEWAY_EVENT_LOOP", raising=False)
    assert event_loop_kind() == "uvloop"
    monkeypatch.setenv("GATEWAY_EVENT_LOOP", " AsyncIO ")
    assert event_loop_kind() == "asyncio"


def test_an_unknown_loop_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("GATEWAY_EVENT_LOOP", "trio")
    with pytest.raises(ConfigError, match="GATEWAY_EVENT_LOOP"):
        LoopThread()


def test_a_uvloop_thread_runs_coroutines():
    import uvloop
    thread = LoopThread(name="test-uvloop", kind="uvloop")
    assert isinstance(thread.loop, uvloop.Loop)

    async def loop_type():
        await asyncio.sleep(0)
        return type(asyncio.get_running_loop())

    assert thread.run(loop_type(), timeout=5) is uvloop.Loop
    thread.loop.call_soon_threadsafe(thread.loop.stop)


@pytest.mark.parametrize("kind", ["uvloop", "asyncio"])
def test_the_http_server_answers_on_either_loop(kind):
    thread = LoopThread(name=f"test-{kind}-http", kind=kind)
    gateway = http_server(EchoApp(), loop=thread)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=5)
        for n in range(3):  # keep-alive: three requests on one connection
            connection.request("POST", f"/echo/{n}", body=b'{"n": 1}', headers={"Content-Type": "application/json"})
            answer = connection.getresponse()
            body = json.loads(answer.read())
            assert answer.status == 200 and body["path"] == f"/echo/{n}"
        connection.close()
    finally:
        gateway.stop(grace=1)
        thread.loop.call_soon_threadsafe(thread.loop.stop)
