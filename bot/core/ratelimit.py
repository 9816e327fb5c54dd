"""Token buckets: pace sends under a platform's limits before the platform has to say so.

Platform-free: adapters choose the rates. A bucket is one number, the time its next token is due
(the GCRA form of a token bucket), so taking a token is O(1), tokens go in the order they were
asked for, and a keyed set of buckets can forget a key as soon as its bucket is full again, which
is what keeps a million chats from costing a million entries.

Every limiter reports the sends it lets go (:func:`decided`), so a test can check the rate the bot
chose (:func:`record_decisions`) rather than arrival times a busy event loop stamped late.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = [
    "Clock",
    "Decision",
    "KeyedBuckets",
    "SlidingWindow",
    "TokenBucket",
    "decided",
    "rate_within",
    "record_decisions",
]

Clock = Callable[[], float]
K = TypeVar("K", bound=Hashable)

# Least recently used keys looked at per reservation: more than the one a reservation may add,
# so the scan laps the keys faster than they grow and idle ones are found.
_FORGET_PER_CALL = 2


@dataclass(frozen=True, slots=True)
class Decision:
    """A send that ``limiter`` let go, to ``key``, at ``at`` on the limiter's clock: the time it
    counts the send from. ``waited`` is how long it held the send back, if it says."""

    limiter: object
    key: Hashable
    at: float
    waited: float | None = None


_recorders: list[list[Decision]] = []


def decided(limiter: object, key: Hashable, at: float, waited: float | None = None) -> None:
    """Report a send ``limiter`` let go; costs nothing unless something records."""
    if _recorders:
        decision = Decision(limiter, key, at, waited)
        for recorder in _recorders:
            recorder.append(decision)


@contextlib.contextmanager
def record_decisions() -> Iterator[list[Decision]]:
    """Every send any limiter in this process lets go meanwhile, in the order it was reported.

    For tests that bound a rate: these are the times the bot chose. A starved event loop may
    stamp arrivals late and bunched however well the sends were paced, but not these.
    """
    recorded: list[Decision] = []
    _recorders.append(recorded)
    try:
        yield recorded
    finally:
        _recorders[:] = [other for other in _recorders if other is not recorded]


def rate_within(count: int, period: float, burst: int = 1) -> float:
    """The rate at which a bucket of ``burst`` lets fewer than ``count`` through in any ``period``.

    One short of the limit on purpose: the platform counts arrivals, and a message delayed on the
    way by up to one interval must still leave it counting at most ``count``.
    """
    if count <= burst or period <= 0:
        raise ValueError("count must exceed burst, and period must be positive")
    return (count - burst) / period


def _take(due: float, now: float, interval: float, tolerance: float) -> tuple[float, float]:
    """When the next token may be used, and when the one after it is due."""
    at = max(now, due - tolerance)
    return at, max(due, at) + interval


class _Pace:
    """``rate`` tokens a second, up to ``burst`` at once: what every bucket here shares."""

    def __init__(self, rate: float, burst: int = 1, *, clock: Clock = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock


class TokenBucket(_Pace):
    """``rate`` tokens a second, up to ``burst`` at once."""

    def __init__(self, rate: float, burst: int = 1, *, clock: Clock = time.monotonic) -> None:
        super().__init__(rate, burst, clock=clock)
        self._due = -math.inf

    def reserve(self) -> float:
        """Take the next token; the seconds to wait before using it (0: now).

        A caller that then gives up wastes the token, which errs on the slow side.
        """
        now = self._clock()
        at, self._due = _take(self._due, now, self._interval, self._tolerance)
        return at - now

    def backlog(self) -> float:
        """Seconds of tokens already promised beyond now (0: a token is free now)."""
        return max(0.0, self._due - self._tolerance - self._clock())

    def reserve_at(self) -> float:
        """Take the next token; the time on the clock at which it may be used (now or later)."""
        at, self._due = _take(self._due, self._clock(), self._interval, self._tolerance)
        return at

    async def acquire(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)


class SlidingWindow:
    """At most ``count`` events in any ``period`` seconds, counted at the moments they happen.

    A token bucket spaces the times it promises, but a task woken late by a busy event loop
    (or one that waited for a concurrency slot after its token was due) goes later than
    promised, and several such bunch up. A platform that counts arrivals in every window of a
    second sees the bunch; this counts what really went, so the bunch waits its turn instead.
    An event let go but not yet happened (a request not yet on the wire) is ``held``: it counts
    as happening now until it is noted.
    """

    def __init__(self, count: int, period: float, *, clock: Clock = time.monotonic) -> None:
        if count < 1 or period <= 0:
            raise ValueError("a window needs a count of at least 1 and a positive period")
        self.count = count
        self.period = period
        self._clock = clock
        self._times: deque[float] = deque()
        self._held = 0

    def wait(self) -> float:
        """Seconds until one more event fits (0: now)."""
        now = self._clock()
        times = self._times
        # An event leaves the window when the wait below would be over: one expression for
        # both, so float rounding (7.2 + 1.0 - 8.2 is not 0) never leaves a full window
        # answering "no wait".
        while times and times[0] + self.period - now <= 0:
            times.popleft()
        if len(times) + self._held < self.count:
            return 0.0
        # Held events count as now: waiting for the oldest to age may not be enough, and the
        # caller asks again.
        return (times[0] if times else now) + self.period - now

    def hold(self) -> None:
        """One event let go that has not happened yet."""
        self._held += 1

    def note(self, *, held: bool = False) -> None:
        """One event happened now (the one held earlier, if ``held``)."""
        if held:
            self._held -= 1
        self._times.append(self._clock())


class KeyedBuckets(_Pace, Generic[K]):
    """One ``TokenBucket(rate, burst)`` per key, kept only while it is not full.

    A bucket whose next token is due already cannot be told from a new one, so forgetting it loses
    nothing; memory follows the keys active within the last burst, not every key ever seen.
    """

    def __init__(self, rate: float, burst: int = 1, *, clock: Clock = time.monotonic) -> None:
        super().__init__(rate, burst, clock=clock)
        self._due: OrderedDict[K, float] = OrderedDict()  # least recently used first

    def __len__(self) -> int:
        return len(self._due)

    def reserve(self, key: K) -> float:
        """Take the next token of ``key``'s bucket; the seconds to wait before using it."""
        now = self._clock()
        at, due = _take(self._due.pop(key, -math.inf), now, self._interval, self._tolerance)
        self._due[key] = due
        self._forget(now)
        return at - now

    async def acquire(self, key: K) -> None:
        delay = self.reserve(key)
        if delay > 0:
            await asyncio.sleep(delay)

    def _forget(self, now: float) -> None:
        """Drop the least recently used buckets that are full again; send busy ones to the back.

        Never empties the dict: the bucket just reserved is due in the future.
        """
        for _ in range(_FORGET_PER_CALL):
            key, due = next(iter(self._due.items()))
            if due > now:
                self._due.move_to_end(key)
            else:
                del self._due[key]
