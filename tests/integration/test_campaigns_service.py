"""The campaign operations on a real SQLite file: what each allows, refuses and audits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.services import campaigns as service
from storage.clock import utcnow
from storage.models import AuditEntry, Commission, NewCampaign
from storage.sqlite import SqliteStore
from tests.integration.test_campaigns_storage import influencer

TTL = timedelta(days=7)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "k.db", TTL)
    yield opened
    await opened.close()


def draft(agency_id: int, days: float = 10) -> NewCampaign:
    return NewCampaign(
        agency_id=agency_id,
        brand="Acme",
        title="Boots",
        brief="Snow.",
        commission=Commission.percent(1000),
        slots=2,
        deadline=utcnow() + timedelta(days=days),
        landing_url="https://acme.example",
        created_by="telegram:7",
    )


async def entries(store: SqliteStore) -> list[tuple[str, str, str, str]]:
    async with store.reading() as uow:
        rows: list[AuditEntry] = await uow.audit.tail(100)
    return [(e.actor, e.action, e.outcome, e.detail) for e in rows]


async def test_create_and_publish_in_one_unit_of_work(store: SqliteStore) -> None:
    async with store.unit_of_work() as uow:
        agency = await uow.agencies.create("Acme Media")
        created = await service.create(uow, draft(agency.id), "telegram:7", publish=True)
    assert created.status == "publishing"
    async with store.reading() as uow:
        picked = await uow.campaigns.in_status("publishing")
    assert [c.id for c in picked] == [created.id]
    assert await entries(store) == [
        ("telegram:7", "campaign.create", "allowed", "Boots"),
        ("telegram:7", "campaign.publish", "allowed", "draft -> publishing"),
    ]


async def test_a_failed_unit_of_work_publishes_nothing(store: SqliteStore) -> None:
    async with store.unit_of_work() as uow:
        agency = await uow.agencies.create("Acme Media")

    async def publish_then_fail() -> None:
        async with store.unit_of_work() as uow:
            await service.create(uow, draft(agency.id), "telegram:7", publish=True)
            raise RuntimeError("the reply could not be queued")

    with pytest.raises(RuntimeError):
        await publish_then_fail()
    async with store.reading() as uow:
        assert await uow.campaigns.of_agency(agency.id) == []
        assert await uow.audit.tail(10) == []


async def test_changes_follow_the_status_and_the_agency(store: SqliteStore) -> None:
    async with store.unit_of_work() as uow:
        agency = await uow.agencies.create("Acme Media")
        other = await uow.agencies.create("Brandly")
        campaign = await service.create(uow, draft(agency.id), "cli")
        await uow.people.import_many([influencer(n) for n in (1, 2, 3)])
        await uow.offers.add_many(campaign.id, [1, 2, 3], utcnow())

    async def act(action: service.Action, agency_id: int | None) -> service.Change:
        async with store.unit_of_work() as uow:
            return await service.apply(uow, campaign.id, action, "someone", agency_id=agency_id)

    assert (await act("publish", other.id)).outcome == "other_agency"
    assert (await act("pause", agency.id)).outcome == "not_now"
    assert (await act("resume", None)).outcome == "not_now"
    assert (await act("publish", agency.id)).outcome == "done"
    async with store.unit_of_work() as uow:
        # The publishing job finished: a later resume returns to published, not publishing.
        await uow.campaigns.change_status(campaign.id, ["publishing"], "published", utcnow())
        accepted = await uow.offers.accept(1, 1, "ref-1", utcnow())
    assert accepted.outcome == "accepted"
    assert (await act("pause", agency.id)).outcome == "done"
    resumed = await act("resume", agency.id)
    assert resumed.campaign is not None
    assert resumed.campaign.status == "published"
    closed = await act("close", None)
    assert closed.campaign is not None
    assert closed.campaign.status == "closed"
    assert (await act("close", agency.id)).outcome == "not_now"
    async with store.unit_of_work() as uow:
        assert (await service.apply(uow, 99, "close", "someone", agency_id=None)).outcome == (
            "unknown"
        )
        found = await service.report(uow, campaign.id)
        listed = await service.reports(uow, agency.id)
        everyone = await service.reports(uow, None)
    assert found is not None
    assert (found.figures.accepted, found.figures.withdrawn) == (1, 2)
    assert [r.campaign.id for r in listed] == [r.campaign.id for r in everyone] == [campaign.id]
    assert [(a, o, d) for _, a, o, d in await entries(store)] == [
        ("campaign.create", "allowed", "Boots"),
        ("campaign.publish", "refused", f"an admin of agency {other.id}"),
        ("campaign.pause", "refused", "the campaign is draft"),
        ("campaign.resume", "refused", "the campaign is draft"),
        ("campaign.publish", "allowed", "draft -> publishing"),
        ("campaign.pause", "allowed", "published -> paused"),
        ("campaign.resume", "allowed", "paused -> published"),
        ("campaign.close", "allowed", "published -> closed"),
        ("campaign.close", "refused", "the campaign is closed"),
        ("campaign.close", "refused", "no such campaign"),
    ]


async def test_a_campaign_past_its_deadline_is_not_published(store: SqliteStore) -> None:
    async with store.unit_of_work() as uow:
        agency = await uow.agencies.create("Acme Media")
        late = await uow.campaigns.create(draft(agency.id, days=-1))
        change = await service.apply(uow, late.id, "publish", "cli", agency_id=None)
        stored = await uow.campaigns.get(late.id)
    assert change.outcome == "past_deadline"
    assert stored is not None
    assert stored.status == "draft"
    assert service.available(stored) == ["publish", "close"]
