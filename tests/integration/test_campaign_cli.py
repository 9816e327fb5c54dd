"""``kolbot campaign`` as a subprocess against a real database file."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import select
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import campaign_cli
from storage.clock import utcnow
from storage.models import (
    CampaignFigures,
    Commission,
    DeliveryOutcome,
    NewDelivery,
    offer_delivery_key,
)
from storage.sqlite import SqliteStore
from storage.sqlite.campaigns import SqliteCampaigns
from tests.clock import kolbot_command
from tests.integration.test_campaigns_storage import influencer
from tests.integration.test_operator_cli import kolbot

TTL = timedelta(days=7)


def new_agency(database: Path) -> int:
    """An agency in a new database, made as `make run` makes it."""
    assert kolbot(database, "db", "upgrade").returncode == 0
    created = kolbot(database, "agency", "create", "Acme Media")
    assert created.returncode == 0, created.stderr
    found = re.match(r"agency (\d+):", created.stdout)
    assert found is not None
    return int(found[1])


def deadline_text(days: int = 10) -> tuple[str, datetime]:
    day = (utcnow() + timedelta(days=days)).date()
    local = datetime(day.year, day.month, day.day, 18, 0, tzinfo=ZoneInfo("Europe/Warsaw"))
    return f"{day:%Y-%m-%d} 18:00", local.astimezone(UTC)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def campaign_file(tmp_path: Path) -> tuple[Path, datetime]:
    typed, deadline = deadline_text()
    return (
        write(
            tmp_path / "boots.toml",
            f"""
brand = "Acme"
title = "Winter boots"
brief = \"\"\"
Show the boots in snow.
Tag @acme.
\"\"\"
commission = "12.5%"
countries = ["Poland", "DE", "Francja"]
niches = ["fashion", "sports"]
min_followers = "5k"
slots = 50
timezone = "Europe/Warsaw"
deadline = "{typed}"
landing_url = "https://acme.example/boots"
""",
        ),
        deadline,
    )


async def test_create_from_a_file_then_publish_pause_resume_close(tmp_path: Path) -> None:
    database = tmp_path / "kolbot.db"
    agency_id = new_agency(database)
    path, deadline = campaign_file(tmp_path)
    created = kolbot(database, "campaign", "create", "--agency", str(agency_id), str(path))
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("campaign 1 created as a draft")

    store = await SqliteStore.open(database, TTL)
    try:
        async with store.reading() as uow:
            campaign = await uow.campaigns.get(1)
    finally:
        await store.close()
    assert campaign is not None
    assert (campaign.agency_id, campaign.status, campaign.created_by) == (
        agency_id,
        "draft",
        "cli",
    )
    assert campaign.brief == "Show the boots in snow.\nTag @acme."
    assert campaign.commission == Commission.percent(1250)
    assert campaign.countries == ("DE", "FR", "PL")
    assert campaign.niches == ("fashion", "sports")
    assert (campaign.min_followers, campaign.slots, campaign.deadline) == (5000, 50, deadline)

    steps = [
        ("publish", 0, "campaign 1: draft -> publishing"),
        ("publish", 1, "kolbot: campaign 1 is publishing: it cannot publish"),
        ("pause", 0, "campaign 1: publishing -> paused"),
        ("resume", 0, "campaign 1: paused -> publishing"),
        ("close", 0, "campaign 1: publishing -> closed"),
        ("resume", 1, "kolbot: campaign 1 is closed: it cannot resume"),
    ]
    for action, code, said in steps:
        result = kolbot(database, "campaign", action, "1")
        assert result.returncode == code, result.stderr
        assert (result.stdout or result.stderr).strip() == said

    listing = kolbot(database, "campaign", "list")
    assert listing.returncode == 0, listing.stderr
    header, line = listing.stdout.splitlines()
    assert header.split()[:4] == ["id", "agency", "status", "slots"]
    assert line.split()[:4] == ["1", str(agency_id), "closed", "50/50"]
    assert line.endswith("Acme: Winter boots")

    tail = kolbot(database, "audit", "tail", "-n", "20")
    entries = [line.split()[2:5] for line in tail.stdout.splitlines()]
    assert ["allowed", "cli", "campaign.create"] in entries
    assert ["refused", "cli", "campaign.publish"] in entries
    assert ["allowed", "cli", "campaign.close"] in entries
    assert ["allowed", "cli", "campaign.list"] in entries


def test_an_invalid_file_names_every_field_and_creates_nothing(tmp_path: Path) -> None:
    database = tmp_path / "kolbot.db"
    agency_id = new_agency(database)
    path = write(
        tmp_path / "bad.toml",
        """
