"""Publishing: a campaign's offers reach every matching influencer, and its post every linked
chat; pausing holds the offers not sent yet, closing withdraws them.

Publishing is a job, not one transaction: a campaign marked ``publishing`` is matched in
batches, each batch's offers and outbox rows committing together, so a crash between batches
loses nothing and a run after it carries on. Offers are keyed by (campaign, person) and their
rows by a dedupe key of the same, so nothing is ever offered or sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Final, Literal
from zoneinfo import ZoneInfo

from bot.services.access import audit
from bot.services.offer_cards import OFFER_PRIORITY, Ending, ending_edits, post_ending_edits
from storage.base import Store, UnitOfWork
from storage.clock import utcnow
from storage.models import (
    DIGEST_KEY_PREFIX,
    AlertSettings,
    Campaign,
    NewDelivery,
    Person,
    Recipient,
    SendGroup,
    offer_card_ref,
    offer_delivery_key,
)

log = logging.getLogger(__name__)

# A paused campaign's offers wait at the very end of the line, due at no time, so they keep
# nobody else's messages waiting behind them.
HELD_PRIORITY: Final = 2**31
HELD_UNTIL: Final = datetime(9999, 1, 1, tzinfo=UTC)
# People per publish batch: each is one short transaction (a tenth of a second or so), so
# replies still go out between them, and few enough of them that a million take seconds.
BATCH: Final = 20_000
# Cards sent this recently are edited when their campaign stops taking people; older ones
# are answered when pressed.
RECENT_CARDS: Final = timedelta(hours=48)
# Offers whose rows one transaction settles after a pause, resume or close: the press does
# the first batch, the job the rest, so none holds the one writer for long.
SETTLE_BATCH: Final = 2_000

OFFER_REF: Final = "offer"
POST_REF: Final = "post"
CAMPAIGN_ACTOR: Final = "kolbot"


def offer_ref(offer_id: int) -> str:
    return offer_card_ref(offer_id)


def post_ref(campaign_id: int, agency_chat_id: int) -> str:
    return f"{POST_REF}:{campaign_id}:{agency_chat_id}"


def campaign_target(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


# When an offer goes out ---------------------------------------------------------------------


def send_time(alerts: AlertSettings, timezone: str, now: datetime) -> datetime:
    """When a new offer may reach this person: now, or when their quiet hours end; for a
    daily digest, at their digest hour (never inside their quiet hours). Offer cards go to
    people on instant alerts only: a digest names the offers of those on one."""
    return _send_time(
        alerts.mode, alerts.digest_hour, alerts.quiet_start, alerts.quiet_end, timezone, now
    )


@lru_cache(maxsize=4096)
def _send_time(
    mode: str, digest_hour: int, quiet_start: int, quiet_end: int, timezone: str, now: datetime
) -> datetime:
    """Cached: a batch shares ``now``, and its people share a few zones and settings."""
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    if mode == "digest":
        digest = datetime.combine(local.date(), time(digest_hour), zone)
        if digest < local:
            digest += timedelta(days=1)
        local = digest
    return _after_quiet(local, quiet_start, quiet_end).astimezone(UTC)


def _after_quiet(local: datetime, quiet_start: int, quiet_end: int) -> datetime:
    """``local`` itself, or the end of the quiet hours it falls in."""
    if quiet_start == quiet_end:
        return local
    minute = local.hour * 60 + local.minute
    if quiet_start < quiet_end:
        quiet = quiet_start <= minute < quiet_end
    else:
        quiet = minute >= quiet_start or minute < quiet_end
    if not quiet:
        return local
    end = datetime.combine(local.date(), time(quiet_end // 60, quiet_end % 60), local.tzinfo)
    if end <= local:
        end += timedelta(days=1)
    return end


def recipient_send_time(recipient: Recipient, now: datetime) -> datetime:
    r = recipient
    return _send_time(r.mode, r.digest_hour, r.quiet_start, r.quiet_end, r.timezone, now)


def group_send_time(group: SendGroup, now: datetime) -> datetime:
    g = group
    return _send_time(g.mode, g.digest_hour, g.quiet_start, g.quiet_end, g.timezone, now)


def offer_delivery(campaign_id: int, recipient: Recipient, now: datetime) -> NewDelivery:
    """The outbox row of one offer: a ref rendered when sent, one per campaign and person."""
    due = recipient_send_time(recipient, now)
    return NewDelivery(
        dedupe_key=offer_delivery_key(campaign_id, recipient.person_id),
        platform=recipient.platform,
        chat=recipient.dm_chat,
        ref=f"{OFFER_REF}:{recipient.offer_id}",
        priority=OFFER_PRIORITY,
        # Due now unless the person's quiet hours say later (cards go to instant alerts).
        next_attempt_at=due if due > now else None,
        quiet=due > now,
    )


async def retime_held(
    uow: UnitOfWork, person: Person, before: AlertSettings, after: AlertSettings
) -> int:
    """The person changed how or when offers reach them (in the unit of work that saves it):
    what waits for the end of their quiet hours waits for the new end, or goes now. A card
    waits only for someone on instant alerts: on a daily digest, the digest names its offer;
    with offers off, they asked for none (/offers still lists it); so it is withdrawn, and a
    digest waiting for the morning too once offers are off. How many rows changed."""
    quiet = (before.quiet_start, before.quiet_end) != (after.quiet_start, after.quiet_end)
    if not quiet and before.mode == after.mode:
        return 0
    now = utcnow()
    end = send_time(after.model_copy(update={"mode": "instant"}), person.timezone, now)
    drop: list[int] = []
    move: list[tuple[int, datetime]] = []
    for account in await uow.people.accounts_of(person.id):
        for row in await uow.outbox.quiet_rows(account.platform, account.dm_chat):
            card = row.ref is not None and row.ref.startswith(f"{OFFER_REF}:")
            digest = row.dedupe_key.startswith(DIGEST_KEY_PREFIX)
            if (card and after.mode != "instant") or (digest and after.mode == "off"):
                drop.append(row.id)
            else:
                move.append((row.id, end))
    return await uow.outbox.withdraw_quiet(drop, now) + await uow.outbox.retime(move, now)


# Publishing -------------------------------------------------------------------------------


async def publish_batch(
    uow: UnitOfWork, campaign_id: int, after_person_id: int, limit: int, now: datetime
) -> int | None:
    """Offer the campaign to the next ``limit`` matching people and queue their offers; the
    last person taken, None when everyone was (or the campaign is no longer publishing).

    Set-based from end to end: the offers come out of one statement, their rows out of
    another; only the send time of each group of people (a timezone and alert settings)
    is worked out here."""
    campaign = await uow.campaigns.get(campaign_id)
    if campaign is None or campaign.status != "publishing":
        return None
    batch = await uow.offers.offer_matching(campaign_id, after_person_id, limit, now)
    if batch is None:
        return None
    groups = await uow.offers.send_groups(campaign_id, batch.first_offer_id, batch.last_offer_id)
    later = [(group, at) for group in groups if (at := group_send_time(group, now)) > now]
    await uow.outbox.enqueue_offers(
        campaign_id, batch.first_offer_id, batch.last_offer_id, OFFER_PRIORITY, later
    )
    return batch.last_person_id


async def publish(store: Store, campaign_id: int, batch: int = BATCH) -> bool:
    """Carry a ``publishing`` campaign through: its audience counted (once), its offers
    queued batch by batch, a post for each linked chat, then ``published``. A run after a
    crash starts over and finds only those not offered yet. True when it was published."""
    # Counting a million takes a second: on a snapshot, so the writer stays free meanwhile.
    async with store.reading() as uow:
        campaign = await uow.campaigns.get(campaign_id)
        if campaign is None or campaign.status != "publishing":
            return False
        audience = None
        if campaign.audience is None:
            audience = await uow.offers.count_matching(campaign_id)
    if audience is not None:
        async with store.unit_of_work() as uow:
            await uow.campaigns.set_audience(campaign_id, audience)
    after: int | None = 0
    while after is not None:
        async with store.unit_of_work() as uow:
            after = await publish_batch(uow, campaign_id, after, batch, utcnow())
    async with store.unit_of_work() as uow:
        now = utcnow()
        if not await uow.campaigns.change_status(campaign_id, ("publishing",), "published", now):
            return False
        campaign = await uow.campaigns.get(campaign_id)
        assert campaign is not None
        await post_to_linked_chats(uow, campaign)
        await audit(
            uow,
            CAMPAIGN_ACTOR,
            "campaign.published",
            target=campaign_target(campaign_id),
            agency_id=campaign.agency_id,
        )
    return True


async def publish_pending(store: Store, batch: int = BATCH) -> int:
    """The job: every campaign left ``publishing`` (just marked, or interrupted)."""
    async with store.reading() as uow:
        campaigns = await uow.campaigns.in_status("publishing")
    published = 0
    for campaign in campaigns:
        if await publish(store, campaign.id, batch):
            published += 1
            log.info("campaign %d published", campaign.id)
    return published


async def post_to_linked_chats(uow: UnitOfWork, campaign: Campaign) -> int:
    """One post in each of the agency's groups and channels, rendered when sent."""
    chats = await uow.agency_chats.of_agency(campaign.agency_id)
    return await uow.outbox.enqueue(
        [
            NewDelivery(
                dedupe_key=post_ref(campaign.id, chat.id),
                platform=chat.platform,
                chat=chat.chat,
                ref=post_ref(campaign.id, chat.id),
                priority=OFFER_PRIORITY,
            )
            for chat in chats
        ]
    )


