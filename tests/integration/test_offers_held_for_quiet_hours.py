"""An offer held for the person's quiet hours waits for them alone: what else is due for that
chat goes past it, and a change of their settings re-times it at once.

Anna lives in Berlin (UTC+1 in December): her default quiet hours, 22:00 to 08:00, are 21:00
to 07:00 UTC, so a card published at 22:30 UTC (23:30 there) is held until 07:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from bot.app import App
from bot.services.publishing import close, publish
from bot.settings import Settings
from jobs.offer_alerts import send_digests
from storage.models import Campaign
from tests.conftest import restarted
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import drained
from tests.integration.offers_setup import campaign, member, send_offer

NIGHT = datetime(2026, 12, 9, 22, 30, tzinfo=UTC)
MORNING = "2026-12-10T07:00:00.000000+00:00"


async def _card_row(app: App, made: Campaign) -> tuple[str, str, int, str | None]:
    """(status, next attempt, held for quiet hours, last error) of the campaign's one card."""
    [row] = await app.store.db.fetchall(
        "SELECT status, next_attempt_at, quiet, last_error FROM deliveries "
        "WHERE dedupe_key LIKE ?",
        (f"offer:{made.id}:%",),
    )
    return row["status"], row["next_attempt_at"], row["quiet"], row["last_error"]


async def _published_at(
    app: App, clock: time_machine.Traveller, when: datetime, **fields: str
) -> Campaign:
    clock.move_to(when)
    made = await campaign(app, status="publishing", **fields)
    assert await publish(app.store, made.id)
    app.outbox.wake()
    await drained(app)
    return made


def _cards(anna: Person, title: str) -> list[str]:
    """The offer cards of that title she got: with Accept on them, not edits of others."""
    return [
        m.text
        for m in anna.inbox
        if title in m.text and "Accept" in anna.labels(m) and m.edit_message_id is None
    ]


async def test_what_is_due_goes_past_a_card_held_for_quiet_hours(
    app: App, platform: FakePlatform, clock: time_machine.Traveller
) -> None:
    anna, stored = await member(app, platform, "1")
    # By day she took a place in another campaign: its card went, and carries her link.
    boots = await campaign(app, brand="Bolt", title="Rain boots")
    await send_offer(app, boots, stored)
    [place] = await anna.press("Accept")
    hats = await _published_at(app, clock, NIGHT, title="Winter hats")
    assert await _card_row(app, hats) == ("pending", MORNING, 1, None)
    assert _cards(anna, "Winter hats") == []

    # The boots campaign closes at night: the edit of her card goes now, past the held one.
    async with app.store.unit_of_work() as uow:
        assert await close(uow, boots.id, "closed", "cli")
    app.outbox.wake()
    await drained(app)
    [edit] = [m for m in anna.inbox if "Your place in it stands" in m.text]
    assert edit.edit_message_id is not None
    assert edit.text.startswith(place.text)
    assert await _card_row(app, hats) == ("pending", MORNING, 1, None)

    # The held card's own campaign closes before morning: the card never goes, nor any edit.
    async with app.store.unit_of_work() as uow:
        assert await close(uow, hats.id, "closed", "cli")
    clock.move_to(datetime(2026, 12, 10, 7, 0, 1, tzinfo=UTC))
    app.outbox.wake()
    await drained(app)
    assert [m.text for m in anna.inbox if "Winter hats" in m.text] == []
    assert (await _card_row(app, hats))[::3] == ("sent", "withdrawn")


async def test_turning_quiet_hours_off_sends_the_held_card_at_once(
    app: App, platform: FakePlatform, clock: time_machine.Traveller, settings: Settings
) -> None:
    anna, _ = await member(app, platform, "1")
    hats = await _published_at(app, clock, NIGHT, title="Winter hats")
    assert _cards(anna, "Winter hats") == []

    await anna.say("/settings")
    await anna.press("Quiet hours")
    [saved] = await anna.press("No quiet hours")
    assert "Quiet hours: none" in saved.text
    # Nothing nudges the sender: its next look at the table finds the card due.
    await drained(app)
    assert len(_cards(anna, "Winter hats")) == 1
    assert (await _card_row(app, hats))[0] == "sent"

    # A second campaign now is due at once, and nothing waits in front of it.
    later = datetime(2026, 12, 9, 22, 40, tzinfo=UTC)
    coats = await _published_at(app, clock, later, brand="Bolt", title="Winter coats")
    assert (await _card_row(app, coats))[0] == "sent"
    assert len(_cards(anna, "Winter coats")) == 1

    # Quiet hours again, ending later: a new card waits for their new end, across a restart.
    await anna.say("/settings")
    await anna.press("Quiet hours")
    await anna.press("22:00")
    await anna.press("10:00")
    later = datetime(2026, 12, 9, 22, 50, tzinfo=UTC)
    scarves = await _published_at(app, clock, later, brand="Cosy", title="Scarves")
    ten = "2026-12-10T09:00:00.000000+00:00"
    assert await _card_row(app, scarves) == ("pending", ten, 1, None)
    async with restarted(app, settings, platform) as (again, fake):
        # She moves the end an hour earlier: the held card follows.
        anna = Person(fake, user_id="1")
        await anna.say("/settings")
        await anna.press("Quiet hours")
        await anna.press("22:00")
        await anna.press("09:00")
        assert await _card_row(again, scarves) == (
            "pending",
            "2026-12-10T08:00:00.000000+00:00",
            1,
            None,
        )
        clock.move_to(datetime(2026, 12, 10, 8, 0, 1, tzinfo=UTC))
        again.outbox.wake()
        await drained(again)
        assert len(_cards(anna, "Scarves")) == 1


async def test_a_held_card_gives_way_to_the_digest_or_to_offers_off(
    app: App, platform: FakePlatform, clock: time_machine.Traveller
) -> None:
    anna, stored = await member(app, platform, "1")
    hats = await _published_at(app, clock, NIGHT, title="Winter hats")
    # On a daily digest at 09:00: the digest names the offer, so its card is withdrawn.
    await anna.say("/settings")
    await anna.press("Daily digest")
    await anna.press("09:00")
    assert (await _card_row(app, hats))[::3] == ("sent", "withdrawn")
    clock.move_to(datetime(2026, 12, 10, 8, 5, tzinfo=UTC))  # 09:05 in Berlin
    assert await send_digests(app.services) == 1
    app.outbox.wake()
    await drained(app)
    assert _cards(anna, "Winter hats") == []
    assert "Acme: Winter hats" in anna.last.text
    assert anna.last.text.startswith("1 new offer for you:")

    # Back on instant alerts, then offers off: a card held meanwhile never goes; the offer
    # is still in /offers.
    await anna.say("/settings")
    await anna.press("Instantly")
    next_night = datetime(2026, 12, 10, 22, 30, tzinfo=UTC)
    coats = await _published_at(app, clock, next_night, brand="Bolt", title="Winter coats")
    assert (await _card_row(app, coats))[:3] == (
        "pending",
        "2026-12-11T07:00:00.000000+00:00",
        1,
    )
    await anna.press("Off")
    assert (await _card_row(app, coats))[::3] == ("sent", "withdrawn")
    listed = await anna.say("/offers")
    assert any("Winter coats" in m.text for m in listed)
    async with app.store.reading() as uow:
        offer = await uow.offers.of_campaign_person(coats.id, stored.id)
    assert offer is not None
    assert offer.status == "offered"
