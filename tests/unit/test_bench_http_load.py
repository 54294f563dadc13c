"""The load generators' HTTP client (bench.http_load) against a small server of the test's own: answers over kept
connections, a kept connection the server closed, a server that never answers, nothing listening."""
import asyncio
import json

from bench import http_load
from bench.http_load import Http, error_code


class Server:
    """Answers each request with its own method and path as JSON; ``/close`` answers and closes the connection,
    ``/silent`` never answers, ``/refuse`` answers 409 with an error code."""

    def __init__(self):
        self.connections = 0
        self.requests = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *fields = head.decode().split("\r\n")
                method, path, _ = line.split(" ")
                length = next((int(f.split(":")[1]) for f in fields if f.lower().startswith("content-length")), 0)
                body = json.loads(await reader.readexactly(length)) if length else None
                self.requests.append((method, path, body))
                if path == "/silent":
                    await asyncio.sleep(3600)
                status, answer = (409, {"error": {"code": "TAKEN"}}) if path == "/refuse" else \
                    (200, {"method": method, "path": path, "body": body, "text": "学习党章" * 500})
                data = json.dumps(answer, ensure_ascii=False).encode()
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(data)}\r\n\r\n".encode())
                await asyncio.sleep(0)
                writer.write(data)            # head and body in two writes, as the gateway sends them
                await writer.drain()
                if path == "/close":
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


async def _serving(test):
    server = Server()
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        return await test(server, f"http://127.0.0.1:{port}")
    finally:
        listening.close()


def test_answers_come_over_kept_connections_and_are_parsed_when_read():
    async def test(server, base):
        http = Http(base, limit=4)
        answers = await asyncio.gather(*(http.call("POST", f"/v1/x/{n}", "token", {"n": n}) for n in range(20)))
        unread = await http.call("GET", "/v1/feed", "token", read=False)
        await http.close()
        return server, answers, unread

    server, answers, unread = asyncio.run(_serving(test))

    assert [(status, answer["path"], answer["body"]) for status, answer, _, _ in answers] == \
        [(200, f"/v1/x/{n}", {"n": n}) for n in range(20)]
    assert all(latency > 0 for *_, latency in answers)
    assert unread[:2] == (200, {})
    assert server.connections <= 4 and len(server.requests) == 21


def test_a_refusal_is_always_parsed_for_its_code():
    async def test(server, base):
        http = Http(base, limit=1)
        status, answer, _, _ = await http.call("POST", "/refuse", "token", {}, read=False)
        await http.close()
        return status, error_code(answer)

    assert asyncio.run(_serving(test)) == (409, "TAKEN")


def test_a_kept_connection_the_server_closed_is_tried_once_more_on_a_new_one():
    async def test(server, base):
        http = Http(base, limit=1)
        first = await http.call("GET", "/close", "token")
        await asyncio.sleep(0.05)
        second = await http.call("GET", "/after", "token")
        await http.close()
        return server, first, second

    server, first, second = asyncio.run(_serving(test))

    assert (first[0], second[0], second[1]["path"]) == (200, 200, "/after")
    assert server.connections == 2


def test_a_server_that_never_answers_is_a_504_after_the_timeout(monkeypatch):
    monkeypatch.setattr(http_load, "SWEEP_SECONDS", 0.05)

    async def test(server, base):
        http = Http(base, limit=2, timeout=0.2)
        status, answer, _, latency = await http.call("GET", "/silent", "token")
        await http.close()
        return status, answer, latency

    status, answer, latency = asyncio.run(_serving(test))

    assert (status, answer) == (504, {}) and 0.2 <= latency < 2


def test_nothing_listening_is_a_503():
    async def test():
        listening = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = listening.sockets[0].getsockname()[1]
        listening.close()
        await listening.wait_closed()
        http = Http(f"http://127.0.0.1:{port}", limit=1)
        status, *_ = await http.call("GET", "/v1/feed", "token")
        await http.close()
        return status

    assert asyncio.run(test()) == 503
