"""Slots under load: many people pressing Accept at once through the service, each press its
own unit of work, on one SQLite file opened by several stores (as several processes would)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bot.services.offers import CODE_ALPHABET, accept_offer
from storage.clock import utcnow
from storage.models import (
    AccountLink,
    Commission,
    NewCampaign,
    Profile,
    SealedPayout,
    SocialClaim,
)
from storage.sqlite import SqliteStore

TTL = timedelta(days=7)


def _profile(n: int) -> tuple[Profile, AccountLink]:
    profile = Profile(
        display_name=f"Zoe {n}",
        language="en",
        country="PL",
        timezone="Europe/Warsaw",
        socials=(SocialClaim(network="instagram", handle=f"zoe{n}", followers=5000),),
        niches=("fashion",),
        payout=SealedPayout(method="paypal", sealed="s", masked="m", fingerprint=f"f{n}"),
        consent_version="2026-11-01",
        consent_at=utcnow(),
    )
    return profile, AccountLink(platform="fake", platform_user_id=str(n), dm_chat=f"fake:{n}")


async def test_200_simultaneous_accepts_for_50_slots_give_exactly_50(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    stores = [await SqliteStore.open(path, TTL) for _ in range(4)]
    try:
        async with stores[0].unit_of_work() as uow:
            await uow.people.import_many([_profile(n) for n in range(1, 201)])
            agency = await uow.agencies.create("Acme Media")
            made = await uow.campaigns.create(
                NewCampaign(
                    agency_id=agency.id,
                    brand="Acme",
                    title="Boots",
                    brief="Snow.",
                    commission=Commission.percent(1000),
                    slots=50,
                    deadline=utcnow() + timedelta(days=5),
                    landing_url="https://acme.example/boots",
                    created_by="cli",
                ),
                "published",
            )
            people = [await uow.people.get(n) for n in range(1, 201)]
            await uow.offers.add_many(made.id, list(range(1, 201)), utcnow())
            offers = [await uow.offers.of_campaign_person(made.id, n) for n in range(1, 201)]

        async def press(index: int) -> tuple[str, str]:
            person, offer = people[index], offers[index]
            assert person is not None
            assert offer is not None
            async with stores[index % 4].unit_of_work() as uow:
                result = await accept_offer(uow, offer.id, person, utcnow())
            return result.outcome, result.code

        results = await asyncio.gather(*(press(i) for i in range(200)))
        async with stores[1].reading() as uow:
            campaign = await uow.campaigns.get(made.id)
            accepted = await uow.offers.of_person(1, ["accepted"])
        rows = await stores[2].db.fetchall(
            "SELECT COUNT(*), COUNT(DISTINCT promo_code), COUNT(DISTINCT ref_code) FROM offers "
            "WHERE campaign_id = ? AND status = 'accepted'",
            (made.id,),
        )
    finally:
        for opened in stores:
            await opened.close()
    assert Counter(outcome for outcome, _ in results) == {"accepted": 50, "full": 150}
    codes = [code for outcome, code in results if outcome == "accepted"]
    assert len(set(codes)) == 50
    assert all(c.startswith("ZOE-") and set(c[4:]) <= set(CODE_ALPHABET) for c in codes)
    assert tuple(rows[0]) == (50, 50, 50)
    assert campaign is not None
    assert campaign.slots_left == 0
    assert len(accepted) <= 1
