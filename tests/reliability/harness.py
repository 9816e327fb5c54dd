"""``python -m bot run`` as a real subprocess against the fake Bot API: started, killed,
terminated and started again on the same database, as a crash or a deploy would.

The bot is a black box. The tests know its settings (``KOLBOT_*`` variables), the Bot API wire
(tests/fakes/telegram_server.py), its web server (the webhook route and ``GET /healthz``) and
one table, ``conversations``, whose steps and answers they read while the bot is down. Waits
are on conditions with deadlines, never fixed sleeps, and the deadlines are generous: the
suite runs on a 2-core machine that other processes may keep busy.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import aiohttp

from tests.clock import kolbot_command
from tests.fakes.telegram_server import FakeTelegram, post_update
from tests.ports import free_port

REPO: Final = Path(__file__).resolve().parents[2]
SECRET_KEY: Final = "reliability-secret-key-0123456789"
WEBHOOK_SECRET: Final = "reliability_Secret-42"
WEBHOOK_PATH: Final = "/telegram/webhook"
# Telegram posts only to HTTPS, and the fake refuses anything else as Telegram does: the public
# URL is a TLS proxy's, which forwards the path to the bot's own server on 127.0.0.1, where the
# tests post.
WEBHOOK_URL: Final = f"https://kolbot.example.com{WEBHOOK_PATH}"
# Cold imports and migrations on a loaded machine included.
START_WITHIN: Final = 60.0
# What a loaded machine may add to a deadline the bot keeps.
MARGIN: Final = 5.0
# The default of KOLBOT_SHUTDOWN_TIMEOUT_SECONDS.
SHUTDOWN_TIMEOUT: Final = 5.0
_TAIL: Final = 60


def spawn(args: list[str], **options: Any) -> subprocess.Popen[bytes]:
    """Start a process; starting is quick, and waiting for it is up to the caller."""
    return subprocess.Popen(args, **options)


def seeded_random(test: str) -> random.Random:
    """A random source for ``test`` whose seed is printed (shown when the test fails);
    RELIABILITY_SEED=<seed> repeats a run."""
    given = os.environ.get("RELIABILITY_SEED")
    seed = int(given) if given else random.SystemRandom().randrange(2**32)
    print(f"{test}: seed {seed} (repeat with RELIABILITY_SEED={seed})")
    return random.Random(seed)


def unexpected_errors(server: FakeTelegram) -> list[str]:
    """What the fake objected to, less late or repeated button answers: a press received just
    before a crash is answered after the restart (late), or again if the first answer's record
    died with the process. Reliability is checked by the tests themselves."""
    return [error for error in server.errors if not error.startswith("answerCallbackQuery")]


async def wait_for(
    predicate: Callable[[], bool],
    *,
    within: float,
    what: str | Callable[[], str],
    interval: float = 0.01,
) -> None:
    """Poll ``predicate`` until it holds; fail after ``within`` seconds saying ``what``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out after {within:.0f}s waiting for {said}")
        await asyncio.sleep(interval)


@dataclass
class Conversation:
    chat: int
    flow: str
    step: str
    data: dict[str, Any]


def read_conversations(database: Path) -> dict[int, Conversation]:
    """The conversations table, by chat id (the digits the chat column ends with)."""
    with closing(sqlite3.connect(database, timeout=30)) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM conversations").fetchall()
    found: dict[int, Conversation] = {}
    for row in rows:
        match = re.search(r"-?\d+$", str(row["chat"]))
        assert match is not None, f"a conversation chat that names no chat: {row['chat']!r}"
        chat = int(match.group())
        found[chat] = Conversation(chat, row["flow"], row["step"], json.loads(row["data"]))
    return found


@dataclass
class Run:
    """One life of the bot process."""

    number: int
    process: subprocess.Popen[bytes]
    launched_at: float
    log: Path
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=_TAIL))
    reader: threading.Thread | None = None
    ended_at: float | None = None

    @property
    def running(self) -> bool:
        return self.process.poll() is None


def _copy_output(stream: IO[bytes], log: Path, tail: collections.deque[str]) -> None:
    """Drain the bot's output into its log file (a pipe, so that a file size limit set on the
    bot does not stop its logging) and keep the last lines for failure messages."""
    with stream, log.open("wb") as out:
        for line in stream:
            out.write(line)
            tail.append(line.decode("utf-8", "replace").rstrip())


