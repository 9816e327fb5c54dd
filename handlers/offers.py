"""The influencer's side of offers: the card's Accept / Decline / Details, /offers, /submit.

Every press loads the offer it names and checks it is the presser's: button data comes back
from the platform, and anyone can forge one naming another person's offer. Such a press is
refused and audited, and changes nothing.
"""

from __future__ import annotations

from typing import Final

from bot.core.callback import CallbackData
from bot.core.context import Context
from bot.core.conversation import HISTORY, Flow, Step
from bot.core.errors import Invalid
from bot.core.messages import Button
from bot.core.router import Router
from bot.i18n import N_, NC_, Translator
from bot.services.access import audit
from bot.services.offer_cards import (
    AcceptOffer,
    DeclineOffer,
    OfferDetails,
    card_buttons,
    card_text,
)
from bot.services.offers import (
    DECLINE_REASONS,
    DISCLOSURE,
    NO_REASON,
    AcceptResult,
    accept_offer,
    decline_offer,
    link_of,
)
from handlers.access import NOT_ALLOWED, refuse
from handlers.catalog import NICHES
from handlers.commands import NO_PROFILE_YET, PREFERENCES, PRIVATE_ONLY
from handlers.commands import _ask_pending as ask_pending
from handlers.keyboards import STALE_BUTTON, Keyboard, rows
from handlers.offer_links import NOT_FOR_YOU, PAUSED, show_offer
from handlers.validators.social import parse_post_link
from storage import clock
from storage.models import Campaign, Offer

router = Router()

COMMAND_NAMES: Final = (NC_("command name", "offers"), NC_("command name", "submit"))

SUBMIT_FLOW: Final = "submit_post"
# At most this many offers in /offers and in /submit's choice: the newest.
LISTED: Final = 10

ACCEPTED: Final = N_(
    "You are in: {brand}: {title}\n\nYour personal link: {link}\nYour promo code: {code}\n\n"
    "Put {disclosure} on your post: a paid post must say that it is advertising.\n"
    "Publish by {deadline}, then send /submit with the link to your post."
)
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
NOTHING_TO_SUBMIT: Final = N_(
    "You have no accepted offer waiting for your post. Send /offers to see your offers."
)
FULL: Final = N_("Sorry, the campaign is full: {brand}: {title} has no slots left.")
ENDED: Final = N_("{brand}: {title} is closed: it no longer takes acceptances.")
ACCEPTED_ALREADY: Final = N_(
    "You accepted this offer already.\nYour personal link: {link}\nYour promo code: {code}"
)
DECLINED_ALREADY: Final = N_("You declined this offer.")
CANCELLED: Final = N_("Cancelled: nothing was recorded.")
FINISH_FIRST: Final = N_(
    "Finish what you are doing in this chat first (or send /cancel), then send /submit again."
)


# The card's buttons, as offer_cards makes them: each names one offer.
OfferButton = AcceptOffer | DeclineOffer | OfferDetails


class DeclineFor(CallbackData, prefix="ofr"):
    """The optional reason after Decline; ``reason`` is one of DECLINE_REASONS or none."""

    offer: int
    reason: str


class SubmitChoice(CallbackData, prefix="ofs"):
    """/submit's question of which offer; offer 0 cancels."""

    offer: int


def _answer(ctx: Context, text: str, *, buttons: Keyboard = (), edit: bool = False) -> None:
    """To the presser alone: a card opened from a group post is pressed there."""
    ctx.reply(text, buttons=buttons, edit=edit, private=not ctx.incoming.is_private)


def _names(campaign: Campaign) -> dict[str, str]:
    return {"brand": campaign.brand, "title": campaign.title}


async def _own_offer(ctx: Context, offer_id: int, action: str) -> tuple[Offer, Campaign] | None:
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


async def _forged(ctx: Context, action: str) -> None:
    """Button data with one of our prefixes that does not parse: nobody's button."""
    await refuse(ctx, action, NOT_ALLOWED, why="malformed button data")


def state_text(t: Translator, campaign: Campaign, offer: Offer) -> str | None:
    """Why the offer cannot be accepted now; None while it can."""
    names = _names(campaign)
    if offer.status in ("accepted", "submitted"):
        return t._(ACCEPTED_ALREADY, link=link_of(campaign, offer), code=offer.promo_code or "")
    if offer.status == "declined":
        return t._(DECLINED_ALREADY)
    if offer.status == "withdrawn" or campaign.status in ("closed", "draft"):
        return t._(ENDED, **names)
    if campaign.deadline <= clock.utcnow():
        return t._(ENDED, **names)
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
        await _forged(ctx, action)
        return None
    return await _own_offer(ctx, pressed.offer, action)


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
        await _forged(ctx, "offer.details")
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
    found = await _own_offer(ctx, pressed.offer, "offer.details")
    if found is not None:
        _details(ctx, *found)
        await ask_pending(ctx)


