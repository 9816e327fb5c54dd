"""The influencer's side of offers: the card's Accept / Decline / Details, and /offers.

Every press loads the offer it names and checks it is the presser's: button data comes back
from the platform, and anyone can forge one naming another person's offer. Such a press is
refused and audited, and changes nothing; Details tells the presser where they stand with the
offer's campaign instead.
"""

from __future__ import annotations

from typing import Final

from bot.core.callback import CallbackData
from bot.core.context import Context
from bot.core.messages import Button
from bot.core.router import Router
from bot.i18n import N_, NC_, Translator
from bot.services.access import audit
from bot.services.offer_cards import (
    AcceptOffer,
    DeclineOffer,
    Ending,
    OfferDetails,
    accepted_before,
    card_buttons,
    card_text,
    place_of,
    place_text,
)
from bot.services.offers import (
    DECLINE_REASONS,
    DISCLOSURE,
    NO_REASON,
    AcceptResult,
    accept_offer,
    decline_offer,
)
from bot.services.publishing import ended
from handlers.access import NOT_ALLOWED, refuse
from handlers.catalog import NICHES
from handlers.commands import NO_PROFILE_YET, PRIVATE_ONLY
from handlers.commands import _ask_pending as ask_pending
from handlers.keyboards import STALE_BUTTON, Keyboard, rows
from handlers.offer_links import NOT_FOR_YOU, PAUSED, show_offer
from storage import clock
from storage.models import Campaign, Offer, OfferStatus

router = Router()

COMMAND_NAMES: Final = (NC_("command name", "offers"),)

# At most this many offers in /offers and in /submit's choice: the newest.
LISTED: Final = 10

WHY_DECLINE: Final = N_(
    "Why are you declining {brand}: {title}? Telling us is optional: it helps brands make "
    "better offers."
)
DECLINED: Final = N_("Declined: {brand}: {title}. Thank you for telling us why.")
DECLINED_NO_REASON: Final = N_("Declined: {brand}: {title}.")
NO_OPEN_OFFERS: Final = N_(
    "You have no open offers right now. When a campaign matches you, its offer comes here."
)
NOT_APPROVED_YET: Final = N_(
    "Offers come once your application is approved: you will hear from me here."
)
FULL: Final = N_("Sorry, the campaign is full: {brand}: {title} has no slots left.")
ENDED: Final = N_("{brand}: {title} is closed: it no longer takes acceptances.")
PAST_DEADLINE: Final = N_("{brand}: {title} is past its deadline: it no longer takes acceptances.")
# A late press is told why the campaign ended as its cards were edited to say it.
ENDED_ANSWERS: Final[dict[Ending, str]] = {
    "closed": ENDED,
    "full": FULL,
    "deadline": PAST_DEADLINE,
}
DECLINED_ALREADY: Final = N_("You declined this offer.")


# The card's buttons, as offer_cards makes them: each names one offer.
OfferButton = AcceptOffer | DeclineOffer | OfferDetails


class DeclineFor(CallbackData, prefix="ofr"):
    """The optional reason after Decline; ``reason`` is one of DECLINE_REASONS or none."""

    offer: int
    reason: str


def _answer(ctx: Context, text: str, *, buttons: Keyboard = (), edit: bool = False) -> None:
    """To the presser alone: a card opened from a group post is pressed there."""
    ctx.reply(text, buttons=buttons, edit=edit, private=not ctx.incoming.is_private)


def names_of(campaign: Campaign) -> dict[str, str]:
    return {"brand": campaign.brand, "title": campaign.title}


async def own_offer(ctx: Context, offer_id: int, action: str) -> tuple[Offer, Campaign] | None:
    """The offer and its campaign when the presser is its person; else refused and audited.
    Wherever it is pressed: a card opened from a group post is answered to its person alone."""
    target = f"offer:{offer_id}"
    offer = await ctx.uow.offers.get(offer_id)
    campaign = await ctx.uow.campaigns.get(offer.campaign_id) if offer else None
    if ctx.person is None or offer is None or campaign is None:
        why = "no such offer" if offer is None else "not signed up"
        await refuse(ctx, action, NOT_ALLOWED, target=target, why=why)
        return None
    if offer.person_id != ctx.person.id:
        await refuse(
            ctx,
            action,
            NOT_ALLOWED,
            target=target,
            person_id=ctx.person.id,
            why=f"the offer of person {offer.person_id}",
        )
        return None
    return offer, campaign