async def offer_to_newcomer(uow: UnitOfWork, person_id: int) -> int:
    """Someone just approved gets the open campaigns they match that have slots left; in
    the unit of work of their approval. A paused one's offer is held with the others until
    it resumes. How many offers were made."""
    now = utcnow()
    made = 0
    for status in ("published", "publishing", "paused"):
        after = 0
        while True:
            campaigns = await uow.campaigns.in_status(status, limit=100, after_id=after)
            if not campaigns:
                break
            after = campaigns[-1].id
            for campaign in campaigns:
                if campaign.slots_left <= 0 or campaign.deadline <= now:
                    continue
                recipient = await uow.offers.offer_to(campaign.id, person_id, now)
                if recipient is None:
                    continue
                made += 1
                # On a daily digest, the digest names the offer: no card of its own.
                if recipient.mode != "instant":
                    continue
                row = offer_delivery(campaign.id, recipient, now)
                if status == "paused":
                    row = row.model_copy(
                        update={"next_attempt_at": HELD_UNTIL, "priority": HELD_PRIORITY}
                    )
                await uow.outbox.enqueue([row])
    return made


# Pausing, resuming, closing ----------------------------------------------------------------


async def start_settling(uow: UnitOfWork, campaign_id: int) -> None:
    """After a pause, resume or close, in its unit of work: every offer's rows are owed the
    change, and the first batch (all of a small campaign's) settles at once."""
    campaign = await uow.campaigns.get(campaign_id)
    if campaign is not None:
        await uow.campaigns.settle_from(campaign_id, campaign.settle_after, 0)
        await settle(uow, campaign_id)


