"""Fixtures for the reliability tests: the fake Bot API, bot processes, a printed seed."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.fakes.telegram_server import FakeTelegram
from tests.reliability.harness import BotProcess, seeded_random, unexpected_errors


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API; a test fails if the bot made a call Telegram would not accept."""
    async with FakeTelegram() as server:
        yield server
    assert unexpected_errors(server) == []


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    return seeded_random(request.node.name)


@pytest.fixture
async def launch(
    tmp_path: Path, telegram: FakeTelegram
) -> AsyncIterator[Callable[..., BotProcess]]:
    """Make a BotProcess on this test's database (not yet started); stopped at the end."""
    made: list[BotProcess] = []

    def make(*, webhook: bool = False, **settings: object) -> BotProcess:
        bot = BotProcess(tmp_path, telegram, webhook=webhook, **settings)
        made.append(bot)
        return bot

    yield make
    for bot in made:
        await bot.close()