async def forged(ctx: Context, action: str) -> None:
    """Button data with one of our prefixes that does not parse: nobody's button."""
    await refuse(ctx, action, NOT_ALLOWED, why="malformed button data")


def state_text(t: Translator, campaign: Campaign, offer: Offer, timezone: str) -> str | None:
    """Why the offer cannot be accepted now; None while it can. A place already taken is
    shown again whole, in the reader's ``timezone``: the press may edit its card."""
    names = names_of(campaign)
    if offer.status in ("accepted", "submitted"):
        return accepted_before(t, campaign, offer, timezone)
    if offer.status == "declined":
        return t._(DECLINED_ALREADY)
    ending = ended(campaign, clock.utcnow(), withdrawn=offer.status == "withdrawn")
    if ending is not None:
        return t._(ENDED_ANSWERS[ending], **names)
    if campaign.status == "paused":
        return t._(PAUSED)
    if campaign.slots_left <= 0:
        return t._(FULL, **names)
    return None


async def _pressed(
    ctx: Context, data: type[OfferButton], action: str
) -> tuple[Offer, Campaign] | None:
    pressed = data.unpack(ctx.incoming.button_data)
    if pressed is None:
        await forged(ctx, action)
        return None
    return await own_offer(ctx, pressed.offer, action)


@router.button(AcceptOffer)
async def accept_pressed(ctx: Context) -> None:
    found = await _pressed(ctx, AcceptOffer, "offer.accept")
    if found is not None:
        await _accept(ctx, found[0])
        await ask_pending(ctx)


@router.button(DeclineOffer)
async def decline_pressed(ctx: Context) -> None:
    found = await _pressed(ctx, DeclineOffer, "offer.decline")
    if found is not None:
        await _ask_decline_reason(ctx, *found)
        await ask_pending(ctx)


@router.button(OfferDetails)
async def details_pressed(ctx: Context) -> None:
    """The person's own offer in full. Anyone else who reaches the button (a forwarded
    card, a forged press) is refused that offer, and told where they stand with its
    campaign instead: invited to sign up, under review, not matched, or their own card."""
    pressed = OfferDetails.unpack(ctx.incoming.button_data)
    if pressed is None:
        await forged(ctx, "offer.details")
        return
    offer = await ctx.uow.offers.get(pressed.offer)
    mine = offer is not None and ctx.person is not None and offer.person_id == ctx.person.id
    if offer is not None and not mine:
        await audit(
            ctx.uow,
            str(ctx.incoming.user),
            "offer.details",
            refused=True,
            target=f"offer:{offer.id}",
            person_id=ctx.person.id if ctx.person else None,
            detail=f"the offer of person {offer.person_id}; answered for its campaign",
        )
        await show_offer(ctx, offer.campaign_id)
        await ask_pending(ctx)
        return
    found = await own_offer(ctx, pressed.offer, "offer.details")
    if found is not None:
        _details(ctx, *found)
        await ask_pending(ctx)


def accepted_text(t: Translator, result: AcceptResult, timezone: str) -> str:
    campaign = result.campaign
    assert campaign is not None
    return place_text(t, campaign, timezone, link=result.link, code=result.code, post=None)


async def _accept(ctx: Context, offer: Offer) -> None:
    person = ctx.person
    assert person is not None
    if person.status != "approved":
        # Suspended since the card came: the card stays, the slot is not theirs to take.
        _answer(ctx, ctx._(NOT_FOR_YOU))
        return
    result = await accept_offer(ctx.uow, offer.id, person, clock.utcnow())
    campaign = result.campaign
    if result.outcome == "accepted":
        _answer(ctx, accepted_text(ctx.t, result, person.timezone), edit=True)
        return
    assert campaign is not None
    if result.outcome == "paused":
        # The card keeps its buttons: the offer stands for when the campaign resumes.
        _answer(ctx, ctx._(PAUSED))
        return
    if result.outcome == "full":
        answer = ctx._(FULL, **names_of(campaign))
    else:
        # Closed, or no longer open: why, as the campaign's cards were edited to say.
        state = state_text(ctx.t, campaign, result.offer or offer, person.timezone)
        answer = state or ctx._(STALE_BUTTON)
    _answer(ctx, answer, edit=True)