async def settle(uow: UnitOfWork, campaign_id: int) -> bool:
    """One batch of what the campaign's last pause, resume or close owes its offers' rows:
    held, released or withdrawn as its status is now. True while more remain."""
    campaign = await uow.campaigns.get(campaign_id)
    if campaign is None or campaign.settle_after is None:
        return False
    after = campaign.settle_after
    last: int | None = None
    if campaign.status == "paused":
        last = await hold_offers(uow, campaign_id, after, SETTLE_BATCH)
    elif campaign.status in ("publishing", "published"):
        last = await release_offers(uow, campaign_id, after, SETTLE_BATCH)
    elif campaign.status == "closed":
        last = await withdraw_offers(uow, campaign, after, SETTLE_BATCH)
    await uow.campaigns.settle_from(campaign_id, after, last)
    return last is not None


async def settle_pending(store: Store) -> int:
    """The job: every campaign still owed a pause's, resume's or close's rows, a batch per
    transaction, so replies go out between them. How many campaigns were settled."""
    settled = 0
    after = 0
    while True:
        async with store.reading() as uow:
            owing = await uow.campaigns.settling(after_id=after)
        if not owing:
            return settled
        after = owing[-1].id
        for campaign in owing:
            more = True
            while more:
                async with store.unit_of_work() as uow:
                    more = await settle(uow, campaign.id)
            settled += 1


