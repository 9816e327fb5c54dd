"""A lean HTTP/1.1 client for the Bot API calls made for every update and every message.

aiohttp's client cost about as much CPU per request as the rest of a send (request and response
objects, headers as multidicts, a task to write each body), and it wrote the body a loop turn
after the call, so a paced send went out later than it was counted. Here a POST goes out in the
same step as the call and its answer is parsed as it arrives, on kept-alive connections.

Only what the Bot API needs: POST with a JSON body; answers with a Content-Length, chunked, or
ended by closing the connection; TLS. No redirects, cookies, proxies or compression (none is
asked for). A request is never sent twice here: a connection that fails is closed and the
caller sees the error (the outbox retries; a send may then repeat, as the outbox promises).
What failed after the request was written is told apart (ReadTimeout, AnswerCut): it may have
been carried out, where a refused connection or a connect timeout proves it was not.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

_HEAD_LIMIT: Final = 64 * 1024
_NO_BODY: Final = frozenset({204, 304})


class WireError(ConnectionError):
    """The connection failed, or the server answered something that is not HTTP/1.1."""


class AnswerCut(WireError):
    """The request was written, and its answer did not come whole: the connection closed, or
    what came is not HTTP. The server may have carried the request out."""


class ReadTimeout(TimeoutError):
    """The request was written, and no answer came within the read timeout."""


@dataclass(frozen=True, slots=True)
class _Target:
    host: str
    port: int
    tls: bool
    head: bytes  # "POST /path HTTP/1.1" and the fixed headers, up to Content-Length

    @classmethod
    def of(cls, url: str, user_agent: str) -> _Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the Bot API URL must be http(s)://host/...")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        host = parts.hostname
        shown = f"[{host}]" if ":" in host else host
        authority = shown if parts.port is None else f"{shown}:{port}"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {user_agent}\r\n"
            "Content-Type: application/json\r\nConnection: keep-alive\r\n"
        )
        return cls(host, port, tls, head.encode("latin-1"))


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; at most one request on it at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._answer: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self._status = 0
        self._body_at = -1  # where the body starts, once the head is in
        self._length: int | None = None
        self._chunked = False
        self._keep = True

    # asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._answer is None:
            self.close()  # nothing was asked: the server is confused
            return
        try:
            self._read()
        except (ValueError, WireError) as error:
            self._fail(AnswerCut(f"a malformed HTTP answer ({error})"))

    def eof_received(self) -> bool:
        if self._answer is not None and self._body_at >= 0 and self._until_close():
            self._finish(bytes(self._buffer[self._body_at :]), keep=False)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(AnswerCut("the connection closed before the answer was complete"))

    # Use ------------------------------------------------------------------------------------

    def ask(self, request: bytes) -> asyncio.Future[tuple[int, bytes, bool]]:
        """Write ``request`` now; the future gets (status, body, whether to reuse)."""
        assert self.transport is not None
        assert self._answer is None
        self._answer = asyncio.get_running_loop().create_future()
        self._buffer.clear()
        self._body_at = -1
        self._length, self._chunked, self._keep = None, False, True
        self.transport.write(request)
        return self._answer

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # Reading --------------------------------------------------------------------------------

    def _until_close(self) -> bool:
        return self._length is None and not self._chunked

    def _read(self) -> None:
        buffer = self._buffer
        if self._body_at < 0:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _HEAD_LIMIT:
                    raise WireError("the head is too long")
                return
            self._head(bytes(buffer[:end]).decode("latin-1"))
            self._body_at = end + 4
            if self._status in _NO_BODY:
                self._length = 0
        start = self._body_at
        if self._chunked:
            body = _dechunk(buffer, start)
            if body is not None:
                self._finish(body, keep=self._keep)
        elif self._length is not None and len(buffer) - start >= self._length:
            self._finish(bytes(buffer[start : start + self._length]), keep=self._keep)

    def _head(self, head: str) -> None:
        status_line, *lines = head.split("\r\n")
        version, _, rest = status_line.partition(" ")
        if not version.startswith("HTTP/1."):
            raise WireError("not an HTTP/1 answer")
        self._status = int(rest[:3])
        self._keep = version == "HTTP/1.1"
        for line in lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                self._length = int(value)
            elif name == "transfer-encoding":
                self._chunked = "chunked" in value.lower()
            elif name == "connection":
                self._keep = value.strip().lower() != "close"
        if self._chunked:
            self._length = None
        if self._until_close():
            self._keep = False

    def _finish(self, body: bytes, *, keep: bool) -> None:
        answer, self._answer = self._answer, None
        self._buffer.clear()
        if answer is not None and not answer.done():
            answer.set_result((self._status, body, keep))

    def _fail(self, error: Exception) -> None:
        answer, self._answer = self._answer, None
        if answer is not None and not answer.done():
            answer.set_exception(error)


def _dechunk(buffer: bytearray, at: int) -> bytes | None:
    """The body of a complete chunked answer from ``at``; None while it is incomplete."""
    body = bytearray()
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(buffer[at:line_end]).split(b";", 1)[0], 16)
        at = line_end + 2
        if size == 0:
            # Trailers, if any, end with an empty line.
            end = buffer.find(b"\r\n", at)
            while end > at:
                at = end + 2
                end = buffer.find(b"\r\n", at)
            return bytes(body) if end == at else None
        if len(buffer) < at + size + 2:
            return None
        body += buffer[at : at + size]
        at += size + 2


class WireClient:
    """At most ``connections`` requests at once, each on a kept-alive connection."""

    def __init__(
        self,
        *,
        user_agent: str,
        connections: int,
        connect_timeout: float | None,
        pool_timeout: float | None,
    ) -> None:
        self._user_agent = user_agent
        self._slots = asyncio.Semaphore(connections)
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._targets: dict[str, _Target] = {}
        self._idle: dict[tuple[str, int, bool], list[_Connection]] = {}
        self._tls: ssl.SSLContext | None = None
        self._closed = False

    async def post(
        self,
        url: str,
        body: bytes,
        *,
        read_timeout: float | None,
        on_wire: Callable[[], None] | None = None,
    ) -> tuple[int, bytes]:
        """POST ``body`` (JSON) to ``url``; the answer's status and body. ``on_wire`` is called
        the moment the request is written. Raises TimeoutError or ConnectionError (OSError):
        ReadTimeout or AnswerCut once the request was written."""
        if self._closed:
            raise WireError("the client is closed")
        target = self._targets.get(url)
        if target is None:
            target = self._targets[url] = _Target.of(url, self._user_agent)
        if self._slots.locked():
            async with asyncio.timeout(self._pool_timeout):
                await self._slots.acquire()
        else:
            await self._slots.acquire()
        connection: _Connection | None = None
        try:
            connection = self._reuse(target) or await self._connect(target)
            answer = connection.ask(target.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            if on_wire is not None:
                on_wire()
            status, payload, keep = await _within(answer, seconds=read_timeout)
        except BaseException:
            if connection is not None:
                connection.close()
            raise
        finally:
            self._slots.release()
        if keep and not connection.closed and not self._closed:
            self._idle.setdefault((target.host, target.port, target.tls), []).append(connection)
        else:
            connection.close()
        return status, payload

    def close(self) -> None:
        """Close idle connections; those in use close when their answer is in."""
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    def _reuse(self, target: _Target) -> _Connection | None:
        idle = self._idle.get((target.host, target.port, target.tls))
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
        return None

    async def _connect(self, target: _Target) -> _Connection:
        loop = asyncio.get_running_loop()
        tls: ssl.SSLContext | None = None
        if target.tls:
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        async with asyncio.timeout(self._connect_timeout):
            _, connection = await loop.create_connection(
                _Connection,
                target.host,
                target.port,
                ssl=tls,
                server_hostname=target.host if tls else None,
            )
        return connection


async def _within(
    answer: asyncio.Future[tuple[int, bytes, bool]], *, seconds: float | None
) -> tuple[int, bytes, bool]:
    """Await ``answer`` for at most ``seconds`` (None: as long as it takes). A timer on the
    future costs less than ``asyncio.timeout`` on every call."""
    if seconds is None:
        return await answer

    def expire() -> None:
        if not answer.done():
            answer.set_exception(ReadTimeout())

    timer = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        return await answer
    finally:
        timer.cancel()
