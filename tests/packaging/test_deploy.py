"""deploy/: the systemd unit and its environment file agree with what kolbot does."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def unit() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "kolbot.service").read_text(encoding="utf-8"))
    return parser["Service"]


def example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "kolbot.env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def test_the_service_runs_kolbot_with_a_platform_required() -> None:
    service = unit()
    assert service["ExecStart"].endswith("/kolbot run --require-platform")
    assert service["EnvironmentFile"] == "/etc/kolbot/kolbot.env"
    assert service["StandardError"] == "journal"


def test_the_service_restarts_on_a_crash_but_not_on_a_configuration_error() -> None:
    service = unit()
    assert service["Restart"] == "on-failure"
    # bot.cli.CONFIG_ERROR: what kolbot exits with for settings it cannot start with.
    assert service["RestartPreventExitStatus"] == "2"


def test_the_service_stops_with_sigterm_and_leaves_time_for_the_shutdown() -> None:
    service = unit()
    assert service["KillSignal"] == "SIGTERM"
    stop_seconds = int(re.fullmatch(r"(\d+)s?", service["TimeoutStopSec"])[1])  # type: ignore[index]
    default = Settings.model_fields["shutdown_timeout_seconds"].default
    configured = float(example()["KOLBOT_SHUTDOWN_TIMEOUT_SECONDS"])
    assert stop_seconds >= 3 * max(default, configured)


def test_the_environment_example_names_only_real_settings_and_loads(tmp_path: Path) -> None:
    values = example()
    fields = {f"KOLBOT_{name.upper()}" for name in Settings.model_fields}
    assert set(values) <= fields
    assert "KOLBOT_TELEGRAM_TOKEN" in values
    assert "KOLBOT_DISCORD_TOKEN" in values
    settings = Settings(_env_file=DEPLOY / "kolbot.env.example")
    assert settings.database == Path("/var/lib/kolbot/kolbot.db")
    assert settings.telegram_token is None
    assert str(settings.database.parent) == "/var/lib/" + unit()["StateDirectory"]


def test_the_production_docs_point_to_deploy() -> None:
    text = (ROOT / "docs" / "production.md").read_text(encoding="utf-8")
    section = text.partition("# Running in production\n")[2].partition("\n## ")[0]
    assert "deploy/kolbot.service" in section
    assert "deploy/kolbot.env.example" in section


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    """Every directive known to systemd (an unknown one is only warned about, and ignored)."""
    analyze = shutil.which("systemd-analyze")
    assert analyze is not None  # systemd is part of the machine the project runs on

    kolbot = shutil.which("kolbot", path=str(Path(sys.executable).parent))
    assert kolbot is not None
    text = (DEPLOY / "kolbot.service").read_text(encoding="utf-8")
    # verify wants the program to exist: this environment's kolbot stands in for /opt/kolbot's.
    (tmp_path / "kolbot.service").write_text(text.replace("/opt/kolbot/bin/kolbot", kolbot))
    result = subprocess.run(
        [analyze, "verify", tmp_path / "kolbot.service"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (0, "")