def _last(offer_ids: Sequence[int], limit: int) -> int | None:
    """Where the next batch starts; None when this one was the last."""
    return offer_ids[-1] if len(offer_ids) >= limit else None


async def hold_offers(uow: UnitOfWork, campaign_id: int, after: int, limit: int) -> int | None:
    """A pause: the campaign's posts (with the first batch) and its offers after ``after``
    not sent yet wait until it resumes. The last offer held, None when none is left."""
    if after == 0:
        refs = await _post_refs(uow, campaign_id)
        await uow.outbox.reschedule([(ref, HELD_UNTIL) for ref in refs], HELD_PRIORITY)
    recipients = await uow.offers.open_recipients(campaign_id, after, limit)
    await uow.outbox.reschedule(
        [(offer_ref(r.offer_id), HELD_UNTIL) for r in recipients], HELD_PRIORITY
    )
    return _last([r.offer_id for r in recipients], limit)


async def release_offers(uow: UnitOfWork, campaign_id: int, after: int, limit: int) -> int | None:
    """A resume: the held offers go out, each when its person may receive it, and the posts
    at once (with the first batch). The last offer released, None when none is left."""
    now = utcnow()
    if after == 0:
        refs = await _post_refs(uow, campaign_id)
        await uow.outbox.reschedule([(ref, now) for ref in refs], OFFER_PRIORITY)
    recipients = await uow.offers.open_recipients(campaign_id, after, limit)
    due = [(offer_ref(r.offer_id), recipient_send_time(r, now)) for r in recipients]
    await uow.outbox.reschedule([(ref, at) for ref, at in due if at <= now], OFFER_PRIORITY)
    # Those inside their quiet hours now wait for them as a card published now would.
    quiet = [(ref, at) for ref, at in due if at > now]
    await uow.outbox.reschedule(quiet, OFFER_PRIORITY, quiet=True)
    return _last([r.offer_id for r in recipients], limit)


async def _post_refs(uow: UnitOfWork, campaign_id: int) -> list[str]:
    campaign = await uow.campaigns.get(campaign_id)
    if campaign is None:
        return []
    chats = await uow.agency_chats.of_agency(campaign.agency_id)
    return [post_ref(campaign_id, chat.id) for chat in chats]


def ending_of(campaign: Campaign) -> Ending:
    """Why a closed campaign takes nobody more, as its cards say."""
    if campaign.closed_at is not None and campaign.deadline <= campaign.closed_at:
        return "deadline"
    if campaign.slots_left <= 0:
        return "full"
    return "closed"


def ended(campaign: Campaign, now: datetime, *, withdrawn: bool = False) -> Ending | None:
    """Why the campaign takes no acceptances any more, the reason its cards were edited to
    give, so a late press is told the same (a full campaign closed by the job is full, not
    closed); None while it may still take them. A pause is no end, and a campaign full but
    not closed yet is told so by whoever asks."""
    if withdrawn or campaign.status in ("closed", "draft"):
        return ending_of(campaign)
    if campaign.deadline <= now:
        return "deadline"
    return None


