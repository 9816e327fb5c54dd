"""/submit: the link to the post published for an accepted offer, checked to be on one of
the person's own networks and, where it names an account, one of theirs; which offer, asked
with buttons when several wait."""

from __future__ import annotations

from typing import Final

from bot.core.callback import CallbackData
from bot.core.context import Context
from bot.core.conversation import HISTORY, Flow, Step
from bot.core.errors import Invalid
from bot.core.messages import Button
from bot.core.router import Router
from bot.i18n import N_, NC_
from handlers.commands import PREFERENCES
from handlers.commands import _ask_pending as ask_pending
from handlers.keyboards import STALE_BUTTON, rows
from handlers.offers import LISTED, forged, member_here, names_of, own_offer
from handlers.validators.social import parse_post_link
from storage import clock

router = Router()

COMMAND_NAMES: Final = (NC_("command name", "submit"),)

SUBMIT_FLOW: Final = "submit_post"
NOTHING_TO_SUBMIT: Final = N_(
    "You have no accepted offer waiting for your post. Send /offers to see your offers."
)
CANCELLED: Final = N_("Cancelled: nothing was recorded.")
FINISH_FIRST: Final = N_(
    "Finish what you are doing in this chat first (or send /cancel), then send /submit again."
)


class SubmitChoice(CallbackData, prefix="ofs"):
    """/submit's question of which offer; offer 0 cancels."""

    offer: int


@router.command("submit", N_("Send the link to your published post"), audience="member")
async def submit_command(ctx: Context) -> None:
    if not await member_here(ctx):
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
            label = ctx._("{brand}: {title}", **names_of(campaign))[:80]
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
    names = names_of(campaign) if campaign else {"brand": "", "title": ""}
    ctx.reply(
        ctx._("Send me the link to your published post for {brand}: {title}.", **names),
        buttons=((_cancel_button(ctx),),),
    )


async def answer_link(ctx: Context) -> str | None:
    person = ctx.person
    assert person is not None
    if ctx.incoming.kind != "text":
        raise Invalid(N_("Please send the link to your post, or choose Cancel."))
    accounts = [(social.network, social.handle) for social in person.socials]
    post = parse_post_link(ctx.incoming.text, accounts)
    link = post.url
    offer_id = int(ctx.data["offer"])
    _end_submit(ctx)
    submitted = await ctx.uow.offers.submit(
        offer_id, person.id, link, clock.utcnow(), content_handle=post.handle
    )
    campaign = await ctx.uow.campaigns.get(submitted.campaign_id) if submitted else None
    if submitted is None or campaign is None:
        ctx.reply(ctx._("That offer is no longer waiting for a post: nothing was recorded."))
        return None
    ctx.reply(
        ctx._(
            "Thank you! Your post for {brand}: {title} is recorded: {link}",
            **names_of(campaign),
            link=link,
        )
    )
    return None


@router.button(SubmitChoice)
async def submit_choice(ctx: Context) -> None:
    pressed = SubmitChoice.unpack(ctx.incoming.button_data)
    if pressed is None:
        await forged(ctx, "offer.submit")
        return
    if ctx.conversation is None or ctx.conversation.flow != SUBMIT_FLOW:
        ctx.reply(ctx._(STALE_BUTTON))
        return
    if pressed.offer == 0:
        _end_submit(ctx)
        ctx.reply(ctx._(CANCELLED))
        return
    found = await own_offer(ctx, pressed.offer, "offer.submit")
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
