"""A campaign's offer opened from its post in a group: the Telegram deep link
(``/start offer-<campaign>``) and the Discord button, answered to the presser alone."""

from __future__ import annotations

import re
from typing import Final

from bot.core.context import Context
from bot.core.messages import Button
from bot.core.router import Router
from bot.i18n import N_
from bot.services.offer_cards import OpenOffer, accepted_before, card_buttons, card_text
from bot.services.publishing import ended, offer_state
from handlers.access import NOT_ALLOWED, refuse
from storage.clock import utcnow

router = Router()

_LINK: Final = re.compile(r"offer-([0-9]{1,12})")

SIGN_UP_FIRST: Final = N_(
    "To take part in campaigns, sign up first: send /start to me in a private chat."
)
UNDER_REVIEW: Final = N_(
    "Your application is still under review. Once it is approved, offers that match your "
    "profile come to you here."
)
NOT_FOR_YOU: Final = N_("This offer is not open to you.")
NO_MATCH: Final = N_(
    "This campaign looks for other creators (country, topics or audience), so it is not "
    "offered to you."
)
PAUSED: Final = N_("This campaign is paused for now. Try again later.")
CLOSED: Final = N_("This campaign is closed.")
FULL: Final = N_("Every place in this campaign is taken.")
PAST_DEADLINE: Final = N_("This campaign's deadline has passed.")
# Each reason as its cards were edited to give it, so the link says the same.
STATES: Final = {
    "paused": PAUSED,
    "full": FULL,
    "closed": CLOSED,
    "deadline": PAST_DEADLINE,
    "taken": N_("You have already answered this offer."),
    "gone": CLOSED,
}


def offer_link(args: str) -> int | None:
    """The campaign a deep link's payload names, if it names one."""
    match = _LINK.fullmatch(args.strip())
    return int(match.group(1)) if match else None


async def show_offer(ctx: Context, campaign_id: int) -> None:
    """The campaign's offer to this person, their place in it, or why there is none (as
    its cards say it); to them alone."""
    private = not ctx.incoming.is_private

    def say(text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> None:
        ctx.reply(text, buttons=buttons, private=private)

    person = ctx.person
    if person is None:
        say(ctx._(SIGN_UP_FIRST))
        return
    if person.status != "approved":
        waiting = person.status == "applicant"
        say(ctx._(UNDER_REVIEW if waiting else NOT_FOR_YOU))
        return
    campaign = await ctx.uow.campaigns.get(campaign_id)
    if campaign is None:
        say(ctx._(CLOSED))
        return
    now = utcnow()
    offer = await ctx.uow.offers.of_campaign_person(campaign.id, person.id)
    if offer is not None and offer.status in ("accepted", "submitted"):
        say(accepted_before(ctx.t, campaign, offer, person.timezone))
        return
    ending = ended(campaign, now)
    if ending is not None:
        say(ctx._(STATES[ending]))
        return
    offer_id = offer.id if offer is not None else None
    taking = campaign.status != "paused" and campaign.slots_left > 0
    if offer_id is None and taking:
        made = await ctx.uow.offers.offer_to(campaign.id, person.id, now, asked=True)
        if made is None:
            say(ctx._(NO_MATCH))
            return
        offer_id = made.offer_id
    if offer_id is None:
        why = PAUSED if campaign.status == "paused" else FULL
        say(ctx._(why))
        return
    state = await offer_state(ctx.uow, offer_id, person.id)
    if state != "open":
        say(ctx._(STATES[state]))
        return
    say(card_text(ctx.t, campaign, person.timezone), card_buttons(ctx.t, offer_id))


@router.button(OpenOffer)
async def open_offer(ctx: Context) -> None:
    pressed = OpenOffer.unpack(ctx.incoming.button_data)
    if pressed is None:
        await refuse(ctx, "offer.open", NOT_ALLOWED, why="malformed button data")
        return
    await show_offer(ctx, pressed.campaign)
