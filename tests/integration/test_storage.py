"""The SQLite file: pragmas, idempotent migrations, atomic transactions."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from storage.database import Database, migrations


async def test_pragmas_and_schema(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "k.db")
    try:
        mode = await db.fetchone("PRAGMA journal_mode")
        keys = await db.fetchone("PRAGMA foreign_keys")
        timeout = await db.fetchone("PRAGMA busy_timeout")
        assert mode is not None
        assert mode[0] == "wal"
        assert keys is not None
        assert keys[0] == 1
        assert timeout is not None
        assert timeout[0] >= 1000
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


async def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "k.db")
    try:
        with pytest.raises(RuntimeError, match="crash mid-transaction"):
            await insert_then_crash(db)
        count = await db.fetchone("SELECT count(*) FROM audit_log")
        assert count is not None
        assert count[0] == 0
    finally:
        await db.close()


async def insert_then_crash(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO audit_log (actor, action, created_at) VALUES ('t', 'x', 'now')"
        )
        raise RuntimeError("crash mid-transaction")


def test_cli_db_upgrade_and_help(tmp_path: Path) -> None:
    env = {"KOLBOT_DATABASE": str(tmp_path / "cli.db"), "PATH": "/usr/bin:/bin"}
    first = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "0001_people" in first.stdout
    second = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "up to date" in second.stdout
    usage = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, check=True
    )
    assert "run" in usage.stdout
    assert "db" in usage.stdout


async def test_a_failed_migration_closes_the_database(tmp_path: Path) -> None:
    path = tmp_path / "clash.db"
    with closing(sqlite3.connect(path)) as raw:
        raw.execute("CREATE TABLE people (id INTEGER PRIMARY KEY)")
    with pytest.raises(sqlite3.OperationalError, match="already exists"):
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