class BotProcess:
    """``python -m bot run`` in ``tmp_path`` on one database, started as often as a test
    likes. Settings are keyword arguments named as the ``KOLBOT_*`` variables, lower case and
    without the prefix (``telegram_rate=1000``)."""

    def __init__(
        self, tmp_path: Path, server: FakeTelegram, *, webhook: bool = False, **settings: object
    ) -> None:
        self.tmp_path = tmp_path
        self.server = server
        self.webhook = webhook
        self.database = tmp_path / "kolbot.db"
        self.port = free_port()
        self.settings = settings
        self.runs: list[Run] = []

    # Settings ------------------------------------------------------------------------------

    def environment(self, overrides: dict[str, object]) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("KOLBOT_")}
        # The code of this checkout, whatever is installed.
        paths = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
        env |= {"PYTHONPATH": os.pathsep.join(paths), "PYTHONUNBUFFERED": "1"}
        values: dict[str, object] = {
            "database": self.database,
            "secret_key": SECRET_KEY,
            "telegram_token": self.server.token,
            "telegram_base_url": self.server.base_url,
            "log_level": "INFO",
            "web_listen": "127.0.0.1",
            "web_port": self.port,
        }
        if self.webhook:
            values |= {
                "telegram_webhook_url": WEBHOOK_URL,
                "telegram_webhook_secret": WEBHOOK_SECRET,
            }
        values |= self.settings | overrides
        env |= {f"KOLBOT_{name.upper()}": str(value) for name, value in values.items()}
        return env

    @property
    def local_webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    # Lifecycle -----------------------------------------------------------------------------

    @property
    def current(self) -> Run:
        assert self.runs, "the bot was never started"
        return self.runs[-1]

    @property
    def running(self) -> bool:
        return bool(self.runs) and self.current.running

    @property
    def launches(self) -> list[float]:
        return [run.launched_at for run in self.runs]

    async def start(self, **overrides: object) -> Run:
        """Launch the bot and wait until it takes updates: its first getUpdates call, or in
        webhook mode its setWebhook call and its web server accepting connections."""
        assert not self.running, "the bot is already running"
        number = len(self.runs) + 1
        calls_before = len(self.server.calls)
        process = spawn(
            kolbot_command("run"),
            cwd=self.tmp_path,
            env=self.environment(overrides),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        run = Run(number, process, time.monotonic(), self.tmp_path / f"bot-run-{number}.log")
        assert process.stdout is not None
        run.reader = threading.Thread(
            target=_copy_output, args=(process.stdout, run.log, run.tail), daemon=True
        )
        run.reader.start()
        self.runs.append(run)
        await self.wait_for(
            lambda: self._ready(calls_before), within=START_WITHIN, what=f"run {number} to start"
        )
        return run

    def _ready(self, calls_before: int) -> bool:
        calls = self.server.calls[calls_before:]
        if not self.webhook:
            return any(call.method == "getUpdates" for call in calls)
        if not any(call.method == "setWebhook" and call.ok for call in calls):
            return False
        with socket.socket() as probe:
            probe.settimeout(1.0)
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    async def kill(self) -> None:
        """SIGKILL: the process dies wherever it is."""
        self.current.process.send_signal(signal.SIGKILL)
        await self.exited(within=30.0)

    def send(self, signum: signal.Signals) -> float:
        """Send a signal to the running bot; returns when (time.monotonic())."""
        self.current.process.send_signal(signum)
        return time.monotonic()

    async def exited(self, *, within: float) -> float:
        """Wait for the process to end; returns when it did. Past ``within`` it is killed
        (and the time returned is still when it ended)."""
        run = self.current
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while run.process.poll() is None:
            if loop.time() > deadline:
                run.process.kill()
                run.process.wait()
                break
            await asyncio.sleep(0.01)
        run.ended_at = time.monotonic()
        if run.reader is not None:
            await asyncio.to_thread(run.reader.join, 10.0)
        return run.ended_at

    async def close(self) -> None:
        """Stop the bot if it runs (SIGTERM, SIGKILL if it lingers)."""
        if self.running:
            self.send(signal.SIGTERM)
            await self.exited(within=30.0)

    # Waiting and talking -------------------------------------------------------------------

    def log_tail(self) -> str:
        if not self.runs:
            return "(never started)"
        run = self.current
        state = "running" if run.running else f"exited with {run.process.returncode}"
        lines = "\n".join(run.tail)
        return f"--- bot run {run.number} ({state}), last lines of {run.log}:\n{lines}"

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        within: float,
        what: str | Callable[[], str],
    ) -> None:
        """``wait_for`` that fails at once, with the bot's last log lines, if it exits."""

        def holds() -> bool:
            if predicate():
                return True
            if not self.running:
                said = what() if callable(what) else what
                raise AssertionError(f"the bot exited while waiting for {said}\n{self.log_tail()}")
            return False

        try:
            await wait_for(holds, within=within, what=what)
        except AssertionError as error:
            if "timed out" in str(error):
                raise AssertionError(f"{error}\n{self.log_tail()}") from None
            raise

    async def post(self, update: dict[str, Any]) -> tuple[int, float]:
        """POST an update to the bot's webhook as Telegram does: (HTTP status, seconds)."""
        began = time.monotonic()
        status = await post_update(self.local_webhook, update, WEBHOOK_SECRET)
        return status, time.monotonic() - began

    async def healthz(self) -> int:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{self.port}/healthz") as response,
        ):
            await response.read()
            return response.status
