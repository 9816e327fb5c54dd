"""What the figures say of offers held for quiet hours, answered through a campaign's link,
or left when it closed: each figure says what it counts, and what waits says until when.

Anna lives in Berlin (UTC+1 in December): a card published at 22:30 UTC, 23:30 there, waits
for 08:00 there, 07:00 UTC: 08:00 in Warsaw too, where the agency's admin and the operator's
terminal are.
"""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine

from bot.app import App
from bot.i18n import translator
from bot.services.campaigns import report
from bot.services.publishing import close, publish
from bot.settings import Settings
from storage.clock import utcnow
from storage.models import Campaign, CampaignFigures, Commission, NewCampaign
from tests.clock import kolbot_command
from tests.fakes.platform import FakePlatform, Person
from tests.fakes.store import drained
from tests.integration.offers_setup import campaign, member
from tests.integration.signup import Answers, sign_up
from tests.integration.test_roles import new_agency

NIGHT = datetime(2026, 12, 9, 22, 30, tzinfo=UTC)
MORNING = datetime(2026, 12, 10, 7, 0, tzinfo=UTC)
EN = translator("en")


def kolbot(settings: Settings, *args: str, zone: str) -> list[str]:
    """``kolbot ARGS`` on the app's database, on a terminal in ``zone``: its output lines."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KOLBOT_")}
    env |= {
        "KOLBOT_DATABASE": str(settings.database),
        "KOLBOT_SECRET_KEY": "held-figures-test-key",
        "TZ": zone,
    }
    done = subprocess.run(
        kolbot_command(*args),
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(settings.database).parent,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


async def _publish(app: App, made: Campaign) -> None:
    assert await publish(app.store, made.id)
    app.outbox.wake()
    await drained(app)


async def _figures(app: App, made: Campaign) -> CampaignFigures:
    async with app.store.reading() as uow:
        found = await report(uow, made.id)
    assert found is not None
    return found.figures


async def test_the_cli_says_how_many_wait_for_quiet_hours_and_until_when(
    app: App, platform: FakePlatform, settings: Settings, clock: time_machine.Traveller
) -> None:
    await member(app, platform, "1")
    clock.move_to(NIGHT)
    hats = await campaign(app, status="publishing", title="Winter hats")
    await _publish(app, hats)

    assert kolbot(settings, "campaign", "status", str(hats.id), zone="Europe/Warsaw") == [
        f"campaign {hats.id}: Acme: Winter hats (published)",
        "influencers matched 1",
        "offer cards by private message: queued 1  sent 0  blocked 0 (chat unreachable)  failed 0",
        "  of the queued, 1 held for their people's quiet hours, until 2026-12-10 07:00 UTC "
        "(2026-12-10 08:00 CET here)",
        "answers, on a card or through the campaign's link: accepted 0  declined 0  "
        "posts submitted 0  slots left 3 of 3",
    ]
    # Nothing is on its way before morning: a watch ends, and says what waits.
    async with app.store.reading() as uow:
        found = await report(uow, hats.id)
    assert found is not None
    assert not found.broadcasting

    # The signup's replies went; the card waits for a time she chose, so it is no backlog.
    status = kolbot(settings, "outbox", "status", zone="Europe/Warsaw")
    assert not any(line.startswith("oldest unsent") for line in status)
    assert status[-1] == (
        "fake: of the pending, 1 held for their people's quiet hours, until "
        "2026-12-10 07:00 UTC (2026-12-10 08:00 CET here)"
    )
    assert kolbot(settings, "outbox", "status", zone="UTC")[-1] == (
        "fake: of the pending, 1 held for their people's quiet hours, until 2026-12-10 07:00 UTC"
    )


async def test_campaigns_in_chat_say_until_when_in_the_admins_zone(
    app: App, platform: FakePlatform, clock: time_machine.Traveller
) -> None:
    agency_id, code = await new_agency(app, "Acme Media")
    ola = Person(platform, user_id="7")
    await sign_up(ola, Answers(name="Ola", country="PL", handle="ola.insta"))
    await ola.say(f"/agency {code}")
    await member(app, platform, "1")
    await member(app, platform, "2", name="Ben", handle="creator2")
    clock.move_to(NIGHT)
    async with app.store.unit_of_work() as uow:
        hats = await uow.campaigns.create(
            NewCampaign(
                agency_id=agency_id,
                brand="Acme",
                title="Winter hats",
                brief="Show the hats in snow.",
                commission=Commission.percent(1250),
                countries=("DE",),
                niches=("fashion",),
                min_followers=1000,
                slots=3,
                deadline=utcnow() + timedelta(days=10),
                landing_url="https://acme.example/hats",
                created_by="cli",
            ),
            "publishing",
        )
    await _publish(app, hats)
    # Ben answers through the campaign's link before his card could go.
    ben = Person(platform, user_id="2")
    await ben.say(f"/start offer-{hats.id}")
    await ben.press("Accept")

    _, card = await ola.say("/campaigns")
    morning = EN.datetime(MORNING, "Europe/Warsaw")
    assert morning == "Dec 10, 2026, 8:00\u202fAM"
    for line in [
        "Influencers matched: 2",
        "Offer cards by private message: queued 1 · sent 0 · blocked 0 (chat unreachable) · "
        "failed 0",
        f"1 of them waits for the person's quiet hours to end: {morning}",
        "No card for 1 of those matched: on a daily digest or with offers off, offered "
        "through the campaign's link, or withdrawn before it went",
        "Answers, on a card or through the campaign's link: accepted 1 · declined 0 · "
        "posts submitted 0 · slots left 2",
    ]:
        assert line in card.text.splitlines(), card.text


async def test_a_closed_campaign_has_nothing_queued(
    app: App, platform: FakePlatform, settings: Settings, clock: time_machine.Traveller
) -> None:
    anna, _ = await member(app, platform, "1")
    await member(app, platform, "2", name="Ben", handle="creator2")
    clock.move_to(NIGHT)
    hats = await campaign(app, status="publishing", title="Winter hats")
    await _publish(app, hats)
    # Anna takes a place through the campaign's link while her card waits for the morning:
    # the card has nothing left to ask.
    await anna.say(f"/start offer-{hats.id}")
    [place] = await anna.press("Accept")
    assert place.text.startswith("You are in: Acme: Winter hats")
    figures = await _figures(app, hats)
    assert (figures.queued, figures.quiet, figures.sent, figures.accepted) == (1, 1, 0, 1)
    assert figures.without_card == 1

    async with app.store.unit_of_work() as uow:
        assert await close(uow, hats.id, "closed", "cli")
    figures = await _figures(app, hats)
    assert (figures.queued, figures.quiet, figures.sent, figures.accepted) == (0, 0, 0, 1)
    assert figures.without_card == 2
    lines = kolbot(settings, "campaign", "status", str(hats.id), zone="UTC")
    assert lines[2:] == [
        "offer cards by private message: queued 0  sent 0  blocked 0 (chat unreachable)  failed 0",
        "  no card for 2 of those matched: on a daily digest or with offers off, offered "
        "through the campaign's link, or withdrawn before it went",
        "answers, on a card or through the campaign's link: accepted 1  declined 0  "
        "posts submitted 0  slots left 2 of 3",
    ]

    # Closed while its cards wait, before settling withdrew them: none of them goes now
    # (a closed campaign's card is not sent), so none is queued.
    coats = await campaign(app, status="publishing", brand="Bolt", title="Winter coats")
    await _publish(app, coats)
    assert (await _figures(app, coats)).queued == 2
    async with app.store.unit_of_work() as uow:
        assert await uow.campaigns.change_status(coats.id, ["published"], "closed", utcnow())
    assert (await _figures(app, coats)).queued == 0
