"""What an operator runs: kolbot --version, check, db backup, run --require-platform; exit
status 2 for settings kolbot cannot start with; log lines the journal can read."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot import check as check_module
from bot.app import App
from bot.check import Report, check
from bot.cli import JournalFormatter, _stderr_is_journal, build_platforms
from bot.i18n import LANGUAGES, LOCALES_DIR
from bot.settings import Settings
from storage.sqlite import Database
from storage.sqlite.backup import BackupError, backup
from storage.sqlite.database import migrations
from tests.clock import kolbot_command

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "a passphrase long enough"
TELEGRAM_TOKEN = "123456:AAH-a-token-of-the-right-shape_0123"


def kolbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` in ``cwd``, with only the KOLBOT_* settings given."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KOLBOT_", "JOURNAL_"))}
    clean["PYTHONPATH"] = str(ROOT)
    # The database in ``cwd``, as these tests look for it (the default place has its own).
    clean["KOLBOT_DATABASE"] = "kolbot.db"
    return subprocess.run(
        kolbot_command(*args),
        cwd=cwd,
        env={**clean, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def settings_for(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, database=tmp_path / "kolbot.db", **values)  # type: ignore[arg-type]


def run_check(settings: Settings) -> Report:
    return check(build_platforms, lambda: settings)


async def ready(settings: Settings) -> None:
    """A migrated database and its key, as `kolbot db upgrade` leaves them."""
    app = await App.open(settings)
    await app.close()


def found(report: Report) -> dict[str, str]:
    return dict(report.found)


# --version -------------------------------------------------------------------------------


def test_version_is_the_package_version(tmp_path: Path) -> None:
    result = kolbot("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"kolbot {metadata.version('kolbot')}"


# check -----------------------------------------------------------------------------------


async def test_check_passes_on_a_ready_installation(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    await ready(settings)
    report = run_check(settings)
    assert report.problems == []
    lines = found(report)
    shipped = len(migrations())
    assert lines["database"].endswith(f"{shipped} of {shipped} migrations, writable")
    assert lines["key"] == f"{settings.key_path}: readable, seals and unseals; the database's key"
    assert lines["catalogs"].split() == list(LANGUAGES)
    assert lines["would run"].startswith("console")
    assert lines["web"].startswith("off")


def test_check_creates_nothing(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    report = run_check(settings)
    assert report.problems == [
        f"database {settings.database} does not exist: `kolbot db upgrade` creates and "
        "migrates it",
        f"key file {settings.key_path} does not exist and KOLBOT_SECRET_KEY is not set: "
        "`kolbot db upgrade` creates a new key; if the database holds payout details "
        "already, restore the key they were sealed with instead",
    ]
    assert list(tmp_path.iterdir()) == []


async def test_check_names_the_migrations_not_applied(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, secret_key=SecretStr(PASSPHRASE))
    db = await Database.open(settings.database, migrate=False)
    await db.upgrade(until=1)
    await db.close()
    (problem,) = run_check(settings).problems
    pending = [f"{version:04d}_{name}" for version, name, _ in migrations()[1:]]
    assert (
        f"{len(pending)} migration(s) not applied ({', '.join(pending)}): run `kolbot db upgrade`"
        in problem
    )


def test_check_reports_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, secret_key=SecretStr(PASSPHRASE))
    settings.database.write_bytes(b"not a database at all" * 100)
    settings.database.chmod(0o600)
    (problem,) = run_check(settings).problems
    assert problem == f"database {settings.database}: file is not a database"


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """The file made read-only even for root (chattr +i, from e2fsprogs)."""
    chattr = shutil.which("chattr")
    assert chattr is not None
    subprocess.run([chattr, "+i", path], check=True)
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", path], check=True)


async def test_check_finds_a_read_only_database(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, secret_key=SecretStr(PASSPHRASE))
    await ready(settings)
    with immutable(settings.database):
        (problem,) = run_check(settings).problems
    assert problem == f"database {settings.database}: attempt to write a readonly database"


async def test_check_finds_a_bad_or_exposed_key_file(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    await ready(settings)
    settings.key_path.chmod(0o644)
    (problem,) = run_check(settings).problems
    assert problem == (
        f"key file {settings.key_path} can be read by other users (mode 0644): "
        f"chmod 600 {settings.key_path}"
    )
    settings.key_path.write_text("not a key")
    settings.key_path.chmod(0o600)
    (problem,) = run_check(settings).problems
    assert problem.startswith(f"the key file {settings.key_path} does not hold a key: ")


async def test_check_finds_a_missing_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(tmp_path, secret_key=SecretStr(PASSPHRASE))
    await ready(settings)
    locales = tmp_path / "locales"
    shutil.copytree(LOCALES_DIR, locales)
    (locales / "ru" / "LC_MESSAGES" / "kolbot.mo").unlink()
    monkeypatch.setattr(check_module, "LOCALES_DIR", locales)
    report = run_check(settings)
    (problem,) = report.problems
    assert problem.startswith("catalog ru is missing (")
    assert found(report)["catalogs"] == "en fr es pl"


async def test_check_shows_what_would_run(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path,
        secret_key=SecretStr(PASSPHRASE),
        telegram_token=SecretStr(TELEGRAM_TOKEN),
        telegram_webhook_url="https://bot.example.com/telegram/hook",
        telegram_webhook_secret=SecretStr("s3cret"),
        discord_token=SecretStr("discord-token"),
        web_port=8443,
    )
    await ready(settings)
    report = run_check(settings)
    assert report.problems == []
    lines = found(report)
    assert lines["would run"] == "telegram (webhook), discord (gateway)"
    assert lines["web"] == "127.0.0.1:8443: GET /healthz, POST /telegram/hook"

    polling = settings.model_copy(update={"telegram_webhook_url": None, "discord_token": None})
    lines = found(run_check(polling))
    assert lines["would run"] == "telegram (long polling)"
    assert lines["web"] == "127.0.0.1:8443: GET /healthz"


async def test_check_refuses_a_webhook_that_cannot_work(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path,
        secret_key=SecretStr(PASSPHRASE),
        telegram_token=SecretStr(TELEGRAM_TOKEN),
        telegram_webhook_url="https://bot.example.com/telegram/hook",
    )
    await ready(settings)
    (problem,) = run_check(settings).problems
    assert problem.startswith("KOLBOT_TELEGRAM_WEBHOOK_SECRET must be set")
    no_server = settings.model_copy(
        update={"telegram_webhook_secret": SecretStr("s3cret"), "web_port": 0}
    )
    (problem,) = run_check(no_server).problems
    assert "KOLBOT_WEB_PORT is 0" in problem


def test_check_command_exits_1_with_a_line_per_problem(tmp_path: Path) -> None:
    env = {"KOLBOT_WEB_PORT": "99999", "KOLBOT_INBOX_WORKERS": "0"}
    result = kolbot("check", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "problem: KOLBOT_WEB_PORT: '99999' is out of range; allowed: a whole number from 0 "
        "to 65535",
        "problem: KOLBOT_INBOX_WORKERS: '0' is out of range; allowed: a whole number from 1 "
        "to 256",
        "kolbot check: 2 problems",
    ]
    assert "catalogs" in result.stdout


def test_db_upgrade_then_check_passes(tmp_path: Path) -> None:
    upgrade = kolbot("db", "upgrade", cwd=tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "created the key file kolbot.key" in upgrade.stdout
    assert (tmp_path / "kolbot.key").stat().st_mode & 0o777 == 0o600
    result = kolbot("check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "no problems found; nothing was started"


# run: exit status 2 for what a restart cannot fix -------------------------------------------


def test_run_require_platform_refuses_the_console(tmp_path: Path) -> None:
    refused = kolbot("run", "--require-platform", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "kolbot: no platform token is set (KOLBOT_TELEGRAM_TOKEN, KOLBOT_DISCORD_TOKEN) and "
        "--require-platform forbids the console"
    )
    assert list(tmp_path.iterdir()) == []
    # Without it, the console starts, reads the end of its input, and leaves.
    assert kolbot("run", cwd=tmp_path).returncode == 0


def test_run_with_invalid_settings_exits_2(tmp_path: Path) -> None:
    result = kolbot("run", cwd=tmp_path, env={"KOLBOT_WEB_PORT": "99999"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "kolbot: KOLBOT_WEB_PORT: '99999' is out of range; allowed: a whole number from 0 to 65535"
    )
    level = kolbot("run", cwd=tmp_path, env={"KOLBOT_LOG_LEVEL": "loud"})
    assert level.returncode == 2
    assert level.stderr.strip() == (
        "kolbot: KOLBOT_LOG_LEVEL: unknown level 'loud'; allowed: DEBUG, INFO, WARNING, ERROR "
        "or CRITICAL"
    )


def test_run_with_a_webhook_without_its_secret_exits_2(tmp_path: Path) -> None:
    env = {
        "KOLBOT_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
        "KOLBOT_TELEGRAM_WEBHOOK_URL": "https://bot.example.com/telegram/hook",
        "KOLBOT_TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot",
    }
    result = kolbot("run", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith(
        "kolbot: KOLBOT_TELEGRAM_WEBHOOK_SECRET must be set"
    )


# db backup -------------------------------------------------------------------------------


def test_backup_is_a_consistent_private_copy_while_writes_go_on(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    with contextlib.closing(sqlite3.connect(live, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE pairs (n INTEGER)")
    stop = threading.Event()

    def write() -> None:
        # Rows go in two at a time: a copy of one moment has an even count.
        with contextlib.closing(sqlite3.connect(live, isolation_level=None)) as conn:
            while not stop.is_set():
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany("INSERT INTO pairs VALUES (?)", [(1,), (2,)] * 50)
                conn.execute("COMMIT")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        copies = [backup(live, tmp_path / f"copy{i}.db") for i in range(5)]
    finally:
        stop.set()
        writer.join()
    for made in copies:
        assert made.path.stat().st_mode & 0o777 == 0o600
        assert not made.path.with_name(made.path.name + "-wal").exists()
        with contextlib.closing(sqlite3.connect(made.path)) as copy:
            (count,) = copy.execute("SELECT count(*) FROM pairs").fetchone()
            (mode,) = copy.execute("PRAGMA journal_mode").fetchone()
        assert count % 2 == 0
        assert mode == "delete"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_backup_never_replaces_a_file_and_names_one_in_a_directory(tmp_path: Path) -> None:
    live = tmp_path / "kolbot.db"
    with contextlib.closing(sqlite3.connect(live)) as conn:
        conn.execute("CREATE TABLE t (x)")
    existing = tmp_path / "existing.db"
    existing.write_text("keep me")
    with pytest.raises(BackupError, match="exists already"):
        backup(live, existing)
    assert existing.read_text() == "keep me"
    folder = tmp_path / "backups"
    folder.mkdir()
    made = backup(live, folder)
    assert made.path.parent == folder
    assert made.path.name.startswith("kolbot-")
    assert made.path.suffix == ".db"


def test_a_failed_backup_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "kolbot.db"
    source.write_bytes(b"not a database at all" * 100)
    with pytest.raises(BackupError, match="file is not a database"):
        backup(source, tmp_path / "copy.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kolbot.db"]
    with pytest.raises(BackupError, match="no database at"):
        backup(tmp_path / "missing.db", tmp_path / "copy.db")


def test_backup_command_says_where_the_key_is(tmp_path: Path) -> None:
    assert kolbot("db", "upgrade", cwd=tmp_path).returncode == 0
    result = kolbot("db", "backup", str(tmp_path / "copy.db"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first, reminder = result.stdout.splitlines()
    assert first.startswith(f"backed up kolbot.db to {tmp_path / 'copy.db'}")
    assert f"the key file {tmp_path / 'kolbot.key'}" in reminder
    assert "apart from the backups" in reminder
    again = kolbot("db", "backup", str(tmp_path / "copy.db"), cwd=tmp_path)
    assert again.returncode == 1
    assert "exists already" in again.stderr


# logs for the journal --------------------------------------------------------------------


def test_journal_lines_carry_their_priority() -> None:
    formatter = JournalFormatter("%(levelname)s %(name)s: %(message)s")

    def line(level: int, message: str) -> str:
        record = logging.LogRecord("kolbot", level, __file__, 1, message, None, None)
        return formatter.format(record)

    assert line(logging.INFO, "up") == "<6>INFO kolbot: up"
    assert line(logging.WARNING, "slow") == "<4>WARNING kolbot: slow"
    assert line(logging.ERROR, "one\ntwo") == "<3>ERROR kolbot: one\n<3>two"
    assert line(logging.DEBUG, "detail") == "<7>DEBUG kolbot: detail"


def test_journal_is_recognized_by_its_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (tmp_path / "stderr").open("w") as stream:
        status = os.fstat(stream.fileno())
        monkeypatch.setattr(sys, "stderr", stream)
        monkeypatch.setenv("JOURNAL_STREAM", f"{status.st_dev}:{status.st_ino}")
        assert _stderr_is_journal()
        monkeypatch.setenv("JOURNAL_STREAM", f"{status.st_dev}:{status.st_ino + 1}")
        assert not _stderr_is_journal()
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not _stderr_is_journal()
