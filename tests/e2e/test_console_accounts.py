"""Editing one social account on the console, by numbers and labels only."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from tests.clock import kolbot_command
from tests.e2e.test_console import SIGNUP

EDIT_ONE_ACCOUNT = [
    "/edit",
    "5",  # Edit: social accounts
    "2",  # Add another account (1 is Instagram @anna.insta)
    "2",  # TikTok: 1 is still Instagram, marked as added
    "anna.tok",
    "3k",
    "1",  # Instagram @anna.insta
    "2",  # Change the follower count (1 is Change the handle)
    "20k",
    "TikTok @anna.tok",  # a label works as well as a number
    "3",  # Remove this account
    "2",  # Add another account
    "3",  # YouTube, numbered as it was before any account was added
    "annatube",
    "4k",
    "4",  # Continue (after Instagram, YouTube and Add another account)
    "8",  # Done
]


def run_bot(tmp_path: Path, lines: list[str]) -> subprocess.CompletedProcess[str]:
    """The script piped in, as a newcomer runs it."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KOLBOT_")}
    env |= {
        "KOLBOT_DATABASE": str(tmp_path / "console.db"),
        "KOLBOT_SECRET_KEY": "console-test-secret",
        "LANG": "C.UTF-8",
    }
    return subprocess.run(
        kolbot_command("run"),
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )


def test_one_account_is_changed_and_the_others_kept(tmp_path: Path) -> None:
    result = run_bot(tmp_path, SIGNUP + EDIT_ONE_ACCOUNT)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    with closing(sqlite3.connect(tmp_path / "console.db")) as db:
        socials = db.execute(
            "SELECT network, handle, followers FROM social_profiles ORDER BY id"
        ).fetchall()
    assert socials == [("instagram", "anna.insta", 20_000), ("youtube", "annatube", 4_000)]


def test_a_network_keeps_its_number_once_an_account_is_added(tmp_path: Path) -> None:
    """Instagram is 1 and TikTok 2 before an account is added and after: the number typed
    for a network names that network, or says it is added already."""
    lines = [
        *("/start", "English", "Anna", "Germany", "1"),
        *("1", "anna.insta", "12 345"),  # Instagram
        "1",  # Add another account
        "1",  # Instagram again
        *("2", "anna.tok", "3k"),  # TikTok
    ]
    result = run_bot(tmp_path, lines)
    assert result.returncode == 0, result.stderr
    networks = "  1) Instagram\n  2) TikTok\n  3) YouTube\n  4) X\n  5) Facebook\n  6) Twitch\n"
    again = networks.replace("Instagram", "Instagram (added)")
    question = "Add a social account: which network is it on?\n"
    first, second, third = result.stdout.split(question)[1:]
    assert first.startswith(networks)
    assert second.startswith(again)
    assert "You have already added an account on this network." in second
    assert third.startswith(again)
    assert "What is your TikTok handle?" in third
    assert "• TikTok @anna.tok: 3,000 followers" in third
