"""When a message may go to a Telegram chat: under Telegram's limits, and never inside a 429.

Telegram allows about 30 messages a second overall (up to 1000 with paid broadcasts), about one a
second in a private chat and 20 a minute in a group. Past them it answers 429 with a retry_after,
and asking again earlier only extends the wait, so sends are paced before Telegram has to say so.

Telegram counts the overall limit by arrivals in any one second, so beyond the token bucket that
spaces sends, the sends that really went in the last second are counted (``SlidingWindow``),
each at the moment its request went on the wire (``turn``): sends woken late by a busy event
loop, which would arrive bunched, wait for their turn instead.

A 429 does not say which limit it was. One chat's 429 pauses that chat; 429s for several chats
whose pauses overlap look like the overall limit, and pause every send until the latest of them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from bot.core.ratelimit import (
    Clock,
    KeyedBuckets,
    SlidingWindow,
    TokenBucket,
    decided,
    rate_within,
)

log = logging.getLogger(__name__)

ChatId = int | str
# The bucket's pace, a little under the limit: the window below keeps sends that bunched on
# the way from counting more than the limit, so this margin only absorbs jitter.
OVERALL_SHARE = 0.98
# Sends counted as they go, in any second: a little above the bucket's pace, so it only holds
# back sends that bunched, and still under the limit, for jitter on the way.
WINDOW_SHARE = 0.985
# How far ahead of now bulk sends may hold overall tokens: what a reply may wait behind them.
BULK_AHEAD = 0.25
Suspend = Callable[[], AbstractAsyncContextManager[None]]
Sleep = Callable[[float], Awaitable[None]]
# Called the moment a paced request is on the wire.
OnWire = Callable[[], None]


def is_group(chat: ChatId) -> bool:
    """Groups, supergroups and channels have negative ids (or an @username)."""
    return isinstance(chat, str) or chat < 0


class Pacer:
    def __init__(
        self,
        *,
        rate: int,
        chat_rate: float,
        chat_burst: int,
        group_rate: int,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """``rate`` messages a second overall, ``chat_rate`` a second (``chat_burst`` at once)
        in a private chat, ``group_rate`` a minute in a group."""
        self._clock = clock
        self._sleep = sleep
        # A few percent under the limit, not one message: at hundreds a second, sends that
        # leave evenly still arrive with some jitter.
        overall = min(rate_within(rate, 1.0), rate * OVERALL_SHARE)
        self._overall = TokenBucket(overall, clock=clock)
        self._spacing = 1.0 / overall
        self._went = SlidingWindow(
            max(1, min(rate - 1, math.floor(rate * WINDOW_SHARE))), 1.0, clock=clock
        )
        self._private: KeyedBuckets[ChatId] = KeyedBuckets(chat_rate, chat_burst, clock=clock)
        group_burst = min(chat_burst, group_rate - 1)
        self._groups: KeyedBuckets[ChatId] = KeyedBuckets(
            rate_within(group_rate, 60.0, group_burst), group_burst, clock=clock
        )
        self._paused: dict[ChatId, float] = {}  # chat → no send before, after its 429
        self._all_paused = 0.0  # no send to any chat before

    @asynccontextmanager
    async def turn(
        self, chat: ChatId, suspend: Suspend, *, urgent: bool = True
    ) -> AsyncIterator[OnWire]:
        """Enter when a message to ``chat`` may go; every wait happens inside ``suspend()``,
        which gives the caller's concurrency slot to others meanwhile. Inside, call what it
        yields the moment the request is on the wire: the send counts from then (or, if never
        called, from the exit, which errs on the slow side).

        The send is reported as decided at the time the pacer chose for it (its overall token,
        or later when sends that bunched held it back): a busy event loop may wake the caller
        later, never earlier."""
        held = 0.0
        while True:
            held += await self._wait(self.paused(chat), suspend)
            chat_buckets = self._groups if is_group(chat) else self._private
            held += await self._wait(chat_buckets.reserve(chat), suspend)
            while True:
                if not urgent:
                    # Bulk sends promise themselves no further than BULK_AHEAD into the future,
                    # so a reply (urgent) never queues behind a broadcast's reservations.
                    while (ahead := self._overall.backlog()) > BULK_AHEAD:
                        held += await self._wait(ahead - BULK_AHEAD, suspend)
                # The overall token last, so it is used when it is due and not after another
                # wait.
                chosen = self._overall.reserve_at()
                held += await self._wait(chosen - self._clock(), suspend)
                # Held back for less than the pace between two sends: it keeps its place.
                while 0 < (full := self._went.wait()) <= self._spacing:
                    chosen = max(chosen, self._clock() + full)
                    held += await self._wait(full, suspend)
                if full <= 0:
                    break
                # Sends that bunched fill the last second for longer. Once there is room, a
                # fresh token: those held back leave spaced, not as the next bunch a second
                # later.
                held += await self._wait(full, suspend)
            if self.paused(chat) <= 0:  # else a 429 came meanwhile: wait it out first
                break
        decided(self, chat, chosen, waited=held)
        self._went.hold()
        gone = False

        def on_wire() -> None:
            nonlocal gone
            if not gone:
                gone = True
                self._went.note(held=True)

        try:
            yield on_wire
        finally:
            on_wire()

    def paused(self, chat: ChatId) -> float:
        """Seconds until a 429 lets ``chat`` be sent to (0 or less: now)."""
        return max(self._paused.get(chat, 0.0), self._all_paused) - self._clock()

    def limited(self, chat: ChatId, retry_after: float) -> None:
        """Telegram answered 429 for ``chat``: no send to it for ``retry_after`` seconds, and
        none to anyone if another chat is inside its own wait too."""
        now = self._clock()
        until = now + retry_after
        # Only chats inside a wait are kept: when paced, 429s are few.
        self._paused = {other: end for other, end in self._paused.items() if end > now}
        others = [end for other, end in self._paused.items() if other != chat]
        self._paused[chat] = max(self._paused.get(chat, 0.0), until)
        if others:
            shared = max(until, *others)
            if shared > self._all_paused:
                self._all_paused = shared
                log.warning(
                    "telegram: 429s for %d chats at once; pausing every send for %.1fs",
                    len(others) + 1,
                    shared - now,
                )

    async def _wait(self, delay: float, suspend: Suspend) -> float:
        """Sleep ``delay`` seconds if it is positive; the seconds chosen to wait."""
        if delay <= 0:
            return 0.0
        async with suspend():
            await self._sleep(delay)
        return delay
