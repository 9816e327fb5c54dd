"""Shared fixtures: settings on a real SQLite file in tmp_path, and an app over it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.app import App
from bot.core.delivery import Deliverer
from bot.settings import Settings
from tests.fakes.platform import FakePlatform


async def _no_wait(_: float) -> None:
    return None


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database=tmp_path / "kolbot.db",
        secret_key=SecretStr("test-secret-key"),
        min_followers=1000,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    app = await App.open(settings)
    yield app
    await app.close()


@pytest.fixture
async def platform(app: App) -> AsyncIterator[FakePlatform]:
    fake = FakePlatform()
    app.dispatcher.deliverer = Deliverer(app.services.people, sleep=_no_wait)
    await fake.start(lambda incoming: app.dispatcher.feed(fake, incoming))
    yield fake
    await fake.stop()


@asynccontextmanager
async def restarted(app: App, settings: Settings) -> AsyncIterator[tuple[App, FakePlatform]]:
    """Close the app as a crash or deploy would, and open a new one on the same file."""
    await app.close()
    reopened = await App.open(settings)
    fake = FakePlatform()
    await fake.start(lambda incoming: reopened.dispatcher.feed(fake, incoming))
    try:
        yield reopened, fake
    finally:
        await reopened.close()
