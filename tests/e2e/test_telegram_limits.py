"""Telegram's limits: paced before Telegram says so, 429s waited out without holding others up."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import time

from bot.adapters.telegram.pacing import Pacer
from bot.core.messages import ChatRef, Outgoing
from bot.core.ratelimit import Decision, record_decisions
from bot.settings import Settings
from tests.e2e.telegram_harness import TgUser, eventually, running_bot
from tests.fakes.store import send_later
from tests.fakes.telegram_server import Call, FakeTelegram

pytest_plugins = ["tests.e2e.telegram_fixtures"]

REPLIES = ["Commands:", "Choose your language:", "There is nothing to cancel."]


def _chat(chat_id: int) -> ChatRef:
    return ChatRef(platform="telegram", chat_id=str(chat_id))


def _busiest(times: list[float], window: float) -> int:
    """The most times in any half-open ``window``, give or take float rounding at its edge."""
    ordered = sorted(times)
    return max(
        bisect.bisect_left(ordered, start + window - 1e-9) - index
        for index, start in enumerate(ordered)
    )


def _sends(decisions: list[Decision], chat: int | None = None) -> list[Decision]:
    """What the pacer let go (to ``chat``), in order: the times it chose, which a busy event
    loop may act on late and bunched, never early."""
    return [
        d
        for d in decisions
        if isinstance(d.limiter, Pacer) and (chat is None or d.key in (chat, str(chat)))
    ]


def _waited_out(calls: list[Call]) -> bool:
    """Each call after a 429 came once the retry_after it was told had passed."""
    return all(
        later.at - earlier.done_at >= (earlier.retry_after or 0)
        for earlier, later in itertools.pairwise(calls)
        if earlier.status == 429
    )


async def test_a_429_storm_loses_nothing_keeps_order_and_sends_nothing_early(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    # 20 a second overall, so what a 429 says is heard before the next send goes.
    settings = tg_settings.model_copy(update={"telegram_rate": 20})
    async with running_bot(settings, telegram) as bot:
        users = [TgUser(bot, 501 + index, name) for index, name in enumerate(("A", "B", "C"))]
        anna = users[0]
        # More 429s in a row than the Deliverer's 5 tries for a failing send...
        telegram.fail("sendMessage", chat_id=anna.chat_id, status=429, retry_after=0.2, times=7)
        # ...and the overall limit, once other chats' replies are under way.
        telegram.fail("sendMessage", status=429, retry_after=1, after=2)
        updates = [
            telegram.say(user.chat_id, user.user_id, text)
            for text in ("/help", "/language", "/cancel")
            for user in users
        ]
        await eventually(lambda: all(len(user.messages) == 3 for user in users), within=8)
        await bot.settled(updates[-1])

        for user in users:
            assert [m.text.split("\n")[0] for m in user.messages] == REPLIES
            assert _waited_out(telegram.calls_to("sendMessage", user.chat_id))
        statuses = [c.status for c in telegram.calls_to("sendMessage", anna.chat_id)]
        assert statuses.count(429) >= 7
        others = [c for c in telegram.calls_to("sendMessage") if c.chat_id != anna.chat_id]
        assert any(c.status == 429 for c in others)  # the overall flood hit them too
    # The fake also records as an error any send inside a wait the bot had been told of.


async def test_a_flood_wait_gives_up_its_concurrency_slot(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    one_at_a_time = tg_settings.model_copy(update={"outbox_concurrency": 1})
    async with running_bot(one_at_a_time, telegram) as bot:
        anna = TgUser(bot, 520, "Anna")
        ben = TgUser(bot, 521, "Ben")
        telegram.fail("sendMessage", chat_id=anna.chat_id, status=429, retry_after=3)
        update = telegram.say(520, 520, "/help")
        await eventually(lambda: bool(telegram.calls_to("sendMessage", anna.chat_id)))

        # Anna's update waits 3 s for its reply, and not in the only slot: Ben's is answered
        # meanwhile (an ordering, not a latency, so a busy machine has seconds to spare).
        telegram.say(521, 521, "/help")
        await eventually(lambda: telegram.activity(ben.chat_id) == 1, within=10.0)

        await bot.settled(update)
        limited, sent = telegram.calls_to("sendMessage", anna.chat_id)
        assert (limited.status, sent.status) == (429, 200)
        assert sent.at - limited.done_at >= 3.0
        [answered] = telegram.calls_to("sendMessage", ben.chat_id)
        assert answered.at < sent.at


async def test_429s_for_several_chats_pause_every_chat(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    settings = tg_settings.model_copy(update={"telegram_rate": 20})
    async with running_bot(settings, telegram) as bot:
        chats = list(range(530, 536))
        for chat in chats:
            telegram.add_user(chat, f"User{chat}")
        # Not about one chat: Telegram's overall limit, which answers 429 to every chat.
        telegram.fail("sendMessage", status=429, retry_after=1)
        await send_later(
            bot.app, [Outgoing(chat=_chat(chat), text=f"hi {chat}") for chat in chats]
        )
        await eventually(
            lambda: all(telegram.messages(chat) for chat in chats), within=15, what="every chat"
        )
        for chat in chats:
            assert [m.text for m in telegram.messages(chat)] == [f"hi {chat}"]
        calls = telegram.calls_to("sendMessage")
        limited = [c for c in calls if c.status == 429]
        # Two chats' 429s told the bot it was every chat's; the rest waited without asking.
        assert len(limited) < len(chats)
        until = limited[0].at + 1
        assert all(c.at >= until for c in calls if c.ok)


async def test_sends_stay_under_the_overall_rate(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    settings = tg_settings.model_copy(update={"telegram_rate": 50})
    async with running_bot(settings, telegram) as bot:
        chats = range(1000, 1100)
        for chat in chats:
            telegram.add_user(chat, f"User{chat}")
        began = time.monotonic()
        with record_decisions() as decisions:
            await asyncio.gather(
                *(bot.platform.send(Outgoing(chat=_chat(chat), text="Summary")) for chat in chats)
            )
        took = time.monotonic() - began
    chosen = [d.at for d in _sends(decisions)]
    assert len(chosen) == 100
    # The pacer's promise: no second holds more than the limit (it aims a little under it;
    # bounding that margin would make the test a coin toss on a loaded machine).
    assert _busiest(chosen, 1.0) <= 50
    assert max(chosen) - min(chosen) >= 99 / 50 - 1e-6
    assert took >= 1.9
    # On the wire, stamped by the fake in the bot's event loop: every send came after the pacer
    # chose it, and bunched by a busy machine no more than a stall shorter than a second can.
    arrivals = sorted(c.at for c in telegram.calls_to("sendMessage"))
    assert len(arrivals) == 100
    assert all(at <= seen for at, seen in zip(sorted(chosen), arrivals, strict=True))
    assert _busiest(arrivals, 1.0) <= 2 * 50


async def test_a_private_chat_gets_a_short_burst_then_one_a_second(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    settings = tg_settings.model_copy(update={"telegram_chat_rate": 1.0, "telegram_chat_burst": 3})
    async with running_bot(settings, telegram) as bot:
        telegram.add_user(540, "Anna")
        with record_decisions() as decisions:
            for index in range(4):
                await bot.platform.send(Outgoing(chat=_chat(540), text=f"part {index}"))
    sends = _sends(decisions, 540)
    assert len(sends) == 4
    # A reply of three messages is not slowed down: the chat's bucket held none of them back
    # (the overall one, at 1000/s here, may for a millisecond)...
    assert all(d.waited is not None and d.waited < 0.1 for d in sends[:3])
    # ...and the fourth was chosen for a second after the first, or later.
    assert sends[3].at - sends[0].at >= 1.0 - 1e-6
    calls = telegram.calls_to("sendMessage", 540)
    assert [c.status for c in calls] == [200] * 4
    assert all(call.at >= send.at for call, send in zip(calls, sends, strict=True))
