"""Agency admins: join an agency with its invite code, and invite the next admin."""

from __future__ import annotations

from typing import Final

from bot.core.callback import CallbackData
from bot.core.context import Context
from bot.core.messages import Button
from bot.core.router import Router
from bot.i18n import N_, NC_
from bot.services.agencies import agency_target, join, make_invite, void_exposed
from handlers.access import NOT_ALLOWED, agency_admin, private_chat, refuse
from storage.models import Agency, Invite

router = Router()

COMMAND_NAMES: Final = (NC_("command name", "agency"), NC_("command name", "invite"))

REFUSED_CODES: Final = {
    "unknown": N_("That invite code is not valid. Check it, or ask your agency for a new one."),
    "expired": N_("That invite code has expired. Ask your agency for a new one."),
    "used": N_("That invite code has been used already. Ask your agency for a new one."),
    "admin_elsewhere": N_(
        "You are not allowed to join another agency: you are already an admin of {agency}."
    ),
}

VOIDED: Final = N_(
    "Everyone in this chat could read that code, so it no longer works. Ask your agency for a "
    "new one, and send it to me in a private chat."
)


class NewInvite(CallbackData, prefix="agi"):
    """Another code for the agency shown: the agency comes back from the platform, so it is
    checked against the presser's own."""

    agency: int


def _invite_text(ctx: Context, agency: Agency, invite: Invite) -> str:
    """Any private chat with the bot takes the code (the console's too); it lapses at a time
    in the admin's own zone, UTC while they have no profile to name one."""
    zone = ctx.person.timezone if ctx.person is not None else "UTC"
    return ctx._(
        "Invite code for {agency}: {code}\nIt makes one person an admin of the agency: they "
        "send /agency {code} to me in a private chat. It works once, until {expires} "
        "({zone}).",
        agency=agency.name,
        code=invite.code,
        expires=ctx.t.datetime(invite.expires_at, zone),
        zone=zone,
    )


async def _send_invite(ctx: Context, agency: Agency) -> None:
    invite = await make_invite(ctx.uow, agency, str(ctx.incoming.user))
    again = Button(label=ctx._("Another code"), data=NewInvite(agency=agency.id).pack())
    ctx.reply(_invite_text(ctx, agency, invite), buttons=((again,),))


# Not listed by /help: it does nothing for an admin, and whoever is not one needs the code,
# which comes with how to send it.
@router.command("agency", N_("Join your agency with its invite code"), listed=False)
async def join_agency(ctx: Context) -> None:
    code = ctx.incoming.args.strip()
    incoming = ctx.incoming
    # A code said in a group is no longer secret: it is spent before anyone there can use it.
    if not await private_chat(ctx, "agency.join"):
        if code and await void_exposed(ctx.uow, code, str(incoming.user), str(incoming.chat)):
            ctx.reply(ctx._(VOIDED))
        return
    if not code:
        ctx.reply(
            ctx._(
                "Send /agency followed by the invite code you were given, for example "
                "/agency ABCD-EFGH-JKLM."
            )
        )
        return
    user = ctx.incoming.user
    redemption = await join(ctx.uow, code, user.platform, user.user_id)
    agency = redemption.agency
    if redemption.outcome == "joined" and agency is not None:
        ctx.reply(
            ctx._(
                "You are now an admin of {agency}. Send /invite to make a code for another "
                "admin, and /help to see what you can do.",
                agency=agency.name,
            )
        )
    elif redemption.outcome == "already_admin" and agency is not None:
        ctx.reply(ctx._("You are already an admin of {agency}.", agency=agency.name))
    elif redemption.outcome == "admin_elsewhere":
        current = await ctx.uow.agencies.agency_of(user.platform, user.user_id)
        name = current.name if current is not None else ""
        message = REFUSED_CODES["admin_elsewhere"]
        ctx.reply(ctx._(message, agency=name))
    else:
        message = REFUSED_CODES[redemption.outcome]
        ctx.reply(ctx._(message))


@router.command("invite", N_("Make an invite code for another admin"), audience="agency")
async def invite(ctx: Context) -> None:
    found = await agency_admin(ctx, "agency.invite")
    if found is not None and found.agency is not None:
        await _send_invite(ctx, found.agency)


@router.button(NewInvite)
async def invite_again(ctx: Context) -> None:
    pressed = NewInvite.unpack(ctx.incoming.button_data)
    if pressed is None:
        if await private_chat(ctx, "agency.invite"):
            await refuse(ctx, "agency.invite", NOT_ALLOWED, why="malformed button data")
        return
    found = await agency_admin(
        ctx, "agency.invite", agency_id=pressed.agency, target=agency_target(pressed.agency)
    )
    if found is not None and found.agency is not None:
        await _send_invite(ctx, found.agency)
