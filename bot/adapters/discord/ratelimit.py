"""Staying under Discord's limits before Discord has to say so.

discord.py only reacts to 429s, and every 429 counts toward the 10,000 invalid requests per 10
minutes that get the bot's IP banned, so the adapter paces itself instead.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class RequestBudget:
    """A token bucket of ``limit`` tokens; a spent token comes back ``period`` seconds after the
    request it paid for has *finished*.

    Counting from the finish rather than the start means that even timed at Discord's side, where
    requests arrive late and out of order, no window of ``period`` seconds holds more than
    ``limit`` requests. Waiters are served first come, first served.
    """

    def __init__(self, limit: int, period: float, *, clock: Clock = time.monotonic) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a budget needs at least one token and a positive period")
        self.limit = limit
        self.period = period
        self._clock = clock
        self._in_flight = 0
        self._returning: deque[float] = deque()  # when each cooling token is back, ascending
        self._turn = asyncio.Lock()  # FIFO among waiters
        self._released = asyncio.Event()

    @classmethod
    def per_second(cls, rate: float, *, clock: Clock = time.monotonic) -> RequestBudget:
        """``rate`` requests a second; a fractional rate rounds down, never up."""
        if rate >= 1:
            return cls(int(rate), 1.0, clock=clock)
        return cls(1, 1.0 / rate, clock=clock)

    def idle(self) -> bool:
        """Nothing in flight or cooling: forgetting this budget loses nothing."""
        self._expire()
        return self._in_flight == 0 and not self._returning

    async def acquire(self) -> None:
        async with self._turn:
            while True:
                self._expire()
                if self._in_flight + len(self._returning) < self.limit:
                    self._in_flight += 1
                    return
                if self._returning:
                    await asyncio.sleep(self._returning[0] - self._clock())
                else:
                    self._released.clear()
                    await self._released.wait()

    def release(self) -> None:
        self._in_flight -= 1
        self._returning.append(self._clock() + self.period)
        self._released.set()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    def _expire(self) -> None:
        now = self._clock()
        while self._returning and self._returning[0] <= now:
            self._returning.popleft()


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

    def _expire(self) -> None:
        horizon = self._clock() - self.WINDOW
        while self._seen and self._seen[0] <= horizon:
            self._seen.popleft()
