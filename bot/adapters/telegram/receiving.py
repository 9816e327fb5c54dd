"""Receiving from Telegram: long polling or a webhook, both handing batches to the inbox.

An update is acknowledged (the getUpdates offset moved past it, the webhook answered 200) once
the inbox has stored it, never before and never after handling: so it is fetched once, and a
crash after the store loses nothing. When the store cannot take a batch, the offset stays and
the batch is fetched again later; a webhook gets 503 and Telegram sends it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final

from aiohttp import web
from telegram import Bot
from telegram import error as tg
from telegram.request import BaseRequest

from bot.adapters.telegram.inbound import ALLOWED_UPDATES, callback_query_id, to_incoming
from bot.adapters.telegram.interactions import CallbackAnswers
from bot.adapters.telegram.menus import retry_after
from bot.adapters.telegram.request import UnreadableAnswer, call
from bot.core.messages import Incoming
from bot.core.platform import UpdateSink
from storage.base import StorageUnavailable

log = logging.getLogger(__name__)

FETCH_LIMIT: Final = 100  # the most getUpdates returns at once
# Between tries to store a batch the database refused.
STORE_RETRY: Final = 1.0
# Real updates nest a dozen levels at most (a reply's message inside a message); far more is
# an attack or a broken relay.
MAX_NESTING: Final = 64
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def too_deep(body: bytes, parsed: object) -> bool:
    """Nested deeper than MAX_NESTING: no real update is, and reading one could exhaust the
    stack. Counting brackets first keeps the walk off the path of every real update."""
    if body.count(b"[") + body.count(b"{") <= MAX_NESTING:
        return False
    level: list[tuple[object, int]] = [(parsed, 1)]
    while level:
        value, depth = level.pop()
        if isinstance(value, dict | list):
            if depth > MAX_NESTING:
                return True
            items = value.values() if isinstance(value, dict) else value
            level.extend((item, depth + 1) for item in items)
    return False


def as_update(raw: object) -> tuple[dict[str, Any], int] | None:
    """A raw update and its id; None for anything without one."""
    if isinstance(raw, dict):
        update_id = raw.get("update_id")
        if isinstance(update_id, int) and not isinstance(update_id, bool):
            return raw, update_id
    return None


class Reader:
    """Raw update JSON to the core's Incoming; a press is answered on the way."""

    def __init__(self, bot: Bot, answers: CallbackAnswers) -> None:
        self._bot = bot
        self._answers = answers

    def read(self, raw: dict[str, Any], update_id: int) -> Incoming | None:
        """None when there is nothing to handle. A bad update is logged by its id alone: its
        contents are people's messages and names."""
        try:
            query_id = callback_query_id(raw)
            if query_id is not None:
                self._answers.answer(query_id)
            return to_incoming(raw, self._bot.username)
        except Exception as error:
            log.error(
                "ignoring telegram update %s: unreadable (%s)", update_id, type(error).__name__
            )
            return None

    def read_batch(self, batch: Sequence[object]) -> tuple[list[Incoming], int | None]:
        """What a fetched batch holds, and one past its newest update id."""
        incomings: list[Incoming] = []
        newest: int | None = None
        for item in batch:
            update = as_update(item)
            if update is None:
                log.error("ignoring a telegram update without an update_id")
                continue
            raw, update_id = update
            newest = max(newest or update_id, update_id)
            incoming = self.read(raw, update_id)
            if incoming is not None:
                incomings.append(incoming)
        return incomings, None if newest is None else newest + 1


