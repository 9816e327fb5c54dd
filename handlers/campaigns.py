"""Agency admins' campaigns in chat: /newcampaign's conversation, and /campaigns with its
Publish, Pause, Resume and Close buttons.

Every event checks again that its sender admins the campaign's agency, in a private chat: the
buttons come back from the platform, and anyone can forge one naming any campaign.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Final, Literal

from bot.core.callback import CallbackData
from bot.core.context import Context
from bot.core.conversation import ReviewedFlow, Step
from bot.core.errors import Invalid
from bot.core.messages import Button, MultiSelect, Option
from bot.core.router import Router
from bot.i18n import N_, NC_
from bot.services import campaigns as service
from bot.services.access import audit
from bot.services.campaigns import Action, campaign_target
from handlers.access import NOT_ALLOWED, agency_admin, private_chat, refuse
from handlers.campaign_cards import STATUS_LABELS, campaign_lines, report_card
from handlers.catalog import NICHES
from handlers.commands import PREFERENCES
from handlers.keyboards import USE_BUTTONS, Keyboard, button_value, picked_topics, rows, typed_text
from handlers.validators import campaign as fields
from handlers.validators.geo import parse_timezone
from storage.clock import utcnow
from storage.models import Campaign, Commission, NewCampaign

router = Router()

COMMAND_NAMES: Final = (NC_("command name", "newcampaign"), NC_("command name", "campaigns"))
FLOW: Final = "campaign"
NICHE_KEY: Final = "cniche"
# How many campaigns /campaigns shows, newest first.
LISTED: Final = 10

ACTION_LABELS: Final[dict[Action, str]] = {
    "publish": N_("Publish"),
    "pause": N_("Pause"),
    "resume": N_("Resume"),
    "close": N_("Close"),
}
DONE_TEXTS: Final[dict[Action, str]] = {
    "publish": N_(
        "Publishing: matching influencers now, and their offers go out next. Choose Refresh or "
        "send /campaigns to follow the figures."
    ),
    "pause": N_("Paused: no offers go out and nobody can accept until you resume it."),
    "resume": N_("Resumed: offers go out again and influencers can accept."),
    "close": N_("Closed: offers not yet accepted are withdrawn."),
}
# The fields of the review screen: their Edit labels, and the step that asks each.
FIELD_LABELS: Final = {
    "brand": N_("Brand"),
    "title": N_("Title"),
    "brief": N_("Brief"),
    "commission": N_("Commission"),
    "countries": N_("Countries"),
    "niches": N_("Topics"),
    "min_followers": N_("Minimum followers"),
    "slots": N_("Slots"),
    "timezone": N_("Time zone"),
    "deadline": N_("Deadline"),
    "url": N_("Landing page"),
}
# What an edit of a field asks before returning to the review screen.
FIELD_GROUPS: Final = {field: (field,) for field in FIELD_LABELS} | {
    "timezone": ("timezone", "deadline")
}


class CampaignButton(CallbackData, prefix="cmp"):
    """A button on a campaign's card; the campaign comes back from the platform, so it is
    checked against the presser's agency."""

    action: Literal["publish", "pause", "resume", "close", "show"]
    campaign: int


def _card_buttons(ctx: Context, campaign: Campaign) -> Keyboard:
    actions = [
        Button(
            label=ctx._(ACTION_LABELS[action]),
            data=CampaignButton(action=action, campaign=campaign.id).pack(),
        )
        for action in service.available(campaign)
    ]
    refresh = Button(
        label=ctx._("Refresh"), data=CampaignButton(action="show", campaign=campaign.id).pack()
    )
    return (*rows(actions, per_row=3), (refresh,))


def _zone(ctx: Context) -> str:
    """The admin's time zone: their profile's, the one they chose here, else UTC."""
    if ctx.person is not None:
        return ctx.person.timezone
    if ctx.conversation is not None and ctx.conversation.data.get("tz"):
        return str(ctx.conversation.data["tz"])
    return "UTC"


# /campaigns and its buttons ----------------------------------------------------------------


@router.command("campaigns", N_("Your agency's campaigns and their figures"), audience="agency")
async def list_campaigns(ctx: Context) -> None:
    found = await agency_admin(ctx, "campaign.list")
    if found is None or found.agency is None:
        return
    listed = await service.reports(ctx.uow, found.agency.id, LISTED)
    await audit(
        ctx.uow,
        found.account,
        "campaign.list",
        agency_id=found.agency.id,
        detail=f"{len(listed)} shown",
    )
    if not listed:
        ctx.reply(ctx._("Your agency has no campaigns yet. Send /newcampaign to create one."))
        return
    ctx.reply(ctx._("Campaigns of {agency}, newest first:", agency=found.agency.name))
    for each in listed:
        ctx.reply(report_card(ctx.t, each, _zone(ctx)), buttons=_card_buttons(ctx, each.campaign))


