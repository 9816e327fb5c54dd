"""Linked groups and channels: where an agency's campaigns are posted besides private offers.

An agency admin links a chat they administer there too, as its platform says (the bot asks
the platform; a person's word for it is not enough): by sending /linkgroup in the group, or,
for a Telegram channel (where posts carry no sender) or as an anonymous group admin, by sending
/linkgroup @name to the bot in private, once the bot is an admin there as well.
"""

from __future__ import annotations

from typing import Final

from bot.core.context import Context
from bot.core.messages import ChatRef
from bot.core.platform import ChatInfo
from bot.core.router import Router
from bot.i18n import N_, NC_
from bot.services.access import audit
from bot.services.groups import chat_target, link_chat, move_chat, unlink_chat
from handlers.access import ADMINS_ONLY, refuse, roles
from storage.models import Agency

router = Router()

COMMAND_NAMES: Final = (NC_("command name", "linkgroup"), NC_("command name", "unlinkgroup"))
LINK: Final = "agency.link_chat"
UNLINK: Final = "agency.unlink_chat"

WRONG_CHAT: Final = N_(
    "You are not allowed to do this here: send /linkgroup in the group or server channel "
    "to link. To link a Telegram channel, send /linkgroup @channelname to me in a private "
    "chat."
)
NOT_CHAT_ADMIN: Final = N_(
    "You are not allowed to do this: only an admin of this group or channel can link it."
)
BOT_NOT_ADMIN: Final = N_("Make me an admin of {title} first, then send this again.")
NOT_FOUND: Final = N_("I cannot find {name}. Check the name, and add me to it as an admin first.")
TAKEN: Final = N_("You are not allowed to do this: another agency has linked this chat.")
NOT_LINKED: Final = N_("This chat is not one of your agency's broadcast targets.")


async def _agency(ctx: Context, action: str) -> Agency | None:
    found = await roles(ctx)
    if found.agency is None:
        await refuse(ctx, action, ADMINS_ONLY, why="not an admin")
    return found.agency


async def _target(ctx: Context, action: str, agency: Agency) -> ChatInfo | None:
    """The chat meant: this group, or the one named in a private chat, once the platform
    confirmed the sender (and, for a named one, the bot) administers it."""
    incoming = ctx.incoming
    queries = ctx.services.platforms.chats(incoming.chat.platform)
    name = incoming.args.strip()
    if queries is None or (incoming.is_private and not name.startswith("@")):
        await refuse(ctx, action, WRONG_CHAT, agency_id=agency.id, why="not a group or channel")
        return None
    if incoming.is_private:
        info = await queries.find_chat(name)
        if info is None:
            await _refused(ctx, action, ctx._(NOT_FOUND, name=name), agency, "", "no such chat")
            return None
    else:
        info = ChatInfo(chat=incoming.chat, title="", kind="group")
    target = chat_target(str(info.chat))
    # A channel's members are visible to its admins only: the bot's own standing first.
    if incoming.is_private and not await queries.is_chat_admin(info.chat, "self"):
        text = ctx._(BOT_NOT_ADMIN, title=info.title or name)
        await _refused(ctx, action, text, agency, target, "the bot is no admin there")
        return None
    if not await queries.is_chat_admin(info.chat, incoming.user.user_id):
        await refuse(
            ctx, action, NOT_CHAT_ADMIN, target=target, agency_id=agency.id, why="no chat admin"
        )
        return None
    return info


async def _refused(
    ctx: Context, action: str, text: str, agency: Agency, target: str, why: str
) -> None:
    """A refusal whose answer names something (``refuse`` says a fixed message)."""
    await audit(
        ctx.uow,
        str(ctx.incoming.user),
        action,
        refused=True,
        target=target,
        agency_id=agency.id,
        detail=f"{why} in {ctx.incoming.chat}",
    )
    ctx.reply(text)


@router.command(
    "linkgroup",
    N_("Post your campaigns in this group or channel"),
    audience="agency",
    needs_groups=True,
)
async def link_group(ctx: Context) -> None:
    agency = await _agency(ctx, LINK)
    if agency is None:
        return
    info = await _target(ctx, LINK, agency)
    if info is None:
        return
    linked = await link_chat(ctx.uow, agency, info, str(ctx.incoming.user), ctx.language)
    if linked is None:
        await refuse(
            ctx,
            LINK,
            TAKEN,
            target=chat_target(str(info.chat)),
            agency_id=agency.id,
            why="linked by another agency",
        )
        return
    ctx.reply(
        ctx._(
            "Linked: {agency}'s campaigns will be posted in {chat} when they are published. "
            "Send /unlinkgroup to stop.",
            agency=agency.name,
            chat=info.title or ctx._("this chat"),
        )
    )


@router.command(
    "unlinkgroup", N_("Stop posting campaigns in this chat"), audience="agency", needs_groups=True
)
async def unlink_group(ctx: Context) -> None:
    agency = await _agency(ctx, UNLINK)
    if agency is None:
        return
    info = await _target(ctx, UNLINK, agency)
    if info is None:
        return
    if not await unlink_chat(ctx.uow, agency, info.chat, str(ctx.incoming.user)):
        await refuse(
            ctx,
            UNLINK,
            NOT_LINKED,
            target=chat_target(str(info.chat)),
            agency_id=agency.id,
            why="not linked to this agency",
        )
        return
    ctx.reply(
        ctx._(
            "Unlinked: {agency}'s campaigns will no longer be posted in {chat}.",
            agency=agency.name,
            chat=info.title or ctx._("this chat"),
        )
    )


async def chat_moved(ctx: Context) -> None:
    """A group that became a supergroup keeps its link, under its new address."""
    moved_to: ChatRef | None = ctx.incoming.moved_to
    if moved_to is not None:
        await move_chat(ctx.uow, ctx.incoming.chat, moved_to)


router.moved = chat_moved
