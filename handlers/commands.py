"""The commands anyone can send, and what the bot says to anything else."""

from __future__ import annotations

import re

from bot.core.callback import CallbackData
from bot.core.context import Context
from bot.core.conversation import HISTORY, Flow
from bot.core.messages import Button
from bot.core.router import Router
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, N_, normalize_language
from bot.services.people import edit_profile
from handlers.access import roles
from handlers.cards import draft_from_person, profile_card
from handlers.keyboards import USE_BUTTONS, Keyboard, rows
from handlers.offer_links import offer_link, show_offer
from handlers.private_start import no_way_in
from handlers.profile_draft import MODE
from handlers.profile_flow import FLOW, SAVED, profile_flow

router = Router()
router.flow(profile_flow)

STATUS_LINES = {
    "applicant": N_("Status: application under review."),
    "approved": N_("Status: approved member."),
    "rejected": N_("Status: application not accepted."),
    "suspended": N_("Status: suspended."),
}
PRIVATE_ONLY = N_("Please send me this command in a private chat.")
NO_PROFILE_YET = N_("You have no profile yet. Send /start to sign up.")
NOT_SIGNED_UP_YET = N_("Your profile is made when you finish signing up.")
OFFER_FOR_MEMBERS = N_(
    "This offer is for members of the influencer programme. Let's sign you up: once you are "
    "approved, offers that match you come to you here."
)
OFFER_SIGNUP_FIRST = N_(
    "This offer is for members of the programme. Finish signing up first: once you are "
    "approved, offers that match you come to you here."
)
# A pseudo-flow with no steps: keeps a guest's language choice until they /start.
PREFERENCES = "preferences"
# What a command's name can be on every platform (Telegram's rule is the narrowest).
COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
UNKNOWN_COMMAND = N_("I do not know the command /{command}. Send /help to see what I can do.")
NOT_A_COMMAND = N_("I do not know that command. Send /help to see what I can do.")


def _in_profile_flow(ctx: Context) -> bool:
    return ctx.conversation is not None and ctx.conversation.flow == FLOW


def _pending(ctx: Context) -> Flow | None:
    """The flow whose question is open, whichever handlers module it belongs to."""
    conversation = ctx.conversation
    return ctx.router.flows.get(conversation.flow) if conversation is not None else None


async def _ask_pending(ctx: Context) -> None:
    """Ask the open question again below an answer to something else, so the question and
    its choices are the last thing on screen (the console maps typed numbers to them)."""
    flow = _pending(ctx)
    if flow is not None and ctx.conversation is not None:
        await flow.go(ctx, ctx.conversation.step)


async def _welcome_back(ctx: Context) -> None:
    ctx.reply(ctx._("Welcome back! Let's continue where you left off."))
    await _ask_pending(ctx)


async def _no_profile(ctx: Context) -> None:
    if _in_profile_flow(ctx):
        ctx.reply(ctx._(NOT_SIGNED_UP_YET))
        await _ask_pending(ctx)
    else:
        ctx.reply(ctx._(NO_PROFILE_YET))


class SetLanguage(CallbackData, prefix="setlang"):
    """/language's choice, pressed at any time, in or out of a conversation."""

    code: str


def _language_keyboard(first: str | None = None) -> Keyboard:
    ordered = sorted(LANGUAGES, key=lambda code: code != first)
    buttons = [
        Button(label=LANGUAGE_NAMES[code], data=SetLanguage(code=code).pack()) for code in ordered
    ]
    return rows(buttons, per_row=3)


async def _require_private(ctx: Context, message: str = PRIVATE_ONLY) -> bool:
    """Outside a private chat, answer only the asker, with a way into a private chat."""
    if ctx.incoming.is_private:
        return True
    buttons: Keyboard = ()
    if ctx.incoming.private_chat_url:
        link = Button(label=ctx._("Open a private chat"), url=ctx.incoming.private_chat_url)
        buttons = ((link,),)
    # Only a pointer to the private chat: harmless to show where it was asked (on Discord the
    # answer to a slash command in a server is visible to its asker alone anyway).
    ctx.reply(ctx._(message), buttons=buttons)
    return False


@router.command("start", N_("Join the programme"), audience="guest", opens_private=True)
async def start(ctx: Context) -> None:
    """Begin or resume signup; a member is pointed at their profile instead."""
    if await no_way_in(ctx):
        return
    if not await _require_private(
        ctx, N_("Signup happens in a private chat with me, so your details stay private.")
    ):
        return
    campaign_id = offer_link(ctx.incoming.args)
    if ctx.person is not None and campaign_id is not None:
        await show_offer(ctx, campaign_id)
        await _ask_pending(ctx)
        return
    if campaign_id is not None:
        # A guest who followed a campaign's link: why the signup comes first.
        ctx.reply(ctx._(OFFER_SIGNUP_FIRST if _in_profile_flow(ctx) else OFFER_FOR_MEMBERS))
    if ctx.person is not None:
        ctx.reply(
            ctx._(
                "You are already signed up, {name}. Send /profile to see your profile or /edit "
                "to change it.",
                name=ctx.person.display_name,
            )
        )
        await _ask_pending(ctx)
        return
    if _in_profile_flow(ctx):
        await _welcome_back(ctx)
        return
    ctx.reply(
        ctx._(
            "Welcome! I will sign you up for the influencer programme: a few questions, about "
            "three minutes. Send /back to change the previous answer or /cancel to stop."
        )
    )
    chosen = ctx.conversation.data.get("lang") if ctx.conversation else None
    if chosen:
        await profile_flow.begin(
            ctx, "name", {MODE: "signup", "lang": chosen, HISTORY: ["language"]}
        )
    else:
        await profile_flow.begin(ctx, "language", {MODE: "signup"})


