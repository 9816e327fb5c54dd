"""An agency's own admins are not offered its campaigns unless the agency allows it: publishing,
a newcomer's approval and a campaign's link all leave them out, and ``kolbot agency set``
changes that."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.services.agencies import join, make_invite, set_offers_to_admins
from bot.services.publishing import publish
from bot.services.review import approve
from storage.base import Store
from storage.clock import utcnow
from storage.sqlite import SqliteStore
from tests.integration.test_operator_cli import kolbot
from tests.integration.test_publishing import (
    TTL,
    add_people,
    campaign,
    offered_people,
    person,
    rows,
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "kolbot.db", TTL)
    yield opened
    await opened.close()


async def agency_of(store: Store, campaign_id: int) -> int:
    async with store.reading() as uow:
        made = await uow.campaigns.get(campaign_id)
    assert made is not None
    return made.agency_id


async def make_admin(store: Store, agency_id: int, telegram_user: int) -> None:
    """The account joins the agency as its admins do: with an invite code."""
    async with store.unit_of_work() as uow:
        agency = await uow.agencies.get(agency_id)
        assert agency is not None
        invite = await make_invite(uow, agency, "cli")
        joined = await join(uow, invite.code, "telegram", str(telegram_user))
    assert joined.outcome == "joined"


async def test_publishing_leaves_out_the_agencys_own_admins_unless_it_allows_them(
    store: SqliteStore,
) -> None:
    # Person n's account is telegram:1000+n. Person 1 admins the campaign's agency, person 3
    # another agency; person 2 is only an influencer.
    await add_people(store, [person(1), person(2), person(3)])
    first = await campaign(store)
    agency_id = await agency_of(store, first)
    await make_admin(store, agency_id, 1001)
    other = await campaign(store)
    await make_admin(store, await agency_of(store, other), 1003)
    async with store.reading() as uow:
        assert await uow.offers.count_matching(first) == 2

    assert await publish(store, first)
    assert offered_people(store, first) == {2, 3}

    async with store.unit_of_work() as uow:
        allowed = await set_offers_to_admins(uow, agency_id, True, "cli")
    assert allowed is not None
    assert allowed.offers_to_admins
    second = await campaign(store, agency_id=agency_id)
    assert await publish(store, second)
    assert offered_people(store, second) == {1, 2, 3}


async def test_an_admin_approved_later_or_opening_the_link_is_not_offered_it(
    store: SqliteStore,
) -> None:
    await add_people(store, [person(1)])
    async with store.unit_of_work() as uow:
        await uow.people.change_status(1, "approved", "applicant", None, "cli")
    open_one = await campaign(store)
    await make_admin(store, await agency_of(store, open_one), 1001)
    assert await publish(store, open_one)

    async with store.unit_of_work() as uow:
        assert await approve(uow, 1, "cli") == "done"
        asked = await uow.offers.offer_to(open_one, 1, utcnow(), asked=True)

    assert asked is None
    assert offered_people(store, open_one) == set()


async def test_agency_set_changes_the_setting_and_agency_list_shows_it(tmp_path: Path) -> None:
    database = tmp_path / "kolbot.db"
    assert kolbot(database, "db", "upgrade").returncode == 0
    assert kolbot(database, "agency", "create", "Acme Media").returncode == 0
    listed = kolbot(database, "agency", "list").stdout.splitlines()
    assert "offers to admins" in listed[0]
    assert listed[1].split()[4] == "off"

    changed = kolbot(database, "agency", "set", "1", "--offers-to-admins", "on")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout == "agency 1 (Acme Media): its admins are offered its campaigns\n"
    assert kolbot(database, "agency", "list").stdout.splitlines()[1].split()[4] == "on"
    store = await SqliteStore.open(database, TTL)
    try:
        audited = rows(store, "SELECT actor, action, target, detail FROM audit_log")
    finally:
        await store.close()
    assert ("cli", "agency.set", "agency:1", "offers_to_admins=on") in audited

    missing = kolbot(database, "agency", "set", "7", "--offers-to-admins", "off")
    assert missing.returncode == 1
    assert missing.stderr == "kolbot: there is no agency 7\n"
