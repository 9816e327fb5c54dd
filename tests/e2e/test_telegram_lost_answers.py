"""A send whose answer is lost may have arrived: it is repeated a bounded number of times, then
left for an operator. What proves nothing arrived (a refused connection, a 429, a 502) is
retried until it goes, and a platform that is only slow is waited for."""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
from pathlib import Path

from bot.app import App
from bot.core.messages import ChatRef, Outgoing
from bot.settings import Settings
from tests.clock import kolbot_command
from tests.e2e.telegram_harness import eventually, running_bot
from tests.fakes.store import delivery_statuses, send_later
from tests.fakes.telegram_server import FakeTelegram

pytest_plugins = ["tests.e2e.telegram_fixtures"]

# Short, so that a test waits a fraction of a second where kolbot would wait 30.
READ_TIMEOUT = 0.3


def _chat(chat_id: int) -> ChatRef:
    return ChatRef(platform="telegram", chat_id=str(chat_id))


def impatient(settings: Settings, repeats: int = 1) -> Settings:
    return settings.model_copy(
        update={
            "delivery_read_timeout_seconds": READ_TIMEOUT,
            "delivery_unconfirmed_repeats": repeats,
        }
    )


def kolbot(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """``kolbot ARGS`` on the running bot's database, as an operator would run it."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KOLBOT_")}
    assert settings.secret_key is not None
    env |= {
        "KOLBOT_DATABASE": str(settings.database),
        "KOLBOT_SECRET_KEY": settings.secret_key.get_secret_value(),
    }
    return subprocess.run(
        kolbot_command(*args),
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(settings.database).parent,
        check=False,
        timeout=60,
    )


async def eventually_status(app: App, row: int, status: str, within: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (await delivery_statuses(app, [row])) != [status]:
        if loop.time() > deadline:
            raise AssertionError(f"delivery {row} is not {status} after {within}s")
        await asyncio.sleep(0.02)


async def test_a_send_answered_after_the_read_timeout_goes_at_most_twice_then_waits(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    """The Bot API posts each message but answers a second after the read timeout: the send
    goes once and is repeated once (KOLBOT_DELIVERY_UNCONFIRMED_REPEATS=1), then left
    unconfirmed; `kolbot outbox status` counts it and only `kolbot outbox retry
    --unconfirmed` sends it again."""
    settings = impatient(tg_settings)
    async with running_bot(settings, telegram) as bot:
        telegram.add_user(601, "Anna")
        telegram.slow("sendMessage", chat_id=601, delay=READ_TIMEOUT + 0.7, times=None)
        [row] = await send_later(bot.app, [Outgoing(chat=_chat(601), text="Your summary")])
        await eventually_status(bot.app, row, "unconfirmed")
        # Each try did arrive: the fake posts what it answers late.
        await eventually(lambda: len(telegram.messages(601)) == 2, within=5)
        assert len(telegram.calls_to("sendMessage", 601)) == 2
        [found] = await bot.app.store.db.fetchall(
            "SELECT attempts, lost_answers FROM deliveries WHERE id = ?", (row,)
        )
        assert (found["attempts"], found["lost_answers"]) == (2, 2)

        status = await asyncio.to_thread(kolbot, settings, "outbox", "status")
        assert status.returncode == 0, status.stderr
        rows = [line.split() for line in status.stdout.splitlines()]
        assert ["telegram", "unconfirmed", "1"] in rows
        assert "kolbot outbox retry --unconfirmed" in status.stdout
        # Nothing sends it again by itself: not a retry of failed messages either.
        failed = await asyncio.to_thread(kolbot, settings, "outbox", "retry", "--failed")
        assert failed.stdout.startswith("0 failed message(s) queued again"), failed.stderr
        assert await delivery_statuses(bot.app, [row]) == ["unconfirmed"]

        telegram.clear_faults()
        retried = await asyncio.to_thread(kolbot, settings, "outbox", "retry", "--unconfirmed")
        assert retried.stdout.startswith("1 unconfirmed message(s) queued again"), retried.stderr
        await eventually_status(bot.app, row, "sent")
        assert [m.text for m in telegram.messages(601)] == ["Your summary"] * 3
        assert len(telegram.calls_to("sendMessage", 601)) == 3


async def test_a_server_error_after_the_message_was_posted_is_repeated_once(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(impatient(tg_settings), telegram) as bot:
        telegram.add_user(602, "Ben")
        telegram.fail("sendMessage", chat_id=602, status=500, times=None, done=True)
        [row] = await send_later(bot.app, [Outgoing(chat=_chat(602), text="Offer")])
        await eventually_status(bot.app, row, "unconfirmed")
        assert [c.status for c in telegram.calls_to("sendMessage", 602)] == [500, 500]
        assert len(telegram.messages(602)) == 2


async def test_what_proves_nothing_arrived_is_retried_until_delivered_once(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    """Refused connections, 429s and 502s, many more than the repeats a lost answer gets:
    every one is tried again, and the message arrives exactly once."""
    async with running_bot(impatient(tg_settings, repeats=0), telegram) as bot:
        telegram.add_user(603, "Cleo")
        await telegram.refuse_connections()
        [refused] = await send_later(bot.app, [Outgoing(chat=_chat(603), text="First")])

        async def tries(row: int) -> int:
            [found] = await bot.app.store.db.fetchall(
                "SELECT attempts FROM deliveries WHERE id = ?", (row,)
            )
            return int(found["attempts"])

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while await tries(refused) < 3:
            assert loop.time() < deadline, "the refused send was not tried three times"
            await asyncio.sleep(0.05)
        await telegram.listen_again()
        await eventually_status(bot.app, refused, "sent")

        telegram.fail("sendMessage", chat_id=603, status=429, retry_after=0.2, times=2)
        telegram.fail("sendMessage", chat_id=603, status=502, times=2)  # once the 429s are done
        [limited] = await send_later(bot.app, [Outgoing(chat=_chat(603), text="Second")])
        await eventually_status(bot.app, limited, "sent")
        statuses = [c.status for c in telegram.calls_to("sendMessage", 603)]
        assert statuses == [200, 429, 429, 502, 502, 200]
        assert [m.text for m in telegram.messages(603)] == ["First", "Second"]


async def test_a_platform_slow_within_the_read_timeout_gets_one_copy(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    """With the default read timeout (30 s), a Bot API that takes over five seconds to answer
    is waited for: one send, one copy."""
    assert tg_settings.delivery_read_timeout_seconds == 30
    async with running_bot(tg_settings, telegram) as bot:
        telegram.add_user(604, "Dan")
        telegram.slow("sendMessage", chat_id=604, delay=5.5, times=None)
        [row] = await send_later(bot.app, [Outgoing(chat=_chat(604), text="One")])
        await eventually_status(bot.app, row, "sent", within=20)
        assert [m.text for m in telegram.messages(604)] == ["One"]
        assert [c.status for c in telegram.calls_to("sendMessage", 604)] == [200]


def _more_calls_than(telegram: FakeTelegram, chat: int, count: int) -> bool:
    return len(telegram.calls_to("sendMessage", chat)) > count


async def test_a_stop_while_a_send_waits_for_its_answer_counts_as_a_lost_answer(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    """A restart during a slow spell: the send on the wire when kolbot stops may have
    arrived, so it counts as a lost answer. Restarts again and again send it no more often
    than lost answers may (1 + KOLBOT_DELIVERY_UNCONFIRMED_REPEATS), not once per restart."""
    settings = tg_settings.model_copy(
        update={
            "delivery_read_timeout_seconds": 30.0,
            "delivery_unconfirmed_repeats": 1,
            "shutdown_timeout_seconds": 0.5,
        }
    )
    telegram.add_user(611, "Anna")
    telegram.slow("sendMessage", chat_id=611, delay=20, times=None)
    row: int | None = None
    for run in range(4):
        async with running_bot(settings, telegram) as bot:
            if row is None:
                [row] = await send_later(bot.app, [Outgoing(chat=_chat(611), text="Summary")])
            if run < 2:
                await eventually(functools.partial(_more_calls_than, telegram, 611, run))
            else:
                bot.app.outbox.wake()  # a row still due would be claimed and sent now
                await eventually(lambda: bot.app.idle)
    assert len(telegram.calls_to("sendMessage", 611)) == 2
    assert row is not None
    async with running_bot(settings, telegram) as bot:
        assert await delivery_statuses(bot.app, [row]) == ["unconfirmed"]
