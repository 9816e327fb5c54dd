"""The SQLite store: pragmas, migrations that keep data, and units of work that are whole."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import App
from bot.settings import Settings
from storage.base import StorageUnavailable
from storage.clock import utcnow
from storage.models import AccountLink, NewDelivery, NewInboxItem
from storage.sealing import Sealer, fernet_key
from storage.sqlite import Database, SqliteStore
from storage.sqlite.database import CannotOpen, in_order, migrations
from storage.sqlite.people import FIND, STATUS_IS
from tests.clock import kolbot_command
from tests.conftest import serving
from tests.fakes.platform import FakePlatform, Person

TTL = timedelta(days=7)


async def test_pragmas_and_schema(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "k.db")
    try:
        [[mode]] = await db.fetchall("PRAGMA journal_mode")
        [[keys]] = await db.fetchall("PRAGMA foreign_keys")
        [[timeout]] = await db.fetchall("PRAGMA busy_timeout")
        assert (mode, keys) == ("wal", 1)
        assert timeout >= 1000
        applied = await db.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [row[0] for row in applied] == [version for version, _, _ in migrations()]
    finally:
        await db.close()


async def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "k.db")
    try:
        assert await db.upgrade() == []
    finally:
        await db.close()
    reopened = await Database.open(tmp_path / "k.db", migrate=False)
    try:
        assert await reopened.upgrade() == []
    finally:
        await reopened.close()


async def test_a_unit_of_work_reads_its_own_writes_and_commits_once(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "k.db", TTL)
    try:
        account = AccountLink(platform="t", platform_user_id="1", dm_chat="t:1")
        async with store.unit_of_work() as uow:
            await uow.people.save_account(account)
            # A nested write through another repository neither deadlocks nor commits.
            assert await uow.people.set_reachable("t", "t:1", reachable=False)
            assert await uow.people.is_unreachable("t", "t:1")
            async with store.reading() as other:
                assert await other.people.account("t", "1") is None  # not committed yet
        async with store.reading() as after:
            stored = await after.people.account("t", "1")
        assert stored is not None
        assert not stored.reachable
    finally:
        await store.close()


async def test_a_failed_unit_of_work_leaves_nothing(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "k.db", TTL)
    try:
        row = NewDelivery(dedupe_key="k", platform="t", chat="t:1", payload="{}")

        async def write_then_crash() -> None:
            async with store.unit_of_work() as uow:
                await uow.outbox.add([row])
                await uow.people.save_account(
                    AccountLink(platform="t", platform_user_id="1", dm_chat="t:1")
                )
                raise RuntimeError("crash mid-transaction")

        with pytest.raises(RuntimeError, match="crash mid-transaction"):
            await write_then_crash()
        async with store.reading() as uow:
            assert await uow.outbox.counts() == []
            assert await uow.people.account("t", "1") is None
        # The connection is usable afterwards.
        async with store.unit_of_work() as uow:
            assert len(await uow.outbox.add([row])) == 1
    finally:
        await store.close()


async def test_a_cancelled_unit_of_work_rolls_back(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "k.db", TTL)
    started = asyncio.Event()

    async def slow() -> None:
        async with store.unit_of_work() as uow:
            await uow.outbox.add(
                [NewDelivery(dedupe_key="a", platform="t", chat="c", payload="{}")]
            )
            started.set()
            await asyncio.sleep(10)

    try:
        task = asyncio.create_task(slow())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with store.unit_of_work() as uow:
            assert await uow.outbox.counts() == []
    finally:
        await store.close()


async def test_a_locked_database_is_unavailable_not_a_bug(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    store = await SqliteStore.open(path, TTL)
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")

        async def count() -> None:
            async with asyncio.timeout(30), store.unit_of_work() as uow:
                await uow.outbox.counts()

        with pytest.raises(StorageUnavailable, match="locked"):
            await count()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        await store.close()


def test_cli_db_upgrade_and_help(tmp_path: Path) -> None:
    env = {"KOLBOT_DATABASE": str(tmp_path / "cli.db"), "PATH": "/usr/bin:/bin"}
    first = subprocess.run(
        kolbot_command("db", "upgrade"),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "0001_people" in first.stdout
    assert "0002_inbox_outbox" in first.stdout
    second = subprocess.run(
        kolbot_command("db", "upgrade"),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "up to date" in second.stdout
    usage = subprocess.run(kolbot_command("--help"), capture_output=True, text=True, check=True)
    for command in ("run", "db", "outbox", "inbox"):
        assert command in usage.stdout


async def test_a_failed_migration_closes_the_database(tmp_path: Path) -> None:
    path = tmp_path / "clash.db"
    with closing(sqlite3.connect(path)) as raw:
        # kolbot's, with no migration applied, and a table in the way of the first.
        raw.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TEXT NOT NULL)"
        )
        raw.execute("CREATE TABLE people (id INTEGER PRIMARY KEY)")
    with pytest.raises(CannotOpen, match="table people already exists"):
        await Database.open(path)
    # Nothing left open: the failed migration rolled back and the file is usable.
    with closing(sqlite3.connect(path)) as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
    assert "accounts" not in tables


async def test_two_processes_migrating_at_once(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    first, second = await asyncio.gather(Database.open(path), Database.open(path))
    try:
        rows = await first.fetchall("SELECT version FROM schema_migrations")
        assert len(rows) == len(migrations())
    finally:
        await first.close()
        await second.close()


async def test_a_database_from_before_the_inbox_upgrades_in_place(settings: Settings) -> None:
    """A file made by the schema of the first release, with a member and a person mid-signup
    (the conversation keyed by the old ``user`` column), upgrades and resumes."""
    first_release = await Database.open(settings.database, migrate=False)
    await first_release.upgrade(until=1)
    await first_release.close()
    now = utcnow().isoformat(timespec="seconds")
    later = (utcnow() + TTL).isoformat(timespec="seconds")
    signup = {"mode": "signup", "lang": "en", "name": "Zoe", "_history": ["language", "name"]}
    assert settings.secret_key is not None
    sealer = Sealer(fernet_key(settings.secret_key.get_secret_value()))
    with closing(sqlite3.connect(settings.database)) as raw, raw:
        raw.execute(
            "INSERT INTO people (id, display_name, language, country, timezone, status, "
            "consent_version, consent_at, created_at, updated_at) VALUES "
            "(1, 'Anna', 'pl', 'PL', 'Europe/Warsaw', 'approved', 'v1', ?, ?, ?)",
            (now, now, now),
        )
        raw.execute(
            "INSERT INTO accounts (platform, platform_user_id, person_id, dm_chat, reachable, "
            "created_at) VALUES ('fake', '1', 1, 'fake:1', 1, ?)",
            (now,),
        )
        raw.execute(
            "INSERT INTO payouts VALUES (1, 'paypal', ?, 'a***@example.com', 'f', ?)",
            (sealer.seal("anna@example.com"), now),
        )
        raw.execute(
            "INSERT INTO conversations (platform, chat, user, flow, step, data, updated_at, "
            "expires_at) VALUES ('fake', '2', '2', 'profile', 'country', ?, ?, ?)",
            (json.dumps(signup), now, later),
        )
        raw.execute(
            "INSERT INTO processed_updates VALUES ('fake', '99', ?)",
            (now,),
        )
    app = await App.open(settings)
    try:
        async with app.store.reading() as uow:
            anna = await uow.people.by_account("fake", "1")
        assert anna is not None
        assert (anna.display_name, anna.status, anna.payout.masked) == (
            "Anna",
            "approved",
            "a***@example.com",
        )
        async with serving(app, FakePlatform()) as fake:
            zoe = Person(fake, user_id="2", display_name="Zoe")
            replies = await zoe.say("/start")
            assert replies[0].text == "Welcome back! Let's continue where you left off."
            assert replies[1].text.startswith("Which country do you live in?")
            await zoe.say("Germany")
            assert zoe.last_text.startswith("Which time zone are you in?")
        # Update 99 was handled by the first release: handed over again, it is not taken.
        again = [
            NewInboxItem(
                source="fake:bot",
                update_id=update_id,
                sender="fake:1",
                payload="{}",
                received_at=utcnow(),
            )
            for update_id in ("99", "100")
        ]
        async with app.store.unit_of_work() as uow:
            taken = await uow.inbox.add_many(again)
            counts = await uow.inbox.counts()
        assert [item.update_id for item in taken] == ["100"]
        assert counts["pending"] == 1
    finally:
        await app.close()


def test_only_a_store_that_cannot_work_now_is_unavailable(tmp_path: Path) -> None:
    """A bug (bad SQL, a wrong column count) is not retried for minutes as if the disk were
    full: it fails at once, and the person gets the apology."""
    from storage.sqlite.database import unavailable

    path = tmp_path / "codes.db"
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("CREATE TABLE t (a, b)")
        for bug in ("INSERT INTO t VALUES (1)", "SELECT nope FROM t", "SELEC 1"):
            with pytest.raises(sqlite3.Error) as raised:
                raw.execute(bug)
            assert unavailable(raised.value) is None
        holder = sqlite3.connect(path, timeout=0)
        try:
            holder.execute("BEGIN IMMEDIATE")
            with pytest.raises(sqlite3.OperationalError) as locked:
                sqlite3.connect(path, timeout=0).execute("BEGIN IMMEDIATE")
            assert unavailable(locked.value) is not None
        finally:
            holder.close()


def test_two_migrations_with_one_number_are_refused() -> None:
    assert [number for number, _, _ in migrations()] == list(range(1, len(migrations()) + 1))
    with pytest.raises(RuntimeError, match="two migrations are numbered 0010"):
        in_order([(10, "campaign_settling", ""), (9, "ref", ""), (10, "chat_language", "")])


async def test_the_review_queue_reads_only_applicants(tmp_path: Path) -> None:
    """Among a million approved people, /review reads the applicants through the status
    index, not every person."""
    store = await SqliteStore.open(tmp_path / "k.db", timedelta(days=7))
    await store.close()
    with closing(sqlite3.connect(tmp_path / "k.db")) as conn:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN " + FIND.format(status=STATUS_IS),
            ("applicant", 0, 20),
        ).fetchall()
    steps = [str(row[3]) for row in plan]
    assert any(step.startswith("SEARCH people USING INDEX people_status") for step in steps)
    assert not any(step.startswith("SCAN people") for step in steps), steps
