"""Telling applicants how their application was screened, in their language."""

from __future__ import annotations

from bot.core.context import Context
from bot.i18n import N_
from bot.services.people import submit_application
from storage.base import AlreadySignedUp
from storage.models import AccountLink, Person, Profile


async def submit(ctx: Context, profile: Profile) -> None:
    """Store the application and tell the person what happens next, in their language."""
    incoming = ctx.incoming
    account = AccountLink(
        platform=incoming.user.platform,
        platform_user_id=incoming.user.user_id,
        dm_chat=str(incoming.chat),
    )
    minimum = ctx.services.settings.min_followers
    try:
        person = await submit_application(ctx.uow, profile, account, minimum)
    except AlreadySignedUp:
        # The same account finished a signup in another chat first.
        ctx.reply(ctx._("You are already signed up. Send /profile to see your profile."))
        return
    ctx.person = person
    tell_outcome(ctx, person)


def tell_outcome(ctx: Context, person: Person) -> None:
    if person.status == "rejected":
        ctx.reply(
            ctx._(
                "Thank you for applying, {name}. The programme needs at least {minimum} "
                "followers across your accounts, and you have {total}. You are welcome to apply "
                "again when your audience has grown: update your accounts with /edit.",
                name=person.display_name,
                minimum=ctx.t.number(ctx.services.settings.min_followers),
                total=ctx.t.number(person.total_followers),
            )
        )
    elif person.flagged:
        ctx.reply(
            ctx._(
                "Thank you, {name}! Your application is in. Some of your details are already "
                "linked to another member, so our team will review it by hand before approving "
                "it. We will message you here.",
                name=person.display_name,
            )
        )
    else:
        ctx.reply(
            ctx._(
                "Thank you, {name}! Your application is in and under review. We will message "
                "you here when you are approved. Send /profile to see your profile.",
                name=person.display_name,
            )
        )


FLAG_NOTICE = N_(
    "Saved. This detail is already linked to another member, so our team will review it by hand."
)
