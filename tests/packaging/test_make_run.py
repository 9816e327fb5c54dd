"""``make run`` as an operator reads it: `kolbot db upgrade` then `kolbot run`, each warning
about the settings would say a misspelt name twice, so one of them does."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

from tests.clock import kolbot_command
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
MISSPELT = (
    "kolbot: KOLBOT_TELEGRAM_TOKN is not a setting and is ignored; did you mean "
    "KOLBOT_TELEGRAM_TOKEN?"
)


def installed_copy(folder: Path) -> None:
    """The Makefile beside a virtualenv it takes as set up: its kolbot is this test's, at the
    test's instant, so no package is installed."""
    shutil.copy2(ROOT / "Makefile", folder / "Makefile")
    made = [folder / name for name in ("requirements.lock", "pyproject.toml", "setup.py")]
    for path in made:
        path.write_text("")
    bin_folder = folder / ".venv" / "bin"
    bin_folder.mkdir(parents=True)
    (bin_folder / "python").symlink_to(shutil.which("python3") or "/usr/bin/python3")
    kolbot = bin_folder / "kolbot"
    kolbot.write_text(f'#!/bin/sh\nexec {shlex.join(kolbot_command())} "$@"\n')
    kolbot.chmod(0o755)
    stamp = folder / ".venv" / ".runtime-installed"
    stamp.touch()
    # Installed after the lock and the project files were last changed.
    older = stamp.stat().st_mtime - 10
    for path in made:
        os.utime(path, (older, older))


def operator_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KOLBOT_", "MAKE"))}
    return env | {
        "KOLBOT_DATABASE": str(tmp_path / "kolbot.db"),
        "KOLBOT_SECRET_KEY": "make-run-test-key",
        "KOLBOT_WEB_PORT": str(free_port()),
        **extra,
    }


def test_make_run_warns_of_a_misspelt_setting_once(tmp_path: Path) -> None:
    installed_copy(tmp_path)
    env = operator_env(tmp_path, KOLBOT_TELEGRAM_TOKN="123:abc")
    result = subprocess.run(
        ["make", "run"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "created the database" in result.stdout
    said = (result.stdout + result.stderr).splitlines()
    assert said.count(MISSPELT) == 1, result.stderr

    # By hand, `kolbot db upgrade` still says it.
    by_hand = subprocess.run(
        kolbot_command("db", "upgrade"),
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert by_hand.returncode == 0, by_hand.stderr
    assert by_hand.stderr.splitlines() == [MISSPELT]


def test_make_migrate_alone_warns_of_a_misspelt_setting(tmp_path: Path) -> None:
    installed_copy(tmp_path)
    result = subprocess.run(
        ["make", "migrate"],
        cwd=tmp_path,
        env=operator_env(tmp_path, KOLBOT_TELEGRAM_TOKN="123:abc"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.splitlines() == [MISSPELT]
