"""What an offer looks like when it is sent: its card in a person's private chat, its post in
a linked group or channel, the card of a place someone took (link, promo code, disclosure,
post-by date), and the edit a card gets when its campaign stops taking people.

Offers are queued as refs (``offer:<id>``, ``post:<campaign>:<chat>``) and rendered here at
send time, so a card shows the slots left then, in the language the person has then.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Final, Literal, Protocol

from babel.numbers import format_percent

from bot.core.callback import CallbackData
from bot.core.messages import Button, ChatRef, Outgoing
from bot.i18n import N_, Translator, translator
from bot.services.offers import DISCLOSURE, tracking_link
from storage.base import UnitOfWork
from storage.clock import utcnow
from storage.models import (
    AgencyChat,
    Campaign,
    CampaignPost,
    Delivery,
    NewDelivery,
    OfferCard,
    OfferStatus,
)

# Offers and group posts are bulk sends: after replies (0) and notices (1).
OFFER_PRIORITY: Final = 10

# Why a campaign stopped taking people, as its cards are edited to say.
Ending = Literal["closed", "full", "deadline"]

OPEN_STATUSES: Final = ("publishing", "published", "paused")

# Where a platform can open its private chat with a start payload (Telegram's deep link),
# the link for it; None where it cannot (then a button answers privately instead).
PrivateLinks = Callable[[str, str], str | None]


class AcceptOffer(CallbackData, prefix="ofa"):
    offer: int


class DeclineOffer(CallbackData, prefix="ofd"):
    offer: int


class OfferDetails(CallbackData, prefix="ofi"):
    offer: int


class OpenOffer(CallbackData, prefix="ofo"):
    """A group post's button: the campaign's offer, answered to the presser alone."""

    campaign: int


def start_payload(campaign_id: int) -> str:
    """What a deep link hands /start to open a campaign's offer privately."""
    return f"offer-{campaign_id}"


ENDED: Final[dict[Ending, str]] = {
    "closed": N_("This campaign has closed, so this offer is no longer open."),
    "full": N_("Every place in this campaign is taken, so this offer is no longer open."),
    "deadline": N_("This campaign's deadline has passed, so this offer is no longer open."),
}
STILL_YOURS: Final = N_(
    "This campaign takes no new creators any more. Your place in it stands: your link and "
    "promo code still work."
)
# The card of a place: what the person needs until their post is up, in one message.
ACCEPTED: Final = N_(
    "You are in: {brand}: {title}\n\nYour personal link: {link}\nYour promo code: {code}\n\n"
    "Put {disclosure} on your post: a paid post must say that it is advertising.\n"
    "Publish by {deadline}, then send /submit with the link to your post."
)
SUBMITTED: Final = N_(
    "You are in: {brand}: {title}\n\nYour personal link: {link}\nYour promo code: {code}\n\n"
    "Put {disclosure} on your post: a paid post must say that it is advertising.\n"
    "Your post, due by {deadline}, is recorded: {post}"
)

ACCEPTED_BEFORE: Final = N_("You accepted this offer already.")


class Place(Protocol):
    """An offer someone took, as an Offer or an OfferCard carries it."""

    @property
    def status(self) -> OfferStatus: ...

    @property
    def ref_code(self) -> str | None: ...

    @property
    def promo_code(self) -> str | None: ...

    @property
    def content_url(self) -> str | None: ...


def commission(t: Translator, campaign: Campaign) -> str:
    """A percentage of each sale, or a fixed amount, as the reader writes numbers."""
    c = campaign.commission
    if c.kind == "percent" and c.basis_points is not None:
        share = Decimal(c.basis_points).scaleb(-4)
        rate = format_percent(share, locale=t.locale, decimal_quantization=False)
        return t._("{rate} of each sale", rate=rate)
    assert c.amount_minor is not None
    assert c.currency is not None
    return t._("{amount} per sale", amount=t.money(c.amount_minor, c.currency))


