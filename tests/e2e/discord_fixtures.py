"""Fixtures for the Discord tests: ``pytest_plugins = ["tests.e2e.discord_fixtures"]``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.settings import Settings
from tests.e2e.discord_harness import discord_settings, fake_discord
from tests.fakes.discord_server import FakeDiscord


@pytest.fixture
async def discord_server() -> AsyncIterator[FakeDiscord]:
    """The fake Discord; a test fails if the bot did anything Discord would refuse."""
    async with fake_discord() as server:
        yield server
    assert server.errors == []


@pytest.fixture
def dc_settings(settings: Settings, discord_server: FakeDiscord) -> Settings:
    return discord_settings(settings, discord_server)
