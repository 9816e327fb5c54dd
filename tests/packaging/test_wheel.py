"""A wheel built from the source alone carries every translation, and runs.

Built without the network (no build isolation: this environment's setuptools, wheel and Babel)
from a copy of the source with no compiled catalogs, installed with --no-deps into a fresh
virtualenv that sees this environment's packages, and run from outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from pathlib import Path

from babel.messages.pofile import read_po

from bot.i18n import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "setup.py", "bot", "handlers", "storage", "jobs")
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
    "version"
]
# A message every signup shows, and its Russian translation as the catalog has it.
MESSAGE = "What name should brands see?"


def russian(message: str) -> str:
    path = ROOT / "bot" / "i18n" / "locales" / "ru" / "LC_MESSAGES" / "kolbot.po"
    with path.open("rb") as handle:
        translated = read_po(handle).get(message)
    assert translated is not None
    assert isinstance(translated.string, str)
    assert translated.string
    assert translated.string != message
    return translated.string


def test_the_wheel_carries_its_translations_and_runs(tmp_path: Path) -> None:
    started = time.monotonic()
    source = tmp_path / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", "*.egg-info")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    assert not list(source.rglob("*.mo"))
    offline = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KOLBOT_", "PIP_"))},
        "PIP_NO_INDEX": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    offline.pop("PYTHONPATH", None)

    def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(part) for part in command],
            cwd=tmp_path,
            env=offline,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
        return result

    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "--wheel-dir", wheels, source)  # fmt: skip
    (wheel,) = wheels.glob("kolbot-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for language in LANGUAGES:
        assert f"bot/i18n/locales/{language}/LC_MESSAGES/kolbot.mo" in names
    assert "storage/sqlite/migrations/0001_people.sql" in names

    # A virtualenv made by this one's python would see the base installation's packages
    # with --system-site-packages, not this environment's: a .pth file points it here.
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    bin_dir = venv / "bin"
    site = Path(
        run(
            bin_dir / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        ).stdout.strip()
    )
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "test-environment.pth").write_text("\n".join(sorted(here)) + "\n")
    run(bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-deps", wheel)

    usage = run(bin_dir / "kolbot", "--help").stdout
    for command in ("run", "check", "db"):
        assert command in usage
    assert run(bin_dir / "kolbot", "--version").stdout.strip() == f"kolbot {VERSION}"
    said = run(
        bin_dir / "python",
        "-c",
        "import bot; from bot.i18n import translator; "
        f"print(bot.__file__); print(translator('ru')._({MESSAGE!r}))",
    ).stdout.splitlines()
    assert said[0].startswith(str(venv))
    assert said[1] == russian(MESSAGE)

    # Migrations and catalogs are found where the wheel put them.
    offline["KOLBOT_DATABASE"] = str(tmp_path / "kolbot.db")
    run(bin_dir / "kolbot", "db", "upgrade")
    checked = dict(
        line.split(None, 1) for line in run(bin_dir / "kolbot", "check").stdout.splitlines()
    )
    assert checked["catalogs"] == " ".join(LANGUAGES)
    assert checked["no"] == "problems found; nothing was started"
    assert time.monotonic() - started < 60
