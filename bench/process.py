"""The bot under test as a black-box subprocess, measured from /proc.

The bot runs in its own process so its CPU time and memory are its own, apart from the fake
Bot API's and the bench's; /proc is read directly so the bench needs no dependency the project
does not have.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import aiohttp

from bench.fake_bot_api import TOKEN, FakeBotApi

SECRET_KEY: Final = "bench-secret-key-0123456789"  # noqa: S105 - a throwaway test key
WEBHOOK_SECRET: Final = "benchsecret"  # noqa: S105 - a throwaway test secret
WEBHOOK_PATH: Final = "/telegram/webhook"
_TICKS: Final = os.sysconf("SC_CLK_TCK")
STOP_GRACE: Final = 30.0
SLOW_STOP: Final = 5.0  # issue 7: exit within 5 s of SIGTERM whatever the backlog
# Pacing out of the way: every /start gets two replies, so the paid-broadcast 1,000 msg/s
# would itself cap ingress at under 500 updates/s.
UNPACED_RATE: Final = 100_000


class WorkloadError(Exception):
    """The workload could not be measured: the bot died, stalled or misbehaved."""


def describe(error: BaseException) -> str:
    """Why a workload failed, in a line or a log tail: its own errors speak for themselves,
    anything else (a bug in the bench or in a set-up function) is named by type."""
    if isinstance(error, WorkloadError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def check_calls(api: FakeBotApi) -> None:
    """Fail the workload if the bot made any call Telegram would refuse."""
    if api.errors:
        shown = "; ".join(sorted(set(api.errors))[:5])
        raise WorkloadError(f"{len(api.errors)} call(s) the Bot API would refuse: {shown}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def kolbot_env(
    workdir: Path,
    base_url: str,
    web_port: int,
    *,
    webhook: bool = False,
    extra: Mapping[str, str] | None = None,
    source: Path | None = None,
) -> dict[str, str]:
    """The environment of ``python -m bot run`` for a bench: this process's own minus any
    KOLBOT_* setting, pacing raised so it is not the limit, and the web server on
    ``web_port`` (under the old webhook names too, which today's main still reads). With
    ``source``, kolbot is imported from that directory rather than the installed one."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KOLBOT_")}
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(source.resolve()), env.get("PYTHONPATH")])
        )
    env |= {
        "KOLBOT_DATABASE": str(workdir / "kolbot.db"),
        "KOLBOT_SECRET_KEY": SECRET_KEY,
        "KOLBOT_TELEGRAM_TOKEN": TOKEN,
        "KOLBOT_TELEGRAM_BASE_URL": base_url,
        "KOLBOT_TELEGRAM_RATE": str(UNPACED_RATE),
        "KOLBOT_TELEGRAM_CHAT_RATE": "1000",
        "KOLBOT_TELEGRAM_GROUP_RATE": "60000",
        "KOLBOT_WEB_LISTEN": "127.0.0.1",
        "KOLBOT_WEB_PORT": str(web_port),
        "LANG": "C.UTF-8",
    }
    if webhook:
        env |= {
            "KOLBOT_TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{web_port}{WEBHOOK_PATH}",
            "KOLBOT_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "KOLBOT_TELEGRAM_WEBHOOK_LISTEN": "127.0.0.1",
            "KOLBOT_TELEGRAM_WEBHOOK_PORT": str(web_port),
        }
    env |= extra or {}
    return env


def kolbot_command() -> list[str]:
    return [sys.executable, "-m", "bot", "run"]


def _open_log(path: Path) -> IO[bytes]:
    return path.open("wb")


@dataclass
class Usage:
    """CPU seconds (user + system) and memory of a process at one moment."""

    cpu: float
    rss_mb: float
    peak_rss_mb: float


class BotProcess:
    """A started subprocess, its log in a file (a pipe could fill and stall it)."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.pid = process.pid
        self.log = log
        self.stop_seconds = 0.0

    @classmethod
    async def start(
        cls, command: Sequence[str], *, cwd: Path, env: Mapping[str, str]
    ) -> BotProcess:
        log = cwd / "bot.log"
        with _open_log(log) as sink:
            process = await asyncio.create_subprocess_exec(
                *command,
                cwd=cwd,
                env=dict(env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=sink,
                stderr=sink,
            )
        return cls(process, log)

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def usage(self) -> Usage:
        """Read now, while it runs: /proc forgets a process once it is reaped."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        # After the name: state is field 3, utime 14 and stime 15 (1-based, man proc).
        cpu = (int(fields[11]) + int(fields[12])) / _TICKS
        status = Path(f"/proc/{self.pid}/status").read_text()
        memory = {
            line.split(":")[0]: int(line.split()[1])
            for line in status.splitlines()
            if line.startswith(("VmRSS", "VmHWM"))
        }
        return Usage(cpu, memory.get("VmRSS", 0) / 1024, memory.get("VmHWM", 0) / 1024)

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def died(self, what: str) -> WorkloadError:
        return WorkloadError(
            f"the bot exited ({self.process.returncode}) {what}; its log ends:\n{self.tail()}"
        )

    async def stop(self, grace: float = STOP_GRACE) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds; the exit code."""
        started = time.monotonic()
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(grace):
                    await self.process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
        code = await self.process.wait()
        self.stop_seconds = time.monotonic() - started
        return code

    def stop_note(self) -> str | None:
        """What a stop's exit code and time say, when they say something is off."""
        code = self.process.returncode
        if code == -signal.SIGKILL:
            return f"the bot did not exit within {STOP_GRACE:.0f} s of SIGTERM and was killed"
        if code:
            return f"the bot exited with {code} when stopped"
        if self.stop_seconds > SLOW_STOP:
            return f"the bot took {self.stop_seconds:.1f} s to exit after SIGTERM"
        return None


async def wait_until(
    done: Callable[[], bool],
    *,
    bot: BotProcess,
    what: str,
    within: float,
    progress: Callable[[], int] | None = None,
    stall: float = 30.0,
) -> None:
    """Wait for ``done`` while the bot lives; give up after ``within`` seconds, or after
    ``stall`` seconds in which ``progress`` did not move."""
    start = time.monotonic()
    last, moved = (progress() if progress else 0), start
    while not done():
        now = time.monotonic()
        if not bot.alive:
            raise bot.died(f"while waiting for {what}")
        if now - start > within:
            raise WorkloadError(f"{what}: not done within {within:.0f} s")
        if progress is not None:
            current = progress()
            if current != last:
                last, moved = current, now
            elif now - moved > stall:
                raise WorkloadError(f"{what}: no progress for {stall:.0f} s (at {current})")
        await asyncio.sleep(0.005)


async def healthz(web_port: int, within: float = 10.0) -> int | None:
    """GET /healthz: its status, or None if nothing listened within ``within`` seconds."""
    url = f"http://127.0.0.1:{web_port}/healthz"
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as response:
                    return response.status
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.05)
    return None


def self_cpu() -> float:
    """This process's CPU seconds: how busy the fake Bot API was."""
    times = os.times()
    return times.user + times.system
