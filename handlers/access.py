"""Checks that agency and operator handlers make before anything else.

A refusal answers in the asker's language and is audited in the event's unit of work, so the
answer and its record commit together. The checks run on every event, buttons included: button
data comes back from the platform and anyone can forge it.
"""

from __future__ import annotations

from typing import Final

from bot.core.context import Context
from bot.i18n import N_
from bot.services.access import Roles, audit, roles_of

PRIVATE_ONLY: Final = N_("You are not allowed to do this here: send it to me in a private chat.")
OPERATORS_ONLY: Final = N_("You are not allowed to do this: it is for the programme's operators.")
ADMINS_ONLY: Final = N_("You are not allowed to do this: it is for agency admins.")
# Button data that is nobody's: forged, or from a version that made it differently.
NOT_ALLOWED: Final = N_("You are not allowed to do this.")
OTHER_AGENCY: Final = N_("You are not allowed to do this: it belongs to another agency.")


async def roles(ctx: Context) -> Roles:
    user = ctx.incoming.user
    return await roles_of(ctx.uow, ctx.services.settings, user.platform, user.user_id)


async def refuse(
    ctx: Context,
    action: str,
    message: str,
    *,
    target: str = "",
    agency_id: int | None = None,
    person_id: int | None = None,
    why: str,
) -> None:
    """Say no, and record who asked for what, where, and why not."""
    incoming = ctx.incoming
    await audit(
        ctx.uow,
        str(incoming.user),
        action,
        refused=True,
        target=target,
        agency_id=agency_id,
        person_id=person_id,
        detail=f"{why} in {incoming.chat}",
    )
    # Nothing in a refusal is private: it may be answered where it was asked, group or not.
    ctx.reply(ctx._(message))


async def private_chat(ctx: Context, action: str, *, target: str = "") -> bool:
    """Agency and operator work shows codes and applicants' details: never in a group."""
    if ctx.incoming.is_private:
        return True
    # No link into the private chat: the platforms' links start a signup, which this is not.
    await refuse(ctx, action, PRIVATE_ONLY, target=target, why="not a private chat")
    return False


async def operator(ctx: Context, action: str, *, target: str = "") -> Roles | None:
    """The asker's roles when they are an operator in a private chat; else refused."""
    if not await private_chat(ctx, action, target=target):
        return None
    found = await roles(ctx)
    if not found.operator:
        await refuse(ctx, action, OPERATORS_ONLY, target=target, why="not an operator")
        return None
    return found


async def agency_admin(
    ctx: Context, action: str, *, agency_id: int | None = None, target: str = ""
) -> Roles | None:
    """The asker's roles when they admin an agency (``agency_id``'s, when given) in a
    private chat; else refused."""
    if not await private_chat(ctx, action, target=target):
        return None
    found = await roles(ctx)
    if found.agency is None:
        await refuse(
            ctx, action, ADMINS_ONLY, target=target, agency_id=agency_id, why="not an admin"
        )
        return None
    if agency_id is not None and not found.admin_of(agency_id):
        await refuse(
            ctx,
            action,
            OTHER_AGENCY,
            target=target,
            agency_id=agency_id,
            why=f"an admin of agency {found.agency.id}",
        )
        return None
    return found
