"""Once a fault is over, what waited on it moves within about a second: the bot finds out that
the Bot API answers again, or that the database stores again, and does not sit out each
message's own backoff. Bounded by the times the bot chose, not by when a busy machine got round
to them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import timedelta

import pytest

from bot.adapters.telegram.receiving import STORE_RETRY
from bot.adapters.telegram_adapter import TelegramPlatform
from bot.core.messages import ChatRef, Incoming, Outgoing
from bot.core.outbox import PROBE_INTERVAL
from bot.settings import Settings
from storage.base import StorageUnavailable
from storage.clock import utcnow
from storage.sqlite.database import from_db_time
from tests.e2e.telegram_harness import eventually, running_bot
from tests.fakes.store import send_later
from tests.fakes.telegram_server import FakeTelegram

pytest_plugins = ["tests.e2e.telegram_fixtures"]

# Long enough for each message's backoff to grow to several seconds (1, 2, 4, then 4-8 s).
OUTAGE = 8.0
# What a machine with both cores busy may add to a moment the bot chose.
LOADED_MARGIN = 1.0


def _chat(chat_id: int) -> ChatRef:
    return ChatRef(platform="telegram", chat_id=str(chat_id))


async def test_once_the_bot_api_answers_again_every_waiting_message_is_due_at_once(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    """sendMessage answers 502 for 8 s while messages to 20 people wait. Once it answers
    again, each message's last try was chosen within a second of the outage's end: one
    message is tried every second while it lasts, and the first that goes lets the rest go."""
    people = range(701, 721)
    for person in people:
        telegram.add_user(person, f"P{person}")
    async with running_bot(tg_settings, telegram) as bot:
        ends = telegram.outage("sendMessage", seconds=OUTAGE, status=502)
        ended_at = utcnow() + timedelta(seconds=ends - time.monotonic())
        rows = await send_later(bot.app, [Outgoing(chat=_chat(p), text="Summary") for p in people])
        await eventually(
            lambda: all(telegram.messages(p) for p in people),
            within=OUTAGE + 30,
            what="every message after the outage",
        )
        marks = ", ".join("?" for _ in rows)
        found = await bot.app.store.db.fetchall(
            f"SELECT id, status, attempts, next_attempt_at FROM deliveries WHERE id IN ({marks})",
            rows,
        )
    assert {row["status"] for row in found} == {"sent"}
    assert min(row["attempts"] for row in found) >= 4  # each backed off through the outage
    chosen = {row["id"]: from_db_time(row["next_attempt_at"]) - ended_at for row in found}
    late = {row: wait for row, wait in chosen.items() if wait.total_seconds() > PROBE_INTERVAL}
    assert max(chosen.values()).total_seconds() <= PROBE_INTERVAL + LOADED_MARGIN, late
    # A 502 delivered nothing: each person has the message once.
    assert all(len(telegram.messages(p)) == 1 for p in people)


class RefusingStore:
    """A sink whose store refuses the first ``refusals`` batches, as a full disk would."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.stored: list[Incoming] = []

    async def accept(self, source: str, updates: Sequence[Incoming]) -> None:
        if self.refusals > 0:
            self.refusals -= 1
            raise StorageUnavailable("sqlite: database or disk is full")
        self.stored += updates

    async def handle(self, source: str, update: Incoming) -> None:
        await self.accept(source, [update])

    def settled(self, source: str, update_id: str) -> asyncio.Future[None]:
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def send_due(self, platform: str) -> None:
        """Nothing is sent from here."""


async def test_updates_the_database_refused_are_fetched_again_every_second(
    tg_settings: Settings, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    """Polling does not back off from a database that refuses its batches as from a
    failing Bot API: each try waits a second at most, so the batch is stored within a second
    of the database taking writes again."""
    caplog.set_level(logging.WARNING, logger="bot.adapters.telegram.receiving")
    platform = TelegramPlatform(tg_settings, [])
    sink = RefusingStore(refusals=6)
    telegram.add_user(801, "Eve")
    update = telegram.say(801, 801, "/start")
    await platform.start(sink)
    try:
        await eventually(lambda: bool(sink.stored), within=15, what="the batch to be stored")
    finally:
        await platform.stop()
    assert [incoming.update_id for incoming in sink.stored][-1:] == [str(update)]
    waits = [
        record.args[-1]
        for record in caplog.records
        if "not stored" in record.getMessage() and isinstance(record.args, tuple)
    ]
    assert len(waits) == 6
    assert all(isinstance(wait, float) and wait <= STORE_RETRY for wait in waits), waits