brand = ""
title = "Boots"
brief = "Snow."
commission = "25 XYZ"
countries = ["Polsak"]
niches = ["knitting"]
min_followers = -3
slots = 0
deadline = "2020-01-01 10:00"
landing_url = "http://acme.example"
colour = "red"
""",
    )
    result = kolbot(database, "campaign", "create", "--agency", str(agency_id), str(path))
    assert result.returncode == 2
    problems = [line.removeprefix(f"kolbot: {path}: ") for line in result.stderr.splitlines()]
    topics = "fashion, beauty, tech, gaming, home, sports, food, travel, kids, pets, auto, other"
    assert problems == [
        "colour: unknown field",
        "brand: must be a non-empty string",
        "commission: “XYZ” is not a currency we know: use its three-letter code, such as EUR "
        "or PLN.",
        "countries: no country is called “Polsak”: did you mean Poland?",
        f"niches: “knitting” is not one of the topics ({topics})",
        "min_followers: A follower count cannot be negative.",
        "slots: A campaign needs at least 1 slot and at most 100,000.",
        "landing_url: must be an https:// link, such as https://shop.example/sale",
        "deadline: The deadline must be in the future.",
    ]
    missing = write(
        tmp_path / "short.toml",
        """
brand = "Acme"
title = " "
brief = "Snow."
commission = "a lot"
countries = ["Atlantis"]
niches = []
min_followers = "many"
slots = "many"
deadline = "soon"
landing_url = "acme"
timezone = "Mars/Olympus"
""",
    )
    result = kolbot(database, "campaign", "create", "--agency", str(agency_id), str(missing))
    assert result.returncode == 2
    problems = [line.removeprefix(f"kolbot: {missing}: ") for line in result.stderr.splitlines()]
    assert problems == [
        "title: must be a non-empty string",
        'commission: must be a percentage such as "12.5%" or an amount with its currency such '
        'as "25 EUR"',
        "countries: no country is called “Atlantis”: write its name or its two-letter code, "
        'such as "DE"',
        'niches: must name at least one topic, or be "all"',
        'min_followers: must be a whole number of followers, such as 5000 or "12.5k"',
        "slots: must be a whole number, such as 50",
        'timezone: must be a time zone name, such as "Europe/Warsaw" or "UTC"',
        "landing_url: is not a link kolbot can use: write a full address such as "
        "https://shop.example/sale",
    ]
    # Not a word a chat would say to someone typing an answer.
    assert not any(word in result.stderr for word in ("Please", "send", "We could"))
    short = write(tmp_path / "shorter.toml", 'brand = "Acme"\ndeadline = "soon"\n')
    result = kolbot(database, "campaign", "create", "--agency", str(agency_id), str(short))
    assert "title: missing" in result.stderr
    assert (
        'deadline: must be a TOML date or date-time, or a string such as "2026-12-31 18:00" '
        'or "31.12.2026 18:00"'
    ) in result.stderr
    broken = write(tmp_path / "broken.toml", "brand = \n")
    assert kolbot(database, "campaign", "create", "--agency", "1", str(broken)).returncode == 2
    good, _ = campaign_file(tmp_path)
    nobody = kolbot(database, "campaign", "create", "--agency", "99", str(good))
    assert (nobody.returncode, nobody.stderr.strip()) == (2, "kolbot: there is no agency 99")
    listing = kolbot(database, "campaign", "list")
    assert listing.stdout.startswith("no campaigns yet")
    tail = kolbot(database, "audit", "tail", "-n", "20").stdout.splitlines()
    refusals = [line.split(" ", 3)[3] for line in tail if " refused " in line]
    assert refusals[0] == (
        "cli campaign.create (invalid file bad.toml: colour, brand, commission, countries, "
        "niches, min_followers, slots, landing_url, deadline)"
    )
    assert refusals[-1] == "cli campaign.create (no such agency)"


async def _broadcasting(database: Path) -> int:
    """A published campaign with three offers: one sent, one blocked, one still queued."""
    agency_id = new_agency(database)
    path, _ = campaign_file(database.parent)
    created = kolbot(database, "campaign", "create", "--agency", str(agency_id), str(path))
    assert created.returncode == 0, created.stderr
    store = await SqliteStore.open(database, TTL)
    try:
        async with store.unit_of_work() as uow:
            await uow.people.import_many([influencer(n) for n in (1, 2, 3)])
            assert await uow.offers.add_many(1, [1, 2, 3], utcnow()) == 3
            await uow.campaigns.change_status(1, ["draft"], "publishing", utcnow())
            await uow.outbox.enqueue(
                [
                    NewDelivery(
                        dedupe_key=offer_delivery_key(1, n),
                        platform="telegram",
                        chat=f"t:{n}",
                        ref=f"offer:{n}",
                    )
                    for n in (1, 2, 3)
                ]
            )
    finally:
        await store.close()
    return 1


async def test_status_prints_once_without_a_terminal(tmp_path: Path) -> None:
    database = tmp_path / "kolbot.db"
    campaign_id = await _broadcasting(database)
    result = kolbot(database, "campaign", "status", str(campaign_id), "--watch")
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout
    assert result.stdout.splitlines() == [
        "campaign 1: Acme: Winter boots (publishing)",
        "influencers matched 3",
        "offer cards by private message: queued 3  sent 0  blocked 0 (chat unreachable)  failed 0",
        "answers, on a card or through the campaign's link: accepted 0  declined 0  "
        "posts submitted 0  slots left 50 of 50",
    ]
    unknown = kolbot(database, "campaign", "status", "9")
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "kolbot: there is no campaign 9")


def _read_until(fd: int, wanted: str, seen: bytearray, deadline: float) -> str:
    while wanted not in seen.decode(errors="replace"):
        if time.monotonic() > deadline:
            raise AssertionError(f"{wanted!r} never came; got {seen.decode(errors='replace')!r}")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            seen.extend(chunk)
    return seen.decode(errors="replace")


async def _finish_broadcast(database: Path) -> None:
    """Every offer message leaves (two sent, one blocked) and publishing ends."""
    store = await SqliteStore.open(database, TTL)
    try:
        async with store.unit_of_work() as uow:
            now = utcnow() + timedelta(seconds=1)
            until = now + timedelta(minutes=1)
            leased = await uow.outbox.claim("w", until, now, 3, ["telegram"])
            await uow.outbox.finish(
                [
                    DeliveryOutcome(id=leased[0].id, status="sent", message_id="1"),
                    DeliveryOutcome(id=leased[1].id, status="sent", message_id="2"),
                    DeliveryOutcome(id=leased[2].id, status="blocked"),
                ],
                "w",
            )
            await uow.campaigns.change_status(1, ["publishing"], "published", now)
    finally:
        await store.close()


def test_status_watch_draws_a_live_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    database = tmp_path / "kolbot.db"
    campaign_id = asyncio.run(_broadcasting(database))
    env = {key: value for key, value in os.environ.items() if not key.startswith("KOLBOT_")}
    env |= {"KOLBOT_DATABASE": str(database), "KOLBOT_SECRET_KEY": "operator-cli-test-key"}
    master, slave = pty.openpty()
    command = ["campaign", "status", str(campaign_id), "--watch", "--interval", "0.1"]
    watcher = subprocess.Popen(
        kolbot_command(*command),
        stdout=slave,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=tmp_path,
    )
    os.close(slave)
    seen = bytearray()
    try:
        deadline = time.monotonic() + 30
        _read_until(master, "0/3", seen, deadline)
        # The broadcast moves on: the bar follows, and ends when nothing is left to send.
        asyncio.run(_finish_broadcast(database))
        output = _read_until(master, "slots left 50 of 50", seen, deadline)
        assert watcher.wait(timeout=30) == 0
    finally:
        if watcher.poll() is None:
            watcher.kill()
        os.close(master)
    assert "\r" in output
    assert "[------------------------------]   0% 0/3" in output
    full = "[##############################] 100% 3/3  sent 2 blocked 1 failed 0 queued 0"
    assert full in output
    assert output.rstrip().endswith(
        "accepted 0  declined 0  posts submitted 0  slots left 50 of 50"
    )


async def test_list_and_status_leave_the_bot_free_to_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Figures of a campaign of a million take a while, and list shows fifty: the bot on the
    same file must go on committing meanwhile, so they are read on a snapshot."""
    database = tmp_path / "kolbot.db"
    campaign_id = await _broadcasting(database)
    store = await SqliteStore.open(database, TTL)
    counting = SqliteCampaigns.figures
    wrote: list[int] = []

    async def figures_while_someone_writes(
        self: SqliteCampaigns, campaign: int
    ) -> CampaignFigures:
        async with asyncio.timeout(5), store.unit_of_work() as uow:
            wrote.append((await uow.agencies.create("Meanwhile")).id)
        return await counting(self, campaign)

    monkeypatch.setattr(SqliteCampaigns, "figures", figures_while_someone_writes)
    try:
        assert await campaign_cli._list(store, None, 50) == 0
        assert await campaign_cli._status(store, campaign_id, False, 1.0) == 0
    finally:
        await store.close()
    assert len(wrote) == 2
    out = capsys.readouterr().out
    assert "Acme: Winter boots" in out
    assert "influencers matched 3\noffer cards by private message: queued 3" in out
