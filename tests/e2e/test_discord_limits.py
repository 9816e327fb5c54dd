"""The adapter keeps under Discord's limits by itself and turns refusals into SendErrors."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.adapters.discord.ratelimit import InvalidRequests, RequestBudget
from bot.core.messages import ChatRef, Outgoing
from bot.core.platform import BadRequest, RateLimited, Transient, Unreachable
from bot.core.ratelimit import Decision, record_decisions
from bot.settings import Settings
from tests.e2e.discord_harness import (
    RunningBot,
    default_limits,
    discord_settings,
    member,
    running_bot,
)
from tests.fakes.discord_server import (
    DM_OPEN_ROUTE,
    MESSAGE_CREATE_ROUTE,
    FakeDiscord,
    FakeUser,
    busiest_window,
)
from tests.fakes.store import delivery_statuses, drained, people, send_later

pytest_plugins = ["tests.e2e.discord_fixtures"]


def dm(user: FakeUser, text: str = "A new campaign matches your profile.") -> Outgoing:
    return Outgoing(chat=ChatRef(platform="discord", chat_id=f"dm:{user.id}"), text=text)


# Rates are bounded on what the budgets decided: the time each counts a request from, which is
# when its headers went out. The fake shares the bot's event loop, so on a busy machine it may
# stamp a batch of arrivals late and bunched however well they were paced; on the wire only a
# gross bound holds: a stall shorter than a period bunches at most two periods' worth.
WIRE_SLACK = 2


def budgets(decisions: list[Decision]) -> dict[RequestBudget, list[float]]:
    """The requests each Discord budget let go, by the time it counts each from."""
    chosen: dict[RequestBudget, list[float]] = {}
    for decision in decisions:
        if isinstance(decision.limiter, RequestBudget):
            chosen.setdefault(decision.limiter, []).append(decision.at)
    return chosen


def global_budget(chosen: dict[RequestBudget, list[float]]) -> list[float]:
    """The times of the budget every request went through, in order."""
    busiest: list[float] = max(chosen.values(), key=len)
    return sorted(busiest)


def within_their_limits(chosen: dict[RequestBudget, list[float]]) -> bool:
    return all(
        busiest_window(times, budget.period) <= budget.limit for budget, times in chosen.items()
    )


def counted_from_before_arrival(decided: list[float], arrived: list[float]) -> bool:
    """Every request the fake saw was counted, and from no later than it arrived (the k-th
    arrival came after the k-th decision): a budget that counted from a request's end, or
    missed one, would let the next ones go early."""
    return len(decided) == len(arrived) and all(
        at <= seen for at, seen in zip(sorted(decided), sorted(arrived), strict=True)
    )


async def test_a_burst_of_dms_keeps_to_the_global_and_per_dm_rates(
    settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    paced = discord_settings(
        settings, server, discord_global_rate=50.0, discord_dm_rate=3, discord_dm_period=0.5
    )
    users = [server.add_user(f"fan{i}") for i in range(100)]
    chatty = users[0]
    async with running_bot(paced, server) as bot:
        started = len(server.requests)
        sends = [bot.platform.send(dm(user)) for user in users]
        sends += [bot.platform.send(dm(chatty, f"update {n}")) for n in range(7)]
        with record_decisions() as decisions:
            await asyncio.gather(*sends)
    burst = [
        r for r in server.requests[started:] if r.route in (MESSAGE_CREATE_ROUTE, DM_OPEN_ROUTE)
    ]
    assert len(burst) == 100 * 2 + 7
    chosen = budgets(decisions)
    assert within_their_limits(chosen)
    overall = global_budget(chosen)
    assert busiest_window(overall, 1.0) <= 50
    assert max(overall) - min(overall) >= 4.0  # 207 requests at 50/s: it really was paced
    assert len(chosen) == 1 + 100  # the global budget and one per DM, each within its limit
    arrived = [r.at for r in burst]
    assert counted_from_before_arrival(overall, arrived)
    assert busiest_window(arrived, 1.0) <= WIRE_SLACK * 50
    chatty_times = server.times(MESSAGE_CREATE_ROUTE, channel_id=server.dm_channel(chatty))
    assert len(chatty_times) == 8
    assert busiest_window(chatty_times, 0.5) <= WIRE_SLACK * 3
    assert all(len(server.inbox(user)) == 1 for user in users[1:])


async def test_a_refused_dm_marks_the_account_unreachable_until_they_write(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    zoe = server.add_user("zoe")
    async with running_bot(dc_settings, server) as bot:
        await member(bot.app, zoe)
        server.block_dms(zoe)
        [first] = await send_later(bot.app, [dm(zoe)])
        await drained(bot.app)
        assert await delivery_statuses(bot.app, [first]) == ["blocked"]
        account = await people(bot.app).account("discord", str(zoe.id))
        assert account is not None
        assert not account.reachable
        attempts = server.times(MESSAGE_CREATE_ROUTE, channel_id=server.dm_channel(zoe))
        assert len(attempts) == 1
        assert len(bot.platform.invalid_requests) == 1

        # Not tried while blocked: no request at all, so no invalid-request count either.
        [second] = await send_later(bot.app, [dm(zoe)])
        await drained(bot.app)
        assert await delivery_statuses(bot.app, [second]) == ["blocked"]
        assert server.times(MESSAGE_CREATE_ROUTE, channel_id=server.dm_channel(zoe)) == attempts
        assert len(bot.platform.invalid_requests) == 1

        server.unblock_dms(zoe)
        await server.reply_to(zoe, server.write(zoe, "hello again"), containing="/help")
        account = await people(bot.app).account("discord", str(zoe.id))
        assert account is not None
        assert account.reachable


async def opened(bot: RunningBot, server: FakeDiscord, user: FakeUser) -> int:
    await bot.platform.send(dm(user, "hi"))
    return server.dm_channel(user)


async def test_discord_refusals_become_the_core_send_errors(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    kim = server.add_user("kim")
    async with running_bot(dc_settings, server) as bot:
        channel = await opened(bot, server, kim)
        send = bot.platform.send
        # A 429 without Discord's proxy header: discord.py gives up at once; we say how long.
        server.rate_limit(
            MESSAGE_CREATE_ROUTE, retry_after=2.5, via_proxy=False, channel_id=channel
        )
        with pytest.raises(RateLimited) as limited:
            await send(dm(kim))
        assert limited.value.retry_after == 2.5
        # A short ordinary 429: discord.py waits and retries by itself.
        server.rate_limit(MESSAGE_CREATE_ROUTE, retry_after=0.05, channel_id=channel)
        assert await send(dm(kim))
        # 429s on resources shared with other bots are not held against us.
        server.rate_limit(
            MESSAGE_CREATE_ROUTE, retry_after=0.05, channel_id=channel, scope="shared"
        )
        assert await send(dm(kim))
        assert len(bot.platform.invalid_requests) == 2

        server.fail(MESSAGE_CREATE_ROUTE, 503, channel_id=channel)
        with pytest.raises(Transient):
            await send(dm(kim))
        server.fail(MESSAGE_CREATE_ROUTE, 400, code=50035, channel_id=channel)
        with pytest.raises(BadRequest):
            await send(dm(kim))
        server.fail(MESSAGE_CREATE_ROUTE, 404, code=10003, channel_id=channel)
        with pytest.raises(Unreachable):
            await send(dm(kim))
        with pytest.raises(BadRequest):
            await send(Outgoing(chat=ChatRef(platform="discord", chat_id="dm:kim"), text="x"))


async def test_too_many_invalid_requests_pause_sending(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    ivan = server.add_user("ivan")
    async with running_bot(dc_settings, server) as bot:
        bot.platform.invalid_requests = InvalidRequests(warn_at=1, halt_at=1)
        bot.platform.invalid_requests.record(403)
        before = len(server.requests)
        with pytest.raises(RateLimited) as paused:
            await bot.platform.send(dm(ivan))
        assert 590 < paused.value.retry_after <= 600
        assert len(server.requests) == before


def test_invalid_requests_slide_out_of_the_ten_minute_window(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [1000.0]
    counter = InvalidRequests(warn_at=2, halt_at=3, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        for status in (403, 429, 401):
            counter.record(status)
            now[0] += 1
    assert len(counter) == 3
    assert [r.levelname for r in caplog.records] == ["WARNING"]  # once, not per request
    assert counter.cooldown() == pytest.approx(597.0)  # until the first one is 10 minutes old
    now[0] += 597
    assert counter.cooldown() == 0
    assert len(counter) == 2


async def test_a_budget_token_returns_a_period_after_its_request_started() -> None:
    budget = RequestBudget(1, 0.2, margin=0.05)

    async def request() -> None:
        await budget.acquire()
        started = time.monotonic()
        try:
            await asyncio.sleep(0.5)  # latency does not slow the pace...
        finally:
            budget.release(started)

    with record_decisions() as decisions:
        await asyncio.gather(request(), request())
    first, second = (decision.at for decision in decisions)
    # ...the second starts a period and the margin after the first *started*; timed from its
    # end it would start 0.75 s after, so a busy event loop has half a second to spare.
    assert 0.25 <= second - first < 0.75
    assert RequestBudget.per_second(0.5).period == 2.0
    assert RequestBudget.per_second(40.7).limit == 40


async def test_urgent_waiters_go_before_bulk_ones_and_cancelled_ones_give_way() -> None:
    budget = RequestBudget(1, 0.05, margin=0.0)
    order: list[str] = []

    async def request(name: str, *, urgent: bool = False) -> None:
        await budget.acquire(urgent=urgent)
        order.append(name)
        budget.release(time.monotonic())

    await budget.acquire()  # the only token is in use
    bulk = [asyncio.ensure_future(request(f"bulk{n}")) for n in range(3)]
    gone = asyncio.ensure_future(request("gone", urgent=True))
    reply = asyncio.ensure_future(request("reply", urgent=True))
    await asyncio.sleep(0)
    gone.cancel()
    budget.release(time.monotonic())
    await asyncio.gather(*bulk, reply, gone, return_exceptions=True)
    assert order == ["reply", "bulk0", "bulk1", "bulk2"]
    assert not budget.idle()  # the last token is still cooling
    await asyncio.sleep(0.06)
    assert budget.idle()


async def test_the_global_budget_keeps_its_default_rate_despite_latency(
    settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    fans = [server.add_user(f"fan{n}") for n in range(80)]
    for route in (DM_OPEN_ROUTE, MESSAGE_CREATE_ROUTE):
        server.slow(route, 0.5)
    async with running_bot(default_limits(settings, server), server) as bot:
        with record_decisions() as decisions:
            await asyncio.gather(*(bot.platform.send(dm(fan)) for fan in fans))
    chosen = budgets(decisions)
    assert within_their_limits(chosen)
    times = global_budget(chosen)
    assert len(times) == 160
    assert busiest_window(times, 1.0) <= 40
    # 40 at once, then a refill every period: the fourth starts 3 periods (and margins) later.
    # Timed from their end, latency would add 0.5 s to every period (25.8/s); the bound leaves
    # a busy event loop 0.6 s to lose.
    assert 120 / (times[120] - times[0]) >= 0.8 * 40
    arrived = server.times(DM_OPEN_ROUTE) + server.times(MESSAGE_CREATE_ROUTE)
    assert counted_from_before_arrival(times, arrived)
    assert busiest_window(arrived, 1.0) <= WIRE_SLACK * 40


async def test_the_default_dm_limit_holds_the_sixth_message(
    settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    fan = server.add_user("fan")
    async with running_bot(default_limits(settings, server), server) as bot:
        sends = [asyncio.ensure_future(bot.platform.send(dm(fan, f"#{n}"))) for n in range(6)]
        await server.until(lambda: len(server.inbox(fan)) == 5, what="five at once")
        await asyncio.sleep(0.3)
        assert len(server.inbox(fan)) == 5
        assert not sends[5].done()  # held for the rest of the 5 seconds
        sends[5].cancel()
        await asyncio.gather(*sends, return_exceptions=True)


async def test_a_burst_to_blocked_users_stops_at_the_invalid_request_halt(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    gone = [server.add_user(f"gone{n}") for n in range(60)]
    for user in gone:
        server.block_dms(user)
    async with running_bot(dc_settings, server) as bot:
        bot.platform.invalid_requests = InvalidRequests(warn_at=5, halt_at=5)
        results = await asyncio.gather(
            *(bot.platform.send(dm(user)) for user in gone), return_exceptions=True
        )
    refused = [r for r in server.requests if r.status in (401, 403, 429)]
    assert len(refused) == 5
    assert sum(isinstance(result, Unreachable) for result in results) == 5
    assert all(isinstance(result, (Unreachable, RateLimited)) for result in results)


async def test_a_reply_goes_ahead_of_queued_bulk_dms(
    settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    paced = discord_settings(settings, server, discord_global_rate=20.0)
    fans = [server.add_user(f"fan{n}") for n in range(100)]
    ada = server.add_user("ada")
    paced_routes = (DM_OPEN_ROUTE, MESSAGE_CREATE_ROUTE)
    async with running_bot(paced, server) as bot:
        bulk = [asyncio.ensure_future(bot.platform.send(dm(fan))) for fan in fans]
        # At least (not exactly: a busy machine may look late) the first budget's worth is out.
        await server.until(lambda: len(server.times(DM_OPEN_ROUTE)) >= 20, what="a spent budget")
        spent = sum(r.route in paced_routes for r in server.requests)
        await server.reply_to(ada, server.write(ada, "/help"), containing="/start")
        for send in bulk:
            send.cancel()
        await asyncio.gather(*bulk, return_exceptions=True)
    [answered] = server.times(MESSAGE_CREATE_ROUTE, channel_id=server.dm_channel(ada))
    ahead = [r for r in server.requests if r.at < answered and r.route in paced_routes]
    # 200 bulk requests were queued first; after ada wrote, at most a refill went ahead.
    assert len(ahead) - spent <= 20
