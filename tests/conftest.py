"""Shared fixtures: the instant a test runs at, settings on a real SQLite file in tmp_path,
and an app over it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from pydantic import SecretStr

from bot.app import App
from bot.settings import Settings
from tests.clock import DEFAULT_INSTANT
from tests.fakes.platform import FakePlatform

FIGURE = "figure"


@pytest.fixture
def figure(record_property: Callable[[str, object], None]) -> Callable[[str], None]:
    """Print a measured figure at the end of every run of the suite (not only with -s),
    from whichever worker ran the test."""
    return lambda line: record_property(FIGURE, line)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    figures = [
        str(value)
        for report in terminalreporter.getreports("passed")
        for name, value in report.user_properties
        if name == FIGURE
    ]
    if figures:
        terminalreporter.section("figures measured")
        for line in figures:
            terminalreporter.line(line)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "instant(when): the test starts at this instant (an aware datetime or ISO)"
    )


@pytest.fixture(autouse=True)
def clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Traveller]:
    """Every test starts at DEFAULT_INSTANT, or at its ``instant`` mark, and the clock ticks
    on from there: tests never depend on the hour or the date the suite runs at."""
    marker = request.node.get_closest_marker("instant")
    instant: datetime | str = DEFAULT_INSTANT if marker is None else marker.args[0]
    with time_machine.travel(instant, tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def data_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's data folder, where kolbot keeps its database when KOLBOT_DATABASE is not
    set: one of the test's own (beside its tmp_path, not in it), for kolbot run in this
    process and in the subprocesses it starts, never the real one."""
    home = tmp_path_factory.mktemp("data-home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database=tmp_path / "kolbot.db",
        secret_key=SecretStr("test-secret-key-0123"),
        min_followers=1000,
        # Tests sign people up far faster than anyone types; the flood tests set their own.
        flood_limit=1000,
        # No web server unless a test asks for one (on a free port).
        web_port=0,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    app = await App.open(settings)
    yield app
    await app.close()


@asynccontextmanager
async def serving(app: App, fake: FakePlatform) -> AsyncIterator[FakePlatform]:
    """``app`` running with ``fake`` as its one platform, as ``kolbot run`` runs."""
    stop = asyncio.Event()
    running = asyncio.create_task(app.run([fake], stop, web=False))
    fake.serving = running
    started = asyncio.create_task(fake.started.wait())
    await asyncio.wait([running, started], return_when=asyncio.FIRST_COMPLETED)
    if running.done():
        started.cancel()
        running.result()
    try:
        yield fake
    finally:
        stop.set()
        await running


@pytest.fixture
async def platform(app: App) -> AsyncIterator[FakePlatform]:
    async with serving(app, FakePlatform()) as fake:
        yield fake


@asynccontextmanager
async def restarted(
    app: App, settings: Settings, platform: FakePlatform | None = None
) -> AsyncIterator[tuple[App, FakePlatform]]:
    """Stop and close the app as a deploy would, and open a new one on the same file."""
    if platform is not None:
        await platform.stop()
        if platform.serving is not None:
            await platform.serving  # the app's shutdown, before its store closes
    await app.close()
    reopened = await App.open(settings)
    try:
        async with serving(reopened, FakePlatform()) as fake:
            yield reopened, fake
    finally:
        await reopened.close()
