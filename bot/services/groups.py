"""An agency's broadcast targets: link a group or channel, unlink it, follow it when its
address changes. Each change is audited in its unit of work."""

from __future__ import annotations

from bot.core.messages import ChatRef
from bot.core.platform import ChatInfo
from bot.services.access import audit
from storage.base import UnitOfWork
from storage.clock import utcnow
from storage.models import Agency, AgencyChat

# Who moves a link when the platform moved the chat: nobody asked for it.
PLATFORM_ACTOR = "kolbot"


def chat_target(address: str) -> str:
    return f"chat:{address}"


async def link_chat(
    uow: UnitOfWork, agency: Agency, chat: ChatInfo, actor: str, language: str
) -> AgencyChat | None:
    """The chat becomes one of the agency's targets, posted to in ``language`` (a group has
    none of its own: the linking admin's); None when another agency has it."""
    linked = await uow.agency_chats.link(
        agency.id, chat.chat.platform, str(chat.chat), chat.title, actor, utcnow(), language
    )
    if linked is not None:
        await audit(
            uow,
            actor,
            "agency.link_chat",
            target=chat_target(str(chat.chat)),
            agency_id=agency.id,
            detail=chat.kind,
        )
    return linked


async def unlink_chat(uow: UnitOfWork, agency: Agency, chat: ChatRef, actor: str) -> bool:
    unlinked = await uow.agency_chats.unlink(agency.id, chat.platform, str(chat))
    if unlinked:
        await audit(
            uow, actor, "agency.unlink_chat", target=chat_target(str(chat)), agency_id=agency.id
        )
    return unlinked


async def move_chat(uow: UnitOfWork, old: ChatRef, new: ChatRef) -> bool:
    """A linked chat keeps its link under its new address (a group become a supergroup)."""
    linked = await uow.agency_chats.get(old.platform, str(old))
    if linked is None or not await uow.agency_chats.move(old.platform, str(old), str(new)):
        return False
    await audit(
        uow,
        PLATFORM_ACTOR,
        "agency.move_chat",
        target=chat_target(str(new)),
        agency_id=linked.agency_id,
        detail=f"moved from {old}",
    )
    return True
