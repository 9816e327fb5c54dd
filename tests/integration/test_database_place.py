"""The bot and its CLI find one database whatever folder they run in, without a setting;
a command other than `run` and `db upgrade` never makes a new empty one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.clock import kolbot_command
from tests.ports import free_port


def kolbot(
    *args: str, cwd: Path, stdin: str = "", **settings: str
) -> subprocess.CompletedProcess[str]:
    """``kolbot ARGS`` in ``cwd`` with no KOLBOT_DATABASE unless given: XDG_DATA_HOME is the
    test's own (see conftest), so the default place is too."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOLBOT_")}
    env |= {"KOLBOT_SECRET_KEY": "database-place-test-key", "KOLBOT_WEB_PORT": str(free_port())}
    return subprocess.run(
        kolbot_command(*args),
        cwd=cwd,
        env=env | settings,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def folders(tmp_path: Path, *names: str) -> list[Path]:
    made = [tmp_path / name for name in names]
    for folder in made:
        folder.mkdir()
    return made


def test_the_bot_and_the_cli_find_one_database_from_any_folder(
    tmp_path: Path, data_home: Path
) -> None:
    clone, elsewhere, other = folders(tmp_path, "clone", "elsewhere", "other")
    default = data_home / "kolbot" / "kolbot.db"
    upgrade = kolbot("db", "upgrade", cwd=clone)
    assert upgrade.returncode == 0, upgrade.stderr
    assert f"created the database {default}" in upgrade.stdout
    assert default.exists()
    assert oct(default.parent.stat().st_mode & 0o777) == "0o700"

    created = kolbot("agency", "create", "Acme Media", cwd=elsewhere)
    assert created.returncode == 0, created.stderr
    listed = kolbot("agency", "list", cwd=other)
    assert listed.returncode == 0, listed.stderr
    assert "Acme Media" in listed.stdout
    chat = kolbot("run", cwd=other, stdin="/start\n")
    assert chat.returncode == 0, chat.stderr
    assert f"kolbot: database {default}" in chat.stderr.splitlines()
    for folder in (clone, elsewhere, other):
        assert not (folder / "kolbot.db").exists()


def test_a_command_refuses_a_database_that_is_not_there_and_makes_none(
    tmp_path: Path, data_home: Path
) -> None:
    [here] = folders(tmp_path, "here")
    default = data_home / "kolbot" / "kolbot.db"
    for command in (("people", "list"), ("agency", "create", "Acme"), ("outbox", "status")):
        refused = kolbot(*command, cwd=here)
        assert refused.returncode == 2
        assert refused.stderr.splitlines() == [
            f"kolbot: no database at {default} (the default): `make run` or `kolbot db "
            "upgrade` creates it; KOLBOT_DATABASE names another"
        ]
    named = here / "typo.db"
    refused = kolbot("people", "list", cwd=here, KOLBOT_DATABASE=str(named))
    assert refused.returncode == 2
    assert f"no database at {named} (KOLBOT_DATABASE)" in refused.stderr
    assert list(here.iterdir()) == []
    assert not default.parent.exists()


def test_a_kolbot_db_in_the_current_folder_is_still_the_one_used(
    tmp_path: Path, data_home: Path
) -> None:
    """Where kolbot kept it before: found and used, never replaced by a new empty one in
    the default place, and the start says where it is."""
    [old_home] = folders(tmp_path, "old-home")
    made = kolbot("db", "upgrade", cwd=old_home, KOLBOT_DATABASE="kolbot.db")
    assert made.returncode == 0, made.stderr
    assert kolbot("agency", "create", "Old Agency", cwd=old_home).returncode == 0
    listed = kolbot("agency", "list", cwd=old_home)
    assert "Old Agency" in listed.stdout
    again = kolbot("db", "upgrade", cwd=old_home)
    assert again.stdout.splitlines()[0] == "kolbot.db: up to date"
    chat = kolbot("run", cwd=old_home, stdin="/start\n")
    assert chat.returncode == 0, chat.stderr
    assert f"kolbot: database {old_home / 'kolbot.db'}" in chat.stderr.splitlines()
    assert not (data_home / "kolbot").exists()
