"""The lock files: hashed, made from pyproject.toml, the dev one a superset of the runtime one."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "requirements.lock"
DEV = ROOT / "requirements-dev.lock"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)(?:\s*;\s*(?P<marker>.+?))?\s*$")
# What a runtime install must never pull in.
DEV_TOOLS = ("mypy", "pytest", "ruff", "uv")


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: str | None
    hashes: frozenset[str]


def pins(path: Path) -> dict[str, list[Pin]]:
    """Every pinned requirement, by normalized name (a universal lock may pin a package once
    per Python version range)."""
    found: dict[str, list[Pin]] = {}
    for entry in re.split(r"\n(?=[^\s#])", path.read_text(encoding="utf-8")):
        lines = [line.strip().rstrip("\\").strip() for line in entry.splitlines()]
        lines = [line for line in lines if line and not line.startswith("#")]
        if not lines:
            continue
        match = PIN.match(lines[0])
        assert match, f"{path.name}: not an exact pin: {lines[0]!r}"
        hashes = frozenset(line.removeprefix("--hash=") for line in lines[1:])
        assert all(line.startswith("--hash=sha256:") for line in lines[1:]), lines[0]
        name = canonicalize_name(match["name"])
        found.setdefault(name, []).append(Pin(name, match["version"], match["marker"], hashes))
    return found


def assert_pinned(lock: dict[str, list[Pin]], requirement: str, lock_name: str) -> None:
    wanted = Requirement(requirement)
    name = canonicalize_name(wanted.name)
    assert name in lock, f"{wanted.name} is not in {lock_name}: run `make lock`"
    for pin in lock[name]:
        assert wanted.specifier.contains(Version(pin.version), prereleases=True), (
            f"{lock_name} pins {name}=={pin.version}, which {requirement!r} in pyproject.toml "
            "excludes: run `make lock`"
        )


@pytest.mark.parametrize("path", [RUNTIME, DEV], ids=["runtime", "dev"])
def test_every_pin_is_exact_and_hashed(path: Path) -> None:
    lock = pins(path)
    assert len(lock) > 20
    for entries in lock.values():
        for pin in entries:
            assert pin.hashes, f"{path.name}: {pin.name} has no hash"
    assert "make lock" in path.read_text(encoding="utf-8").split("\n", 3)[1]


def test_runtime_lock_has_the_dependencies_and_what_builds_kolbot() -> None:
    runtime = pins(RUNTIME)
    build = PYPROJECT["build-system"]["requires"]
    for requirement in PYPROJECT["project"]["dependencies"] + build:
        assert_pinned(runtime, requirement, RUNTIME.name)
    names = {canonicalize_name(Requirement(r).name) for r in build}
    assert {"setuptools", "wheel", "babel"} <= names


def test_runtime_lock_has_no_dev_tools() -> None:
    runtime = pins(RUNTIME)
    for tool in DEV_TOOLS:
        assert tool not in runtime, f"{tool} is a dev tool, yet in {RUNTIME.name}"


def test_dev_lock_is_the_runtime_lock_and_the_dev_tools() -> None:
    runtime, dev = pins(RUNTIME), pins(DEV)
    for name, entries in runtime.items():
        assert dev.get(name) == entries, f"{name} differs between the lock files"
    for requirement in PYPROJECT["project"]["optional-dependencies"]["dev"]:
        assert_pinned(dev, requirement, DEV.name)
    for tool in DEV_TOOLS:
        assert tool in dev


def test_both_locks_cover_python_3_11_to_3_13() -> None:
    """One lock for every supported Python: what only some versions need is there with its
    marker (discord.py needs audioop-lts from 3.13 on), not left out."""
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"
    for lock in (pins(RUNTIME), pins(DEV)):
        (audioop,) = lock["audioop-lts"]
        assert audioop.marker is not None
        assert "3.13" in audioop.marker


def make_dry_run(target: str, venv: Path) -> str:
    """The commands ``make TARGET`` would run in a fresh clone (a new virtualenv)."""
    # make is what the README's two commands run: a machine without it cannot run this suite.
    assert shutil.which("make") is not None
    result = subprocess.run(
        ["make", "--dry-run", f"VENV={venv}", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_make_run_installs_the_runtime_lock_only(tmp_path: Path) -> None:
    commands = make_dry_run("run", tmp_path / "venv")
    assert "install --require-hashes -r requirements.lock" in commands
    assert "requirements-dev.lock" not in commands


def test_make_test_installs_the_dev_lock(tmp_path: Path) -> None:
    commands = make_dry_run("test", tmp_path / "venv")
    assert "install --require-hashes -r requirements-dev.lock" in commands
    assert "pytest" in commands
