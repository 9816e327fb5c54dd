"""SIGKILL at any moment loses no reply and no answer; duplicates stay within the rows in flight.

Each test kills a real ``python -m bot run`` and starts it again on the same database. What
was promised: an update is stored before Telegram is told it arrived (the getUpdates offset
moves past it, or the webhook answers 200), it is handled once, in one transaction with the
replies it produces (outbox rows), and every reply goes out at least once; a reply goes out
twice only if it was in flight at the kill, and KOLBOT_OUTBOX_CONCURRENCY bounds how many
are in flight.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

import pytest

from tests.fakes.telegram_server import FakeTelegram
from tests.reliability.harness import BotProcess, read_conversations
from tests.reliability.players import ASK_LANGUAGE, ASK_NAME, WELCOME, Signups, kind

CONCURRENCY = 16  # KOLBOT_OUTBOX_CONCURRENCY: small, so that the duplicate bound is strict


@pytest.mark.timeout(240)
async def test_ten_sigkills_mid_signup_lose_nothing(
    launch: Callable[..., BotProcess], telegram: FakeTelegram, rng: random.Random
) -> None:
    """500 people sign up (/start, English, a typed name, a country: four updates and five
    replies each) while the bot is SIGKILLed ten times in a row at seeded random moments and
    started again each time.

    A moment is a random number (0 to 250) of replies accepted by the fake since the run was
    ready, so that kills land in ingestion, handling and sending alike however loaded the
    machine is; a run that stops sending for 3 s is killed then. At each kill, with the bot
    down, every conversation is at the step its stored answers say, no earlier than the last
    question the person received and no later than the answers they gave. After the final
    start: every person got every reply (none lost), nothing else (no update handled twice),
    every update was confirmed, and the copies beyond the first of any reply number at most
    KOLBOT_OUTBOX_CONCURRENCY per kill, none from the run that was not killed.
    """
    bot = launch(
        telegram_rate=1000,
        telegram_chat_rate=20,
        telegram_chat_burst=5,
        outbox_concurrency=CONCURRENCY,
    )
    signups = Signups(telegram, range(100_001, 100_501))
    for kill in range(1, 11):
        await bot.start()
        if kill == 1:
            signups.begin()
        target = rng.randint(0, 250)
        before, ready_at = signups.accepted, time.monotonic()

        def moment(target: int = target, before: int = before, ready_at: float = ready_at) -> bool:
            quiet = time.monotonic() - max(signups.last_accepted_at, ready_at)
            return signups.accepted - before >= target or quiet > 3.0

        await bot.wait_for(moment, within=30.0, what=f"{target} replies before kill {kill}")
        await bot.kill()
        print(
            f"kill {kill}: {signups.accepted - before} replies (aimed at {target}) in "
            f"{time.monotonic() - ready_at:.1f}s after the run was ready"
        )
        problems = signups.check(read_conversations(bot.database))
        assert problems == [], f"after kill {kill}: {problems[:10]}"

    began = time.monotonic()
    await bot.start()
    await bot.wait_for(signups.finished, within=60.0, what=signups.lagging)
    await bot.wait_for(
        lambda: telegram.confirmed(signups.last_update), within=30.0, what="the last update"
    )
    await bot.close()
    print(f"the last run finished every signup in {time.monotonic() - began:.1f}s")

    assert signups.missing() == []
    assert signups.unexpected() == []
    assert telegram.confirmed(signups.last_update)
    problems = signups.check(read_conversations(bot.database))
    assert problems == [], problems[:10]
    assert all(s.asked == {0, 1, 2, 3} for s in signups.people.values())
    duplicates = signups.duplicates_by_run(bot.launches)
    print(f"duplicates by the run that had them in flight: {sorted(duplicates.items())}")
    assert all(count <= CONCURRENCY for count in duplicates.values()), duplicates
    assert duplicates[len(bot.runs) - 1] == 0, "the run that was not killed sent duplicates"


@pytest.mark.timeout(180)
async def test_webhook_killed_with_replies_queued_answers_every_update(
    launch: Callable[..., BotProcess], telegram: FakeTelegram
) -> None:
    """Webhook mode at the default 30 msg/s: 200 people's /start are posted (20 at a time, as
    Telegram's max_connections allows) and each POST is answered 200 within 5 s (the update
    stored, not handled: their 400 replies take 13 s to pace out); the bot is SIGKILLed as soon
    as the last POST is answered. Telegram never posts again what was answered 200, so after
    a restart (pacing raised) every one of the 200 still gets both replies, and then each
    person's press of English, posted to the restarted bot, is answered with the name
    question: their conversation survived. Duplicates: at most KOLBOT_OUTBOX_CONCURRENCY, none
    from the run that was not killed. ``GET /healthz`` answers 200 on the same server.
    """
    bot = launch(webhook=True, outbox_concurrency=CONCURRENCY)
    users = range(200_001, 200_201)
    signups = Signups(telegram, users, steps=2)  # for reading; these people are posted by hand
    await bot.start()
    gate = asyncio.Semaphore(20)

    async def post(update: dict[str, object]) -> tuple[int, float]:
        async with gate:
            return await bot.post(update)

    answers = await asyncio.gather(*(post(telegram.text_update(u, u, "/start")) for u in users))
    sent_at_kill = signups.accepted
    await bot.kill()
    assert [status for status, _ in answers] == [200] * len(answers)
    slowest = max(seconds for _, seconds in answers)
    assert slowest < 5.0, f"a webhook POST took {slowest:.1f}s"
    print(f"killed with {2 * len(users) - sent_at_kill} of {2 * len(users)} replies unsent")

    await bot.start(telegram_rate=1000)

    def lacking(expected: str) -> list[int]:
        return [u for u in users if all(kind(m.text) != expected for m in telegram.messages(u))]

    async def everyone_gets(expected: str) -> None:
        await bot.wait_for(
            lambda: not lacking(expected),
            within=30.0,
            what=lambda: f"{expected!r} for everyone; {len(lacking(expected))} never got it",
        )

    await everyone_gets(WELCOME)
    await everyone_gets(ASK_LANGUAGE)
    presses = [telegram.press_update(u, u, data="lang:en") for u in users]
    answers = await asyncio.gather(*(post(press) for press in presses))
    assert [status for status, _ in answers] == [200] * len(answers)
    await everyone_gets(ASK_NAME)
    assert await bot.healthz() == 200
    await bot.close()

    assert signups.unexpected() == []
    duplicates = signups.duplicates_by_run(bot.launches)
    print(f"duplicates by the run that had them in flight: {sorted(duplicates.items())}")
    assert duplicates[0] <= CONCURRENCY
    assert duplicates[1] == 0
