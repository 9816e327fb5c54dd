"""The Telegram pacer's decisions, in virtual time: bursts, rates, 429s, and what it reports."""

from __future__ import annotations

import asyncio
import bisect
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.adapters.telegram.pacing import OVERALL_SHARE, ChatId, Pacer, Suspend
from bot.core.ratelimit import record_decisions


class VirtualTime:
    """A clock that moves only when the pacer sleeps, and a count of suspended waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.suspended = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.now += delay

    @asynccontextmanager
    async def suspend(self) -> AsyncIterator[None]:
        self.suspended += 1
        yield


async def sent_at_once(
    pacer: Pacer, chat: ChatId, suspend: Suspend, *, urgent: bool = True
) -> None:
    """A send whose request is on the wire the moment its turn comes."""
    async with pacer.turn(chat, suspend, urgent=urgent) as on_wire:
        on_wire()


def _pacer(time: VirtualTime, *, rate: int = 1_000_000, group_rate: int = 20) -> Pacer:
    return Pacer(
        rate=rate,
        chat_rate=1.0,
        chat_burst=3,
        group_rate=group_rate,
        clock=time.clock,
        sleep=time.sleep,
    )


async def _times(pacer: Pacer, time: VirtualTime, chats: list[ChatId]) -> list[float]:
    times = []
    for chat in chats:
        await sent_at_once(pacer, chat, time.suspend)
        times.append(time.now)
    return times


def _busiest(times: list[float], window: float) -> int:
    return max(sum(start <= t < start + window - 1e-9 for t in times) for start in times)


async def test_a_private_chat_gets_a_burst_then_one_a_second() -> None:
    time = VirtualTime()
    pacer = _pacer(time)
    await sent_at_once(pacer, 7, time.suspend)
    assert time.suspended == 0  # no wait, no giving up the slot
    times = await _times(pacer, time, [7] * 4)
    assert times == pytest.approx([0, 0, 1, 2], abs=0.001)


async def test_the_pacer_reports_when_it_chose_each_send_and_how_long_it_held_it() -> None:
    time = VirtualTime()
    pacer = _pacer(time, rate=2)
    with record_decisions() as decisions:
        times = await _times(pacer, time, [7, 8, 7, 7, 7])
    assert [d.limiter for d in decisions] == [pacer] * 5
    assert [d.key for d in decisions] == [7, 8, 7, 7, 7]
    # One a second overall (one short of two): the rate tests bound these times.
    assert times == pytest.approx([0, 1, 2, 3, 4])
    assert [d.at for d in decisions] == pytest.approx(times)
    assert [d.waited for d in decisions] == pytest.approx([0, 1, 1, 1, 1])


async def test_a_group_gets_fewer_than_twenty_a_minute() -> None:
    time = VirtualTime()
    times = await _times(_pacer(time), time, [-100] * 40)
    assert times[:3] == pytest.approx([0, 0, 0], abs=0.001)
    assert _busiest(times, 60.0) <= 19


async def test_all_chats_together_stay_under_the_overall_rate() -> None:
    time = VirtualTime()
    times = await _times(_pacer(time, rate=30), time, list(range(1, 121)))
    assert _busiest(times, 1.0) <= 29
    assert times[-1] >= 119 / 29 - 1e-9


async def test_a_429_pauses_its_chat_and_429s_in_two_chats_pause_all() -> None:
    time = VirtualTime()
    pacer = _pacer(time)
    pacer.limited(1, 2.0)
    assert await _times(pacer, time, [2]) == [0]  # another chat is not held
    assert await _times(pacer, time, [1]) == [pytest.approx(2.0)]  # never before retry_after

    time.now = 10.0
    pacer.limited(1, 2.0)
    time.now = 10.5
    pacer.limited(2, 3.0)  # while chat 1 waits too: it is the overall limit
    assert pacer.paused(3) == 3.0
    assert await _times(pacer, time, [3]) == [pytest.approx(13.5)]
    time.now = 20.0
    pacer.limited(4, 1.0)  # the others' waits are over: this one is about chat 4
    assert pacer.paused(4) == 1.0
    assert pacer.paused(5) <= 0


async def test_a_429_during_a_wait_is_waited_out_before_sending() -> None:
    time = VirtualTime()
    told: list[float] = []

    async def sleep(delay: float) -> None:
        await time.sleep(delay)
        if delay > 0.5 and not told:  # while a message waits its turn, another send hears 429
            told.append(time.now)
            pacer.limited(7, 5.0)

    pacer = Pacer(
        rate=1_000_000, chat_rate=1.0, chat_burst=3, group_rate=20, clock=time.clock, sleep=sleep
    )
    with record_decisions() as decisions:
        times = await _times(pacer, time, [7] * 4)
    assert times[:3] == pytest.approx([0, 0, 0], abs=0.001)
    assert times[3] >= told[0] + 5.0
    assert decisions[3].at >= told[0] + 5.0  # reported when it went, not when first chosen


async def test_a_reply_does_not_queue_behind_a_broadcast() -> None:
    """Bulk sends hold overall tokens at most a quarter second ahead, so a reply (urgent)
    takes the next free one instead of the 61st. Bounded on the times the pacer chose."""
    import asyncio

    from bot.core.ratelimit import record_decisions

    @asynccontextmanager
    async def nothing() -> AsyncIterator[None]:
        yield

    pacer = Pacer(rate=100, chat_rate=1.0, chat_burst=3, group_rate=20)
    loop = asyncio.get_running_loop()
    with record_decisions() as decisions:
        start = loop.time()
        bulk = [
            asyncio.create_task(sent_at_once(pacer, 10_000 + n, nothing, urgent=False))
            for n in range(60)
        ]
        await asyncio.sleep(0.05)
        await sent_at_once(pacer, 7, nothing, urgent=True)
        await asyncio.gather(*bulk)
    chosen = {d.key: d.at - start for d in decisions if isinstance(d.limiter, Pacer)}
    interval = 1 / (100 * OVERALL_SHARE)
    # The reply's token: within the bulk look-ahead of when it asked, not after 60 others.
    assert chosen[7] <= 0.05 + 0.25 + 2 * interval
    assert max(at for key, at in chosen.items() if key != 7) >= 60 * interval


class SteppedTime:
    """Virtual time for many concurrent sends: sleeps wait on timers that ``run`` fires in
    order, and ``stall`` seconds at ``stall_at`` fire late, all at once, as a stuck event
    loop does."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        woken = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + delay, next(self._order), woken))
        await woken

    async def run(self, tasks: list[asyncio.Task[None]], stall_at: float, stall: float) -> None:
        stalled = False
        running = {task for task in tasks if not task.done()}
        for task in running.copy():
            task.add_done_callback(running.discard)
        while running:
            for _ in range(3):  # let every woken send run up to its next sleep
                await asyncio.sleep(0)
            if not self._timers:
                continue
            due = self._timers[0][0]
            if not stalled and due >= stall_at:
                stalled, due = True, stall_at + stall
            self.now = max(self.now, due)
            while self._timers and self._timers[0][0] <= self.now:
                heapq.heappop(self._timers)[2].set_result(None)


