"""Members, published campaigns and offer cards for the offer tests, made as the product
makes them: a signup through the chat, an approval, a campaign row, and the card queued as
publishing queues it and rendered by the outbox when sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot.app import App
from bot.services import review
from bot.services.publishing import offer_delivery
from storage.clock import utcnow
from storage.models import Campaign, Commission, NewCampaign, Offer
from storage.models import Person as Stored
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import drained, people
from tests.integration.signup import Answers, sign_up


async def member(
    app: App, platform: FakePlatform, user_id: str, *, approve: bool = True, **answers: Any
) -> tuple[Person, Stored]:
    """Someone who signed up in the chat (with ``answers``), approved unless told not to."""
    person = Person(platform, user_id=user_id)
    await sign_up(person, replace(Answers(handle=f"creator{user_id}"), **answers))
    stored: Stored | None = await people(app).by_account(platform.name, user_id)
    assert stored is not None
    if approve:
        async with app.store.unit_of_work() as uow:
            assert await review.approve(uow, stored.id, "cli") == "done"
        await drained(app)
        stored = await people(app).get(stored.id)
        assert stored is not None
    return person, stored


async def campaign(app: App, status: str = "published", **changes: Any) -> Campaign:
    fields: dict[str, Any] = {
        "brand": "Acme",
        "title": "Winter boots",
        "brief": "Show the boots in snow.",
        "commission": Commission.percent(1250),
        "countries": ("DE", "PL"),
        "niches": ("fashion",),
        "min_followers": 1000,
        "slots": 3,
        "deadline": utcnow() + timedelta(days=10),
        "landing_url": "https://acme.example/boots?utm_source=kolbot&lang=de#buy",
        "created_by": "cli",
    }
    fields.update(changes)
    async with app.store.unit_of_work() as uow:
        agency = await uow.agencies.create(f"Agency of {fields['brand']}")
        made = await uow.campaigns.create(
            NewCampaign(agency_id=agency.id, **fields),
            status,  # type: ignore[arg-type]
        )
    return made


async def send_offer(app: App, made: Campaign, person: Stored) -> Offer:
    """Offer the campaign to the person as publishing does, and wait for the card to go out
    (rendered at send time). A person approved after the campaign was published has it
    already: their approval offered it."""
    async with app.store.unit_of_work() as uow:
        recipient = await uow.offers.offer_to(made.id, person.id, utcnow())
        if recipient is not None:
            await uow.outbox.enqueue([offer_delivery(made.id, recipient, utcnow())])
        offer = await uow.offers.of_campaign_person(made.id, person.id)
    assert offer is not None
    app.outbox.wake()
    await drained(app)
    return offer


async def offer_now(app: App, offer_id: int) -> Offer:
    async with app.store.reading() as uow:
        offer = await uow.offers.get(offer_id)
    assert offer is not None
    return offer
