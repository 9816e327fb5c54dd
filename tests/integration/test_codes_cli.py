"""``kolbot campaign codes import|export`` on a real database, as an operator runs them."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from bot import codes_cli
from bot.services.offers import accept_offer
from storage.clock import utcnow
from storage.models import Commission, NewCampaign, Person
from storage.sqlite import SqliteStore
from storage.sqlite.people import SqlitePeople
from tests.integration.test_offer_slots import _profile
from tests.integration.test_operator_cli import kolbot


async def _campaign_with_offers(
    database: Path, people: int, slots: int, names: tuple[str, ...] = ()
) -> int:
    profiles = [_profile(n) for n in range(1, people + 1)]
    for index, name in enumerate(names):
        profile, account = profiles[index]
        profiles[index] = (profile.model_copy(update={"display_name": name}), account)
    store = await SqliteStore.open(database, timedelta(days=7))
    try:
        async with store.unit_of_work() as uow:
            await uow.people.import_many(profiles)
            agency = await uow.agencies.create("Acme Media")
            made = await uow.campaigns.create(
                NewCampaign(
                    agency_id=agency.id,
                    brand="Acme",
                    title="Boots",
                    brief="Snow.",
                    commission=Commission.percent(1000),
                    slots=slots,
                    deadline=utcnow() + timedelta(days=5),
                    landing_url="https://acme.example/boots",
                    created_by="cli",
                ),
                "published",
            )
            await uow.offers.add_many(made.id, list(range(1, people + 1)), utcnow())
    finally:
        await store.close()
    return made.id


async def _accept(database: Path, campaign_id: int, person_id: int) -> str:
    store = await SqliteStore.open(database, timedelta(days=7))
    try:
        async with store.unit_of_work() as uow:
            person = await uow.people.get(person_id)
            offer = await uow.offers.of_campaign_person(campaign_id, person_id)
            assert person is not None
            assert offer is not None
            result = await accept_offer(uow, offer.id, person, utcnow())
    finally:
        await store.close()
    assert result.outcome == "accepted"
    return result.code


async def test_import_reports_bad_lines_and_imports_nothing(tmp_path: Path) -> None:
    database = tmp_path / "kolbot.db"
    campaign_id = await _campaign_with_offers(database, people=1, slots=3)
    codes = tmp_path / "codes.txt"
    codes.write_text("GOOD-1\nbad code\n\nX\n", encoding="utf-8")
    refused = kolbot(database, "campaign", "codes", "import", str(campaign_id), str(codes))
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        f"kolbot: {codes}: line 2: 'bad code' is not a promo code",
        f"kolbot: {codes}: line 4: 'X' is not a promo code",
    ]
    exported = kolbot(database, "campaign", "codes", "export", str(campaign_id))
    assert exported.stdout.splitlines() == ["code,source,status,offer,person,name,ref"]
    codes.write_text("GOOD-1\n", encoding="utf-8")
    missing = kolbot(database, "campaign", "codes", "import", "99", str(codes))
    assert missing.returncode == 1
    assert missing.stderr == "kolbot: there is no campaign 99\n"


async def test_imported_codes_go_out_first_and_the_export_says_who_holds_each(
    tmp_path: Path,
) -> None:
    database = tmp_path / "kolbot.db"
    campaign_id = await _campaign_with_offers(database, people=3, slots=3)
    codes = tmp_path / "codes.txt"
    codes.write_text("SHOP-AAA1\nSHOP-BBB2\nSHOP-AAA1\n", encoding="utf-8")
    first = kolbot(database, "campaign", "codes", "import", str(campaign_id), str(codes))
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "skipped line 3: SHOP-AAA1 repeats line 1",
        f"imported 2 codes for campaign {campaign_id}; 2 not given out yet",
        "3 slots are left: once the free codes run out, kolbot makes codes up for those who "
        "accept (kolbot campaign codes export lists them)",
    ]
    codes.write_text("SHOP-BBB2\n", encoding="utf-8")
    again = kolbot(database, "campaign", "codes", "import", str(campaign_id), str(codes))
    assert again.stdout.splitlines()[0] == "skipped SHOP-BBB2: imported before"

    assert await _accept(database, campaign_id, 2) == "SHOP-AAA1"
    assert await _accept(database, campaign_id, 3) == "SHOP-BBB2"
    made_up = await _accept(database, campaign_id, 1)
    assert made_up.startswith("ZOE-")

    exported = kolbot(database, "campaign", "codes", "export", str(campaign_id))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(r["code"], r["source"], r["status"], r["person"], r["name"]) for r in rows] == [
        ("SHOP-AAA1", "imported", "accepted", "2", "Zoe 2"),
        ("SHOP-BBB2", "imported", "accepted", "3", "Zoe 3"),
        (made_up, "made up", "accepted", "1", "Zoe 1"),
    ]
    assert all(r["ref"] for r in rows)
    tail = kolbot(database, "audit", "tail").stdout
    assert "allowed cli campaign.codes.import" in tail
    assert "allowed cli campaign.codes.export" in tail


async def test_a_name_that_looks_like_a_formula_is_exported_as_text(tmp_path: Path) -> None:
    """The shop opens the export in a spreadsheet: a name an influencer chose, such as
    ``=HYPERLINK(...)``, must stay text there, never run as a formula."""
    database = tmp_path / "kolbot.db"
    names = ('=HYPERLINK("https://evil.example","Pay")', "+Zoe", "-Zoe", "@Zoe")
    campaign_id = await _campaign_with_offers(database, people=4, slots=4, names=names)
    for person_id in range(1, 5):
        await _accept(database, campaign_id, person_id)
    exported = kolbot(database, "campaign", "codes", "export", str(campaign_id))
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert sorted(row["name"] for row in rows) == sorted("'" + name for name in names)


async def test_an_export_leaves_the_bot_free_to_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An export of a campaign of 100,000 looks up everyone who holds a code: the bot on the
    same file must go on committing replies meanwhile, so the export reads a snapshot."""
    database = tmp_path / "kolbot.db"
    campaign_id = await _campaign_with_offers(database, people=2, slots=2)
    for person_id in (1, 2):
        await _accept(database, campaign_id, person_id)
    store = await SqliteStore.open(database, timedelta(days=7))
    looking_up = SqlitePeople.get
    wrote: list[int] = []

    async def get_while_someone_writes(self: SqlitePeople, person_id: int) -> Person | None:
        async with asyncio.timeout(5), store.unit_of_work() as uow:
            wrote.append((await uow.agencies.create("Meanwhile")).id)
        return await looking_up(self, person_id)

    monkeypatch.setattr(SqlitePeople, "get", get_while_someone_writes)
    try:
        args = argparse.Namespace(codes_command="export", id=campaign_id)
        assert await codes_cli.run(store, args) == 0
    finally:
        await store.close()
    assert len(wrote) == 2
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert sorted(row["name"] for row in rows) == ["Zoe 1", "Zoe 2"]