async def withdraw_offers(
    uow: UnitOfWork, campaign: Campaign, after: int, limit: int
) -> int | None:
    """The campaign takes nobody more: its open offers after ``after`` are withdrawn (their
    rows not sent yet are done unsent), and the cards of those sent in the last 48 hours, and
    (with the first batch) of accepted offers, are edited to say so. The last offer
    withdrawn, None when none is left."""
    now = utcnow()
    withdrawn = await uow.offers.withdraw_open(campaign.id, now, after, limit)
    # Their rows (and the posts) not sent yet, held by a pause or by quiet hours, are done.
    refs = [offer_ref(offer_id) for offer_id in withdrawn]
    await uow.outbox.withdraw(
        refs + (await _post_refs(uow, campaign.id) if after == 0 else []), now
    )
    cards = await uow.offers.cards(campaign.id, withdrawn, now - RECENT_CARDS, accepted=after == 0)
    edits = ending_edits(campaign, cards, ending_of(campaign))
    if after == 0:
        chats = await uow.agency_chats.of_agency(campaign.agency_id)
        posts = await uow.agency_chats.posts(campaign.id)
        edits += post_ending_edits(campaign, chats, posts, ending_of(campaign))
    if edits:
        await uow.outbox.add(edits)
    return _last(withdrawn, limit)


async def close(uow: UnitOfWork, campaign_id: int, ending: Ending, actor: str) -> bool:
    """Close a campaign (from any open status); its open offers are withdrawn, the first
    batch at once and the rest by the job."""
    changed = await uow.campaigns.change_status(
        campaign_id, ("publishing", "published", "paused"), "closed", utcnow()
    )
    if changed:
        await start_settling(uow, campaign_id)
        campaign = await uow.campaigns.get(campaign_id)
        await audit(
            uow,
            actor,
            "campaign.close",
            target=campaign_target(campaign_id),
            agency_id=campaign.agency_id if campaign else None,
            detail=ending,
        )
    return changed


async def close_ended(store: Store) -> int:
    """The job: campaigns past their deadline, or with every slot taken, are closed."""
    now = utcnow()
    ending: list[tuple[int, Ending]] = []
    async with store.reading() as uow:
        for status in ("published", "paused"):
            after = 0
            while campaigns := await uow.campaigns.in_status(status, after_id=after):
                after = campaigns[-1].id
                ending += _ended(campaigns, now)
    closed = 0
    for campaign_id, why in ending:
        async with store.unit_of_work() as uow:
            closed += await close(uow, campaign_id, why, CAMPAIGN_ACTOR)
    return closed


def _ended(campaigns: Sequence[Campaign], now: datetime) -> list[tuple[int, Ending]]:
    found: list[tuple[int, Ending]] = []
    for campaign in campaigns:
        if campaign.deadline <= now:
            found.append((campaign.id, "deadline"))
        elif campaign.slots_left <= 0:
            found.append((campaign.id, "full"))
    return found


# What a press on an offer's card meets --------------------------------------------------------

OfferState = Literal["open", "paused", "full", "closed", "deadline", "taken", "gone"]


async def offer_state(uow: UnitOfWork, offer_id: int, person_id: int) -> OfferState:
    """What a press on this person's offer card meets: ``open`` (they may accept), the
    campaign ``paused``, or ended as its cards say (``full``, ``closed``, ``deadline``),
    ``taken`` (they decided already), or ``gone`` (no such offer of theirs)."""
    offer = await uow.offers.get(offer_id)
    if offer is None or offer.person_id != person_id:
        return "gone"
    campaign = await uow.campaigns.get(offer.campaign_id)
    if campaign is None:
        return "gone"
    if offer.status in ("accepted", "declined", "submitted"):
        return "taken"
    ending = ended(campaign, utcnow(), withdrawn=offer.status == "withdrawn")
    if ending is not None:
        return ending
    if campaign.status == "paused":
        return "paused"
    if campaign.slots_left <= 0:
        return "full"
    return "open"