def card_text(
    t: Translator, campaign: Campaign, timezone: str, *, zone_named: bool = False
) -> str:
    """A person reads the deadline in their own time zone; a group, which has none, is told
    which one it is in (``zone_named``)."""
    deadline = t.datetime(campaign.deadline, timezone)
    lines = [
        t._("{brand}: {title}", brand=campaign.brand, title=campaign.title),
        campaign.brief,
        "",
        t._("Commission: {commission}", commission=commission(t, campaign)),
        t._("Deadline: {deadline} ({zone})", deadline=deadline, zone=timezone)
        if zone_named
        else t._("Deadline: {deadline}", deadline=deadline),
        t.ngettext("{n} slot left", "{n} slots left", max(campaign.slots_left, 0)),
    ]
    return "\n".join(lines)


def place_text(
    t: Translator, campaign: Campaign, timezone: str, *, link: str, code: str, post: str | None
) -> str:
    """The card of a place: its link, promo code, disclosure and post-by date in the
    person's zone. The acceptance, /offers, a later press and the campaign's end all show
    this one text, so no edit of the card ever drops the link or the code."""
    return t._(
        ACCEPTED if post is None else SUBMITTED,
        brand=campaign.brand,
        title=campaign.title,
        link=link,
        code=code,
        disclosure=t._(DISCLOSURE),
        deadline=t.datetime(campaign.deadline, timezone),
        post=post or "",
    )


def place_of(t: Translator, campaign: Campaign, place: Place, timezone: str) -> str:
    """``place_text`` for an offer as stored: the link from its ref, the post once sent."""
    return place_text(
        t,
        campaign,
        timezone,
        link=tracking_link(campaign.landing_url, place.ref_code or ""),
        code=place.promo_code or "",
        post=place.content_url if place.status == "submitted" else None,
    )


def accepted_before(t: Translator, campaign: Campaign, place: Place, timezone: str) -> str:
    """A later press on a place's card, or its campaign's link followed again: the card of
    the place once more, since that press may edit the very message that showed it."""
    return f"{t._(ACCEPTED_BEFORE)}\n\n{place_of(t, campaign, place, timezone)}"


def card_buttons(t: Translator, offer_id: int) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button(label=t._("Accept"), data=AcceptOffer(offer=offer_id).pack()),
            Button(label=t._("Decline"), data=DeclineOffer(offer=offer_id).pack()),
        ),
        (Button(label=t._("Details"), data=OfferDetails(offer=offer_id).pack()),),
    )


async def render_offer(uow: UnitOfWork, ref: str) -> Outgoing | None:
    """An offer's card, or nothing when the offer is no longer open by the time it goes."""
    offer = await uow.offers.get(int(ref.partition(":")[2]))
    if offer is None or offer.status != "offered":
        return None
    campaign = await uow.campaigns.get(offer.campaign_id)
    person = await uow.people.get(offer.person_id)
    # A row already on its way when its campaign paused still goes (a press is told it is
    # paused); one held by the pause waits in the table.
    if campaign is None or person is None or campaign.status not in OPEN_STATUSES:
        return None
    if campaign.deadline <= utcnow():
        return None
    accounts = await uow.people.accounts_of(person.id)
    # The account the offer was queued to: the first one still reachable, else the first.
    reachable = [account for account in accounts if account.reachable] or accounts
    if not reachable:
        return None
    t = translator(person.language)
    return Outgoing(
        chat=ChatRef.parse(reachable[0].dm_chat),
        text=card_text(t, campaign, person.timezone),
        buttons=card_buttons(t, offer.id),
    )


async def record_offer_message(uow: UnitOfWork, row: Delivery, message_id: str) -> None:
    """The card's message id stays with the offer, for the edit its campaign's end makes."""
    assert row.ref is not None
    offer_id = int(row.ref.partition(":")[2])
    await uow.offers.record_message(offer_id, row.platform, row.chat, message_id, utcnow())