def accepted_text(t: Translator, result: AcceptResult, timezone: str) -> str:
    campaign = result.campaign
    assert campaign is not None
    return t._(
        ACCEPTED,
        **_names(campaign),
        link=result.link,
        code=result.code,
        disclosure=t._(DISCLOSURE),
        deadline=t.datetime(campaign.deadline, timezone),
    )


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
        answer = ctx._(FULL, **_names(campaign))
    elif result.outcome == "closed":
        answer = ctx._(ENDED, **_names(campaign))
    else:
        answer = state_text(ctx.t, campaign, result.offer or offer) or ctx._(STALE_BUTTON)
    _answer(ctx, answer, edit=True)


async def _ask_decline_reason(ctx: Context, offer: Offer, campaign: Campaign) -> None:
    if offer.status != "offered":
        _answer(ctx, state_text(ctx.t, campaign, offer) or ctx._(STALE_BUTTON), edit=True)
        return
    reasons = [
        Button(label=ctx._(label), data=DeclineFor(offer=offer.id, reason=reason).pack())
        for reason, label in DECLINE_REASONS.items()
    ]
    skip = Button(label=ctx._("Skip"), data=DeclineFor(offer=offer.id, reason=NO_REASON).pack())
    _answer(
        ctx, ctx._(WHY_DECLINE, **_names(campaign)), buttons=(*rows(reasons), (skip,)), edit=True
    )


@router.button(DeclineFor)
async def decline_for(ctx: Context) -> None:
    pressed = DeclineFor.unpack(ctx.incoming.button_data)
    if pressed is None or (pressed.reason not in DECLINE_REASONS and pressed.reason != NO_REASON):
        await _forged(ctx, "offer.decline")
        return
    found = await _own_offer(ctx, pressed.offer, "offer.decline")
    if found is None:
        return
    offer, campaign = found
    assert ctx.person is not None
    declined = await decline_offer(ctx.uow, offer.id, ctx.person, pressed.reason, clock.utcnow())
    if declined is None:
        _answer(ctx, state_text(ctx.t, campaign, offer) or ctx._(STALE_BUTTON), edit=True)
    elif pressed.reason == NO_REASON:
        _answer(ctx, ctx._(DECLINED_NO_REASON, **_names(campaign)), edit=True)
    else:
        _answer(ctx, ctx._(DECLINED, **_names(campaign)), edit=True)
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
    state = state_text(t, campaign, offer)
    if state is not None:
        lines += ["", state]
        _answer(ctx, "\n".join(lines))
    else:
        _answer(ctx, "\n".join(lines), buttons=card_buttons(t, offer.id))


async def _member(ctx: Context) -> bool:
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
    if not await _member(ctx):
        return
    person = ctx.person
    assert person is not None
    found = await ctx.uow.offers.of_person(person.id, ["offered", "accepted"], limit=LISTED)
    shown = 0
    for offer in found:
        campaign = await ctx.uow.campaigns.get(offer.campaign_id)
        if campaign is None:
            continue
        if offer.status == "accepted":
            lines = [
                ctx._("Accepted: {brand}: {title}", **_names(campaign)),
                ctx._("Your personal link: {link}", link=link_of(campaign, offer)),
                ctx._("Your promo code: {code}", code=offer.promo_code or ""),
                ctx._(
                    "Publish by {deadline}, then send /submit with the link to your post.",
                    deadline=ctx.t.datetime(campaign.deadline, person.timezone),
                ),
            ]
            ctx.reply("\n".join(lines))
            shown += 1
        elif state_text(ctx.t, campaign, offer) is None:
            text = card_text(ctx.t, campaign, person.timezone)
            ctx.reply(text, buttons=card_buttons(ctx.t, offer.id))
            shown += 1
    if not shown:
        ctx.reply(ctx._(NO_OPEN_OFFERS))
    await ask_pending(ctx)


