"""A start that cannot work says why in one line and exits at once, having closed what it
opened; a database is created private, never with folders a typo asked for. Run as the
operator runs it: ``python -m bot`` in a fresh process."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.app import App
from bot.settings import Settings
from bot.web import CannotListen, WebServer
from storage.sqlite import Database
from tests.clock import kolbot_command
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
# A failed start is over in about a second; the margin is for a loaded machine. A start that
# hangs (a connection left open keeps the process alive) runs into it.
EXIT_WITHIN = 10.0
TOKEN = "123456:SECRET-token-that-must-not-leak"


def kolbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` in ``cwd`` with only these KOLBOT_* settings (the web server on a
    free port unless they name one); fails the test when it does not exit within EXIT_WITHIN."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KOLBOT_", "JOURNAL_"))}
    clean["PYTHONPATH"] = str(ROOT)
    # The database in ``cwd``, as these tests look for it (the default place has its own).
    clean["KOLBOT_DATABASE"] = "kolbot.db"
    clean["KOLBOT_WEB_PORT"] = str(free_port())
    started = time.monotonic()
    try:
        result = subprocess.run(
            kolbot_command(*args),
            cwd=cwd,
            env={**clean, **(env or {})},
            stdin=subprocess.DEVNULL if stdin is None else None,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=EXIT_WITHIN,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"kolbot {' '.join(args)} was still running after {EXIT_WITHIN} s")
    assert time.monotonic() - started < EXIT_WITHIN
    return result


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    return result.stderr.strip().splitlines()[-1]


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """Read-only even for root (chattr +i, from e2fsprogs), as a read-only filesystem is."""
    chattr = shutil.which("chattr")
    assert chattr is not None
    subprocess.run([chattr, "+i", path], check=True)
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", path], check=True)


def upgraded(cwd: Path) -> None:
    result = kolbot("db", "upgrade", cwd=cwd)
    assert result.returncode == 0, result.stderr


# The database ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("run",), ("db", "upgrade"), ("outbox", "status")])
def test_a_file_that_is_not_a_database_fails_at_once(tmp_path: Path, command: tuple[str]) -> None:
    (tmp_path / "kolbot.db").write_bytes(os.urandom(8192))
    result = kolbot(*command, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "kolbot: database kolbot.db: file is not a database"


def test_a_truncated_database_fails_at_once(tmp_path: Path) -> None:
    upgraded(tmp_path)
    database = tmp_path / "kolbot.db"
    database.write_bytes(database.read_bytes()[:3000])
    result = kolbot("run", cwd=tmp_path)
    assert result.returncode == 1
    assert last_line(result) == "kolbot: database kolbot.db: database disk image is malformed"


def test_a_database_that_cannot_be_written_does_not_start(tmp_path: Path) -> None:
    upgraded(tmp_path)
    with immutable(tmp_path / "kolbot.db"):
        result = kolbot("run", cwd=tmp_path)
    assert result.returncode == 1
    assert last_line(result) == "kolbot: database kolbot.db: attempt to write a readonly database"


def test_a_missing_folder_is_not_created(tmp_path: Path) -> None:
    database = tmp_path / "typo" / "kolbot.db"
    for command in (("run",), ("db", "upgrade")):
        result = kolbot(*command, cwd=tmp_path, env={"KOLBOT_DATABASE": str(database)})
        assert result.returncode == 2
        assert result.stderr.strip() == (
            f"kolbot: database {database}: the folder {database.parent} does not exist; "
            "kolbot creates the database file but not its folders: create the folder, or "
            "correct the path"
        )
    checked = kolbot("check", cwd=tmp_path, env={"KOLBOT_DATABASE": str(database)})
    assert checked.returncode == 1
    assert (
        f"problem: database {database}: the folder {database.parent} does not exist; kolbot "
        "creates the database file but not its folders: create the folder, or correct the path"
    ) in checked.stderr.splitlines()
    assert list(tmp_path.iterdir()) == []


def test_a_path_through_a_file_or_into_a_read_only_folder_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("")
    through = tmp_path / "notes.txt" / "kolbot.db"
    result = kolbot("run", cwd=tmp_path, env={"KOLBOT_DATABASE": str(through)})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"kolbot: database {through}: {tmp_path / 'notes.txt'} is not a folder"
    )
    locked = tmp_path / "locked"
    locked.mkdir()
    with immutable(locked):
        result = kolbot("db", "upgrade", cwd=tmp_path, env={"KOLBOT_DATABASE": "locked/k.db"})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "kolbot: database locked/k.db: cannot create it: Operation not permitted"
    )


def test_a_path_too_long_for_the_system_fails_clearly(tmp_path: Path) -> None:
    long = tmp_path / ("a" * 300 + ".db")
    result = kolbot("run", cwd=tmp_path, env={"KOLBOT_DATABASE": str(long)})
    assert result.returncode == 1
    assert result.stderr.strip() == f"kolbot: database {long}: File name too long"


def test_an_in_memory_database_is_refused(tmp_path: Path) -> None:
    """SQLite's :memory: would forget everything at every stop, and each connection sees a
    database of its own."""
    result = kolbot("run", cwd=tmp_path, env={"KOLBOT_DATABASE": ":memory:"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "kolbot: KOLBOT_DATABASE: kolbot keeps its data in a file, not in memory; allowed: "
        "the path of the database file, such as kolbot.db"
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_new_database_is_announced_and_private(tmp_path: Path) -> None:
    result = kolbot("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == (
        "created the database kolbot.db, readable by its owner only"
    )
    for name in ("kolbot.db", "kolbot.key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    again = kolbot("db", "upgrade", cwd=tmp_path)
    assert "created" not in again.stderr + again.stdout


async def test_the_database_and_its_wal_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "kolbot.db"
    db = await Database.open(path)
    try:
        await db.fetchall("SELECT 1")
        for name in ("kolbot.db", "kolbot.db-wal", "kolbot.db-shm"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    finally:
        await db.close()


# The key ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"), [(b"", "is empty"), (b"!" * 44, "does not hold a key")]
)
def test_a_damaged_key_file_fails_at_once(tmp_path: Path, content: bytes, problem: str) -> None:
    """A crash or a full disk during the first start can leave such a file: nothing was
    sealed with it yet, so it may go. Once the database was sealed, only its copy will do."""
    (tmp_path / "kolbot.key").write_bytes(content)
    result = kolbot("run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"kolbot: the key file kolbot.key {problem}: restore it from your copy of the key, or "
        "set KOLBOT_SECRET_KEY to the key; or, since this database holds no payout details "
        "yet, delete the file and a new key is made"
    )
    (tmp_path / "kolbot.key").unlink()
    upgraded(tmp_path)
    (tmp_path / "kolbot.key").write_bytes(content)
    result = kolbot("run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"kolbot: the key file kolbot.key {problem}: restore it from your copy of the key, or "
        "set KOLBOT_SECRET_KEY to the key"
    )


def test_another_key_does_not_start(tmp_path: Path) -> None:
    first = {"KOLBOT_SECRET_KEY": "the first passphrase, long enough"}
    assert kolbot("db", "upgrade", cwd=tmp_path, env=first).returncode == 0
    other = {"KOLBOT_SECRET_KEY": "another passphrase, long enough"}
    result = kolbot("run", cwd=tmp_path, env=other)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "kolbot: KOLBOT_SECRET_KEY is not the key this database was sealed with: restore that "
        "key (the key file kept with it, or its KOLBOT_SECRET_KEY) and start again, or run "
        "`kolbot db rekey` with it to change to this one"
    )
    checked = kolbot("check", cwd=tmp_path, env=other)
    assert checked.returncode == 1
    assert "is not the key the database kolbot.db was sealed with" in checked.stderr
    assert kolbot("run", cwd=tmp_path, env=first).returncode == 0


async def test_rekey_changes_the_key_of_a_database(tmp_path: Path) -> None:
    """A database sealed with a passphrase this version refuses as too short moves to a long
    one, then to a key file."""
    short = Settings(_env_file=None, database=tmp_path / "kolbot.db")
    app = await App.open(short.model_copy(update={"secret_key": SecretStr("tiny")}))
    await app.close()
    long = {"KOLBOT_SECRET_KEY": "a long passphrase at last"}
    refused = kolbot("run", cwd=tmp_path, env=long)
    assert refused.returncode == 2
    assert "`kolbot db rekey`" in refused.stderr

    wrong = kolbot("db", "rekey", cwd=tmp_path, env=long, stdin="wrong\n")
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == (
        "kolbot: the old key given is not the key this database was sealed with: nothing changed"
    )
    rekeyed = kolbot("db", "rekey", cwd=tmp_path, env=long, stdin="tiny\n")
    assert rekeyed.returncode == 0, rekeyed.stderr
    assert rekeyed.stdout.startswith(
        "sealed 0 payout detail(s) again with KOLBOT_SECRET_KEY; the old key opens none"
    )
    assert kolbot("run", cwd=tmp_path, env=long).returncode == 0

    to_file = kolbot("db", "rekey", cwd=tmp_path, stdin="a long passphrase at last\n")
    assert to_file.returncode == 0, to_file.stderr
    assert to_file.stdout.startswith(
        "sealed 0 payout detail(s) again with the key file kolbot.key"
    )
    assert kolbot("run", cwd=tmp_path).returncode == 0
    assert kolbot("run", cwd=tmp_path, env=long).returncode == 2


# Settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("KOLBOT_MIN_FOLLOWERS", "abc"),
        ("KOLBOT_MIN_FOLLOWERS", "-5"),
        ("KOLBOT_SIGNUP_TTL_DAYS", "-1"),
        ("KOLBOT_SIGNUP_TTL_DAYS", "9999999999"),
        ("KOLBOT_SIGNUP_TTL_DAYS", "99999999"),
        ("KOLBOT_TELEGRAM_WEBHOOK_PORT", "abc"),
        ("KOLBOT_TELEGRAM_RATE", "100001"),
        ("KOLBOT_TELEGRAM_CHAT_RATE", "inf"),
        ("KOLBOT_TELEGRAM_CHAT_RATE", "1e-300"),
        ("KOLBOT_LOG_LEVEL", "verbose"),
        ("KOLBOT_SECRET_KEY", "short"),
    ],
)
def test_an_invalid_setting_exits_2_with_one_line(
    tmp_path: Path, variable: str, value: str
) -> None:
    result = kolbot("run", cwd=tmp_path, env={variable: value})
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"kolbot: {variable}: ")
    assert "; allowed: " in line
    assert list(tmp_path.iterdir()) == []


def test_an_invalid_setting_in_env_file_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("KOLBOT_MIN_FOLLOWERS=1k\nKOLBOT_SIGNUP_TTL_DAYS=0\n")
    result = kolbot("run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "kolbot: KOLBOT_MIN_FOLLOWERS: '1k' is not a whole number; allowed: a whole number "
        "from 0 to 1000000000",
        "kolbot: KOLBOT_SIGNUP_TTL_DAYS: '0' is out of range; allowed: a whole number from 1 "
        "to 365",
    ]


def test_a_misspelt_setting_is_named_not_ignored_without_a_word(tmp_path: Path) -> None:
    """KOLBOT_TELEGRAM_TOKN would leave the bot on the console, the token unused."""
    (tmp_path / ".env").write_text(f"KOLBOT_TELEGRAM_TOKN={TOKEN}\n")
    result = kolbot("db", "upgrade", cwd=tmp_path, env={"kolbot_min_follower": "5000"})
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "kolbot: KOLBOT_MIN_FOLLOWER is not a setting and is ignored; did you mean "
        "KOLBOT_MIN_FOLLOWERS?",
        "kolbot: KOLBOT_TELEGRAM_TOKN is not a setting and is ignored; did you mean "
        "KOLBOT_TELEGRAM_TOKEN?",
    ]
    result = kolbot("check", cwd=tmp_path, env={"KOLBOT_COLOUR": "blue"})
    assert result.returncode == 1
    assert "SECRET" not in result.stderr + result.stdout
    problems = [line for line in result.stderr.splitlines() if "not a setting" in line]
    assert problems == [
        "problem: KOLBOT_COLOUR is not a setting and is ignored; the settings are listed in "
        ".env.example",
        "problem: KOLBOT_TELEGRAM_TOKN is not a setting and is ignored; did you mean "
        "KOLBOT_TELEGRAM_TOKEN?",
    ]


def test_an_env_file_that_is_not_utf8_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """Saved by an editor in another encoding (a comment with an accent in Latin-1)."""
    (tmp_path / ".env").write_bytes("# clé\nKOLBOT_MIN_FOLLOWERS=500\n".encode("latin-1"))
    for command in (("run",), ("check",)):
        result = kolbot(*command, cwd=tmp_path)
        assert result.returncode == (2 if command == ("run",) else 1), result.stderr
        assert "Traceback" not in result.stderr
        assert (
            ".env is not UTF-8 text (invalid continuation byte at byte 4): save it as UTF-8"
            in result.stderr
        )


def test_a_verbatim_env_example_runs_the_console_with_a_key_file(tmp_path: Path) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = kolbot("run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "created a new, empty database kolbot.db" in result.stderr
    assert (tmp_path / "kolbot.key").exists()


@pytest.mark.parametrize("url", ["bot.example.com/telegram", "https://", "ftp://example.com/x"])
def test_a_webhook_url_that_is_no_web_address_is_one_line(tmp_path: Path, url: str) -> None:
    env = {
        "KOLBOT_TELEGRAM_TOKEN": TOKEN,
        "KOLBOT_TELEGRAM_WEBHOOK_URL": url,
        "KOLBOT_TELEGRAM_WEBHOOK_SECRET": "s3cret",
    }
    result = kolbot("run", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert last_line(result) == (
        f"kolbot: KOLBOT_TELEGRAM_WEBHOOK_URL {url!r} is not a web address: set the https:// "
        "address Telegram posts updates to, such as https://bot.example.com/telegram"
    )


async def test_a_web_address_that_names_no_host_says_why() -> None:
    server = WebServer("no-such-host.invalid", 8080)
    with pytest.raises(CannotListen) as refused:
        await server.start()
    assert str(refused.value).startswith(
        "the web server cannot listen on no-such-host.invalid:8080: "
    )
    assert "unknown error" not in str(refused.value)


def test_the_token_never_reaches_the_output(tmp_path: Path) -> None:
    """A Bot API root without /bot: the token lands in the URL where the usual pattern does
    not find it, and the URL in the startup error."""
    env = {"KOLBOT_TELEGRAM_TOKEN": TOKEN, "KOLBOT_TELEGRAM_BASE_URL": "http://127.0.0.1:9"}
    result = kolbot("run", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "could not start on Telegram" in result.stderr
    assert TOKEN not in result.stderr + result.stdout
    assert TOKEN.partition(":")[2] not in result.stderr + result.stdout


def test_a_failed_upgrade_on_a_corrupt_file_does_not_hang(tmp_path: Path) -> None:
    database = tmp_path / "kolbot.db"
    with contextlib.closing(sqlite3.connect(database)) as raw:
        raw.execute("CREATE TABLE t (x)")
    data = bytearray(database.read_bytes())
    data[100:200] = os.urandom(100)
    database.write_bytes(bytes(data))
    result = kolbot("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 1
    assert last_line(result).startswith("kolbot: database kolbot.db: ")