def post_renderer(links: PrivateLinks) -> Callable[[UnitOfWork, str], Awaitable[Outgoing | None]]:
    async def render_post(uow: UnitOfWork, ref: str) -> Outgoing | None:
        """A campaign's post in a linked chat, while the chat is linked and the campaign
        open; its button opens the offer privately."""
        _, campaign_id, chat_id = ref.split(":")
        campaign = await uow.campaigns.get(int(campaign_id))
        if campaign is None or campaign.status not in ("publishing", "published"):
            return None
        chats = await uow.agency_chats.of_agency(campaign.agency_id)
        chat = next((c for c in chats if c.id == int(chat_id)), None)
        if chat is None:
            return None
        t = translator(chat.language)
        label = t._("Open the offer")
        link = links(chat.platform, start_payload(campaign.id))
        button = (
            Button(label=label, url=link)
            if link is not None
            else Button(label=label, data=OpenOffer(campaign=campaign.id).pack())
        )
        text = "\n".join(
            [
                t._("New campaign"),
                card_text(t, campaign, "UTC", zone_named=True),
                "",
                t._("Open the offer in a private chat with me to take part."),
            ]
        )
        return Outgoing(chat=ChatRef.parse(chat.chat), text=text, buttons=((button,),))

    return render_post


async def record_post_message(uow: UnitOfWork, row: Delivery, message_id: str) -> None:
    assert row.ref is not None
    _, campaign_id, chat_id = row.ref.split(":")
    await uow.agency_chats.record_post(int(campaign_id), int(chat_id), message_id, utcnow())


def ending_edits(
    campaign: Campaign, cards: Sequence[OfferCard], ending: Ending
) -> list[NewDelivery]:
    """Each card edited to say the campaign ended: a withdrawn offer is no longer open; an
    accepted one stands, and its card keeps the link, code, disclosure and post-by date it
    showed. A later edit of the same card supersedes one not sent yet."""
    edits = []
    for card in cards:
        t = translator(card.language)
        if card.status in ("accepted", "submitted"):
            text = f"{place_of(t, campaign, card, card.timezone)}\n\n{t._(STILL_YOURS)}"
        else:
            title = t._("{brand}: {title}", brand=campaign.brand, title=campaign.title)
            text = f"{title}\n\n{t._(ENDED[ending])}"
        message = Outgoing(
            chat=ChatRef.parse(card.chat), text=text, edit_message_id=card.message_id
        )
        place = f"{card.offer_id}:{card.platform}:{card.chat}"
        edits.append(
            NewDelivery(
                dedupe_key=f"offer-end:{place}:{ending}",
                platform=card.platform,
                chat=card.chat,
                payload=message.model_dump_json(exclude_defaults=True),
                priority=OFFER_PRIORITY,
                collapse_key=f"offer-card:{place}",
            )
        )
    return edits


def post_ending_edits(
    campaign: Campaign, chats: Sequence[AgencyChat], posts: Sequence[CampaignPost], ending: Ending
) -> list[NewDelivery]:
    """Each of the campaign's posts in a linked chat edited to say it ended, without the
    button: the whole group reads it."""
    where = {chat.id: chat for chat in chats}
    edits = []
    for post in posts:
        chat = where.get(post.agency_chat_id)
        if chat is None:
            continue
        t = translator(chat.language)
        title = t._("{brand}: {title}", brand=campaign.brand, title=campaign.title)
        message = Outgoing(
            chat=ChatRef.parse(chat.chat),
            text=f"{title}\n\n{t._(ENDED[ending])}",
            edit_message_id=post.message_id,
        )
        edits.append(
            NewDelivery(
                dedupe_key=f"post-end:{campaign.id}:{chat.id}:{ending}",
                platform=chat.platform,
                chat=chat.chat,
                payload=message.model_dump_json(exclude_defaults=True),
                priority=OFFER_PRIORITY,
            )
        )
    return edits