async def _forged(ctx: Context, action: str) -> None:
    if await private_chat(ctx, action):
        await refuse(ctx, action, NOT_ALLOWED, why="malformed button data")


@router.button(CampaignButton)
async def campaign_button(ctx: Context) -> None:
    pressed = CampaignButton.unpack(ctx.incoming.button_data)
    if pressed is None:
        await _forged(ctx, "campaign.button")
        return
    name = "campaign.status" if pressed.action == "show" else f"campaign.{pressed.action}"
    target = campaign_target(pressed.campaign)
    campaign = await ctx.uow.campaigns.get(pressed.campaign)
    agency_id = campaign.agency_id if campaign is not None else None
    found = await agency_admin(ctx, name, agency_id=agency_id, target=target)
    if found is None or found.agency is None:
        return
    if campaign is None:
        await refuse(ctx, name, NOT_ALLOWED, target=target, why="no such campaign")
        return
    note = ""
    if pressed.action != "show":
        change = await service.apply(
            ctx.uow, campaign.id, pressed.action, found.account, agency_id=found.agency.id
        )
        note = _change_text(ctx, change)
    else:
        await audit(ctx.uow, found.account, name, target=target, agency_id=campaign.agency_id)
    shown = await service.report(ctx.uow, campaign.id)
    assert shown is not None
    card = report_card(ctx.t, shown, _zone(ctx))
    ctx.reply(
        f"{card}\n\n{note}" if note else card,
        buttons=_card_buttons(ctx, shown.campaign),
        edit=True,
    )


def _change_text(ctx: Context, change: service.Change) -> str:
    if change.outcome == "done":
        return ""
    if change.outcome == "past_deadline":
        return ctx._("The deadline has passed: publish or resume it only with a later deadline.")
    status = change.campaign.status if change.campaign is not None else "closed"
    return ctx._(
        "Nothing changed. The campaign's status: {status}.",
        status=ctx._(STATUS_LABELS[status]),
    )


# /newcampaign ------------------------------------------------------------------------------


@router.command("newcampaign", N_("Create a campaign"), audience="agency")
async def new_campaign(ctx: Context) -> None:
    found = await agency_admin(ctx, "campaign.create")
    if found is None or found.agency is None:
        return
    kept = ctx.conversation
    if kept is not None and kept.flow == FLOW:
        ctx.reply(ctx._("Let's continue the campaign you started."))
        await campaign_flow.go(ctx, kept.step)
        return
    if kept is not None and kept.flow != PREFERENCES:
        ctx.reply(ctx._("Finish what you are doing in this chat first, or send /cancel."))
        return
    data: dict[str, Any] = {"agency": found.agency.id}
    if kept is not None and kept.data.get("lang"):
        data["lang"] = kept.data["lang"]  # a language chosen with /language stays chosen
    ctx.reply(
        ctx._(
            "A new campaign for {agency}: a few questions, then you check everything before it "
            "is saved. Send /back to change the previous answer or /cancel to stop.",
            agency=found.agency.name,
        )
    )
    await campaign_flow.begin(ctx, "brand", data)


async def ask_brand(ctx: Context) -> None:
    ctx.reply(ctx._("Which brand is the campaign for?"))


async def answer_brand(ctx: Context) -> str:
    ctx.data["brand"] = fields.parse_brand(typed_text(ctx))
    return "title"


async def ask_title(ctx: Context) -> None:
    ctx.reply(ctx._("The campaign's title, as influencers will see it?"))


async def answer_title(ctx: Context) -> str:
    ctx.data["title"] = fields.parse_title(typed_text(ctx))
    return "brief"


async def ask_brief(ctx: Context) -> None:
    ctx.reply(
        ctx._(
            "The brief: what should influencers show or say? Up to {max} characters.",
            max=ctx.t.number(fields.MAX_BRIEF),
        )
    )


async def answer_brief(ctx: Context) -> str:
    ctx.data["brief"] = fields.parse_brief(typed_text(ctx))
    return "commission"


async def ask_commission(ctx: Context) -> None:
    ctx.reply(
        ctx._(
            "The commission: a percentage of each sale, such as 12.5%, or a fixed amount per "
            "sale with its currency, such as 25 EUR."
        )
    )


async def answer_commission(ctx: Context) -> str:
    ctx.data["commission"] = fields.parse_commission(typed_text(ctx)).model_dump()
    return "countries"


async def ask_countries(ctx: Context) -> None:
    everywhere = Button(label=ctx._("All countries"), data="ccountry:all")
    ctx.reply(
        ctx._(
            "Which countries should influencers live in? Type their names or two-letter codes "
            "separated by commas, for example {example}.",
            example=f"{ctx.t.country_name('PL')}, DE, {ctx.t.country_name('FR')}",
        ),
        buttons=((everywhere,),),
    )