async def test_sends_woken_late_do_not_bunch_in_any_second() -> None:
    """A stalled event loop wakes every send whose token fell due meanwhile at once; what
    goes out (the moment ``ready`` returns, when the request follows) still keeps under the
    limit in every second, as Telegram counts arrivals, and those the full second held back
    leave spaced, not as one more bunch a second after the first."""

    @asynccontextmanager
    async def nothing() -> AsyncIterator[None]:
        yield

    time = SteppedTime()
    pacer = Pacer(
        rate=50, chat_rate=1000.0, chat_burst=1, group_rate=20, clock=time.clock, sleep=time.sleep
    )
    went: list[float] = []

    async def send(chat: int) -> None:
        await sent_at_once(pacer, chat, nothing, urgent=False)
        went.append(time.now)

    sends = [asyncio.create_task(send(1000 + n)) for n in range(100)]
    await time.run(sends, stall_at=0.1, stall=1.0)
    assert len(went) == 100
    assert _busiest(went, 1.0) <= 49
    assert _busiest([t for t in went if t <= 1.1], 0.1) > 10  # the bunch the stall made
    # From there on, about 48.5 a second: 5 in any tenth, or 6 when one was held back for
    # less than the pace between two sends (and kept its place).
    assert _busiest([t for t in went if t > 1.1], 0.1) <= 6


async def test_a_send_counts_from_when_its_request_went_on_the_wire() -> None:
    time = VirtualTime()
    pacer = _pacer(time, rate=2)  # one a second
    async with pacer.turn(7, time.suspend) as on_wire:
        time.now += 0.5  # the request waited half a second for the event loop
        on_wire()
        time.now += 0.2  # the answer came later: it does not matter
    # The next token, at 1.0, finds the last second full until 1.5: held back for less than
    # the pace (a second), it goes then.
    assert await _times(pacer, time, [8]) == [pytest.approx(1.5)]
    async with pacer.turn(9, time.suspend):  # token at 2.0, room at 2.5
        time.now += 0.3  # never said when it went: counted at the end, on the slow side
    assert await _times(pacer, time, [10]) == [pytest.approx(3.8)]  # token 3.0, room at 3.8


def _most_in_a_second(times: list[float]) -> int:
    """The most of ``times`` in any half-open second [t, t + 1), exactly: the window that
    holds the most starts at one of the times."""
    ordered = sorted(times)
    return max(
        bisect.bisect_left(ordered, start + 1.0) - index for index, start in enumerate(ordered)
    )


STALLS = [(0.0, 0.0), (0.1, 1.0), (0.5, 0.3), (1.7, 2.5)]


@pytest.mark.parametrize(
    ("rate", "stall_at", "stall"),
    # Every stall at the small rates; paid broadcast's 1000/s with the stall that bunches most.
    [(rate, *stall) for rate in (2, 30, 50) for stall in STALLS] + [(1000, 0.1, 1.0)],
)
async def test_no_second_holds_more_sends_than_the_limit(
    rate: int, stall_at: float, stall: float
) -> None:
    """The pacer's promise, at its edges: in no half-open second [t, t + 1) does it choose
    more sends than the limit, nor do more go on the wire, however the event loop stalls."""

    @asynccontextmanager
    async def nothing() -> AsyncIterator[None]:
        yield

    time = SteppedTime()
    pacer = Pacer(
        rate=rate, chat_rate=1e6, chat_burst=1, group_rate=20, clock=time.clock, sleep=time.sleep
    )
    went: list[float] = []

    async def send(chat: int, urgent: bool) -> None:
        await sent_at_once(pacer, chat, nothing, urgent=urgent)
        went.append(time.now)

    count = 2 * rate + 10
    with record_decisions() as decisions:
        sends = [asyncio.create_task(send(1000 + n, n % 3 == 0)) for n in range(count)]
        await time.run(sends, stall_at=stall_at, stall=stall)
    chosen = [d.at for d in decisions if isinstance(d.limiter, Pacer)]
    assert len(chosen) == len(went) == count
    assert _most_in_a_second(chosen) <= rate
    assert _most_in_a_second(went) <= rate
