"""The SQLite file: one writer connection behind a lock, one reader, migrations at open.

SQLite allows one writer at a time anyway; serializing units of work in-process avoids
SQLITE_BUSY churn, and WAL lets the reader see committed data while a write is in flight.
WAL with ``synchronous=NORMAL`` survives a killed process; ``full`` survives power loss too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
import tempfile
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from storage.base import StorageUnavailable
from storage.clock import utcnow

log = logging.getLogger(__name__)

Row = sqlite3.Row
Durability = Literal["normal", "full"]
BUSY_TIMEOUT_MS = 5000
CHECKPOINT_INTERVAL = 1.0
MIGRATION_BUSY_TIMEOUT_MS = 60_000
# The table that makes a file kolbot's database: every kolbot database has had it.
MIGRATIONS_TABLE = "schema_migrations"
_MIGRATIONS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
    "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)
# Tables named in a refusal, so the operator recognises whose database it is.
_NAMED_TABLES = 3


def to_db_time(moment: datetime) -> str:
    """UTC ISO 8601 text with microseconds: sorts and compares correctly as a string."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def maybe_time(text: str | None) -> datetime | None:
    return from_db_time(text) if text else None


def migrations() -> list[tuple[int, str, str]]:
    """Numbered ``NNNN_name.sql`` files shipped with the package, in order."""
    found = []
    for entry in resources.files("storage.sqlite.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name[5:-4], entry.read_text(encoding="utf-8")))
    return in_order(found)


def in_order(found: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """Migrations by number; two with one number (written side by side) would each be taken
    for applied once the other is, so that refuses to start."""
    numbers = [number for number, _, _ in found]
    twice = sorted({number for number in numbers if numbers.count(number) > 1})
    if twice:
        raise RuntimeError(f"two migrations are numbered {twice[0]:04d}: renumber one")
    return sorted(found)


# SQLite's primary result codes for a store that cannot take the work now: busy, locked, out
# of memory, read-only, disk I/O, corrupt, full, cannot open, protocol. Anything else (a
# constraint, bad SQL, a wrong column count) is a bug that retrying will not fix.
_UNAVAILABLE_CODES = frozenset({5, 6, 7, 8, 10, 11, 13, 14, 15, 26})


def unavailable(error: sqlite3.Error) -> StorageUnavailable | None:
    """The storage error a failure stands for, or None when it is a bug."""
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _UNAVAILABLE_CODES:
        return StorageUnavailable(f"sqlite: {error}")
    if code is None and isinstance(error, sqlite3.OperationalError):
        # Raised by the driver itself, without a code (a closed database, say).
        return StorageUnavailable(f"sqlite: {error}")
    return None


class CannotOpen(Exception):
    """The database file cannot be used; the message says why, in one line."""


class NoSuchFolder(CannotOpen):
    """The database's folder does not exist, or the path names a folder: most likely a
    mistyped path."""


class NotKolbotDatabase(CannotOpen):
    """The file is there but holds no kolbot database (it is empty, or another program's):
    a wrong path, or a loss to restore. kolbot writes nothing into it."""


def _create(path: Path) -> bool:
    """Create the database, readable by its owner only (SQLite gives its WAL files the same
    mode), but never the folders above it: a typo in the path must not start a new database.
    False when the file was there already."""
    try:
        return _create_file(path)
    except CannotOpen:
        raise
    except OSError as error:  # a name too long, a loop of links
        raise CannotOpen(f"database {path}: {error.strerror or error}") from None


def _create_file(path: Path) -> bool:
    if path.is_dir():
        raise NoSuchFolder(f"database {path}: it is a folder, not a file (KOLBOT_DATABASE)")
    if path.exists():
        return False
    folder = path.parent
    if not folder.is_dir():
        if folder.exists():
            raise CannotOpen(f"database {path}: {folder} is not a folder")
        raise NoSuchFolder(
            f"database {path}: the folder {folder} does not exist; kolbot creates the "
            "database file but not its folders: create the folder, or correct the path"
        )
    try:
        fd, name = tempfile.mkstemp(prefix=".kolbot-new-", suffix=".db", dir=folder)
    except OSError as error:
        raise CannotOpen(f"database {path}: cannot create it: {error.strerror or error}") from None
    os.close(fd)
    draft = Path(name)
    try:
        _mark_as_kolbots(draft)
        created = _put_in_place(draft, path)
    except (OSError, sqlite3.Error) as error:  # a full disk, most likely
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise CannotOpen(f"database {path}: cannot create it: {reason}") from None
    finally:
        for leftover in (draft, draft.with_name(f"{draft.name}-journal")):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
    if created:
        log.info("created a new, empty database %s", path)
    return created


def _mark_as_kolbots(draft: Path) -> None:
    """Make the draft a kolbot database with no migration applied yet. Rollback-journal mode
    (WAL is set once in place): what is committed is in the file itself, not in a WAL file
    named after the draft."""
    with closing(sqlite3.connect(draft, isolation_level=None)) as conn:
        conn.execute(_MIGRATIONS_DDL)


def _put_in_place(draft: Path, path: Path) -> bool:
    """Give the finished draft its name, never replacing a file: so a file found at a
    database's path is never a database another process is still making, and one found empty
    is a loss, not a new database. False when another process made one first."""
    try:
        os.link(draft, path)
    except FileExistsError:
        return False
    except OSError:
        # A filesystem without hard links (FAT, some network mounts): a rename, which would
        # replace a database made in the meantime, so only where there is none.
        if path.exists():
            return False
        os.rename(draft, path)
    return True


def _schema(path: Path) -> list[tuple[str, str]] | None:
    """The (type, name) of what the database file holds, SQLite's own objects left out; None
    for a file of no bytes. Read only; sqlite3.Error when it is no SQLite database."""
    if path.stat().st_size == 0:
        return None
    # uri=True: the path is never taken for a URI option; mode=ro writes nothing to the file.
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with closing(
        sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    ) as conn:
        rows = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite~_%' ESCAPE '~' "
            "ORDER BY type DESC, name"
        ).fetchall()
    return [(str(kind), str(name)) for kind, name in rows]


def check_ours(path: Path, *, init: bool = False) -> None:
    """An existing file is opened only when it is kolbot's database, or, with ``init``, when
    it holds nothing at all (no bytes, or an SQLite header alone): a new database then. An
    empty file is no new database unasked: whatever it held (a truncation, a failed copy)
    is gone, and starting afresh in it would hide that. NotKolbotDatabase otherwise, naming
    what it holds; sqlite3.Error when SQLite cannot read it."""
    try:
        schema = _schema(path)
    except sqlite3.DatabaseError:
        if init:
            raise NotKolbotDatabase(
                _init_refused(path, "data that is no SQLite database")
            ) from None
        raise
    tables = [name for kind, name in schema or () if kind == "table"]
    if init:
        beside = [
            journal
            for suffix in ("-wal", "-journal")
            if (journal := path.with_name(path.name + suffix)).exists()
            and journal.stat().st_size > 0
        ]
        if beside:
            # SQLite would read what the journal holds back into the file: not nothing.
            log_file = beside[0].name
            holds = f"nothing, though its journal {log_file} holds what SQLite would read back"
            raise NotKolbotDatabase(_init_refused(path, holds))
        if schema:
            holds = "a kolbot database" if MIGRATIONS_TABLE in tables else _whose(tables)
            raise NotKolbotDatabase(_init_refused(path, holds))
        return
    if schema is None:
        raise NotKolbotDatabase(
            f"database {path}: the file is empty, so it holds no kolbot database: if its "
            "data was lost, restore it from a backup; to start a new database in it, run "
            "`kolbot db upgrade --init`; or correct KOLBOT_DATABASE"
        )
    if not schema:
        raise NotKolbotDatabase(
            f"database {path}: an SQLite database with nothing in it, not a kolbot database: "
            "to start a new database in it, run `kolbot db upgrade --init`; or correct "
            "KOLBOT_DATABASE"
        )
    if MIGRATIONS_TABLE not in tables:
        raise NotKolbotDatabase(
            f"database {path}: {_whose(tables)}, not a kolbot database (it has no "
            f"{MIGRATIONS_TABLE} table): correct KOLBOT_DATABASE; kolbot writes nothing into it"
        )


def _whose(tables: list[str]) -> str:
    if not tables:
        return "another program's SQLite database"
    named = ", ".join(tables[:_NAMED_TABLES]) + (", …" if len(tables) > _NAMED_TABLES else "")
    return f"another program's SQLite database (tables {named})"


def _init_refused(path: Path, holds: str) -> str:
    return (
        f"database {path}: --init starts a new database only in an empty file, and this one "
        f"holds {holds}: nothing was changed"
    )


async def _connect(path: Path, durability: Durability) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute(f"PRAGMA synchronous = {durability.upper()}")
    except BaseException:
        # An open connection keeps aiosqlite's thread, and so the process, alive.
        await conn.close()
        raise
    return conn


class Session(ABC):
    """One connection inside one transaction, as repositories see it."""

    @abstractmethod
    async def one(self, sql: str, params: Iterable[Any] = ()) -> Row | None: ...

    @abstractmethod
    async def all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]: ...

    @abstractmethod
    async def run(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement; the number of rows it changed."""

    @abstractmethod
    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


class ThreadSession(Session):
    """Statements run on aiosqlite's thread: for reads that may meet a slow disk."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        rows = await self.conn.execute_fetchall(sql, tuple(params))
        for row in rows:
            return row
        return None

    async def all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        # One hop to aiosqlite's thread: execute and fetch together, no cursor to close.
        return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def run(self, sql: str, params: Iterable[Any] = ()) -> int:
        cursor = await self.conn.execute(sql, tuple(params))
        # Not closed: a finished statement holds nothing, and closing costs another hop.
        return cursor.rowcount

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self.conn.executemany(sql, rows)


class InlineSession(Session):
    """Statements run right here, on the event loop, inside a write transaction.

    A hop to aiosqlite's thread and back costs about 0.2 ms, and units of work run one at a
    time, so with a dozen statements each the hops alone capped the bot near 300 updates a
    second. Inside ``Database.writing`` a statement cannot wait for a lock (the transaction
    began IMMEDIATE, and WAL readers never block a writer), commits do not sync the disk
    (``synchronous=NORMAL``) and checkpoints run on aiosqlite's thread: what is left takes
    tens of microseconds."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def one(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        row: Row | None = self.conn.execute(sql, tuple(params)).fetchone()
        return row

    async def all(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return self.conn.execute(sql, tuple(params)).fetchall()

    async def run(self, sql: str, params: Iterable[Any] = ()) -> int:
        return self.conn.execute(sql, tuple(params)).rowcount

    async def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.conn.executemany(sql, rows)


def _connect_inline(path: Path, durability: Durability) -> sqlite3.Connection:
    # Opening may meet another process creating the file: wait for it as any connection does.
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    # Never wait for another process's lock here, on the event loop: BEGIN is retried
    # asynchronously instead (see Database.writing).
    conn.execute("PRAGMA busy_timeout = 0")
    conn.execute(f"PRAGMA synchronous = {durability.upper()}")
    # Checkpoints are run on aiosqlite's thread (Database.checkpoint), never on the loop.
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    return conn


class Database:
    def __init__(
        self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection
    ) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._inline: sqlite3.Connection | None = None
        self._durability: Durability = "normal"
        self._checkpoints: asyncio.Task[None] | None = None
        self.write_lock = asyncio.Lock()
        self._read_lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        migrate: bool = True,
        durability: Durability = "normal",
        init: bool = False,
    ) -> Database:
        """Open (creating the file, not its folder) and migrate; CannotOpen when the file is
        not kolbot's database, is damaged, or cannot be written: a bot that cannot write
        answers nobody, so it must not start. ``init``: an existing file that holds nothing
        becomes a new database (see ``check_ours``)."""
        try:
            if not _create(path):
                check_ours(path, init=init)
                if init:
                    os.chmod(path, 0o600)  # private, as a database kolbot creates
            return await cls._open(path, migrate=migrate, durability=durability)
        except sqlite3.Error as error:
            raise CannotOpen(f"database {path}: {error}") from error
        except OSError as error:  # the file cannot be looked at (permissions)
            raise CannotOpen(f"database {path}: {error.strerror or error}") from None

    @classmethod
    async def _open(cls, path: Path, *, migrate: bool, durability: Durability) -> Database:
        writer = await _connect(path, durability)
        try:
            reader = await _connect(path, durability)
        except BaseException:
            await writer.close()
            raise
        database = cls(path, writer, reader)
        database._durability = durability
        try:
            if migrate:
                await database.upgrade()
            await database._check_writable()
            database._inline = _connect_inline(path, durability)
        except BaseException:
            # Open connections keep aiosqlite's threads, and so the process, alive.
            await database.close()
            raise
        database._checkpoints = asyncio.create_task(database._checkpoint_loop())
        return database

    async def _check_writable(self) -> None:
        """Rewrite the header's user_version with its own value, then roll back: SQLite
        refuses that on a read-only file or filesystem (opening and reading do not)."""
        async with self.write_lock:
            # Another process's write (a migration, a bulk import) is waited for, not failed.
            await self._writer.execute(f"PRAGMA busy_timeout = {MIGRATION_BUSY_TIMEOUT_MS}")
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                try:
                    rows = await self._writer.execute_fetchall("PRAGMA user_version")
                    (version,) = next(iter(rows))
                    await self._writer.execute(f"PRAGMA user_version = {int(version)}")
                finally:
                    await _rollback(self._writer)
            finally:
                await self._writer.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    async def close(self) -> None:
        """Close both connections; closing twice is harmless."""
        if self._closed:
            return
        self._closed = True
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
        async with self.write_lock:
            if self._inline is not None:
                self._inline.close()
        await self._reader.close()
        with contextlib.suppress(sqlite3.Error):
            await self._writer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        await self._writer.close()

    async def _checkpoint_loop(self) -> None:
        """Copy the write-ahead log into the database now and then, on aiosqlite's thread, so
        it neither grows without bound nor stalls the event loop."""
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL)
            try:
                await self._writer.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as error:
                log.warning("checkpoint failed: %s", error)

    async def upgrade(self, *, until: int | None = None) -> list[str]:
        """Apply the migrations not yet applied (up to version ``until``); safe to call any
        number of times."""
        applied: list[str] = []
        async with self.write_lock:
            try:
                # Another process may be migrating the same file: wait for it however long.
                await self._writer.execute(f"PRAGMA busy_timeout = {MIGRATION_BUSY_TIMEOUT_MS}")
                try:
                    applied = await self._apply(until)
                finally:
                    await self._writer.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            except sqlite3.Error as error:  # a full disk, say: one line, not a traceback
                raise CannotOpen(f"database {self.path}: {error}") from error
        return applied

    async def _apply(self, until: int | None) -> list[str]:
        applied: list[str] = []
        await self._writer.execute(_MIGRATIONS_DDL)
        for version, name, sql in migrations():
            if until is not None and version > until:
                break
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
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, to_db_time(utcnow())),
                )
                await self._writer.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (a full disk) leaves the transaction open; SQLite may have
                # rolled back a failed statement itself.
                await _rollback(self._writer)
                raise
            log.info("applied migration %04d_%s", version, name)
            applied.append(f"{version:04d}_{name}")
        return applied

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[Session]:
        """One write transaction at a time: commit on success, roll back on any exception,
        a failed commit and a cancellation included."""
        async with self.write_lock:
            conn = self._inline
            if conn is None:
                raise sqlite3.ProgrammingError("the database is closed")
            await _begin(conn)
            try:
                yield InlineSession(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error as error:
                        log.warning("rollback failed: %s", error)
                raise

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Session]:
        """A consistent snapshot on the reader connection."""
        async with self._read_lock:
            try:
                await self._reader.execute("BEGIN")
                yield ThreadSession(self._reader)
            finally:
                await _rollback(self._reader)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """For tests and diagnostics: one read outside any unit of work."""
        async with self.reading() as session:
            return await session.all(sql, params)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        async with self.reading() as session:
            return await session.one(sql, params)


async def _begin(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting asynchronously while another process writes: the statement
    itself never waits (busy_timeout 0), so the event loop never stalls on a lock."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            if loop.time() >= deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)


async def _rollback(conn: aiosqlite.Connection) -> None:
    """Roll back whatever is open; SQLite may have ended the transaction itself already."""
    try:
        await asyncio.shield(conn.execute("ROLLBACK"))
    except sqlite3.Error as error:
        if "no transaction is active" not in str(error):
            log.warning("rollback failed: %s", error)


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
