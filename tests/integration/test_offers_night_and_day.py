"""An offer, published at any hour of any date, reaches its person and can be accepted.

Each case sets its instant (that is the point): Anna lives in Germany, so the default quiet
hours, 22:00 to 08:00 in Berlin, are 21:00 to 07:00 UTC in winter and 20:00 to 06:00 UTC in
summer. At night the card waits for 08:00 Berlin time, daylight-saving changes and the turn
of a year included; by day it goes at once. Either way Accept gives a link.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from bot.app import App
from bot.services.publishing import publish
from storage.clock import utcnow
from tests.fakes.platform import FakePlatform
from tests.fakes.store import drained
from tests.integration.offers_setup import campaign, member


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("published", "held_until"),
    [
        # 02:30 in Berlin on a winter night: held until 08:00 CET.
        ("2026-12-09T01:30:00", "2026-12-09T07:00:00"),
        # 23:59 UTC on New Year's Eve, 00:59 on 1 January in Berlin.
        ("2026-12-31T23:59:00", "2027-01-01T07:00:00"),
        # 01:59:30 CET, half a minute before the clocks go forward: 08:00 is CEST.
        ("2027-03-28T00:59:30", "2027-03-28T06:00:00"),
        # 03:00:30 CEST, just after the clocks went forward.
        ("2027-03-28T01:00:30", "2027-03-28T06:00:00"),
        # 02:30 CEST, half an hour before the clocks go back: 08:00 is CET.
        ("2027-10-31T00:30:00", "2027-10-31T07:00:00"),
        # Daytime: at once (None), a leap day and an ordinary afternoon.
        ("2028-02-29T12:00:00", None),
        ("2026-12-09T15:00:00", None),
        ("2027-07-01T05:59:00", "2027-07-01T06:00:00"),
    ],
)
async def test_an_offer_published_at_any_hour_reaches_its_person(
    app: App,
    platform: FakePlatform,
    clock: time_machine.Traveller,
    published: str,
    held_until: str | None,
) -> None:
    # Signed up and approved by day; the campaign is published at the instant under test.
    anna, _ = await member(app, platform, "1")
    clock.move_to(_utc(published))
    made = await campaign(app, status="publishing")
    before = len(anna.inbox)
    assert await publish(app.store, made.id)
    app.outbox.wake()
    await drained(app)
    [[due]] = await app.store.db.fetchall(
        "SELECT next_attempt_at FROM deliveries WHERE ref LIKE 'offer:%'"
    )
    if held_until is None:
        assert len(anna.inbox) == before + 1
    else:
        assert len(anna.inbox) == before
        assert datetime.fromisoformat(due) == _utc(held_until)
        clock.move_to(_utc(held_until))
        app.outbox.wake()
        await drained(app)
        assert len(anna.inbox) == before + 1
    card = anna.last
    assert "Winter boots" in card.text
    [accepted] = await anna.press(anna.labels(card)[0])
    assert "https://acme.example/boots" in accepted.text
    assert utcnow() >= _utc(published)