async def _ask_decline_reason(ctx: Context, offer: Offer, campaign: Campaign) -> None:
    if offer.status != "offered":
        assert ctx.person is not None
        state = state_text(ctx.t, campaign, offer, ctx.person.timezone)
        _answer(ctx, state or ctx._(STALE_BUTTON), edit=True)
        return
    reasons = [
        Button(label=ctx._(label), data=DeclineFor(offer=offer.id, reason=reason).pack())
        for reason, label in DECLINE_REASONS.items()
    ]
    skip = Button(label=ctx._("Skip"), data=DeclineFor(offer=offer.id, reason=NO_REASON).pack())
    _answer(
        ctx, ctx._(WHY_DECLINE, **names_of(campaign)), buttons=(*rows(reasons), (skip,)), edit=True
    )


@router.button(DeclineFor)
async def decline_for(ctx: Context) -> None:
    pressed = DeclineFor.unpack(ctx.incoming.button_data)
    if pressed is None or (pressed.reason not in DECLINE_REASONS and pressed.reason != NO_REASON):
        await forged(ctx, "offer.decline")
        return
    found = await own_offer(ctx, pressed.offer, "offer.decline")
    if found is None:
        return
    offer, campaign = found
    assert ctx.person is not None
    declined = await decline_offer(ctx.uow, offer.id, ctx.person, pressed.reason, clock.utcnow())
    if declined is None:
        state = state_text(ctx.t, campaign, offer, ctx.person.timezone)
        _answer(ctx, state or ctx._(STALE_BUTTON), edit=True)
    elif pressed.reason == NO_REASON:
        _answer(ctx, ctx._(DECLINED_NO_REASON, **names_of(campaign)), edit=True)
    else:
        _answer(ctx, ctx._(DECLINED, **names_of(campaign)), edit=True)
    await ask_pending(ctx)


def _details(ctx: Context, offer: Offer, campaign: Campaign) -> None:
    person = ctx.person
    assert person is not None
    t = ctx.t
    lines = [
        card_text(t, campaign, person.timezone),
        "",
        t._("Product page: {url}", url=campaign.landing_url),
        t._(
            "For creators in: {countries}",
            countries=", ".join(t.country_name(c) for c in campaign.countries)
            if campaign.countries
            else t._("any country"),
        ),
        t._(
            "Topics: {topics}",
            topics=", ".join(t._(NICHES.get(n, n)) for n in campaign.niches)
            if campaign.niches
            else t._("any topic"),
        ),
        t._("Followers needed: at least {n}", n=t.number(campaign.min_followers)),
        "",
        t._(
            "Accept to get your personal link and promo code. Your post must carry {disclosure}; "
            "send /submit with its link by the deadline.",
            disclosure=t._(DISCLOSURE),
        ),
    ]
    state = state_text(t, campaign, offer, person.timezone)
    if state is not None:
        lines += ["", state]
        _answer(ctx, "\n".join(lines))
    else:
        _answer(ctx, "\n".join(lines), buttons=card_buttons(t, offer.id))


async def member_here(ctx: Context) -> bool:
    """A private chat with someone who has a profile; else say what to do."""
    if not ctx.incoming.is_private:
        ctx.reply(ctx._(PRIVATE_ONLY))
        return False
    if ctx.person is None:
        ctx.reply(ctx._(NO_PROFILE_YET))
        await ask_pending(ctx)
        return False
    if ctx.person.status != "approved":
        ctx.reply(ctx._(NOT_APPROVED_YET))
        await ask_pending(ctx)
        return False
    return True


@router.command("offers", N_("Your open offers"), audience="member")
async def offers_command(ctx: Context) -> None:
    if not await member_here(ctx):
        return
    person = ctx.person
    assert person is not None
    # A place stays listed after its post is in and after its campaign ended: its link and
    # code still earn, and /offers is where the person looks for them.
    statuses: list[OfferStatus] = ["offered", "accepted", "submitted"]
    found = await ctx.uow.offers.of_person(person.id, statuses, limit=LISTED)
    shown = 0
    for offer in found:
        campaign = await ctx.uow.campaigns.get(offer.campaign_id)
        if campaign is None:
            continue
        if offer.status in ("accepted", "submitted"):
            ctx.reply(place_of(ctx.t, campaign, offer, person.timezone))
            shown += 1
        elif state_text(ctx.t, campaign, offer, person.timezone) is None:
            text = card_text(ctx.t, campaign, person.timezone)
            ctx.reply(text, buttons=card_buttons(ctx.t, offer.id))
            shown += 1
    if not shown:
        ctx.reply(ctx._(NO_OPEN_OFFERS))
    await ask_pending(ctx)
