"""Memory at rest: the bot idle with a million people in its database.

Whatever the bot keeps per person in memory (a cache that only grows, a table loaded at
start) shows here long before it shows in production. The bot polls an empty fake Bot API; its
resident memory is read once it has idled a few seconds.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from bench.config import Config
from bench.fake_bot_api import FakeBotApi
from bench.process import (
    SECRET_KEY,
    BotProcess,
    check_calls,
    describe,
    free_port,
    kolbot_command,
    kolbot_env,
    wait_until,
)
from bench.report import Goal, Outcome, Row
from storage.models import AccountLink, Profile, SealedPayout, SocialClaim
from storage.sealing import Sealer, fernet_key
from storage.sqlite import SqliteStore

NAME: Final = "memory at rest"
GOAL_RSS_MB: Final = 150.0
START_TIMEOUT: Final = 120.0  # a start-up that reads a big database may take a while
BATCH: Final = 20_000
PLACES: Final = (
    ("PL", "Europe/Warsaw", "pl"),
    ("FR", "Europe/Paris", "fr"),
    ("ES", "Europe/Madrid", "es"),
    ("DE", "Europe/Berlin", "en"),
    ("GB", "Europe/London", "en"),
    ("UA", "Europe/Kyiv", "ru"),
)
NETWORKS: Final = ("instagram", "tiktok", "youtube", "x", "facebook", "twitch")
NICHES: Final = ("fashion", "beauty", "tech", "travel", "food", "fitness", "gaming", "music")


async def populate_people(database_path: Path, n: int, seed: int) -> None:
    """Create ``n`` people in the database at ``database_path``, each with a Telegram account
    and the fields a signed-up person has (names, language, timezone, country, status...),
    drawn from ``random.Random(seed)`` so every run has the same data.

    The database may not exist yet: create and migrate it as the bot would. Insert in large
    batches through the storage layer's bulk method; this is set-up, and it is not timed
    against a goal.
    """
    rng = random.Random(seed)
    consent = datetime(2026, 11, 1, tzinfo=UTC)
    # Sealed with the bot's key, as the bot checks at start; one sealing serves every row.
    sealed = Sealer(fernet_key(SECRET_KEY)).seal("creator@example.com")
    store = await SqliteStore.open(database_path, timedelta(days=7))
    try:
        for start in range(0, n, BATCH):
            batch = []
            for index in range(start, min(n, start + BATCH)):
                country, zone, language = rng.choice(PLACES)
                user_id = 10_000_000 + index
                handle = f"creator{index}"
                profile = Profile(
                    display_name=f"Creator {index}",
                    language=language,
                    country=country,
                    timezone=zone,
                    socials=(
                        SocialClaim(
                            network=rng.choice(NETWORKS),
                            handle=handle,
                            followers=rng.randint(1_000, 2_000_000),
                        ),
                    ),
                    niches=tuple(rng.sample(NICHES, 2)),
                    payout=SealedPayout(
                        method="paypal",
                        sealed=sealed,
                        masked="c***@example.com",
                        fingerprint=f"{index:064x}",
                    ),
                    consent_version="2026-11-01",
                    consent_at=consent,
                )
                account = AccountLink(
                    platform="telegram",
                    platform_user_id=str(user_id),
                    dm_chat=f"telegram:{user_id}",
                )
                batch.append((profile, account))
            async with store.unit_of_work() as uow:
                await uow.people.import_many(batch)
    finally:
        await store.close()


def _size_mb(directory: Path, pattern: str) -> float:
    return sum(path.stat().st_size for path in directory.glob(pattern)) / 2**20


async def measure(config: Config) -> Outcome:
    outcome = Outcome(NAME, details={"people": config.people, "idle_seconds": config.idle_seconds})
    with tempfile.TemporaryDirectory(prefix="kolbot-bench-memory-") as directory:
        workdir = Path(directory)
        database = workdir / "kolbot.db"
        started = time.monotonic()
        await populate_people(database, config.people, config.seed)
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