@router.command("cancel", N_("Stop what you are doing"), in_flow_only=True)
async def cancel(ctx: Context) -> None:
    other = _pending(ctx)
    if other is not None and other.navigable and await other.cancel(ctx):
        return
    if ctx.conversation is None or not _in_profile_flow(ctx):
        ctx.reply(ctx._("There is nothing to cancel."))
        return
    saved = ctx.data.get(SAVED)
    signing_up = ctx.data.get(MODE) != "edit"
    ctx.finish()
    if signing_up:
        ctx.reply(
            ctx._(
                "Signup cancelled and your answers deleted. Send /start whenever you want to "
                "begin again."
            )
        )
    elif saved:
        ctx.reply(ctx._("Stopped editing. The changes you finished before are saved."))
    else:
        ctx.reply(ctx._("Cancelled. Your profile is unchanged."))


@router.command("back", N_("Go back to the previous question"), in_flow_only=True)
async def back(ctx: Context) -> None:
    other = _pending(ctx)
    if other is not None and other.navigable and ctx.conversation is not None:
        if not await other.back(ctx):
            ctx.reply(ctx._("This is the first question."))
            await other.go(ctx, ctx.conversation.step)
        return
    if ctx.conversation is None or not _in_profile_flow(ctx):
        ctx.reply(ctx._("There is no previous question."))
        return
    if not await profile_flow.back(ctx):
        ctx.reply(ctx._("This is the first question."))
        await profile_flow.go(ctx, ctx.conversation.step)


@router.command("profile", N_("Show your profile"), audience="member")
async def profile(ctx: Context) -> None:
    if not await _require_private(ctx):
        return
    if ctx.person is None:
        await _no_profile(ctx)
        return
    card = profile_card(ctx.t, draft_from_person(ctx.person))
    ctx.reply(f"{card}\n\n{ctx._(STATUS_LINES[ctx.person.status])}")
    await _ask_pending(ctx)


@router.command("edit", N_("Change your profile"), audience="member")
async def edit(ctx: Context) -> None:
    if not await _require_private(ctx):
        return
    if ctx.person is None:
        await _no_profile(ctx)
        return
    await profile_flow.begin(ctx, "review", {MODE: "edit", **draft_from_person(ctx.person)})


@router.command("language", N_("Change the language"))
async def language(ctx: Context) -> None:
    # In the order of the signup's picker, so a choice keeps its number on the console.
    first = normalize_language(ctx.incoming.user.language_hint)
    ctx.reply(ctx._("Choose your language:"), buttons=_language_keyboard(first))


@router.button(SetLanguage)
async def set_language(ctx: Context) -> None:
    pressed = SetLanguage.unpack(ctx.incoming.button_data)
    code = pressed.code if pressed is not None else ""
    if code not in LANGUAGES:
        ctx.reply(ctx._(USE_BUTTONS))
        return
    if ctx.person is not None:
        await edit_profile(
            ctx.uow, ctx.person.id, str(ctx.incoming.user), columns={"language": code}
        )
        ctx.person = await ctx.uow.people.get(ctx.person.id)
    if ctx.conversation is not None:
        ctx.data["lang"] = code
    elif ctx.person is None:
        # Remember the choice for the signup that has not started yet.
        ctx.start(PREFERENCES, PREFERENCES, {"lang": code})
    ctx.reply(ctx._("Language changed."), edit=True)
    await _ask_pending(ctx)


@router.command("help", N_("What I can do"))
async def help_command(ctx: Context) -> None:
    """The commands this person can use here: a platform without groups (the console) has
    nothing to link."""
    platform = ctx.incoming.chat.platform
    commands = ctx.router.visible_commands(
        member=ctx.person is not None,
        in_flow=_in_profile_flow(ctx),
        roles=(await roles(ctx)).names,
        groups=ctx.services.platforms.chats(platform) is not None,
    )
    lines = [ctx._("Commands:")]
    lines += [f"/{command.name} — {ctx._(command.description)}" for command in commands]
    own = ctx.router.platform_commands.get(platform, ())
    lines += [f"/{name} — {ctx._(description)}" for name, description in own]
    ctx.reply("\n".join(lines))
    await _ask_pending(ctx)


async def opened(ctx: Context) -> None:
    """A screen that starts empty shows nothing of an unfinished conversation: say where it
    stands and ask its question again before anything typed is taken for an answer."""
    if _pending(ctx) is not None:
        await _welcome_back(ctx)
    else:
        await fallback(ctx)


async def fallback(ctx: Context) -> None:
    incoming = ctx.incoming
    expired = ctx.expired
    if incoming.kind == "command":
        # Only a name a command could have is said back: anything else typed after a slash
        # (markup, a paragraph) is not repeated.
        name = incoming.command or ""
        if COMMAND_NAME.fullmatch(name):
            ctx.reply(ctx._(UNKNOWN_COMMAND, command=name))
        else:
            ctx.reply(ctx._(NOT_A_COMMAND))
        await _ask_pending(ctx)
    elif expired is not None and expired.flow == FLOW and expired.data.get(MODE) == "signup":
        ctx.reply(
            ctx._(
                "Your unfinished signup expired after {days} days without activity. Send "
                "/start to begin again.",
                days=ctx.services.settings.signup_ttl_days,
            )
        )
    elif not incoming.is_private:
        return
    elif ctx.person is None:
        ctx.reply(ctx._("Hello! Send /start to join the influencer programme."))
    else:
        ctx.reply(ctx._("Send /help to see what I can do."))


router.fallback = fallback
router.opened = opened
