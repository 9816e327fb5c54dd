"""``kolbot outbox`` and ``kolbot inbox``: what an operator sees and can do from the shell."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

from storage.clock import utcnow
from storage.models import DeliveryOutcome, NewDelivery, NewInboxItem
from storage.sqlite import Database, SqliteStore
from tests.clock import kolbot_command


def kolbot(database: Path, *args: str, **more_env: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KOLBOT_")}
    env |= {"KOLBOT_DATABASE": str(database), "KOLBOT_SECRET_KEY": "operator-cli-test-key"}
    env |= more_env
    return subprocess.run(
        kolbot_command(*args),
        capture_output=True,
        text=True,
        env=env,
        cwd=database.parent,
        check=False,
        timeout=60,
    )


def row(key: str, platform: str = "telegram", chat: str = "1") -> NewDelivery:
    return NewDelivery(dedupe_key=key, platform=platform, chat=f"{platform}:{chat}", payload="{}")


async def test_outbox_status_counts_and_retry_requeues_the_failed(tmp_path: Path) -> None:
    database = tmp_path / "kolbot.db"
    store = await SqliteStore.open(database, timedelta(days=7))
    try:
        async with store.unit_of_work() as uow:
            await uow.outbox.add([row("a"), row("b"), row("c", "discord")])
            leased = await uow.outbox.add(
                [row("d", chat="2")], lease=("me", utcnow() + timedelta(hours=1))
            )
            await uow.outbox.finish(
                [DeliveryOutcome(id=leased[0].id, status="failed", error="400 chat not found")],
                "me",
            )
    finally:
        await store.close()

    status = kolbot(database, "outbox", "status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].split() == ["platform", "status", "messages"]
    assert lines[1].split() == ["discord", "pending", "1"]
    assert lines[2].split() == ["telegram", "failed", "1"]
    assert lines[3].split() == ["telegram", "pending", "2"]
    assert lines[4].startswith("oldest unsent: queued ")

    retried = kolbot(database, "outbox", "retry", "--failed")
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.startswith("1 failed message(s) queued again")
    after = kolbot(database, "outbox", "status").stdout.splitlines()
    assert after[2].split() == ["telegram", "pending", "3"]


async def test_inbox_status_shows_the_dead_letters(tmp_path: Path) -> None:
    database = tmp_path / "kolbot.db"
    store = await SqliteStore.open(database, timedelta(days=7))
    try:
        async with store.unit_of_work() as uow:
            items = await uow.inbox.add_many(
                [
                    NewInboxItem(
                        source="telegram:7",
                        update_id=str(n),
                        sender="telegram:1",
                        payload="{}",
                        received_at=utcnow(),
                    )
                    for n in range(3)
                ]
            )
            await uow.inbox.mark_handled(items[0].id, utcnow())
            await uow.inbox.set_aside(items[1].id, "sqlite: database or disk is full")
    finally:
        await store.close()
    status = kolbot(database, "inbox", "status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert [line.split() for line in lines[:3]] == [
        ["pending", "1"],
        ["handled", "1"],
        ["dead", "1"],
    ]
    assert "telegram:7 update 1 after 1 tries: sqlite: database or disk is full" in status.stdout


def test_every_operator_command_has_help(tmp_path: Path) -> None:
    for command in (["outbox", "status"], ["outbox", "retry"], ["inbox", "status"]):
        shown = kolbot(tmp_path / "k.db", *command, "--help")
        assert shown.returncode == 0
        assert "usage:" in shown.stdout
    assert "--failed" in kolbot(tmp_path / "k.db", "outbox", "retry", "--help").stdout
    assert kolbot(tmp_path / "k.db", "outbox", "retry").returncode == 2  # --failed is required


async def test_operator_commands_print_their_result_and_no_routine_log(tmp_path: Path) -> None:
    """A database an older kolbot made: the command migrates it on the way, and says only
    what was asked, whatever log level the service's settings name."""
    database = tmp_path / "kolbot.db"
    old = await Database.open(database, migrate=False)
    try:
        await old.upgrade(until=3)
    finally:
        await old.close()
    for level in ("INFO", None):
        extra = {"KOLBOT_LOG_LEVEL": level} if level else {}
        listed = kolbot(database, "agency", "list", **extra)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.startswith("no agencies yet")
        assert listed.stderr == ""
    created = kolbot(database, "agency", "create", "Acme", KOLBOT_LOG_LEVEL="INFO")
    assert (created.returncode, created.stderr) == (0, "")
    assert kolbot(database, "outbox", "status", KOLBOT_LOG_LEVEL="INFO").stderr == ""
    # Asked for, DEBUG still shows what goes on inside.
    debug = kolbot(database, "outbox", "status", KOLBOT_LOG_LEVEL="DEBUG")
    assert " DEBUG " in debug.stderr
