"""Saving one edited field of an existing person; the flow collected and validated it."""

from __future__ import annotations

from bot.core.context import Context
from bot.services.people import edit_profile, rescreen_audience
from handlers.screening import FLAG_NOTICE, tell_outcome
from storage.models import SealedPayout, SocialClaim

# Which people columns each field group sets, from which conversation keys.
COLUMNS = {
    "language": {"language": "lang"},
    "name": {"display_name": "name"},
    "country": {"country": "country", "timezone": "tz"},
    "timezone": {"timezone": "tz"},
}


async def save_field(ctx: Context, field: str) -> None:
    person = ctx.person
    assert person is not None
    data = ctx.data
    actor = str(ctx.incoming.user)
    uow = ctx.uow
    if field in COLUMNS:
        columns = {column: str(data[key]) for column, key in COLUMNS[field].items()}
        flags = await edit_profile(uow, person.id, actor, columns=columns)
    elif field == "socials":
        socials = tuple(SocialClaim(**social) for social in data["socials"])
        flags = await edit_profile(uow, person.id, actor, socials=socials)
    elif field == "niches":
        flags = await edit_profile(uow, person.id, actor, niches=tuple(data["niches"]))
    elif field == "payout":
        flags = await edit_profile(uow, person.id, actor, payout=SealedPayout(**data["payout"]))
    else:
        raise ValueError(f"unknown field {field!r}")
    ctx.person = await uow.people.get(person.id)
    if flags:
        ctx.reply(ctx._(FLAG_NOTICE))
    if field == "socials":
        await _rescreen(ctx)


async def _rescreen(ctx: Context) -> None:
    """Changed accounts are screened again, as at submission, and the person told the result."""
    person = ctx.person
    assert person is not None
    minimum = ctx.services.settings.min_followers
    outcome = await rescreen_audience(ctx.uow, person, str(ctx.incoming.user), minimum)
    if outcome == "unchanged":
        return
    person = await ctx.uow.people.get(person.id)
    assert person is not None
    ctx.person = person
    if outcome == "declined":
        tell_outcome(ctx, person)
    elif outcome == "reopened":
        ctx.reply(
            ctx._("Your accounts now reach the minimum, so your application is back under review.")
        )
    else:
        ctx.reply(
            ctx._(
                "Saved. Your accounts are now below the programme's minimum of {minimum} "
                "followers: you have {total}. Our team will review your membership.",
                total=ctx.t.number(person.total_followers),
                minimum=ctx.t.number(minimum),
            )
        )
