"""Fixtures for the Telegram tests: ``pytest_plugins = ["tests.e2e.telegram_fixtures"]``.

A plugin module rather than a conftest, so it stays with the Telegram tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.settings import Settings
from tests.e2e.telegram_harness import with_telegram
from tests.fakes.telegram_server import FakeTelegram


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API; a test fails if the bot made a call Telegram would not accept."""
    async with FakeTelegram() as server:
        yield server
    assert server.errors == []


@pytest.fixture
def tg_settings(settings: Settings, telegram: FakeTelegram) -> Settings:
    return with_telegram(settings, telegram)
