"""PTB's HTTP seam (``BaseRequest``) on aiohttp, and a lean path for the hot calls.

PTB's default httpx client spends its CPU scanning the connection pool on every request
(DESIGN.md: about 40-70 updates/s on 2 cores against ~1,500 with bare aiohttp), and the Bot API
client is the hot path of a bot that sends a million summaries. aiohttp also never logs URLs,
which carry the token.

The calls made for every update and every message (getUpdates, sendMessage, edits, button
answers) skip PTB's request layer and aiohttp altogether (``wire``): one JSON body out, the JSON
answer's ``result`` back, PTB's errors for failures. PTB's parameter objects, form encoding and
response wrapper, and aiohttp's request machinery, cost more CPU per call than the rest of a
send.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from http import HTTPStatus
from typing import Any, Final

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import BaseRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.adapters.telegram.redact import redact
from bot.adapters.telegram.wire import AnswerCut, ReadTimeout, WireClient

# What a paced send wants called the moment its request is on the wire (see Pacer.turn).
ON_WIRE: ContextVar[Callable[[], None] | None] = ContextVar("telegram_on_wire", default=None)
_ENCODE: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


# A front's answer that the service behind it is down (502) or refuses work now (503): the
# request was not taken, so it is tried again until it goes. Other 5xx came from the service
# after it had the request, which may then have been carried out.
_NOT_TAKEN: Final = frozenset({HTTPStatus.BAD_GATEWAY, HTTPStatus.SERVICE_UNAVAILABLE})


class AnswerLost(NetworkError):
    """The request went out and what came back was no answer to it (the connection dropped
    mid-way, a server error after it was taken): the Bot API may have carried it out."""


class AnswerTimedOut(TimedOut):
    """The request went out and no answer came within the read timeout: the Bot API may
    have carried it out all the same."""


def may_have_arrived(error: TelegramError) -> bool:
    """Whether the failed call may have been carried out (see AnswerLost, AnswerTimedOut; a
    2xx answer that cannot be read was carried out); False when it is known not to have
    been (a refused connection, a 429, a 400...)."""
    return isinstance(error, AnswerLost | AnswerTimedOut | UnreadableAnswer)


def _seconds(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


async def call(
    request: BaseRequest,
    url: str,
    parameters: Mapping[str, object],
    *,
    read_timeout: float | None = None,
) -> Any:
    """Call the Bot API method at ``url`` through ``request``; its result as raw JSON.

    Parameters that are None are left out, as ``Bot`` does, and errors are PTB's (RetryAfter,
    InvalidToken, NetworkError...), as for ``Bot``'s own calls. For getUpdates, ``Bot`` would
    decode the whole batch at once: one update it cannot read would fail the batch, every time,
    and be logged with its contents at CRITICAL. Values are JSON (dicts, lists, numbers,
    strings), never PTB objects.
    """
    if isinstance(request, AiohttpRequest):
        return await request.call(url, parameters, read_timeout=read_timeout)
    data = RequestData(
        [
            RequestParameter.from_input(name, value)
            for name, value in parameters.items()
            if value is not None
        ]
    )
    timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE if read_timeout is None else read_timeout
    return await request.post(url, data, read_timeout=timeout)


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a bounded connection pool; timeouts as PTB's HTTPXRequest."""

    def __init__(
        self,
        *,
        connections: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 5.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._connections = connections
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._wire: WireClient | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector)
        if self._wire is None:
            self._wire = WireClient(
                user_agent=self.USER_AGENT,
                connections=self._connections,
                connect_timeout=self._connect_timeout,
                pool_timeout=self._pool_timeout,
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        if self._wire is not None:
            self._wire.close()
        self._wire = None

    async def call(
        self, url: str, parameters: Mapping[str, object], *, read_timeout: float | None = None
    ) -> Any:
        """POST ``parameters`` (None left out) as a JSON body; the answer's ``result``, or
        the error PTB would raise for it."""
        if self._wire is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        body = _ENCODE({name: value for name, value in parameters.items() if value is not None})
        try:
            status, payload = await self._wire.post(
                url,
                body.encode(),
                read_timeout=self._read_timeout if read_timeout is None else read_timeout,
                on_wire=ON_WIRE.get(),
            )
        except ReadTimeout:
            raise AnswerTimedOut("No answer from the Bot API within the read timeout") from None
        except TimeoutError as error:
            raise TimedOut(f"Timed out talking to the Bot API ({type(error).__name__})") from None
        except AnswerCut as error:
            raise AnswerLost(f"{type(error).__name__}: {redact(str(error))}") from None
        except (OSError, ValueError) as error:
            # Connection errors may quote the address; never the token, but redact anyway.
            raise NetworkError(f"{type(error).__name__}: {redact(str(error))}") from None
        return result_of(status, payload)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        body: aiohttp.FormData | bytes | None = None
        headers = {"User-Agent": self.USER_AGENT}
        uploads = request_data is not None and request_data.contains_files
        if request_data is not None and uploads:
            body = aiohttp.FormData(quote_fields=False)
            for name, value in request_data.json_parameters.items():
                body.add_field(name, value)
            for name, (filename, content, mime) in request_data.multipart_data.items():
                body.add_field(name, content, filename=filename, content_type=mime)
        elif request_data is not None:
            # The wire format PTB's own client uses; JSON-typed fields are serialized strings.
            body = request_data.url_encoded_parameters().encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        read = _seconds(read_timeout, self._read_timeout)
        write = _seconds(
            write_timeout, self._media_write_timeout if uploads else self._write_timeout
        )
        connect = _seconds(connect_timeout, self._connect_timeout)
        pool = _seconds(pool_timeout, self._pool_timeout)
        # aiohttp has no write timeout: an upload gets it as a bound on the whole request.
        # Its ``connect`` covers waiting for a pooled connection as well as opening one.
        timeout = aiohttp.ClientTimeout(
            total=write + read if uploads and write is not None and read is not None else None,
            connect=None if connect is None else connect + (pool or 0),
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                answer = await response.read()
        except aiohttp.ConnectionTimeoutError as error:
            raise TimedOut(f"Timed out talking to the Bot API ({type(error).__name__})") from None
        except TimeoutError as error:
            # Past the connection, a timeout is a read (or an upload's whole) timeout.
            raise AnswerTimedOut(f"No answer from the Bot API ({type(error).__name__})") from None
        except aiohttp.ClientConnectorError as error:
            # aiohttp's messages may quote the URL, and the URL holds the token.
            raise NetworkError(f"aiohttp.{type(error).__name__}: {redact(str(error))}") from None
        except aiohttp.ClientConnectionError as error:
            raise AnswerLost(f"aiohttp.{type(error).__name__}: {redact(str(error))}") from None
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {redact(str(error))}") from None
        if response.status >= HTTPStatus.INTERNAL_SERVER_ERROR and (
            response.status not in _NOT_TAKEN
        ):
            raise AnswerLost(f"the Bot API failed after taking the request ({response.status})")
        return response.status, answer


class UnreadableAnswer(TelegramError):
    """A successful answer that is not JSON kolbot can read (nested past Python's limit, say).
    ``update_id`` is the first update id it names, if any: polling can step past it."""

    def __init__(self, update_id: int | None) -> None:
        super().__init__("Invalid server response")
        self.update_id = update_id


_UPDATE_ID: Final = re.compile(rb'"update_id"\s*:\s*(\d+)')


def result_of(status: int, payload: bytes) -> Any:
    """The ``result`` of a Bot API answer; for a failure, the exception PTB's request layer
    raises for it (``BaseRequest._request_wrapper``), so callers handle one set of errors. The
    answer is never logged: it may quote people's messages."""
    try:
        answer = json.loads(payload)
    except (ValueError, RecursionError):
        answer = None
    if not isinstance(answer, dict):
        if 200 <= status <= 299:
            named = _UPDATE_ID.search(payload)
            raise UnreadableAnswer(None if named is None else int(named.group(1)))
        answer = {}
    if 200 <= status <= 299:
        if "result" not in answer:
            raise AnswerLost("the Bot API answered without a result")
        return answer["result"]
    try:
        message = f"{HTTPStatus(status).phrase} ({status})"
    except ValueError:
        message = f"Unknown HTTPError ({status})"
    message = str(answer.get("description") or message)
    parameters = answer.get("parameters")
    if isinstance(parameters, dict) and parameters:
        if moved := parameters.get("migrate_to_chat_id"):
            raise ChatMigrated(moved)
        if wait := parameters.get("retry_after"):
            raise RetryAfter(wait)
        message += f". The server response contained unknown parameters: {parameters}"
    if status == HTTPStatus.FORBIDDEN:
        raise Forbidden(message)
    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        raise InvalidToken(message)
    if status == HTTPStatus.BAD_REQUEST:
        raise BadRequest(message)
    if status == HTTPStatus.CONFLICT:
        raise Conflict(message)
    if status >= HTTPStatus.INTERNAL_SERVER_ERROR and status not in _NOT_TAKEN:
        raise AnswerLost(message)
    raise NetworkError(message)
