"""A database that cannot be written is not a reason to drop an update.

Storing an update (the inbox) and handling it (one transaction with its replies) both write;
while neither can, an update is not confirmed as handled and nothing is answered for it, and
once writing works again it is handled and answered, once. Database errors are not handler
bugs: nobody gets an apology for them.
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from tests.fakes.telegram_server import FakeTelegram
from tests.reliability.harness import BotProcess, spawn, wait_for
from tests.reliability.players import ASK_COUNTRY, Signups

# Longer than the bot's busy timeout: SQLite's, 5 s in kolbot when this was written.
LOCK_HELD = 8.0
# Several failed writes at any sensible backoff.
DISK_FULL = 4.0
# Time to handle and answer once writing works again: a few tries of a capped backoff.
RECOVERY = 60.0

LOCKER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
db.close()
print("released", flush=True)
"""


@asynccontextmanager
async def write_lock(database: Path) -> AsyncIterator[None]:
    """Another process holds the database's write lock (BEGIN IMMEDIATE) inside the block."""
    locker = spawn(
        [sys.executable, "-c", LOCKER, str(database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert locker.stdin is not None
    assert locker.stdout is not None
    try:
        assert await asyncio.to_thread(locker.stdout.readline) == b"locked\n"
        yield
        locker.stdin.write(b"\n")
        locker.stdin.flush()
        assert await asyncio.to_thread(locker.stdout.readline) == b"released\n"
    finally:
        locker.stdin.close()
        locker.stdout.close()
        if locker.poll() is None:
            locker.kill()
        await asyncio.to_thread(locker.wait)


@asynccontextmanager
async def disk_full(pid: int) -> AsyncIterator[None]:
    """Every write of process ``pid`` to a file fails inside the block, as on a full disk:
    its file size limit (RLIMIT_FSIZE) is one byte. Python ignores SIGXFSZ, so the writes
    fail with EFBIG; the bot's log goes to a pipe, which the limit does not touch."""
    soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (1, hard))
    try:
        yield
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))


async def hold(seconds: float) -> None:
    """Keep a fault in place for ``seconds``: the scenario's length, not a wait for the bot."""
    ends = time.monotonic() + seconds
    await wait_for(lambda: time.monotonic() >= ends, within=seconds + 1, what="the fault's end")


def sent_between(people: list[Signups], began: float, ended: float) -> list[str]:
    return [
        f"chat {m.chat_id} at +{m.sent_at - began:.1f}s: {m.text[:60]!r}"
        for signups in people
        for chat in signups.people
        for m in signups.server.messages(chat)
        if began <= m.sent_at <= ended
    ]


@pytest.mark.timeout(180)
async def test_a_write_lock_held_by_another_process_delays_updates_but_drops_none(
    launch: Callable[..., BotProcess], telegram: FakeTelegram
) -> None:
    """Ten people have been asked their language; another process takes the write lock
    (BEGIN IMMEDIATE on the same file) and holds it 8 s, longer than the bot's busy timeout;
    meanwhile the ten press English and ten others send /start. Nothing is answered to them
    while the lock is held (a reply is an outbox row, written with its update's changes), and
    within a minute of its release every one of them gets the expected reply, once, with no
    apology. Then the ten type their names and are asked their country: their conversations
    moved on exactly one step.

    Assumed: the bot's retries of a locked database outlast 8 s before an update is set aside
    as a dead letter.
    """
    bot = launch(telegram_rate=1000, telegram_chat_rate=20, telegram_chat_burst=5)
    await _silent_then_answered(
        bot, telegram, 500_001, lambda _: write_lock(bot.database), LOCK_HELD, "the lock"
    )


@pytest.mark.timeout(180)
async def test_a_full_disk_delays_updates_but_drops_none(
    launch: Callable[..., BotProcess], telegram: FakeTelegram
) -> None:
    """As above, with every write failing for 4 s, as on a full disk (the bot's file size
    limit cut to one byte: SQLite gets EFBIG, an I/O error, on every write). Kolbot runs as
    root here, so a read-only file cannot be simulated by its mode; a failing write is what
    a read-only or full disk amounts to for a process that has the database open. The bot
    keeps running, answers nothing meanwhile, and answers every update once, without an
    apology, after the disk has room again.
    """
    bot = launch(telegram_rate=1000, telegram_chat_rate=20, telegram_chat_burst=5)
    await _silent_then_answered(bot, telegram, 510_001, disk_full, DISK_FULL, "the disk full")


async def _silent_then_answered(
    bot: BotProcess,
    telegram: FakeTelegram,
    first_id: int,
    fault: Callable[[int], AbstractAsyncContextManager[object]],
    lasting: float,
    what: str,
) -> None:
    """Ten people asked their language, then ``fault`` (given the bot's pid) for ``lasting``
    seconds while they press English and ten others send /start: nothing is sent to them
    meanwhile; afterwards each gets the expected reply once, and the ten move on one step."""
    asked = Signups(telegram, range(first_id, first_id + 10), steps=3, auto=False)
    fresh = Signups(telegram, range(first_id + 10, first_id + 20), steps=1, auto=False)
    run = await bot.start()
    asked.act()
    await bot.wait_for(lambda: asked.asked_everyone(0), within=30.0, what="the first questions")
    await bot.wait_for(lambda: not asked.missing(), within=30.0, what="the welcomes")

    async with fault(run.process.pid):
        began = time.monotonic()
        asked.act()
        fresh.act()
        await hold(lasting)
        assert bot.running, bot.log_tail()
        ended = time.monotonic()
    assert sent_between([asked, fresh], began, ended) == []

    await bot.wait_for(
        lambda: asked.asked_everyone(1) and fresh.asked_everyone(0),
        within=RECOVERY,
        what=lambda: f"replies after {what}: {asked.lagging()}; {fresh.lagging()}",
    )
    asked.act()
    await bot.wait_for(lambda: asked.asked_everyone(2), within=30.0, what=ASK_COUNTRY)
    await bot.close()
    for people in (asked, fresh):
        assert people.missing() == []
        assert people.unexpected() == []
        assert not people.duplicates_by_run(bot.launches)
