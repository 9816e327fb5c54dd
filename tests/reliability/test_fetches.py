"""Once stored, an update is never fetched again: one getUpdates result per update."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.fakes.telegram_server import FakeTelegram
from tests.reliability.harness import BotProcess
from tests.reliability.players import Signups

USERS = 2000


@pytest.mark.timeout(120)
async def test_2000_starts_are_each_fetched_once(
    launch: Callable[..., BotProcess], telegram: FakeTelegram
) -> None:
    """2,000 people send /start at once to a bot whose Bot API answers every call after
    50 ms, pacing raised so that it is not the limit. The fake counts how often getUpdates
    returned each update: every one of the 2,000 exactly once, and all confirmed within a
    minute (the bot keeps sending their 4,000 replies meanwhile).
    """
    bot = launch(telegram_rate=1000)
    signups = Signups(telegram, range(700_001, 700_001 + USERS), steps=1)
    telegram.slow(None, delay=0.05, times=None)
    await bot.start()
    signups.begin()
    updates = [s.pushed[0] for s in signups.people.values()]
    taken: AssertionError | None = None
    try:
        await bot.wait_for(
            lambda: telegram.confirmed(updates[-1]),
            within=60.0,
            what=lambda: f"all updates taken; {sum(map(telegram.confirmed, updates))} were",
        )
    except AssertionError as error:
        taken = error  # reported after the refetches, the more telling failure
    returned = [telegram.deliveries[update] for update in updates]
    print(f"getUpdates returned {sum(returned)} updates for {USERS}")
    again = sum(count > 1 for count in returned)
    assert again == 0, f"{again} updates returned more than once, {sum(returned)} in all"
    assert taken is None, str(taken)
    assert returned == [1] * USERS
