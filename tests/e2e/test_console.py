"""``python -m bot run`` with piped stdin: a complete signup lands in the database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

SIGNUP = [
    "/start",
    "Polski",  # a label works as well as a number
    "Anna <b>&</b>",
    "Niemcy",
    "1",  # Europe/Berlin
    "1",  # Instagram
    "https://instagram.com/anna.insta/",
    "12 345",
    "2",  # Continue
    "1",  # toggle the first topic
    "3",  # and the third (fashion, beauty, tech)
    "13",  # Done
    "2",  # IBAN
    "DE89 3704 0044 0532 0130 00",
    "1",  # I agree
    "8",  # Confirm
]


def run_bot(
    tmp_path: Path, lines: list[str], *, timeout: float = 60, log_level: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KOLBOT_")}
    env |= {
        "KOLBOT_DATABASE": str(tmp_path / "console.db"),
        "KOLBOT_SECRET_KEY": "console-test-secret",
        "LANG": "C.UTF-8",
    }
    if log_level:
        env["KOLBOT_LOG_LEVEL"] = log_level
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=timeout,
        check=False,
    )


def test_piped_signup_leaves_an_applicant(tmp_path: Path) -> None:
    result = run_bot(tmp_path, SIGNUP)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    with closing(sqlite3.connect(tmp_path / "console.db")) as db:
        row = db.execute(
            "SELECT display_name, language, country, timezone, status FROM people"
        ).fetchone()
        socials = db.execute("SELECT network, handle, followers FROM social_profiles").fetchall()
        niches = db.execute("SELECT niche FROM person_niches ORDER BY niche").fetchall()
        payout = db.execute("SELECT method, masked, details FROM payouts").fetchone()
        account = db.execute("SELECT platform, dm_chat FROM accounts").fetchone()
    assert row == ("Anna <b>&</b>", "pl", "DE", "Europe/Berlin", "applicant")
    assert socials == [("instagram", "anna.insta", 12345)]
    assert niches == [("fashion",), ("tech",)]
    assert payout[0] == "iban"
    assert payout[1] == "DE89 **** 3000"
    assert "DE89" not in payout[2]
    assert account == ("console", "console:local")
    assert "> Polski" in result.stdout


def test_quit_and_end_of_input_exit_cleanly(tmp_path: Path) -> None:
    assert run_bot(tmp_path, ["/help", "/quit", "/start"]).returncode == 0
    result = run_bot(tmp_path, ["/start"])
    assert result.returncode == 0
    assert "Choose your language:" in result.stdout


def test_payout_details_never_reach_the_logs(tmp_path: Path) -> None:
    result = run_bot(tmp_path, SIGNUP, log_level="DEBUG")
    assert result.returncode == 0, result.stderr
    assert "DEBUG" in result.stderr
    compact = result.stderr.replace(" ", "")
    assert "DE89370400440532013000" not in compact
    assert "0532" not in result.stderr
    assert "console-test-secret" not in result.stderr


def test_a_blank_name_is_answered_not_ignored(tmp_path: Path) -> None:
    result = run_bot(tmp_path, ["/start", "1", "   ", "", "Anna"])
    assert result.returncode == 0, result.stderr
    after_blank = result.stdout.split(">    \n", 1)[1]
    # Spaces are an answer and get the name's error; an empty line is nothing at all.
    assert after_blank.startswith(
        "A name needs at least one letter.\n\nWhat name should brands see?\n\n> \n> Anna\n"
    ), after_blank
    assert "Which country do you live in?" in after_blank