class Poller:
    """Long-polls getUpdates; failures wait and retry with backoff, and only a revoked token
    ends polling (``failure`` says why)."""

    def __init__(
        self,
        request: BaseRequest,
        url: str,
        reader: Reader,
        *,
        poll_timeout: int,
        retry_delays: tuple[float, float],
    ) -> None:
        self._request = request
        self._url = url
        self._reader = reader
        self._poll_timeout = poll_timeout
        self._retry_delays = retry_delays
        self.offset: int | None = None
        self.failure: BaseException | None = None
        self._limit = FETCH_LIMIT

    async def run(self, sink: UpdateSink, source: str, closed: Callable[[], None]) -> None:
        failures = 0
        try:
            while True:
                try:
                    batch = await self._fetch(self.offset)
                    incomings, offset = self._reader.read_batch(batch)
                    if incomings:
                        await sink.accept(source, incomings)
                except tg.InvalidToken:
                    raise RuntimeError("Telegram refused KOLBOT_TELEGRAM_TOKEN") from None
                except UnreadableAnswer as unreadable:
                    if self._skip_unreadable(unreadable):
                        continue
                    failures += 1
                    delay = self._retry_delays[1]
                    log.warning("telegram getUpdates answered what cannot be read; retrying")
                except tg.RetryAfter as limited:
                    delay = retry_after(limited)
                    log.warning("telegram getUpdates rate limited; waiting %.0fs", delay)
                except StorageUnavailable as error:
                    # The database, not Telegram: trying to store again costs little, and
                    # the updates should go the moment it takes writes again.
                    delay = min(self._retry_delays[1], STORE_RETRY)
                    log.warning(
                        "telegram updates not stored (%s); retrying in %.1fs", error, delay
                    )
                except tg.TelegramError as error:
                    failures += 1
                    first, longest = self._retry_delays
                    delay = min(longest, first * 2 ** (failures - 1))
                    log.warning("telegram updates not taken (%s); retrying in %.1fs", error, delay)
                else:
                    failures = 0
                    self._limit = FETCH_LIMIT
                    if offset is not None:
                        self.offset = offset
                    continue
                await asyncio.sleep(delay)
        except Exception as failure:
            log.error("telegram polling stopped: %s", failure)
            self.failure = failure
            closed()

    def _skip_unreadable(self, unreadable: UnreadableAnswer) -> bool:
        """A batch that cannot be read is fetched again one update at a time; the one update
        that still cannot be read is stepped over, so it never stops the rest. False when it
        names no update id to step over."""
        if self._limit > 1:
            self._limit = 1
            return True
        if unreadable.update_id is None:
            return False
        log.error("ignoring telegram update %s: unreadable", unreadable.update_id)
        self.offset = unreadable.update_id + 1
        self._limit = FETCH_LIMIT
        return True

    async def confirm(self) -> None:
        """Tell Telegram the last stored batch arrived, so the next run does not fetch it."""
        if self.offset is None:
            return
        with contextlib.suppress(tg.TelegramError, TimeoutError):
            async with asyncio.timeout(2.0):
                await call(
                    self._request,
                    self._url,
                    {"offset": self.offset, "timeout": 0, "limit": 1, "allowed_updates": []},
                    read_timeout=2.0,
                )

    async def _fetch(self, offset: int | None) -> list[object]:
        """The next updates as raw JSON, each decoded on its own (see ``request.call``)."""
        parameters = {
            "offset": offset,
            "timeout": self._poll_timeout,
            "limit": self._limit,
            "allowed_updates": list(ALLOWED_UPDATES),
        }
        read_timeout = (self._request.read_timeout or 0) + self._poll_timeout
        batch = await call(self._request, self._url, parameters, read_timeout=read_timeout)
        if not isinstance(batch, list):
            raise tg.NetworkError("getUpdates answered something other than a list")
        return batch


class WebhookRoute:
    """The webhook endpoint on the app's web server: the secret checked in constant time, the
    update stored, then 200 at once; 503 while the store cannot take it or kolbot stops.

    Telegram posts up to ``max_connections`` updates at once: those that arrive while a batch
    is being stored are stored together in the next (one transaction, as a getUpdates batch),
    and each is answered once its batch is stored."""

    def __init__(self, reader: Reader, secret: str, source: str) -> None:
        self._reader = reader
        self._secret = secret.encode()
        self._source = source
        self.sink: UpdateSink | None = None
        self._waiting: list[tuple[Incoming, asyncio.Future[None]]] = []
        self._storing: asyncio.Task[None] | None = None

    async def handle(self, request: web.Request) -> web.Response:
        offered = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(offered, self._secret):
            return web.Response(status=403)
        if self.sink is None:
            return web.Response(status=503)
        body = await request.read()
        try:
            payload: Any = json.loads(body)
        except (ValueError, RecursionError):
            payload = None
        if too_deep(body, payload):
            log.warning("ignoring a webhook request nested deeper than any update")
            return web.Response(status=400)
        update = as_update(payload)
        if update is None:
            log.warning("ignoring a webhook request that is not an update")
            return web.Response(status=400)
        incoming = self._reader.read(*update)
        if incoming is None:
            return web.Response()
        stored = asyncio.get_running_loop().create_future()
        self._waiting.append((incoming, stored))
        if self._storing is None:
            self._storing = asyncio.create_task(self._store(), name="telegram-webhook-store")
        try:
            await stored
        except StorageUnavailable as error:
            log.warning("telegram update %s not taken now: %s", update[1], error)
            return web.Response(status=503)
        return web.Response()

    async def _store(self) -> None:
        """Store what waits, batch after batch, until nothing does."""
        batch: list[tuple[Incoming, asyncio.Future[None]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    if self.sink is None:
                        raise StorageUnavailable("kolbot is stopping")
                    await self.sink.accept(self._source, [incoming for incoming, _ in batch])
                except Exception as error:
                    for _, stored in batch:
                        if not stored.done():
                            stored.set_exception(error)
                else:
                    for _, stored in batch:
                        if not stored.done():
                            stored.set_result(None)
        finally:
            self._storing = None
            for _, stored in batch:  # cancelled mid-store: their requests end unanswered
                stored.cancel()
