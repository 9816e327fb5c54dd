"""Memory at rest: the bot idle with a million people in its database.

Whatever the bot keeps per person in memory (a cache that only grows, a table loaded at
start) shows here long before it shows in production. The bot polls an empty fake Bot API; its
resident memory is read once it has idled a few seconds.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Final

from bench.config import Config
from bench.fake_bot_api import FakeBotApi
from bench.process import (
    BotProcess,
    check_calls,
    describe,
    free_port,
    kolbot_command,
    kolbot_env,
    wait_until,
)
from bench.report import Goal, Outcome, Row

NAME: Final = "memory at rest"
GOAL_RSS_MB: Final = 150.0
START_TIMEOUT: Final = 120.0  # a start-up that reads a big database may take a while


async def populate_people(database_path: Path, n: int, seed: int) -> None:
    """Create ``n`` people in the database at ``database_path``, each with a Telegram account
    and the fields a signed-up person has (names, language, timezone, country, status...),
    drawn from ``random.Random(seed)`` so every run has the same data.

    The database may not exist yet: create and migrate it as the bot would. Insert in large
    batches through the storage layer's bulk method; this is set-up, and it is not timed
    against a goal.
    """
    raise NotImplementedError("bulk people API pending")


def _size_mb(directory: Path, pattern: str) -> float:
    return sum(path.stat().st_size for path in directory.glob(pattern)) / 2**20


async def measure(config: Config) -> Outcome:
    outcome = Outcome(NAME, details={"people": config.people, "idle_seconds": config.idle_seconds})
    with tempfile.TemporaryDirectory(prefix="kolbot-bench-memory-") as directory:
        workdir = Path(directory)
        database = workdir / "kolbot.db"
        started = time.monotonic()
        try:
            await populate_people(database, config.people, config.seed)
        except NotImplementedError as pending:
            return Outcome(NAME, "not run", str(pending))
        outcome.details["populate_seconds"] = time.monotonic() - started
        size_mb = _size_mb(workdir, "kolbot.db*")
        async with FakeBotApi(delay=config.delay) as api:
            env = kolbot_env(workdir, api.base_url, free_port(), source=config.source)
            bot = await BotProcess.start(kolbot_command(), cwd=workdir, env=env)
            try:
                await wait_until(
                    api.polling.is_set, bot=bot, what="start-up", within=START_TIMEOUT
                )
                await asyncio.sleep(config.idle_seconds)
                if not bot.alive:
                    raise bot.died("while idle")
                usage = bot.usage()
            finally:
                await bot.stop()
                if (note := bot.stop_note()) is not None:
                    outcome.notes.append(note)
            check_calls(api)
    outcome.rows = [
        Row("RSS at rest, MB", usage.rss_mb, Goal("<", GOAL_RSS_MB)),
        Row("peak RSS, MB", usage.peak_rss_mb),
        Row("database on disk, MB", size_mb),
    ]
    return outcome


async def run(config: Config) -> list[Outcome]:
    try:
        return [await measure(config)]
    except Exception as error:
        return [Outcome(NAME, "failed", describe(error))]
