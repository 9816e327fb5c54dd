"""Deadline reminders and daily digests: batch jobs that run every few minutes.

Each finds what is due now, so a run missed while the bot was down is made up at the next
one. What it sends is recorded in the same unit of work as the outbox rows (the offer's
reminder mark, the person's digest date) and the rows have dedupe keys, so a retried or
overlapping run never sends twice, across restarts too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from bot.core.messages import ChatRef, Outgoing
from bot.i18n import N_, translator
from bot.services import Services
from bot.services.offer_cards import commission
from bot.services.offers import link_of
from bot.services.publishing import send_time
from storage import clock
from storage.base import UnitOfWork
from storage.models import AlertSettings, Campaign, NewDelivery, Offer, Person, digest_key

log = logging.getLogger(__name__)

BATCH: Final = 200
# Reminders are notices about someone's own commitment: ahead of bulk offers and digests.
REMINDER_PRIORITY: Final = 1
DIGEST_PRIORITY: Final = 5
# At most this many offers named in one digest; /offers shows them all.
DIGEST_OFFERS: Final = 20


@dataclass(frozen=True, slots=True)
class Reminder:
    which: str
    before: timedelta
    # The window ends where the next reminder takes over (or at the deadline).
    until: timedelta
    # Held by quiet hours: the last one before the deadline never is.
    quiet: bool
    text: str


REMINDERS: Final = (
    Reminder(
        "48h",
        timedelta(hours=48),
        timedelta(hours=2),
        True,
        N_(
            "Reminder: your post for {brand}: {title} is due by {deadline}, in less than two "
            "days. Your link: {link}  Your promo code: {code}. When it is published, send "
            "/submit with its link."
        ),
    ),
    Reminder(
        "2h",
        timedelta(hours=2),
        timedelta(0),
        False,
        N_(
            "Last call: your post for {brand}: {title} is due by {deadline}, in less than two "
            "hours. Once it is published, send /submit with its link."
        ),
    ),
)


async def send_reminders(services: Services) -> int:
    """Remind everyone who accepted and has not submitted, 48 and 2 hours before deadlines."""
    sent = 0
    for reminder in REMINDERS:
        while True:
            now = clock.utcnow()
            async with services.store.unit_of_work() as uow:
                due = await uow.offers.awaiting_post(
                    reminder.which, now + reminder.until, now + reminder.before, BATCH
                )
                for offer in due:
                    sent += await _remind(uow, reminder, offer, now)
            if len(due) < BATCH:
                break
    if sent:
        log.info("queued %d deadline reminders", sent)
    return sent


async def _remind(uow: UnitOfWork, reminder: Reminder, offer: Offer, now: datetime) -> int:
    if not await uow.offers.mark_reminded(offer.id, reminder.which, now):
        return 0
    campaign = await uow.campaigns.get(offer.campaign_id)
    person = await uow.people.get(offer.person_id)
    if campaign is None or person is None:
        return 0
    # Someone who accepted after the mark was told the deadline then: no reminder for it.
    if offer.accepted_at is not None and offer.accepted_at > campaign.deadline - reminder.before:
        return 0
    t = translator(person.language)
    text = t._(
        reminder.text,
        brand=campaign.brand,
        title=campaign.title,
        deadline=t.datetime(campaign.deadline, person.timezone),
        link=link_of(campaign, offer),
        code=offer.promo_code or "",
    )
    not_before = None
    if reminder.quiet:
        not_before = after_quiet_hours(await uow.alerts.get(person.id), person.timezone, now)
    key = f"reminder:{offer.id}:{reminder.which}"
    return await _to_person(uow, person, key, text, REMINDER_PRIORITY, not_before, now)


async def _to_person(
    uow: UnitOfWork,
    person: Person,
    key: str,
    text: str,
    priority: int,
    not_before: datetime | None,
    now: datetime,
) -> int:
    """One row, to the first private chat the person can still be reached at (where their
    offers go); how many were queued (0 when they cannot be reached, or it was queued before)."""
    reachable = [a for a in await uow.people.accounts_of(person.id) if a.reachable]
    if not reachable:
        return 0
    chat = reachable[0].dm_chat
    row = NewDelivery(
        dedupe_key=f"{key}:{chat}",
        platform=reachable[0].platform,
        chat=chat,
        payload=Outgoing(chat=ChatRef.parse(chat), text=text).model_dump_json(
            exclude_defaults=True
        ),
        priority=priority,
        # Due now unless quiet hours say later.
        next_attempt_at=not_before if not_before is not None and not_before > now else None,
        quiet=not_before is not None and not_before > now,
    )
    return len(await uow.outbox.add([row]))


def after_quiet_hours(settings: AlertSettings, timezone: str, now: datetime) -> datetime:
    """``now``, or when the person's quiet hours end: what a reminder or a digest waits for
    (the digest hour itself has come already)."""
    return send_time(settings.model_copy(update={"mode": "instant"}), timezone, now)


def digest_due(settings: AlertSettings, timezone: str, now: datetime) -> date | None:
    """The local date whose digest is due now: its hour has come and it was not sent."""
    local = now.astimezone(ZoneInfo(timezone))
    if local.hour < settings.digest_hour or settings.digest_sent_on == local.date().isoformat():
        return None
    return local.date()


def last_digest_at(settings: AlertSettings, timezone: str) -> datetime | None:
    """When the previous digest was due: its offers were in it."""
    if settings.digest_sent_on is None:
        return None
    day = date.fromisoformat(settings.digest_sent_on)
    return datetime.combine(day, time(settings.digest_hour), tzinfo=ZoneInfo(timezone))


async def send_digests(services: Services) -> int:
    """At each person's chosen local hour, a summary of the offers new since the last one.

    Only the people whose digest is due are read: the zones and hours in use are few, and
    for each the local date says whose digest of today is still to go."""
    sent = 0
    async with services.store.reading() as uow:
        hours = await uow.alerts.digest_hours()
    for timezone, hour in hours:
        local = clock.utcnow().astimezone(ZoneInfo(timezone))
        if local.hour < hour:
            continue
        after = 0
        while True:
            now = clock.utcnow()
            async with services.store.unit_of_work() as uow:
                batch = await uow.alerts.digests_due(
                    timezone, hour, local.date().isoformat(), after, BATCH
                )
                # A batch's people mostly name the same few campaigns: each is read once.
                campaigns: dict[int, Campaign | None] = {}
                for settings in batch:
                    sent += await _digest(uow, settings, now, campaigns)
            if len(batch) < BATCH:
                break
            after = batch[-1].person_id
    if sent:
        log.info("queued %d digests", sent)
    return sent


async def _digest(
    uow: UnitOfWork,
    settings: AlertSettings,
    now: datetime,
    campaigns: dict[int, Campaign | None],
) -> int:
    person = await uow.people.get(settings.person_id)
    if person is None or person.status != "approved":
        return 0
    day = digest_due(settings, person.timezone, now)
    if day is None:
        return 0
    since = last_digest_at(settings, person.timezone)
    fresh: list[tuple[Offer, Campaign]] = []
    for offer in await uow.offers.of_person(person.id, ["offered"], limit=DIGEST_OFFERS):
        if offer.campaign_id not in campaigns:
            campaigns[offer.campaign_id] = await uow.campaigns.get(offer.campaign_id)
        campaign = campaigns[offer.campaign_id]
        if campaign is None or (since is not None and offer.created_at <= since):
            continue
        taking = campaign.status in ("publishing", "published")
        if taking and campaign.deadline > now and campaign.slots_left:
            fresh.append((offer, campaign))
    if not await uow.alerts.mark_digest_sent(person.id, day.isoformat(), now):
        return 0
    if not fresh:
        return 0
    t = translator(person.language)
    lines = [t.ngettext("{n} new offer for you:", "{n} new offers for you:", len(fresh))]
    for _, campaign in reversed(fresh):
        lines.append(
            t._(
                "• {brand}: {title}: {commission}, until {deadline}",
                brand=campaign.brand,
                title=campaign.title,
                commission=commission(t, campaign),
                deadline=t.datetime(campaign.deadline, person.timezone),
            )
        )
    lines.append(t._("Send /offers to accept or decline them."))
    not_before = after_quiet_hours(settings, person.timezone, now)
    key = digest_key(person.id, day.isoformat())
    return await _to_person(uow, person, key, "\n".join(lines), DIGEST_PRIORITY, not_before, now)