async def answer_countries(ctx: Context) -> str:
    if ctx.incoming.kind == "button":
        if button_value(ctx.incoming.button_data, "ccountry") != "all":
            raise Invalid(USE_BUTTONS)
        ctx.data["countries"] = []
        return "niches"
    typed = typed_text(ctx)
    # The first lookup reads CLDR names in some 130 languages: beside the event loop.
    countries = await asyncio.to_thread(fields.parse_countries, typed, ctx.language)
    ctx.data["countries"] = list(countries)
    return "niches"


def _niche_picker(ctx: Context) -> MultiSelect:
    chosen = set(ctx.data.get("niches") or [])
    return MultiSelect(
        key=NICHE_KEY,
        options=tuple(
            Option(value=key, label=ctx._(label), selected=key in chosen)
            for key, label in NICHES.items()
        ),
        placeholder=ctx._("Choose topics"),
    )


async def ask_niches(ctx: Context, *, edit: bool = False) -> None:
    buttons = (
        (
            Button(label=ctx._("Done"), data="cniches:done"),
            Button(label=ctx._("All topics"), data="cniches:all"),
        ),
    )
    ctx.reply(
        ctx._("Which topics should influencers post about? Choose any, then choose Done."),
        multiselect=_niche_picker(ctx),
        buttons=buttons,
        edit=edit,
    )


async def answer_niches(ctx: Context) -> str | None:
    data = ctx.incoming.button_data or ""
    chosen: list[str] = list(ctx.data.get("niches") or [])
    if ctx.incoming.kind == "text":
        labels = {ctx._(label): key for key, label in NICHES.items()}
        typed = fields.parse_niches(ctx.incoming.text, labels)
        ctx.data["niches"] = list(typed)
        return "min_followers"
    if data == "cniches:all":
        ctx.data["niches"] = []
        return "min_followers"
    if data == "cniches:done":
        if not chosen:
            raise Invalid(fields.NO_NICHES)
        return "min_followers"
    chosen = picked_topics(NICHE_KEY, data, chosen)
    ctx.data["niches"] = chosen
    await ask_niches(ctx, edit=True)
    return None


async def ask_min_followers(ctx: Context) -> None:
    ctx.reply(
        ctx._(
            "How many followers must an influencer have in total, at least? For example: "
            "5000, 10k or 1.2M."
        ),
        buttons=((Button(label=ctx._("No minimum"), data="cminf:0"),),),
    )


async def answer_min_followers(ctx: Context) -> str:
    if ctx.incoming.kind == "button":
        if button_value(ctx.incoming.button_data, "cminf") != "0":
            raise Invalid(USE_BUTTONS)
        ctx.data["min_followers"] = 0
    else:
        ctx.data["min_followers"] = fields.parse_min_followers(typed_text(ctx), ctx.language)
    return "slots"


async def ask_slots(ctx: Context) -> None:
    ctx.reply(ctx._("How many influencers can take part at most (the slots)?"))


async def answer_slots(ctx: Context) -> str:
    ctx.data["slots"] = fields.parse_slots(typed_text(ctx))
    return "deadline" if ctx.person is not None or ctx.data.get("tz") else "timezone"


async def ask_timezone(ctx: Context) -> None:
    ctx.reply(
        ctx._(
            "Which time zone should the deadline be in? Type its name, for example "
            "Europe/Warsaw, or choose UTC."
        ),
        buttons=((Button(label="UTC", data="ctz:UTC"),),),
    )


async def answer_timezone(ctx: Context) -> str:
    if ctx.incoming.kind == "button":
        if button_value(ctx.incoming.button_data, "ctz") != "UTC":
            raise Invalid(USE_BUTTONS)
        ctx.data["tz"] = "UTC"
    else:
        ctx.data["tz"] = parse_timezone(typed_text(ctx))
    return "deadline"


async def ask_deadline(ctx: Context) -> None:
    ctx.reply(
        ctx._(
            "The deadline for posting, in your time zone ({zone})? For example {example}.",
            zone=_zone(ctx),
            example="31.12.2026 18:00",
        )
    )


async def answer_deadline(ctx: Context) -> str:
    deadline = fields.parse_deadline(typed_text(ctx), _zone(ctx), utcnow())
    ctx.data["deadline"] = deadline.isoformat()
    return "url"


async def ask_url(ctx: Context) -> None:
    ctx.reply(
        ctx._(
            "The landing page influencers send people to (https only)? Each influencer's "
            "link gets their own ref code added."
        )
    )


async def answer_url(ctx: Context) -> str:
    ctx.data["url"] = fields.parse_landing_url(typed_text(ctx))
    return "review"


