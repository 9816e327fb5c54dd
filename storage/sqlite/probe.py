"""What ``kolbot check`` asks of a database file without changing it: which migrations it has,
whether it can be written (the write is rolled back), and which key sealed it."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from storage.sqlite.database import BUSY_TIMEOUT_MS


def probe(path: Path) -> set[int]:
    """The migration versions applied; raises sqlite3.Error when the file cannot be opened,
    is not a database, or cannot be written. Nothing is created."""
    # uri=True: the path is never taken for a URI option; mode=rw never creates the file.
    uri = f"{path.resolve().as_uri()}?mode=rw"
    with closing(
        sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    ) as conn:
        applied = _applied(conn)
        _write_test(conn)
    return applied


def sealing(path: Path) -> tuple[str | None, str | None]:
    """The recorded check of the sealing key, and one sealed value (None for each that is
    not there), read without writing anything."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)) as conn:
        return _first(conn, "SELECT key_check FROM sealing_key WHERE id = 1"), _first(
            conn,
            "SELECT details FROM payouts UNION ALL SELECT json_extract(data, "
            "'$.payout.sealed') FROM conversations WHERE json_extract(data, "
            "'$.payout.sealed') IS NOT NULL LIMIT 1",
        )


def _first(conn: sqlite3.Connection, sql: str) -> str | None:
    try:
        row = conn.execute(sql).fetchone()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):  # not migrated yet
            return None
        raise
    return None if row is None else str(row[0])


def _applied(conn: sqlite3.Connection) -> set[int]:
    try:
        rows = conn.execute("SELECT version FROM schema_migrations").fetchall()
    except sqlite3.OperationalError as error:
        if "no such table" in str(error):
            return set()
        raise
    return {int(row[0]) for row in rows}


def _write_test(conn: sqlite3.Connection) -> None:
    """Rewrite the header's user_version with its own value, then roll back: SQLite refuses
    that on a read-only file (``BEGIN IMMEDIATE`` alone does not)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        conn.execute(f"PRAGMA user_version = {int(version)}")
    finally:
        conn.execute("ROLLBACK")