@router.command("submit", N_("Send the link to your published post"), audience="member")
async def submit_command(ctx: Context) -> None:
    if not await _member(ctx):
        return
    person = ctx.person
    assert person is not None
    kept = ctx.conversation
    if kept is not None and kept.flow not in (SUBMIT_FLOW, PREFERENCES):
        ctx.reply(ctx._(FINISH_FIRST))
        await ask_pending(ctx)
        return
    waiting = await ctx.uow.offers.of_person(person.id, ["accepted"], limit=LISTED)
    if not waiting:
        ctx.reply(ctx._(NOTHING_TO_SUBMIT))
        return
    data: dict[str, object] = {}
    if kept is not None and kept.data.get("lang"):
        data["lang"] = kept.data["lang"]  # a language chosen with /language stays chosen
    if len(waiting) == 1:
        data["offer"] = waiting[0].id
        await submit_flow.begin(ctx, "link", data)
    else:
        await submit_flow.begin(ctx, "pick", data)


def _end_submit(ctx: Context) -> None:
    lang = ctx.data.get("lang")
    ctx.finish()
    if lang:
        ctx.start(PREFERENCES, PREFERENCES, {"lang": lang})


def _cancel_button(ctx: Context) -> Button:
    return Button(label=ctx._("Cancel"), data=SubmitChoice(offer=0).pack())


async def ask_pick(ctx: Context) -> None:
    assert ctx.person is not None
    waiting = await ctx.uow.offers.of_person(ctx.person.id, ["accepted"], limit=LISTED)
    buttons = []
    for offer in waiting:
        campaign = await ctx.uow.campaigns.get(offer.campaign_id)
        if campaign is not None:
            label = ctx._("{brand}: {title}", **_names(campaign))[:80]
            buttons.append(Button(label=label, data=SubmitChoice(offer=offer.id).pack()))
    ctx.reply(
        ctx._("Which offer is your post for?"),
        buttons=(*rows(buttons, per_row=1), (_cancel_button(ctx),)),
    )


async def answer_pick(ctx: Context) -> str | None:
    raise Invalid(N_("Please choose one of the offers below."))


async def ask_link(ctx: Context) -> None:
    offer = await ctx.uow.offers.get(int(ctx.data["offer"]))
    campaign = await ctx.uow.campaigns.get(offer.campaign_id) if offer else None
    names = _names(campaign) if campaign else {"brand": "", "title": ""}
    ctx.reply(
        ctx._("Send me the link to your published post for {brand}: {title}.", **names),
        buttons=((_cancel_button(ctx),),),
    )


async def answer_link(ctx: Context) -> str | None:
    person = ctx.person
    assert person is not None
    if ctx.incoming.kind != "text":
        raise Invalid(N_("Please send the link to your post, or press Cancel."))
    networks = tuple(dict.fromkeys(social.network for social in person.socials))
    link = parse_post_link(ctx.incoming.text, networks)
    offer_id = int(ctx.data["offer"])
    _end_submit(ctx)
    submitted = await ctx.uow.offers.submit(offer_id, person.id, link, clock.utcnow())
    campaign = await ctx.uow.campaigns.get(submitted.campaign_id) if submitted else None
    if submitted is None or campaign is None:
        ctx.reply(ctx._("That offer is no longer waiting for a post: nothing was recorded."))
        return None
    ctx.reply(
        ctx._(
            "Thank you! Your post for {brand}: {title} is recorded: {link}",
            **_names(campaign),
            link=link,
        )
    )
    return None


@router.button(SubmitChoice)
async def submit_choice(ctx: Context) -> None:
    pressed = SubmitChoice.unpack(ctx.incoming.button_data)
    if pressed is None:
        await _forged(ctx, "offer.submit")
        return
    if ctx.conversation is None or ctx.conversation.flow != SUBMIT_FLOW:
        ctx.reply(ctx._(STALE_BUTTON))
        return
    if pressed.offer == 0:
        _end_submit(ctx)
        ctx.reply(ctx._(CANCELLED))
        return
    found = await _own_offer(ctx, pressed.offer, "offer.submit")
    if found is None:
        return
    offer, _ = found
    if offer.status != "accepted":
        ctx.reply(ctx._("That offer is no longer waiting for a post: nothing was recorded."))
        _end_submit(ctx)
        return
    ctx.data["offer"] = offer.id
    ctx.data.setdefault(HISTORY, []).append("pick")
    await submit_flow.go(ctx, "link")


class SubmitFlow(Flow):
    """/back from the link goes to the choice of offer; /cancel stops, recording nothing."""

    navigable = True

    async def cancel(self, ctx: Context) -> bool:
        _end_submit(ctx)
        ctx.reply(ctx._(CANCELLED))
        return True


submit_flow = router.flow(
    SubmitFlow(
        SUBMIT_FLOW, [Step("pick", ask_pick, answer_pick), Step("link", ask_link, answer_link)]
    )
)
