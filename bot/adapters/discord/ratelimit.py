"""Staying under Discord's limits before Discord has to say so.

discord.py only reacts to 429s, and every 429 counts toward the 10,000 invalid requests per 10
minutes that get the bot's IP banned, so the adapter paces itself instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Final

import discord

from bot.core.platform import RateLimited
from bot.core.ratelimit import decided

log = logging.getLogger(__name__)

Clock = Callable[[], float]

# Requests reach Discord a little later and in a slightly different order than they leave; a
# token coming back this much after its period keeps that jitter inside our own window.
SAFETY_MARGIN: Final = 0.05


class RequestBudget:
    """At most ``limit`` requests go out in any ``period`` seconds.

    A spent token comes back ``period`` + ``margin`` seconds after its request went out, or
    when the request finishes if that is later. Timing from the start lets the sustained rate
    approach ``limit / period`` whatever the latency (timing from the finish cost 13% at 150 ms);
    the margin keeps any window at Discord's side within ``limit`` despite network jitter.

    Urgent waiters (replies to someone who is waiting) are served before bulk ones; each lane is
    first come, first served.
    """

    def __init__(
        self,
        limit: int,
        period: float,
        *,
        margin: float = SAFETY_MARGIN,
        clock: Clock = time.monotonic,
    ) -> None:
        if limit < 1 or period <= 0 or margin < 0:
            raise ValueError("a budget needs at least one token and a positive period")
        self.limit = limit
        self.period = period
        self.margin = margin
        self._clock = clock
        self._in_flight = 0
        self._returning: list[float] = []  # a heap of when each cooling token is back
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._bulk: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    @classmethod
    def per_second(cls, rate: float, *, clock: Clock = time.monotonic) -> RequestBudget:
        """``rate`` requests a second; a fractional rate rounds down, never up."""
        if rate >= 1:
            return cls(int(rate), 1.0, clock=clock)
        return cls(1, 1.0 / rate, clock=clock)

    def idle(self) -> bool:
        """Nothing in flight, cooling or waiting: forgetting this budget loses nothing."""
        self._expire()
        return self._in_flight == 0 and not self._returning and not self._waiting()

    async def acquire(self, *, urgent: bool = False) -> None:
        """Wait for a token; pair with :meth:`release`."""
        if not self._waiting() and self._free():
            self._in_flight += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        lane = self._urgent if urgent else self._bulk
        lane.append(waiter)
        self._grant()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(None)  # granted just as the waiter gave up: hand it on
            else:
                with contextlib.suppress(ValueError):  # _grant may have dropped it already
                    lane.remove(waiter)
            raise

    def release(self, started: float | None) -> None:
        """Return a token; ``started`` is when its request started, None if none was sent.

        A sent request is reported as decided at ``started``: the time its token is counted
        from, so any ``period`` of these holds at most ``limit`` however late the loop ran.
        """
        self._in_flight -= 1
        if started is not None:
            decided(self, None, started)
            back = started + self.period + self.margin
            if back > self._clock():
                heapq.heappush(self._returning, back)
        self._grant()

    def _waiting(self) -> bool:
        return bool(self._urgent or self._bulk)

    def _free(self) -> bool:
        self._expire()
        return self._in_flight + len(self._returning) < self.limit

    def _grant(self) -> None:
        """Hand free tokens to waiters, urgent first; wake up again when the next one is back."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._waiting() and self._free():
            lane = self._urgent or self._bulk
            waiter = lane.popleft()
            if not waiter.done():
                waiter.set_result(None)
                self._in_flight += 1
        if self._waiting() and self._returning:
            delay = max(0.0, self._returning[0] - self._clock())
            self._timer = asyncio.get_running_loop().call_later(delay, self._grant)

    def _expire(self) -> None:
        now = self._clock()
        while self._returning and self._returning[0] <= now:
            heapq.heappop(self._returning)


class InvalidRequests:
    """Counts 401, 403 and 429 answers over a sliding window, as Discord does before a ban.

    Past ``warn_at`` it logs once per window; past ``halt_at`` :meth:`cooldown` says how long to
    stop sending, so a bug that loops on refusals costs minutes of delay, not an IP ban.
    """

    WINDOW = 600.0

    def __init__(
        self, *, warn_at: int = 1000, halt_at: int = 5000, clock: Clock = time.monotonic
    ) -> None:
        self.warn_at = warn_at
        self.halt_at = halt_at
        self._clock = clock
        self._seen: deque[float] = deque()
        self._warned_until = 0.0
        self._in_flight = 0
        self._settled = asyncio.Event()

    def __len__(self) -> int:
        self._expire()
        return len(self._seen)

    def record(self, status: int) -> None:
        now = self._clock()
        self._seen.append(now)
        count = len(self)
        if count >= self.warn_at and now >= self._warned_until:
            self._warned_until = now + self.WINDOW
            log.warning(
                "%d invalid Discord requests (last: HTTP %d) in the last %d minutes; "
                "Discord bans the IP at 10,000",
                count,
                status,
                self.WINDOW // 60,
            )

    def cooldown(self) -> float:
        """Seconds until the count drops below ``halt_at``; 0 while under it."""
        excess = len(self) - self.halt_at
        if excess < 0:
            return 0.0
        return max(0.0, self._seen[excess] + self.WINDOW - self._clock())

    @contextlib.asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Let one request through, or raise RateLimited while halted.

        Requests in flight count as if each will be refused, so a burst queued before the
        first refusal came back cannot overshoot ``halt_at``: near the limit they go one by one.
        """
        while True:
            cooldown = self.cooldown()
            if cooldown > 0:
                raise RateLimited(cooldown, "(too many invalid requests)")
            if len(self) + self._in_flight < self.halt_at:
                break
            self._settled.clear()
            await self._settled.wait()
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._settled.set()

    def _expire(self) -> None:
        horizon = self._clock() - self.WINDOW
        while self._seen and self._seen[0] <= horizon:
            self._seen.popleft()


def retry_after(error: discord.HTTPException) -> float:
    """How long a 429 (or a 5xx that says) asks us to wait; a second when it does not say."""
    headers = error.response.headers
    for header in ("X-RateLimit-Reset-After", "Retry-After"):
        value = headers.get(header)
        if value is not None:
            with contextlib.suppress(ValueError):
                return max(float(value), 0.0)
    return 1.0