def _review_buttons(ctx: Context) -> Keyboard:
    shown = [field for field in FIELD_LABELS if field != "timezone" or "tz" in ctx.data]
    edits = [
        Button(
            label=ctx._("Edit: {field}", field=ctx._(FIELD_LABELS[field])), data=f"cedit:{field}"
        )
        for field in shown
    ]
    final = (
        Button(label=ctx._("Save as draft"), data="csave:draft"),
        Button(label=ctx._("Publish"), data="csave:publish"),
    )
    return (*rows(edits), final)


async def ask_review(ctx: Context) -> None:
    lines = [
        ctx._("Please check the campaign:"),
        "",
        *campaign_lines(ctx.t, ctx.data, _zone(ctx)),
        ctx._("Brief:"),
        str(ctx.data.get("brief", "")),
    ]
    ctx.reply("\n".join(lines), buttons=_review_buttons(ctx))


async def answer_review(ctx: Context) -> str | None:
    if ctx.incoming.kind != "button":
        raise Invalid(USE_BUTTONS)
    data = ctx.incoming.button_data or ""
    if data.startswith("cedit:"):
        field = button_value(data, "cedit")
        if field not in FIELD_GROUPS:
            raise Invalid(USE_BUTTONS)
        return campaign_flow.open_edit(ctx, field)
    choice = button_value(data, "csave")
    if choice not in ("draft", "publish"):
        raise Invalid(USE_BUTTONS)
    return await _save(ctx, publish=choice == "publish")


async def _save(ctx: Context, *, publish: bool) -> str | None:
    agency_id = int(ctx.data["agency"])
    found = await agency_admin(ctx, "campaign.create", agency_id=agency_id)
    if found is None:
        return None
    deadline = datetime.fromisoformat(ctx.data["deadline"])
    if deadline <= utcnow():
        # A conversation resumed days later: the deadline it holds may be gone.
        ctx.reply(ctx._(fields.DEADLINE_PAST))
        campaign_flow.open_edit(ctx, "deadline")
        return "deadline"
    draft = NewCampaign(
        agency_id=agency_id,
        brand=ctx.data["brand"],
        title=ctx.data["title"],
        brief=ctx.data["brief"],
        commission=Commission.model_validate(ctx.data["commission"]),
        countries=tuple(ctx.data["countries"]),
        niches=tuple(ctx.data["niches"]),
        min_followers=int(ctx.data["min_followers"]),
        slots=int(ctx.data["slots"]),
        deadline=deadline,
        landing_url=ctx.data["url"],
        created_by=found.account,
    )
    lang = ctx.data.get("lang")
    ctx.finish()
    if lang:
        ctx.start(PREFERENCES, PREFERENCES, {"lang": lang})
    created = await service.create(ctx.uow, draft, found.account, publish=publish)
    if created.status == "publishing":
        text = ctx._(
            "Campaign #{id} is saved and publishing: matching influencers now. Send /campaigns "
            "to follow its figures.",
            id=created.id,
        )
    else:
        text = ctx._(
            "Campaign #{id} is saved as a draft. Publish it from /campaigns when you are ready.",
            id=created.id,
        )
    shown = await service.report(ctx.uow, created.id)
    assert shown is not None
    ctx.reply(text, buttons=_card_buttons(ctx, shown.campaign))
    return None


class CampaignFlow(ReviewedFlow):
    """An Edit button on the review screen asks one field (the time zone with the deadline)
    and comes back to the review; /back there abandons the edit."""

    navigable = True

    async def cancel(self, ctx: Context) -> bool:
        lang = ctx.data.get("lang")
        ctx.finish()
        if lang:
            ctx.start(PREFERENCES, PREFERENCES, {"lang": lang})
        ctx.reply(ctx._("Cancelled: the campaign was not saved."))
        return True


campaign_flow = router.flow(
    CampaignFlow(
        FLOW,
        field_groups=FIELD_GROUPS,
        steps=[
            Step("brand", ask_brand, answer_brand),
            Step("title", ask_title, answer_title),
            Step("brief", ask_brief, answer_brief),
            Step("commission", ask_commission, answer_commission),
            Step("countries", ask_countries, answer_countries),
            Step("niches", ask_niches, answer_niches),
            Step("min_followers", ask_min_followers, answer_min_followers),
            Step("slots", ask_slots, answer_slots),
            Step("timezone", ask_timezone, answer_timezone),
            Step("deadline", ask_deadline, answer_deadline),
            Step("url", ask_url, answer_url),
            Step("review", ask_review, answer_review),
        ],
        button_prefixes=("ccountry", NICHE_KEY, "cniches", "cminf", "ctz", "cedit", "csave"),
    )
)
