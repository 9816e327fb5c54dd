"""The SQLite file: one writer connection behind a lock, one reader, migrations at open.

SQLite allows one writer at a time anyway; serializing writes in-process avoids SQLITE_BUSY
churn, and WAL lets the reader see committed data while a write is in flight.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

Row = sqlite3.Row
BUSY_TIMEOUT_MS = 5000


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_db_time(moment: datetime) -> str:
    """Store UTC ISO 8601 text, which sorts and compares correctly as a string."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_db_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def migrations() -> list[tuple[int, str, str]]:
    """Numbered ``NNNN_name.sql`` files shipped with the package, in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name[5:-4], entry.read_text(encoding="utf-8")))
    return sorted(found)


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA synchronous = NORMAL")
    return conn


class Database:
    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, path: Path, *, migrate: bool = True) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path)
        reader = await _connect(path)
        database = cls(path, writer, reader)
        if migrate:
            try:
                await database.upgrade()
            except BaseException:
                # Open connections keep aiosqlite's threads, and so the process, alive.
                await database.close()
                raise
        return database

    async def close(self) -> None:
        """Close both connections; closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        await self._reader.close()
        await self._writer.close()

    async def upgrade(self) -> list[str]:
        """Apply the migrations not yet applied; safe to call any number of times."""
        applied: list[str] = []
        async with self._write_lock:
            await self._writer.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            for version, name, sql in migrations():
                await self._writer.execute("BEGIN IMMEDIATE")
                # Checked inside the write lock: another process may have just applied it.
                async with self._writer.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
                ) as cursor:
                    done = await cursor.fetchone() is not None
                if done:
                    await self._writer.execute("ROLLBACK")
                    continue
                try:
                    for statement in _statements(sql):
                        await self._writer.execute(statement)
                    await self._writer.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at) "
                        "VALUES (?, ?, ?)",
                        (version, name, to_db_time(utcnow())),
                    )
                except BaseException:
                    await self._writer.execute("ROLLBACK")
                    raise
                await self._writer.execute("COMMIT")
                log.info("applied migration %04d_%s", version, name)
                applied.append(f"{version:04d}_{name}")
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """All or nothing: commit on success, roll back on any exception."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        async with self._reader.execute(sql, tuple(params)) as cursor:
            row: Row | None = await cursor.fetchone()
            return row

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        async with self._reader.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement in its own transaction; returns the number of rows changed."""
        async with self.transaction() as conn, conn.execute(sql, tuple(params)) as cursor:
            return cursor.rowcount


def _statements(script: str) -> list[str]:
    """Split a migration into statements; sqlite3.complete_statement knows where one ends."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if not buffer and (not line.strip() or line.lstrip().startswith("--")):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer[:80]!r}")
    return statements
