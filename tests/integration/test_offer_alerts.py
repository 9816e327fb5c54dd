"""/settings, deadline reminders and daily digests, with a frozen clock.

The jobs and handlers read the time from ``storage.clock``; the tests set it. Anna lives in
Germany (Europe/Berlin, UTC+1 in December), so 22:00 to 08:00 there is 21:00 to 07:00 UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import App
from bot.services.offer_cards import AcceptOffer
from bot.settings import Settings
from handlers.access import NOT_ALLOWED
from handlers.alerts import SetDigestHour
from jobs.offer_alerts import send_digests, send_reminders
from jobs.scheduler import build_scheduler
from storage import clock
from storage.models import AlertSettings
from tests.fakes.platform import FakePlatform
from tests.integration.offers_setup import campaign, member, send_offer

# A deadline at 00:30 on 21 December in Berlin.
DEADLINE = datetime(2026, 12, 20, 23, 30, tzinfo=UTC)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Set the time that jobs and offer handlers see."""

    def set_time(moment: datetime) -> None:
        monkeypatch.setattr(clock, "utcnow", lambda: moment)

    return set_time


async def rows(app: App, prefix: str) -> list[tuple[str, str, str]]:
    """(dedupe key, next attempt, text) of outbox rows whose key starts with ``prefix``."""
    found = await app.store.db.fetchall(
        "SELECT dedupe_key, next_attempt_at, payload FROM deliveries WHERE dedupe_key LIKE ? "
        "ORDER BY id",
        (prefix + "%",),
    )
    return [(r["dedupe_key"], r["next_attempt_at"], r["payload"]) for r in found]


async def test_settings_choose_a_digest_hour_and_quiet_hours(
    app: App, platform: FakePlatform
) -> None:
    anna, stored = await member(app, platform, "1")
    [shown] = await anna.say("/settings")
    assert shown.text == (
        "Your settings (times are in your time zone, Europe/Berlin):\n"
        "New offers: as soon as they come\nQuiet hours: 22:00 to 08:00\n"
        "Offers and digests wait until your quiet hours end; replies never do."
    )
    assert anna.labels(shown) == ["Instantly", "Daily digest", "Off", "Quiet hours"]
    [hours] = await anna.press("Daily digest")
    assert hours.text.startswith("At what time should the daily digest come")
    assert len(anna.labels(hours)) == 24
    [saved] = await anna.press("19:00")
    assert "New offers: in a daily digest at 19:00" in saved.text
    [start] = await anna.press("Quiet hours")
    assert start.text == "When do your quiet hours start?"
    assert anna.labels(start)[-1] == "No quiet hours"
    [end] = await anna.press("23:00")
    assert end.text == "Quiet from 23:00. When do they end?"
    [done] = await anna.press("07:00")
    assert "Quiet hours: 23:00 to 07:00" in done.text
    async with app.store.reading() as uow:
        settings = await uow.alerts.get(stored.id)
    assert (settings.mode, settings.digest_hour) == ("digest", 19)
    assert (settings.quiet_start, settings.quiet_end) == (23 * 60, 7 * 60)

    await anna.press("Quiet hours")
    [none] = await anna.press("No quiet hours")
    assert "Quiet hours: none" in none.text
    [off] = await anna.press("Off")
    assert "New offers: off (see them with /offers)" in off.text
    [refused] = await anna.press_forged(SetDigestHour(hour=99).pack())
    assert refused.text == NOT_ALLOWED


async def test_reminders_48_and_2_hours_before_the_deadline(
    app: App, platform: FakePlatform, settings: Settings, frozen: Callable[[datetime], None]
) -> None:
    made = await campaign(app, deadline=DEADLINE, slots=5)
    anna, annas = await member(app, platform, "1")
    ben, bens = await member(app, platform, "2", name="Ben")
    cleo, cleos = await member(app, platform, "3", name="Cleo", language="pl")
    late, lates = await member(app, platform, "4", name="Dan")
    for person, stored in ((anna, annas), (ben, bens), (cleo, cleos)):
        await send_offer(app, made, stored)
        await person.press("Akceptuję" if person is cleo else "Accept")
    await ben.say("/submit")
    await ben.say("https://instagram.com/p/benpost")
    offer = await send_offer(app, made, lates)

    frozen(DEADLINE - timedelta(hours=49))
    assert await send_reminders(app.services) == 0
    # 00:30 in Berlin, 47 hours before: quiet, so the reminder waits until 08:00 there.
    frozen(DEADLINE - timedelta(hours=47))
    await late.press_stale(AcceptOffer(offer=offer.id).pack())  # after the 48-hour mark
    # Its last slots taken, the campaign closes: the places taken stand, and are reminded.
    async with app.store.unit_of_work() as uow:
        await uow.campaigns.change_status(made.id, ["published"], "closed", clock.utcnow())
    assert await send_reminders(app.services) == 2
    assert await send_reminders(app.services) == 0
    sent = await rows(app, "reminder:")
    assert [key for key, _, _ in sent] == [
        f"reminder:{o}:48h:fake:{u}" for o, u in ((1, "1"), (3, "3"))
    ]
    assert {when for _, when, _ in sent} == {"2026-12-19T07:00:00.000000+00:00"}
    assert "Reminder: your post for Acme: Winter boots is due by" in sent[0][2]
    assert "Your promo code: ANN-" in sent[0][2]
    assert "Przypomnienie: Twój post dla Acme: Winter boots" in sent[1][2]

    # Another process (a restart) on the same file knows what was sent.
    restarted = await App.open(settings)
    try:
        frozen(DEADLINE - timedelta(hours=46))
        assert await send_reminders(restarted.services) == 0
    finally:
        await restarted.close()
    async with app.store.reading() as uow:
        anna_offer = await uow.offers.of_campaign_person(made.id, annas.id)
    assert anna_offer is not None
    assert anna_offer.reminded_48h_at == DEADLINE - timedelta(hours=47)

    # 22:30 in Berlin: quiet, but the last reminder is never held. Cleo's chat refused us
    # meanwhile: nothing more goes there.
    async with app.store.unit_of_work() as uow:
        assert await uow.people.set_reachable("fake", "fake:3", reachable=False)
    frozen(DEADLINE - timedelta(hours=2))
    assert await send_reminders(app.services) == 2
    last = await rows(app, "reminder:")
    assert [key for key, _, _ in last[2:]] == [
        f"reminder:{o}:2h:fake:{u}" for o, u in ((1, "1"), (4, "4"))
    ]
    assert all(when < "2026-12-20" for _, when, _ in last[2:])
    assert "Last call: your post for Acme: Winter boots" in last[2][2]
    frozen(DEADLINE + timedelta(minutes=1))
    assert await send_reminders(app.services) == 0


