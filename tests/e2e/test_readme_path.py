"""The README's five minutes on the console, run as written: `make run` in one terminal, its
`./kolbot` commands in another, typed lines fed to the console, at night and by day in the
influencer's zone (the whole run under faketime: the bot, the CLI and `date` alike)."""

from __future__ import annotations

import os
import re
import select
import subprocess
import textwrap
import time
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.faketime import without_outer_faketime

ROOT = Path(__file__).resolve().parents[2]
# What `make run` needs of the clone; a developer's .env stays out of it.
CLONE = (
    ".venv", "Makefile", "kolbot", "pyproject.toml", "setup.py", "babel.cfg",
    "requirements.lock", "requirements-dev.lock", "bot", "handlers", "storage", "jobs",
)  # fmt: skip
CODE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")
TYPED = re.compile(r"^\w*> (.*)$", re.MULTILINE)
WARSAW = ZoneInfo("Europe/Warsaw")


def steps() -> list[tuple[str, str]]:
    """The section's code blocks in order: (language, text)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Five minutes on the console\n(.*?)(?=^## )", text, re.S | re.M)
    assert section is not None, "the README has no five-minute path"
    found = re.findall(r"^( *)```(\w+)\n(.*?)^\1```", section.group(1), re.S | re.M)
    return [(language, textwrap.dedent(body)) for _, language, body in found]


def tomorrow_at(hour: int, minute: int) -> str:
    """faketime's start for that time in Warsaw tomorrow (by the machine's clock, so file
    times stay in the past), read in the terminals' zone, Warsaw's."""
    machine_now = time_machine.escape_hatch.datetime.datetime.now(UTC)
    day = (machine_now + timedelta(days=1)).astimezone(WARSAW).date()
    return f"{day:%Y-%m-%d} {hour:02d}:{minute:02d}:00"


class Terminal:
    """The first terminal: `make run` reading what the test types."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.output = ""

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        self.process.stdin.flush()

    def wait_for(self, wanted: str, after: int = 0, timeout: float = 60) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while wanted not in self.output[after:]:
            assert time.monotonic() < deadline, f"no {wanted!r} in:\n{self.output[after:]}"
            ready, _, _ = select.select([self.process.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                assert chunk, f"the bot ended before {wanted!r}:\n{self.output[after:]}"
                self.output += chunk.decode(errors="replace")

    def end(self) -> tuple[int, str]:
        out, err = self.process.communicate(timeout=60)
        self.output += out.decode(errors="replace")
        return self.process.returncode, err.decode(errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate(timeout=10)


@pytest.mark.parametrize("night", [True, False], ids=["at night in Warsaw", "by day"])
def test_the_five_minute_path_runs_as_written(tmp_path: Path, night: bool) -> None:
    clone = tmp_path / "kolbot"
    clone.mkdir()
    for name in CLONE:
        (clone / name).symlink_to(ROOT / name)
    env = {k: v for k, v in without_outer_faketime().items() if not k.startswith("KOLBOT_")}
    # Terminals in Warsaw, as Anna: the CLI shows times in UTC and in the terminal's zone.
    env |= {"TZ": "Europe/Warsaw", "LANG": "C.UTF-8", "KOLBOT_WEB_PORT": "0"}
    at = ["faketime", tomorrow_at(2, 30) if night else tomorrow_at(13, 0)]
    blocks = steps()
    [start, signup, operator, join, campaign, accept] = blocks
    assert start == ("sh", "make run\n")

    def shell(script: str) -> str:
        done = subprocess.run(
            [*at, "bash", "-ec", script],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    # `make run` in a clone whose virtualenv is this one, set up already (-o): its install
    # step must not run again from another folder, rewriting this virtualenv's paths.
    bot = Terminal([*at, "make", "-s", "-o", ".venv/.runtime-installed", "run"], clone, env)
    try:
        for line in TYPED.findall(signup[1]):
            bot.type(line)
        bot.wait_for("Your application is in")
        printed = shell(operator[1])
        bot.wait_for("your application is approved")
        [code] = set(CODE.findall(printed))
        mark = len(bot.output)
        for line in TYPED.findall(join[1]):
            bot.type(CODE.sub(code, line))
        bot.wait_for("You are now an admin of Acme Media", after=mark)
        shell(campaign[1])
        if night:
            # Held for Anna's quiet hours, and the status says until when.
            deadline = time.monotonic() + 60
            while "held for" not in (figures := shell("./kolbot campaign status 1")):
                assert time.monotonic() < deadline, figures
            assert "quiet hours" in figures
            assert "08:00" in figures  # in Warsaw, as the terminal says it
        else:
            bot.wait_for("Winter boots", after=mark)
        typed = TYPED.findall(accept[1])
        assert typed[-2:] == ["/offers", "Accept"]
        mark = len(bot.output)
        for line in typed[:-2]:
            bot.type(line)
        bot.wait_for("Quiet hours: none", after=mark)
        if night:
            bot.wait_for("Winter boots", after=mark)  # the card that waited, sent now
        mark = len(bot.output)
        bot.type(typed[-2])
        bot.wait_for("Winter boots", after=mark)
        mark = len(bot.output)
        bot.type(typed[-1])
        bot.wait_for("https://acme.example/boots?ref=", after=mark)
        ended, log = bot.end()
    finally:
        bot.close()
    assert ended == 0, log
    assert "Traceback" not in log
