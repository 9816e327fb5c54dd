"""``./kolbot`` at the top of the clone runs the CLI from any folder, as the README writes
its commands: no virtualenv to activate, nothing on the PATH to add."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "kolbot"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
    "version"
]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KOLBOT_", "VIRTUAL_ENV"))}
    env["PATH"] = "/usr/bin:/bin"  # no virtualenv on the PATH, as in a new shell
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_script_runs_the_cli_from_another_folder(tmp_path: Path) -> None:
    assert os.access(SCRIPT, os.X_OK)
    version = run("--version", cwd=tmp_path)
    assert (version.returncode, version.stdout.strip()) == (0, f"kolbot {VERSION}")
    # The same CLI, with the same rules: no database yet, so none is made here.
    listed = run("people", "list", cwd=tmp_path)
    assert listed.returncode == 2
    assert listed.stderr.startswith("kolbot: no database at ")
    assert list(tmp_path.iterdir()) == []
