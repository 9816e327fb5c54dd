"""A start that cannot work is one line naming what to fix, and leaves nothing behind.

Exit status 2 for what only the operator can fix (a setting, a file that is not kolbot's
database), 1 for what may pass by itself (a platform that cannot be reached now, a full disk),
so systemd restarts only the second (``RestartPreventExitStatus=2``). Settings are all judged,
and the platforms and the web server's address tried, before the database or the key file is
created. Run as the operator runs it: kolbot in a fresh process."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import sqlite3
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.clock import kolbot_command

ROOT = Path(__file__).resolve().parents[2]
# A failed start is over in about a second; the margin is for a loaded machine.
EXIT_WITHIN = 20.0
TOKEN = "123456789:AAH-the-right-shape-of-token_0123456"
SECRET = TOKEN.partition(":")[2]
EMPTY_ERROR = (
    "kolbot: database kolbot.db: the file is empty, so it holds no kolbot database: if its "
    "data was lost, restore it from a backup; to start a new database in it, run `kolbot db "
    "upgrade --init`; or correct KOLBOT_DATABASE"
)


def kolbot(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    limit_file_size: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """kolbot ARGS in ``cwd`` with only these KOLBOT_* settings and nothing on its standard
    input; ``limit_file_size``: no file it writes grows beyond that many bytes, as on a full
    disk (Python ignores SIGXFSZ, so the writes fail with EFBIG)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KOLBOT_", "JOURNAL_"))}
    clean["PYTHONPATH"] = str(ROOT)
    # The database in ``cwd``, as these tests look for it (the default place has its own).
    clean["KOLBOT_DATABASE"] = "kolbot.db"
    clean["KOLBOT_WEB_PORT"] = str(free_port())  # never a port another kolbot may hold
    limit: Callable[[], None] | None = None
    if limit_file_size is not None:
        size = limit_file_size

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))

    try:
        return subprocess.run(
            kolbot_command(*args),
            cwd=cwd,
            env={**clean, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=EXIT_WITHIN,
            check=False,
            preexec_fn=limit,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"kolbot {' '.join(args)} was still running after {EXIT_WITHIN} s")


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The only line on standard error: no traceback, no log, and never the token."""
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def telegram(base_url: str, **more: str) -> dict[str, str]:
    """Telegram by long polling at ``base_url``, the web server on a port of its own."""
    return {
        "KOLBOT_TELEGRAM_TOKEN": TOKEN,
        "KOLBOT_TELEGRAM_BASE_URL": base_url,
        "KOLBOT_WEB_PORT": str(free_port()),
        **more,
    }


@contextlib.contextmanager
def answering(status: int, body: bytes, content_type: str) -> Iterator[str]:
    """A web server on a free port that answers every request with ``status``: the base URL
    of a Bot API there."""

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/bot"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=EXIT_WITHIN)


def bot_api_error(status: int, description: str) -> bytes:
    return json.dumps({"ok": False, "error_code": status, "description": description}).encode()


def nothing_in(folder: Path) -> None:
    assert sorted(path.name for path in folder.iterdir()) == []


# The database file -----------------------------------------------------------------------


@pytest.mark.parametrize("command", [("run",), ("db", "upgrade"), ("outbox", "status")])
def test_an_empty_database_file_is_refused_not_taken_for_a_new_one(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """Whatever the file held (a truncation, a failed copy) is gone: taken silently for a new
    database, the loss would go unnoticed until someone missed their data."""
    database = tmp_path / "kolbot.db"
    database.touch()
    result = kolbot(*command, cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result) == EMPTY_ERROR
    assert [path.name for path in tmp_path.iterdir()] == ["kolbot.db"]
    assert database.stat().st_size == 0


def test_an_sqlite_file_with_nothing_in_it_is_refused_too(tmp_path: Path) -> None:
    database = tmp_path / "kolbot.db"
    with contextlib.closing(sqlite3.connect(database)) as raw:
        raw.execute("PRAGMA user_version = 1")  # writes the header, and nothing else
    before = database.read_bytes()
    result = kolbot("run", cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result) == (
        "kolbot: database kolbot.db: an SQLite database with nothing in it, not a kolbot "
        "database: to start a new database in it, run `kolbot db upgrade --init`; or correct "
        "KOLBOT_DATABASE"
    )
    assert database.read_bytes() == before


def test_another_programs_sqlite_database_is_refused_untouched(tmp_path: Path) -> None:
    database = tmp_path / "kolbot.db"
    with contextlib.closing(sqlite3.connect(database)) as raw:
        raw.executescript(
            "CREATE TABLE invoices (id INTEGER PRIMARY KEY); CREATE TABLE customers (id);"
            "CREATE TABLE notes (id); CREATE TABLE tags (id); INSERT INTO notes VALUES (1);"
        )
    before = database.read_bytes()
    for command in (("run",), ("db", "upgrade")):
        result = kolbot(*command, cwd=tmp_path)
        assert result.returncode == 2
        assert one_line(result) == (
            "kolbot: database kolbot.db: another program's SQLite database (tables customers, "
            "invoices, notes, …), not a kolbot database (it has no schema_migrations table): "
            "correct KOLBOT_DATABASE; kolbot writes nothing into it"
        )
    assert database.read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["kolbot.db"]  # not even a WAL file


def test_init_starts_a_new_database_in_an_empty_file(tmp_path: Path) -> None:
    database = tmp_path / "kolbot.db"
    database.touch(mode=0o644)
    result = kolbot("db", "upgrade", "--init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        "started a new database in kolbot.db, which held nothing, readable by its owner only"
    )
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    started = kolbot("run", cwd=tmp_path)  # the console, which reads the end of its input
    assert started.returncode == 0, started.stderr
    again = kolbot("db", "upgrade", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == "kolbot.db: up to date"


def kolbot_database(folder: Path) -> None:
    result = kolbot("db", "upgrade", cwd=folder)
    assert result.returncode == 0, result.stderr
    (folder / "kolbot.key").unlink()


def foreign_database(folder: Path) -> None:
    with contextlib.closing(sqlite3.connect(folder / "kolbot.db")) as raw:
        raw.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")


def no_database(folder: Path) -> None:
    (folder / "kolbot.db").write_bytes(b"a text that is no database\n" * 100)


@pytest.mark.parametrize(
    ("make", "holds"),
    [
        (kolbot_database, "a kolbot database"),
        (foreign_database, "another program's SQLite database (tables invoices)"),
        (no_database, "data that is no SQLite database"),
    ],
)
def test_init_is_refused_on_a_file_that_holds_anything(
    tmp_path: Path, make: Callable[[Path], None], holds: str
) -> None:
    make(tmp_path)
    database = tmp_path / "kolbot.db"
    before = database.read_bytes()
    result = kolbot("db", "upgrade", "--init", cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result) == (
        "kolbot: database kolbot.db: --init starts a new database only in an empty file, and "
        f"this one holds {holds}: nothing was changed"
    )
    assert database.read_bytes() == before
    assert not (tmp_path / "kolbot.key").exists()


def test_init_is_refused_on_an_empty_file_whose_journal_holds_data(tmp_path: Path) -> None:
    """The file lost its bytes, its write-ahead log did not: SQLite would read the log back
    in, so the file does not hold nothing, and --init leaves both alone."""
    with contextlib.closing(sqlite3.connect(tmp_path / "kolbot.db")) as raw:
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA wal_autocheckpoint=0")
        raw.execute("CREATE TABLE orders (id INTEGER)")
        raw.execute("INSERT INTO orders VALUES (1)")
        raw.commit()
        # Copied while open: the log still holds the table, the file is cut to nothing.
        wal = (tmp_path / "kolbot.db-wal").read_bytes()
    (tmp_path / "kolbot.db").write_bytes(b"")
    (tmp_path / "kolbot.db-wal").write_bytes(wal)
    (tmp_path / "kolbot.db-shm").unlink(missing_ok=True)
    result = kolbot("db", "upgrade", "--init", cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result) == (
        "kolbot: database kolbot.db: --init starts a new database only in an empty file, and "
        "this one holds nothing, though its journal kolbot.db-wal holds what SQLite would read "
        "back: nothing was changed"
    )
    assert (tmp_path / "kolbot.db-wal").read_bytes() == wal
    assert wal


def test_no_file_at_all_is_a_new_database_as_make_run_makes_it(tmp_path: Path) -> None:
    """`make run` runs `kolbot db upgrade`, then `kolbot run`, in a fresh clone."""
    upgraded = kolbot("db", "upgrade", cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.splitlines()[0] == (
        "created the database kolbot.db, readable by its owner only"
    )
    started = kolbot("run", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["kolbot.db", "kolbot.key"]


# A full disk -------------------------------------------------------------------------------


def test_a_full_disk_while_migrating_is_one_line(tmp_path: Path) -> None:
    """Room for a new database, not for its migrations. Exit 1: a full disk may pass by
    itself (logs rotated, another job's files removed), and a restart then starts."""
    result = kolbot("db", "upgrade", cwd=tmp_path, limit_file_size=64 * 1024)
    assert result.returncode == 1
    assert one_line(result) == "kolbot: database kolbot.db: disk I/O error"
    # What was made is kolbot's: the next start goes on where this one stopped.
    assert kolbot("db", "upgrade", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize("command", [("run",), ("db", "upgrade")])
def test_a_full_disk_at_the_first_start_leaves_no_file(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """An empty database file left behind would be refused at every later start."""
    result = kolbot(*command, cwd=tmp_path, limit_file_size=1)
    assert result.returncode == 1
    assert one_line(result) == "kolbot: database kolbot.db: cannot create it: disk I/O error"
    nothing_in(tmp_path)
    assert kolbot(*command, cwd=tmp_path).returncode == 0


# Telegram's settings ------------------------------------------------------------------------


def test_a_token_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    """It would poll forever, every poll refused."""
    result = kolbot("run", cwd=tmp_path, env={"KOLBOT_TELEGRAM_TOKEN": "abc"})
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("kolbot: KOLBOT_TELEGRAM_TOKEN: the value is not a Telegram bot token")
    assert "'abc'" not in line
    nothing_in(tmp_path)


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        ("http://127.0.0.1:99999/bot", "has no valid port (a whole number from 1 to 65535)"),
        ("http://api telegram.org/bot", "names no valid host"),
    ],
)
def test_a_base_url_that_cannot_be_reached_in_any_case_is_a_setting(
    tmp_path: Path, base_url: str, problem: str
) -> None:
    result = kolbot("run", cwd=tmp_path, env=telegram(base_url))
    assert result.returncode == 2
    assert one_line(result).startswith(
        f"kolbot: KOLBOT_TELEGRAM_BASE_URL: {base_url!r} {problem}; allowed: "
    )
    nothing_in(tmp_path)


def test_a_base_url_nothing_answers_at_exits_1(tmp_path: Path) -> None:
    """Nothing listens there now: that may pass (the Bot API server restarting)."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        base_url = f"http://127.0.0.1:{closed.getsockname()[1]}/bot"
        result = kolbot("run", cwd=tmp_path, env=telegram(base_url))
    assert result.returncode == 1
    assert one_line(result).startswith(
        f"kolbot: could not start on Telegram: KOLBOT_TELEGRAM_BASE_URL {base_url} cannot be "
        "reached: "
    )
    nothing_in(tmp_path)


def test_a_base_url_answering_404_is_blamed_not_the_token(tmp_path: Path) -> None:
    """A web server that is no Bot API (Telegram's answer to a token of the wrong shape is 404
    too, but the token's shape was checked)."""
    with answering(HTTPStatus.NOT_FOUND, b"<h1>Not Found</h1>", "text/html") as base_url:
        result = kolbot("run", cwd=tmp_path, env=telegram(base_url))
    assert result.returncode == 2
    assert one_line(result) == (
        f"kolbot: could not start on Telegram: KOLBOT_TELEGRAM_BASE_URL {base_url} answered "
        "404 to getMe: there is no Bot API there (Telegram's is https://api.telegram.org/bot)"
    )
    nothing_in(tmp_path)


def test_a_token_the_bot_api_refuses_exits_2(tmp_path: Path) -> None:
    body = bot_api_error(HTTPStatus.UNAUTHORIZED, "Unauthorized")
    with answering(HTTPStatus.UNAUTHORIZED, body, "application/json") as base_url:
        result = kolbot("run", cwd=tmp_path, env=telegram(base_url))
    assert result.returncode == 2
    assert one_line(result) == (
        "kolbot: could not start on Telegram: Telegram refused KOLBOT_TELEGRAM_TOKEN (401 "
        "Unauthorized): set the token BotFather gave the bot"
    )
    nothing_in(tmp_path)


def test_a_bot_api_that_is_down_exits_1(tmp_path: Path) -> None:
    body = bot_api_error(HTTPStatus.BAD_GATEWAY, "Bad Gateway")
    with answering(HTTPStatus.BAD_GATEWAY, body, "application/json") as base_url:
        result = kolbot("run", cwd=tmp_path, env=telegram(base_url))
    assert result.returncode == 1
    assert one_line(result) == (
        f"kolbot: could not start on Telegram: KOLBOT_TELEGRAM_BASE_URL {base_url} answered "
        "502 to getMe: the Bot API is unavailable now"
    )
    nothing_in(tmp_path)


# A webhook ----------------------------------------------------------------------------------

WEBHOOK = {
    "KOLBOT_TELEGRAM_TOKEN": TOKEN,
    "KOLBOT_TELEGRAM_WEBHOOK_URL": "https://bot.example.com/telegram",
    "KOLBOT_TELEGRAM_WEBHOOK_SECRET": "s3cret",
}


def test_a_webhook_with_the_web_server_off_is_a_setting(tmp_path: Path) -> None:
    result = kolbot("run", cwd=tmp_path, env={**WEBHOOK, "KOLBOT_WEB_PORT": "0"})
    assert result.returncode == 2
    assert one_line(result) == (
        "kolbot: KOLBOT_TELEGRAM_WEBHOOK_URL is set, and KOLBOT_WEB_PORT=0 turns off the web "
        "server that would receive its updates: set KOLBOT_WEB_PORT to the port the TLS proxy "
        "forwards the webhook to, or unset KOLBOT_TELEGRAM_WEBHOOK_URL to poll"
    )
    nothing_in(tmp_path)


def test_an_http_webhook_is_refused_as_telegram_refuses_it(tmp_path: Path) -> None:
    env = {
        **WEBHOOK,
        "KOLBOT_TELEGRAM_WEBHOOK_URL": "http://bot.example.com/telegram",
        "KOLBOT_WEB_PORT": str(free_port()),
    }
    result = kolbot("run", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert one_line(result) == (
        "kolbot: KOLBOT_TELEGRAM_WEBHOOK_URL 'http://bot.example.com/telegram' is http://, and "
        "Telegram posts updates to https:// addresses only: put a TLS proxy in front of the "
        "web server and set its https:// address"
    )
    nothing_in(tmp_path)


def test_a_webhook_without_its_secret_creates_nothing(tmp_path: Path) -> None:
    env = {**WEBHOOK, "KOLBOT_WEB_PORT": str(free_port())}
    del env["KOLBOT_TELEGRAM_WEBHOOK_SECRET"]
    result = kolbot("run", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert one_line(result).startswith(
        "kolbot: KOLBOT_TELEGRAM_WEBHOOK_SECRET must be set when KOLBOT_TELEGRAM_WEBHOOK_URL is"
    )
    nothing_in(tmp_path)


# The web server's address -------------------------------------------------------------------


def test_a_web_port_in_use_exits_2_and_creates_nothing(tmp_path: Path) -> None:
    """Another program holds the port: it stays there however often kolbot starts again."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = telegram("http://127.0.0.1:9/bot", KOLBOT_WEB_PORT=str(port))
        result = kolbot("run", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert one_line(result) == (
        f"kolbot: the web server cannot listen on 127.0.0.1:{port}: address already in use "
        "(KOLBOT_WEB_LISTEN, KOLBOT_WEB_PORT)"
    )
    nothing_in(tmp_path)


def test_a_listen_address_not_this_machines_exits_2_and_creates_nothing(tmp_path: Path) -> None:
    # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never a local address.
    env = telegram("http://127.0.0.1:9/bot", KOLBOT_WEB_LISTEN="192.0.2.1")
    result = kolbot("run", cwd=tmp_path, env=env)
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("kolbot: the web server cannot listen on 192.0.2.1:")
    assert line.endswith(": cannot assign requested address (KOLBOT_WEB_LISTEN, KOLBOT_WEB_PORT)")
    nothing_in(tmp_path)


def test_a_listen_address_that_is_no_address_is_a_setting(tmp_path: Path) -> None:
    env = telegram("http://127.0.0.1:9/bot", KOLBOT_WEB_LISTEN="local host")
    result = kolbot("run", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert one_line(result).startswith(
        "kolbot: KOLBOT_WEB_LISTEN: 'local host' is no IP address or host name; allowed: "
    )
    nothing_in(tmp_path)


def test_a_database_path_that_is_a_folder_is_the_operators_to_fix(tmp_path: Path) -> None:
    result = kolbot("db", "upgrade", cwd=tmp_path, env={"KOLBOT_DATABASE": str(tmp_path)})
    assert result.returncode == 2
    assert one_line(result) == (
        f"kolbot: database {tmp_path}: it is a folder, not a file (KOLBOT_DATABASE)"
    )


def test_a_proxys_password_in_the_bot_api_address_stays_out_of_the_output(
    tmp_path: Path,
) -> None:
    env = {
        "KOLBOT_TELEGRAM_TOKEN": TOKEN,
        "KOLBOT_TELEGRAM_BASE_URL": "http://u:s3cr3t@127.0.0.1:9/bot",
    }
    result = kolbot("run", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "s3cr3t" not in result.stderr + result.stdout
    assert "http://<user>@127.0.0.1:9/bot" in one_line(result)
