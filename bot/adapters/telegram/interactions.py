"""Button presses are answered at once, on a connection pool of their own, before the update
is even stored: the spinner stops whatever the queue, and sends never hold it up."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from telegram import error as tg
from telegram.request import BaseRequest

from bot.adapters.telegram.menus import retry_after
from bot.adapters.telegram.request import call
from bot.core.lru import Lru

log = logging.getLogger(__name__)

# A button press shows a spinner until answered; an answer later than this is useless.
_ANSWER_WAIT_LIMIT: Final = 1.0
# Telegram redelivers an update when a restart lands between fetching and confirming it;
# remembering recent presses keeps a redelivered one from being answered twice.
_ANSWERED_MEMORY: Final = 10_000


class CallbackAnswers:
    def __init__(self, request: BaseRequest, url: str) -> None:
        self._request = request
        self._url = url
        self._answered: Lru[str, None] = Lru(_ANSWERED_MEMORY)
        self._tasks: set[asyncio.Task[None]] = set()

    def answer(self, query_id: str) -> None:
        if query_id in self._answered:
            return
        self._answered.put(query_id, None)
        task = asyncio.create_task(self._answer(query_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _answer(self, query_id: str) -> None:
        """Once more after a 5xx or a short 429; anything else means the press is handled."""
        for attempt in range(2):
            try:
                await call(self._request, self._url, {"callback_query_id": query_id})
                return
            except tg.RetryAfter as limited:
                wait = retry_after(limited)
                if attempt or wait > _ANSWER_WAIT_LIMIT:
                    log.info("gave up answering a button press: rate limited for %.1fs", wait)
                    return
                await asyncio.sleep(wait)
            except (tg.BadRequest, tg.TimedOut, tg.Forbidden, tg.InvalidToken) as error:
                # Too old, answered before a restart, or maybe arrived: the press is handled.
                log.info("could not answer a button press: %s", error)
                return
            except tg.NetworkError as error:  # a 5xx or a dropped connection
                if attempt:
                    log.info("could not answer a button press: %s", error)
                    return
            except tg.TelegramError as error:
                log.info("could not answer a button press: %s", error)
                return
