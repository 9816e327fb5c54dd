"""A consistent copy of the live database through SQLite's backup API (`kolbot db backup`).

The copy is taken in one step, inside one read transaction: with WAL the bot keeps writing
meanwhile, and the copy is the database as of one commit. It is written beside the target under
a temporary name, checked, and only then given its name, so a failed backup never leaves a file
that looks like a good one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from storage.clock import utcnow

# A writer holding the database this long makes the backup give up rather than wait on.
BUSY_TIMEOUT_SECONDS = 30.0


class BackupError(Exception):
    """The backup was not made; the message says why."""


@dataclass(frozen=True, slots=True)
class Backup:
    path: Path
    size: int


def backup(source: Path, target: Path) -> Backup:
    """Copy the database at ``source`` to ``target`` (a new file, or a directory to put a
    timestamped one in), private to its owner. Blocking: from async code, run it in a thread."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if target.is_dir():
        stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
        target = target / f"{source.stem}-{stamp}{source.suffix or '.db'}"
    if target.exists():
        raise BackupError(f"{target} exists already; a backup never replaces a file")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory")
    partial = target.with_name(f".{target.name}.partial")
    try:
        # Created empty and private before SQLite writes people's data into it.
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as error:
        raise BackupError(f"cannot write {partial}: {error.strerror or error}") from error
    try:
        _copy(source, partial)
        partial.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return Backup(target, target.stat().st_size)


def _copy(source: Path, target: Path) -> None:
    try:
        with (
            closing(sqlite3.connect(source, timeout=BUSY_TIMEOUT_SECONDS)) as live,
            closing(sqlite3.connect(target, isolation_level=None)) as copy,
        ):
            live.backup(copy)
            # One self-contained file, with no -wal beside it to keep together.
            copy.execute("PRAGMA journal_mode = DELETE")
            (verdict,) = copy.execute("PRAGMA quick_check").fetchone()
    except sqlite3.Error as error:
        raise BackupError(f"backup of {source} failed: {error}") from error
    if verdict != "ok":
        raise BackupError(f"the copy of {source} did not pass SQLite's check: {verdict}")
