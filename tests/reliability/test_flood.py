"""One person's flood is capped and answered once, and delays nobody else."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pytest

from tests.fakes.telegram_server import FakeTelegram
from tests.reliability.harness import BotProcess, wait_for
from tests.reliability.players import ASK_LANGUAGE, WELCOME, Signups, kind

FLOOD = 200
LIMIT = 30  # KOLBOT_FLOOD_LIMIT
WINDOW = 3  # KOLBOT_FLOOD_WINDOW_SECONDS, shortened from 10 s to keep the test short
FIRST_REPLY_WITHIN = 5.0
HELP = "Commands:"


@pytest.mark.timeout(120)
async def test_one_persons_flood_delays_nobody_elses_first_reply(
    launch: Callable[..., BotProcess], telegram: FakeTelegram
) -> None:
    """One person sends /help 200 times at once, and right after them 50 others send /start.
    Per-chat pacing is 5 a second, so the flooder's answers alone would take 40 s to go out.

    Each of the 50 gets their welcome within 5 s of sending /start (a generous bound: an
    inbox bot stores 250 updates and sends 50 messages in well under a second). The flood
    is capped at KOLBOT_FLOOD_LIMIT=30 updates in KOLBOT_FLOOD_WINDOW_SECONDS (3 here): the first
    30 are answered, the other 170 dropped and answered once, together, with a request to
    slow down. Once the window has passed, the flooder's /start is answered as anyone's.

    Read as: the flood's 200 updates all arrive within one window, so exactly 30 are
    handled; the slow-down message is whatever the flooder gets that is neither the help
    text nor a signup question; replies to one chat go out in the order they were written
    (so once the answer to the later /start has arrived, everything before it has too).
    """
    bot = launch(
        telegram_rate=1000,
        telegram_chat_rate=5,
        telegram_chat_burst=3,
        flood_limit=LIMIT,
        flood_window_seconds=WINDOW,
    )
    flooder = 600_000
    telegram.add_user(flooder, "Flooder")
    others = Signups(telegram, range(600_001, 600_051), steps=1)
    await bot.start()
    flood = [telegram.say(flooder, flooder, "/help") for _ in range(FLOOD)]
    sent = time.monotonic()
    others.begin()

    def waiting() -> list[int]:
        return [user for user in others.people if not telegram.messages(user)]

    await bot.wait_for(
        lambda: not waiting(),
        within=60.0,
        what=lambda: f"everyone's first reply; {len(waiting())} of 50 still waiting",
    )
    firsts = sorted(telegram.messages(user)[0].sent_at - sent for user in others.people)
    print(f"first replies after {firsts[0]:.2f}s to {firsts[-1]:.2f}s")
    assert firsts[-1] <= FIRST_REPLY_WITHIN, f"{sum(f > FIRST_REPLY_WITHIN for f in firsts)} late"

    await bot.wait_for(lambda: flood[-1] in telegram.fetched_at, within=60.0, what="the flood")
    window_over = telegram.fetched_at[flood[-1]] + WINDOW + 1.0
    await wait_for(lambda: time.monotonic() >= window_over, within=WINDOW + 2, what="the window")
    telegram.say(flooder, flooder, "/start")
    await bot.wait_for(
        lambda: any(kind(m.text) == ASK_LANGUAGE for m in telegram.messages(flooder)),
        within=60.0,
        what="the flooder's /start after the window to be answered",
    )
    await bot.close()

    texts = Counter(
        "help" if m.text.startswith(HELP) else kind(m.text) or m.text
        for m in telegram.messages(flooder)
    )
    print(f"the flooder got {dict(texts)}")
    assert texts.pop("help", 0) == LIMIT
    assert texts.pop(WELCOME, 0) == 1
    assert texts.pop(ASK_LANGUAGE, 0) == 1
    assert list(texts.values()) == [1], f"not exactly one request to slow down: {texts}"
    assert others.missing() == []
