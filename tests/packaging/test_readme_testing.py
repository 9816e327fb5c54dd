"""The README's testing section, run as written: the suite at another instant of the
machine's clock (``faketime``, which ``make system-packages`` installs)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.faketime import without_outer_faketime

ROOT = Path(__file__).resolve().parents[2]


def section(title: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert match is not None, f"the README has no section {title!r}"
    return match.group(1)


def commands(text: str) -> list[str]:
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_the_testing_section_runs_tests_at_another_instant() -> None:
    [command] = [c for c in commands(section("Testing")) if c.startswith("faketime ")]
    if shutil.which("faketime") is None:
        pytest.fail("faketime is missing: `make system-packages` installs it")
    outside = without_outer_faketime()
    env = {k: v for k, v in outside.items() if not k.startswith(("KOLBOT_", "PYTEST_"))}
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", result.stdout)
    assert "failed" not in result.stdout
