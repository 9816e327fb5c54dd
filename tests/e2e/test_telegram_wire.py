"""The lean Bot API client against a raw HTTP server: framing, reuse, failures, PTB's errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import pytest
from telegram import error as tg

from bot.adapters.telegram.request import AiohttpRequest
from bot.adapters.telegram.wire import WireClient

Answer = Callable[[bytes], Sequence[bytes]]  # a request's body → the pieces written back


class RawServer:
    """Reads each POST (head and Content-Length body) and writes back what ``answer`` says,
    piece by piece; counts connections and requests."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.bodies: list[bytes] = []
        self.handlers: set[asyncio.Task[None]] = set()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        handler = asyncio.current_task()
        assert handler is not None
        self.handlers.add(handler)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = await reader.readexactly(length)
                self.bodies.append(body)
                for piece in self.answer(body):
                    if piece == b"<close>":
                        writer.close()
                        return
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.01)  # in separate packets
        except (asyncio.IncompleteReadError, ConnectionError):
            return  # the client hung up: nothing more to answer
        finally:
            writer.close()


@asynccontextmanager
async def serving(answer: Answer) -> AsyncIterator[tuple[RawServer, str]]:
    raw = RawServer(answer)
    server = await asyncio.start_server(raw.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield raw, f"http://127.0.0.1:{port}/bot1:abc/sendMessage"
    finally:
        server.close()
        for handler in raw.handlers:
            handler.cancel()
        await asyncio.gather(*raw.handlers, return_exceptions=True)
        await server.wait_closed()


def ok(result: object) -> bytes:
    body = json.dumps({"ok": True, "result": result}).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def client() -> WireClient:
    return WireClient(user_agent="test", connections=4, connect_timeout=2.0, pool_timeout=2.0)


async def test_answers_come_back_on_one_kept_alive_connection() -> None:
    async with serving(lambda body: [ok(json.loads(body)["n"])]) as (raw, url):
        wire = client()
        wired: list[int] = []
        for n in range(3):
            status, payload = await wire.post(
                url, b'{"n": %d}' % n, read_timeout=2.0, on_wire=lambda: wired.append(1)
            )
            assert (status, json.loads(payload)["result"]) == (200, n)
        wire.close()
    assert raw.connections == 1
    assert len(wired) == 3


async def test_chunked_and_close_delimited_answers_are_read_whole() -> None:
    chunked = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b'5\r\n{"ok"\r\n',
        b'14;ext=1\r\n: true, "result": 7}\r\n0\r\n',
        b"X-Trailer: 1\r\n\r\n",
    ]
    async with serving(lambda _: chunked) as (_, url):
        wire = client()
        status, payload = await wire.post(url, b"{}", read_timeout=2.0)
        assert (status, json.loads(payload)) == (200, {"ok": True, "result": 7})
        wire.close()
    to_close = [b"HTTP/1.0 200 OK\r\n\r\n", b'{"ok": true, ', b'"result": 8}', b"<close>"]
    async with serving(lambda _: to_close) as (raw, url):
        wire = client()
        for _ in range(2):  # the first connection cannot be reused: a second one is opened
            status, payload = await wire.post(url, b"{}", read_timeout=2.0)
            assert json.loads(payload)["result"] == 8
        wire.close()
    assert raw.connections == 2


async def test_a_connection_cut_or_silent_fails_the_call_and_is_not_reused() -> None:
    cut = [b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", b'{"ok": tr', b"<close>"]
    async with serving(lambda _: cut) as (_, url):
        wire = client()
        with pytest.raises(ConnectionError):
            await wire.post(url, b"{}", read_timeout=2.0)
        wire.close()
    answers = iter([[], [ok(1)]])  # the first request is never answered
    async with serving(lambda _: next(answers)) as (raw, url):
        wire = client()
        with pytest.raises(TimeoutError):
            await wire.post(url, b"{}", read_timeout=0.2)
        _, payload = await wire.post(url, b"{}", read_timeout=2.0)
        assert json.loads(payload)["result"] == 1
        wire.close()
    assert raw.connections == 2


async def test_the_bot_api_s_failures_are_ptb_s_errors() -> None:
    def answer(body: bytes) -> list[bytes]:
        case = json.loads(body)["case"]
        if case == "flood":
            error = {"ok": False, "error_code": 429, "description": "Too Many Requests"}
            data = json.dumps(error | {"parameters": {"retry_after": 3}}).encode()
            return [b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: %d\r\n\r\n" % len(data)
                    + data]  # fmt: skip
        if case == "blocked":
            data = b'{"ok": false, "error_code": 403, "description": "Forbidden: blocked"}'
            return [b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data)]
        if case == "gateway":
            return [b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 4\r\n\r\noops"]
        return [b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\noops"]

    async with serving(answer) as (_, url):
        request = AiohttpRequest(connections=2)
        await request.initialize()
        try:
            with pytest.raises(tg.RetryAfter) as flood:
                await request.call(url, {"case": "flood"})
            assert flood.value.retry_after.total_seconds() == 3  # type: ignore[union-attr]
            with pytest.raises(tg.Forbidden, match="blocked"):
                await request.call(url, {"case": "blocked"})
            with pytest.raises(tg.NetworkError, match="Bad Gateway"):
                await request.call(url, {"case": "gateway"})
            with pytest.raises(tg.TelegramError, match="Invalid server response"):
                await request.call(url, {"case": "garbled", "skipped": None})
        finally:
            await request.shutdown()
