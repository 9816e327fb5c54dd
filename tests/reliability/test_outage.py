"""A Bot API outage (sendMessage answering 5xx) loses no reply: sends are retried with a
backoff capped at a minute, for up to KOLBOT_DELIVERY_GIVE_UP (an hour by default)."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable

import pytest

from tests.fakes.telegram_server import FakeTelegram
from tests.reliability.harness import MARGIN, BotProcess, wait_for
from tests.reliability.players import Signups

# The figure. RELIABILITY_OUTAGE_SECONDS shortens it for a quick local run; above
# about 15 s it also fails a bot that gives up after a handful of quick tries.
OUTAGE = float(os.environ.get("RELIABILITY_OUTAGE_SECONDS", "30"))
MAX_BACKOFF = 60.0  # the most a transient failure may delay the next try


@pytest.mark.timeout(OUTAGE + MAX_BACKOFF + 120)
async def test_a_sendmessage_outage_loses_no_reply(
    launch: Callable[..., BotProcess], telegram: FakeTelegram
) -> None:
    """sendMessage answers 502 Bad Gateway for 30 s (RELIABILITY_OUTAGE_SECONDS) from just
    before 100 people send /start; updates keep arriving meanwhile. Once it is over, every
    person gets the welcome and the language question within the capped backoff (60 s) plus
    30 s, each exactly once (a 502 delivered nothing), and then their press of English is
    answered with the name question. The bot backs off: a hot retry loop would show as more
    failed tries per chat than two a second of outage.
    """
    bot = launch(telegram_rate=1000, telegram_chat_rate=20, telegram_chat_burst=5)
    signups = Signups(telegram, range(400_001, 400_101), steps=2)
    await bot.start()
    ends = telegram.outage("sendMessage", seconds=OUTAGE, status=502)
    signups.begin()
    await bot.wait_for(
        lambda: telegram.confirmed(signups.last_update),
        within=OUTAGE,
        what="the updates sent during the outage to be taken",
    )
    await wait_for(lambda: time.monotonic() >= ends, within=OUTAGE + 1, what="the outage's end")
    await bot.wait_for(signups.finished, within=MAX_BACKOFF + 30, what=signups.lagging)
    recovered = time.monotonic() - ends
    await bot.close()

    failed = Counter(c.chat_id for c in telegram.calls_to("sendMessage") if c.status == 502)
    print(
        f"outage {OUTAGE:.0f}s: {sum(failed.values())} failed tries, at most "
        f"{max(failed.values(), default=0)} for one chat; all sent {recovered:.1f}s after it"
    )
    assert signups.missing() == []
    assert signups.unexpected() == []
    assert signups.duplicates_by_run(bot.launches) == Counter()
    assert max(failed.values(), default=0) <= 2 * (OUTAGE + MARGIN)
