"""Publishing to a million: a campaign every approved influencer matches, matched and queued.

The publishing job (``bot.services.publishing.publish``) runs on a database of ``audience``
people: the set-based match, one offer and one outbox row per person in batches, the campaign
marked published. Beside it, in the same run, the same offer and outbox rows go into an empty
database of the same schema with a bare sqlite3 ``executemany``: the floor for writing them,
so the figure says how much the matching and the bookkeeping cost above it.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Final

from bench.config import Config
from bench.memory import populate_people
from bench.process import describe
from bench.report import Goal, Outcome, Row
from bot.services.publishing import publish
from storage.clock import utcnow
from storage.models import Commission, NewCampaign
from storage.sqlite import SqliteStore

NAME: Final = "publish"
GOAL_SECONDS: Final = 20.0
# At least half the speed of the bare inserts: at most twice their time.
GOAL_SPEED_OF_RAW: Final = 0.5
TTL: Final = timedelta(days=7)


async def _campaign(store: SqliteStore) -> int:
    """Every approved person matches it: no countries, niches or follower minimum."""
    async with store.unit_of_work() as uow:
        agency = await uow.agencies.create("Bench agency")
        campaign = await uow.campaigns.create(
            NewCampaign(
                agency_id=agency.id,
                brand="Acme",
                title="Winter boots",
                brief="Show the boots in snow.",
                commission=Commission.percent(1000),
                slots=1000,
                deadline=utcnow() + timedelta(days=30),
                landing_url="https://acme.example/boots",
                created_by="cli",
            ),
            "publishing",
        )
    return campaign.id


def _raw_rows(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The offers and outbox rows publishing wrote, as plain tuples."""
    with closing(sqlite3.connect(path)) as conn:
        offers = conn.execute(
            "SELECT id, campaign_id, person_id, created_at, updated_at FROM offers"
        ).fetchall()
        deliveries = conn.execute(
            "SELECT dedupe_key, platform, chat, ref, priority, next_attempt_at, created_at "
            "FROM deliveries"
        ).fetchall()
    return offers, deliveries


def _raw_insert(
    path: Path, offers: list[tuple[object, ...]], deliveries: list[tuple[object, ...]]
) -> float:
    """Seconds for a bare ``executemany`` of the same rows in one transaction."""
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO offers (id, campaign_id, person_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?)",
            offers,
        )
        conn.executemany(
            "INSERT INTO deliveries (dedupe_key, platform, chat, ref, priority, "
            "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            deliveries,
        )
        conn.execute("COMMIT")
        return time.perf_counter() - started


async def _empty_copy(path: Path) -> None:
    """A database with the schema and no rows: migrated as the bot would."""
    store = await SqliteStore.open(path, TTL)
    await store.close()


async def measure(config: Config) -> Outcome:
    outcome = Outcome(NAME, details={"audience": config.audience})
    with tempfile.TemporaryDirectory(prefix="kolbot-bench-publish-") as directory:
        workdir = Path(directory)
        database = workdir / "kolbot.db"
        started = time.monotonic()
        await populate_people(database, config.audience, config.seed)
        outcome.details["populate_seconds"] = time.monotonic() - started
        store = await SqliteStore.open(database, TTL)
        try:
            campaign_id = await _campaign(store)
            started = time.perf_counter()
            published = await publish(store, campaign_id)
            seconds = time.perf_counter() - started
        finally:
            await store.close()
        if not published:
            raise RuntimeError("the campaign was not published")
        offers, deliveries = _raw_rows(database)
        if len(offers) != config.audience or len(deliveries) != config.audience:
            raise RuntimeError(
                f"{len(offers):,} offers and {len(deliveries):,} outbox rows for "
                f"{config.audience:,} matching people"
            )
        raw_database = workdir / "raw.db"
        await _empty_copy(raw_database)
        raw_seconds = _raw_insert(raw_database, offers, deliveries)
    speed = raw_seconds / seconds if seconds else None
    outcome.rows = [
        Row("matched and queued, s", seconds, Goal("<", GOAL_SECONDS)),
        Row("offers queued per second", config.audience / seconds if seconds else None),
        Row("bare executemany of the same rows, s", raw_seconds),
        Row(
            "speed against the bare inserts",
            speed,
            Goal(">=", GOAL_SPEED_OF_RAW, label="0.5 (half)"),
            digits=2,
        ),
    ]
    return outcome


async def run(config: Config) -> list[Outcome]:
    try:
        return [await measure(config)]
    except Exception as error:
        return [Outcome(NAME, "failed", describe(error))]
