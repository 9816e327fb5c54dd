"""The first ``make run`` on a fresh copy, timed: a virtualenv, the pinned packages, the
database migrated and the console started and left at end of input. The time is printed on
every run of the suite, so a dependency that slows the first minute does not go unseen."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
# The README says under half a minute; a loaded machine and a cold package cache may take
# longer, so this bound catches a step that went wrong, and the printed time tells the rest.
BOUND = 180.0


def tracked_copy(destination: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        if not (ROOT / name).is_file():
            continue  # deleted in the work tree, not yet committed
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def test_the_first_make_run_sets_up_migrates_and_starts(
    tmp_path: Path, figure: Callable[[str], None]
) -> None:
    clone = tmp_path / "kolbot"
    tracked_copy(clone)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KOLBOT_", "VIRTUAL_ENV"))},
        "KOLBOT_DATABASE": str(tmp_path / "kolbot.db"),
        "KOLBOT_SECRET_KEY": "first-run-test-key",
        "KOLBOT_WEB_PORT": str(free_port()),
    }
    started = time.monotonic()
    result = subprocess.run(
        ["make", "run"],
        cwd=clone,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=BOUND * 2,
        check=False,
    )
    took = time.monotonic() - started
    figure(f"first `make run` on a fresh copy: {took:.1f} s")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (clone / ".venv" / "bin" / "kolbot").exists()
    assert (tmp_path / "kolbot.db").exists()
    assert took < BOUND