async def test_a_digest_at_the_chosen_hour_lists_what_is_new(
    app: App, platform: FakePlatform, frozen: Callable[[datetime], None]
) -> None:
    anna, stored = await member(app, platform, "1")
    await anna.say("/settings")
    await anna.press("Daily digest")
    await anna.press("09:00")
    first = await campaign(app, deadline=DEADLINE)
    second = await campaign(app, brand="Brandly", deadline=DEADLINE)
    day = datetime(2026, 12, 10, 7, 30, tzinfo=UTC)  # 08:30 in Berlin
    # Ben, in New York, wants his at 09:00 there: six hours later.
    ben, bens = await member(app, platform, "2", name="Ben")
    await ben.say("/settings")
    await ben.press("Daily digest")
    await ben.press("09:00")
    async with app.store.unit_of_work() as uow:
        await uow.people.update(bens.id, "cli", columns={"timezone": "America/New_York"})
        for person in (stored.id, bens.id):
            await uow.offers.add_many(first.id, [person], day - timedelta(hours=5))
            await uow.offers.add_many(second.id, [person], day - timedelta(hours=4))

    frozen(day)
    assert await send_digests(app.services) == 0
    frozen(day + timedelta(minutes=40))  # 09:10 in Berlin, 03:10 in New York
    assert await send_digests(app.services) == 1
    assert await send_digests(app.services) == 0
    [(key, when, text)] = await rows(app, "digest:")
    assert key == f"digest:{stored.id}:2026-12-10:fake:1"
    frozen(day + timedelta(hours=6, minutes=40))  # 09:10 in New York
    assert await send_digests(app.services) == 1
    [_, (bens_key, _, _)] = await rows(app, "digest:")
    assert bens_key == f"digest:{bens.id}:2026-12-10:fake:2"
    async with app.store.unit_of_work() as uow:
        await uow.alerts.save(AlertSettings(person_id=bens.id, mode="off"), day)
    assert when < "2026-12-10"  # not quiet: due at once
    assert "2 new offers for you:" in text
    assert "Acme: Winter boots: 12.5% of each sale, until" in text
    assert "Brandly: Winter boots" in text

    third = await campaign(app, brand="Cosmo", deadline=DEADLINE)
    async with app.store.unit_of_work() as uow:
        await uow.offers.add_many(third.id, [stored.id], day + timedelta(hours=3))
    frozen(day + timedelta(days=1, minutes=40))
    assert await send_digests(app.services) == 1
    [_, _, (_, _, text)] = await rows(app, "digest:")
    assert "1 new offer for you:" in text
    assert "Cosmo" in text
    assert "Brandly" not in text

    # A digest hour inside quiet hours waits until they end.
    fourth = await campaign(app, brand="Dawn", deadline=DEADLINE)
    async with app.store.unit_of_work() as uow:
        settings = await uow.alerts.get(stored.id)
        await uow.alerts.save(settings.model_copy(update={"digest_hour": 6}), day)
        await uow.offers.add_many(fourth.id, [stored.id], day + timedelta(days=1, hours=3))
    frozen(day + timedelta(days=2, hours=-2))  # 06:30 there
    assert await send_digests(app.services) == 1
    [*_, (_, when, text)] = await rows(app, "digest:")
    assert when == "2026-12-12T07:00:00.000000+00:00"
    assert "Dawn" in text


def test_the_scheduler_runs_reminders_and_digests_every_five_minutes(app: App) -> None:
    scheduler = build_scheduler(app.services)
    for job_id, job in (("reminders", send_reminders), ("digests", send_digests)):
        scheduled = scheduler.get_job(job_id)
        assert scheduled is not None
        assert scheduled.func is job
        assert scheduled.trigger.interval == timedelta(minutes=5)


async def test_a_digest_names_a_campaign_still_publishing(
    app: App, platform: FakePlatform, frozen: Callable[[datetime], None]
) -> None:
    """Its offers are open already; left out now, the next digest would count them as
    old news and they would never be named."""
    anna, stored = await member(app, platform, "1")
    await anna.say("/settings")
    await anna.press("Daily digest")
    await anna.press("09:00")
    made = await campaign(app, status="publishing", deadline=DEADLINE)
    day = datetime(2026, 12, 10, 8, 10, tzinfo=UTC)  # 09:10 in Berlin
    async with app.store.unit_of_work() as uow:
        await uow.offers.add_many(made.id, [stored.id], day - timedelta(hours=1))
    frozen(day)
    assert await send_digests(app.services) == 1
    [(_, _, text)] = await rows(app, "digest:")
    assert "Acme: Winter boots" in text
