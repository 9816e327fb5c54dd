"""Token buckets: bursts, steady rates, order of waiters, keys forgotten when idle, and the
decisions limiters report for rate tests."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.adapters.discord.ratelimit import RequestBudget
from bot.core.ratelimit import (
    Decision,
    KeyedBuckets,
    SlidingWindow,
    TokenBucket,
    decided,
    rate_within,
    record_decisions,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_goes_at_once_then_the_rate_holds() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(5)] == [0, 0, 0, 0.5, 1.0]
    clock.now += 1.0  # two of the waiting tokens are used by now
    assert bucket.reserve() == pytest.approx(0.5)


def test_reserve_at_says_when_the_token_may_be_used() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=1, clock=clock)
    assert [bucket.reserve_at(), bucket.reserve_at(), bucket.reserve()] == [1000.0, 1000.5, 1.0]


def test_decisions_are_kept_only_while_recording() -> None:
    decided("before", 1, 1.0)
    with record_decisions() as outer:
        decided("a", 1, 2.0)
        with record_decisions() as inner:
            decided("b", None, 3.0, waited=0.5)
        decided("c", 2, 4.0)
    decided("after", 1, 5.0)
    assert inner == [Decision("b", None, 3.0, 0.5)]
    assert [d.limiter for d in outer] == ["a", "b", "c"]
    with record_decisions() as empty_outer, record_decisions() as empty_inner:
        # A decision made as a value is not one taken: only decided() records.
        Decision("not taken", None, 0.0, 0.0)
    decided("later", 1, 6.0)
    assert empty_outer == empty_inner == []


async def test_a_request_budget_reports_the_start_of_each_request_it_let_go() -> None:
    now = [1000.0]
    budget = RequestBudget(2, 1.0, margin=0.0, clock=lambda: now[0])
    with record_decisions() as decisions:
        await budget.acquire()
        await budget.acquire()
        budget.release(1000.1)
        budget.release(None)  # never went out: not a send
    assert decisions == [Decision(budget, None, 1000.1)]


def test_a_sliding_window_counts_what_went_in_the_last_period() -> None:
    clock = Clock()
    window = SlidingWindow(3, 1.0, clock=clock)
    for step in (0.0, 0.1, 0.1):
        clock.now += step
        assert window.wait() == 0
        window.note()
    clock.now += 0.3  # three went within the last second: the next waits for the first to age
    assert window.wait() == pytest.approx(0.5)
    clock.now += 0.5
    assert window.wait() == 0
    window.note()
    assert window.wait() == pytest.approx(0.1)  # the second one is now the oldest
    with pytest.raises(ValueError, match="count of at least 1"):
        SlidingWindow(0, 1.0)


def test_a_held_event_counts_as_now_until_it_is_noted() -> None:
    clock = Clock()
    window = SlidingWindow(2, 1.0, clock=clock)
    window.note()
    window.hold()  # let go, not yet on the wire
    assert window.wait() == pytest.approx(1.0)
    clock.now += 0.6
    window.note(held=True)  # it went only now: it counts from here
    clock.now += 0.5  # the first aged out; the held one still counts
    assert window.wait() == 0
    window.note()
    assert window.wait() == pytest.approx(0.5)  # until the held one, sent at +0.6, ages out


def test_an_idle_bucket_fills_up_to_its_burst_only() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1, burst=2, clock=clock)
    bucket.reserve()
    clock.now += 3600
    assert [bucket.reserve() for _ in range(3)] == [0, 0, 1.0]


def test_rate_within_keeps_every_window_under_the_count() -> None:
    clock = Clock()
    rate = rate_within(20, 60.0, burst=3)
    bucket = TokenBucket(rate, burst=3, clock=clock)
    times = [clock.now + bucket.reserve() for _ in range(100)]
    for start in times:
        # One short of the count, give or take float rounding at the window's edge.
        assert sum(start <= t < start + 60 - 1e-9 for t in times) <= 19
    with pytest.raises(ValueError, match="count must exceed burst"):
        rate_within(3, 1.0, burst=3)


async def test_acquire_waits_in_order_at_the_rate() -> None:
    bucket = TokenBucket(rate=50, burst=1)
    done: list[tuple[int, float]] = []

    async def take(index: int) -> None:
        await bucket.acquire()
        done.append((index, time.monotonic()))

    began = time.monotonic()
    await asyncio.gather(*(take(index) for index in range(6)))
    assert [index for index, _ in done] == list(range(6))
    assert done[-1][1] - began >= 5 / 50 - 0.005


def test_keys_are_separate_buckets() -> None:
    clock = Clock()
    buckets: KeyedBuckets[int] = KeyedBuckets(rate=1, burst=1, clock=clock)
    assert [buckets.reserve(1), buckets.reserve(2), buckets.reserve(1)] == [0, 0, 1.0]


def test_idle_keys_are_forgotten_so_memory_stays_bounded() -> None:
    clock = Clock()
    buckets: KeyedBuckets[int] = KeyedBuckets(rate=1, burst=3, clock=clock)
    # Ten new chats every millisecond, each due again a second later: only the ~10,000 active
    # in the last second may be kept, however many have been seen.
    for chat in range(200_000):
        if chat % 10 == 0:
            clock.now += 0.001
        buckets.reserve(chat)
        assert len(buckets) <= 2 * 10_000 + 2
    # A key forgotten while full behaves as one never seen.
    clock.now += 10
    buckets.reserve(-1)
    assert [buckets.reserve(5), buckets.reserve(5), buckets.reserve(5), buckets.reserve(5)] == [
        0,
        0,
        0,
        1.0,
    ]


def test_a_busy_key_is_not_forgotten() -> None:
    clock = Clock()
    buckets: KeyedBuckets[str] = KeyedBuckets(rate=1, burst=1, clock=clock)
    waits = [buckets.reserve("busy") for _ in range(5)]  # due 5 s from now
    for index in range(100):
        clock.now += 0.01
        buckets.reserve(f"other{index}")
    assert waits == [0, 1.0, 2.0, 3.0, 4.0]
    assert buckets.reserve("busy") == pytest.approx(4.0)  # its last token was due at 5 s


def test_bad_parameters_are_refused() -> None:
    for rate, burst in ((0, 1), (-1, 1), (1, 0)):
        with pytest.raises(ValueError, match="positive rate"):
            TokenBucket(rate, burst)
        with pytest.raises(ValueError, match="positive rate"):
            KeyedBuckets[int](rate, burst)
