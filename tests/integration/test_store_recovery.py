"""Updates that waited on a database that could not write go within about a second of it
writing again, not when each one's own pause ends: while they wait, one of them is tried every
second, and the first commit that goes through lets the rest go. Bounded by the times the
inbox chose (``record_decisions``), not by when a busy machine got round to them."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from bot.app import App
from bot.core.inbox import PROBE_INTERVAL
from bot.core.ratelimit import record_decisions
from bot.services import Services
from bot.services.sealing import key_source, unlock
from bot.settings import Settings
from storage.base import UnitOfWork
from storage.sqlite import SqliteStore
from storage.sqlite import SqliteUnitOfWork as _UnitOfWork
from storage.sqlite.database import Session
from tests.conftest import serving
from tests.e2e.telegram_harness import eventually
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import inbox

# Long enough for each update's backoff to grow to several seconds (1, 2, 4, then 4-8 s).
FAULT = 8.0
# What a machine with both cores busy may add to a moment the inbox chose.
LOADED_MARGIN = 1.0


class FillingDisk(SqliteStore):
    """The real store, whose writes fail while ``full`` is set, as SQLite fails them when
    the disk is full; reads go on."""

    full = False

    def unit_of_work(self) -> UnitOfWork:
        if self.full:
            return _UnitOfWork(_no_room(), timedelta(days=7))
        return super().unit_of_work()


@asynccontextmanager
async def _no_room() -> AsyncIterator[Session]:
    raise sqlite3.OperationalError("database or disk is full")
    yield  # pragma: no cover - never reached


async def hold(seconds: float) -> None:
    """Keep a fault in place for ``seconds``: the scenario's length, not a wait for the bot."""
    ends = asyncio.get_running_loop().time() + seconds
    await eventually(
        lambda: asyncio.get_running_loop().time() >= ends,
        within=seconds + 1,
        what="the fault's end",
    )


async def opened(settings: Settings) -> tuple[App, FillingDisk]:
    """The app as ``App.open`` makes it, on a store whose disk can fill."""
    store = await FillingDisk.open(settings.database, timedelta(days=settings.signup_ttl_days))
    assert isinstance(store, FillingDisk)
    async with store.unit_of_work() as uow:
        sealer = await unlock(uow, key_source(settings))
    services = Services(settings=settings, store=store, sealer=sealer)
    return App(settings, services, store), store


async def test_updates_waiting_on_a_full_disk_go_within_a_second_of_it_clearing(
    settings: Settings,
) -> None:
    app, store = await opened(settings)
    try:
        async with serving(app, FakePlatform()) as fake:
            people = [Person(fake, user_id=f"p{n}") for n in range(10)]
            starts = [p._incoming(kind="command", text="/start", command="start") for p in people]
            with record_decisions() as decisions:
                await app.inbox.accept("fake", starts)
                store.full = True  # before any worker took them up
                loop = asyncio.get_running_loop()
                await hold(FAULT)
                assert not any(p.inbox for p in people)
                store.full = False
                cleared = loop.time()
                await eventually(
                    lambda: all(p.inbox for p in people), within=30, what="every welcome"
                )
        counts = await inbox(app).counts()
    finally:
        await app.close()
    assert counts == {"handled": 10}
    chosen = [d for d in decisions if d.limiter is app.inbox]
    last = {d.key: d.at for d in chosen}  # each person's latest decision
    assert set(last) == {str(p.user) for p in people}
    # Each waited through several tries, and its last was chosen within a second of the end.
    assert all(sum(d.key == key for d in chosen) >= 3 for key in last)
    assert max(last.values()) - cleared <= PROBE_INTERVAL + LOADED_MARGIN, {
        key: round(at - cleared, 2) for key, at in last.items()
    }
