"""SIGTERM: stop taking updates, finish what is in flight, exit within the shutdown timeout
(KOLBOT_SHUTDOWN_TIMEOUT_SECONDS) whatever the backlog; what is still pending goes out at the
next start."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable

import pytest

from tests.fakes.telegram_server import FakeTelegram
from tests.reliability.harness import MARGIN, SHUTDOWN_TIMEOUT, BotProcess
from tests.reliability.players import ASK_LANGUAGE, WELCOME, Signups, kind

USERS = 1000  # a welcome and the language question each: 2,000 replies


@pytest.mark.timeout(180)
async def test_sigterm_with_2000_replies_queued_exits_in_time_and_sends_the_rest_once(
    launch: Callable[..., BotProcess], telegram: FakeTelegram
) -> None:
    """1,000 people send /start to a bot at the default pacing (30 msg/s overall, 1 a second
    per chat), so their 2,000 replies queue up; SIGTERM comes once every update is confirmed
    (stored) or 300 replies have gone out, whichever is first, and 20 more people send /start
    just after it. The process exits with status 0 within the default shutdown timeout of 5 s,
    plus 5 s for a loaded machine (measured from the signal to the exit, as the test
    sees them). Started again (pacing raised), the bot sends everything still owed: every
    person, the late ones too, has exactly one welcome and one language question. SIGTERM
    finishes what is in flight, so nothing goes out twice.
    """
    bot = launch()
    signups = Signups(telegram, range(300_001, 300_001 + USERS), steps=1)
    late = Signups(telegram, range(301_001, 301_021), steps=1)
    await bot.start()
    signups.begin()
    await bot.wait_for(
        lambda: telegram.confirmed(signups.last_update) or signups.accepted >= 300,
        within=60.0,
        what="the updates to be taken",
    )
    signalled = bot.send(signal.SIGTERM)
    late.begin()  # taken and stored before the bot stops, or left for the next start
    ended = await bot.exited(within=60.0)
    took = ended - signalled
    print(f"exit {took:.2f}s after SIGTERM, {2 * USERS - signups.accepted} replies unsent")
    assert bot.current.process.returncode == 0, bot.log_tail()
    assert took <= SHUTDOWN_TIMEOUT + MARGIN, f"exit took {took:.1f}s\n{bot.log_tail()}"
    assert signups.accepted <= USERS, "the backlog was gone before SIGTERM: nothing tested"

    began = time.monotonic()
    await bot.start(telegram_rate=1000)
    await bot.wait_for(
        lambda: signups.finished() and late.finished(),
        within=60.0,
        what=lambda: f"{signups.lagging()} (late ones: {late.lagging()})",
    )
    await bot.close()
    print(f"the rest went out in {time.monotonic() - began:.1f}s after the restart")

    for people in (signups, late):
        assert people.missing() == []
        assert people.unexpected() == []
        twice = {
            chat: texts
            for chat in people.people
            if (texts := Counter(kind(m.text) for m in telegram.messages(chat)))
            != {WELCOME: 1, ASK_LANGUAGE: 1}
        }
        assert twice == {}, f"{len(twice)} chats got a reply twice, e.g. {list(twice.items())[:3]}"
