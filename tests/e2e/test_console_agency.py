"""An agency admin on the console: /agency works there, and /help offers what works there."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.clock import kolbot_command
from tests.e2e.test_console import answer_to, bot_env, run_bot


def operator(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        kolbot_command(*args),
        capture_output=True,
        text=True,
        env=bot_env(tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_an_admin_joins_on_the_console_and_help_lists_what_works_there(tmp_path: Path) -> None:
    operator(tmp_path, "db", "upgrade")
    created = operator(tmp_path, "agency", "create", "Acme")
    code = created.splitlines()[1].removeprefix("invite code: ")
    result = run_bot(tmp_path, [f"/agency {code}", "/help", "/invite"])
    assert result.returncode == 0, result.stderr
    assert answer_to(result.stdout, f"/agency {code}").startswith("You are now an admin of Acme.")
    listed = {
        line.split(" ")[0]
        for line in answer_to(result.stdout, "/help").splitlines()
        if line.startswith("/")
    }
    assert {"/invite", "/campaigns", "/newcampaign", "/quit", "/as"} <= listed
    # An admin has no agency to join; the console has no group to link.
    assert not listed & {"/agency", "/linkgroup", "/unlinkgroup"}
    invite = answer_to(result.stdout, "/invite")
    assert "to me in a private chat. It works once, until " in invite
    assert "Telegram" not in invite
    assert "Discord" not in invite
    assert "(UTC)." in invite
