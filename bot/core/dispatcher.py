"""Turns one stored update into state changes and replies, in one unit of work.

Everything an update changes, the mark that it was handled, and its replies (outbox rows)
commit together or not at all. A handler that raises keeps nothing it wrote: the apology is
its only reply, and the update still counts as handled, so a poison update cannot loop. A
store that cannot take the write (StorageUnavailable) is not the handler's fault: that
propagates, and the update stays unhandled to be tried again.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.core.context import Context, conversation_key
from bot.core.messages import Incoming, Outgoing
from bot.core.outbox import outbox_payload
from bot.core.router import Router
from bot.i18n import N_, normalize_language, translator
from bot.services import Services
from bot.services.people import note_contact
from storage.base import StorageUnavailable, UnitOfWork
from storage.clock import utcnow
from storage.models import AccountLink, Conversation, Delivery, InboxItem, NewDelivery, Person

log = logging.getLogger(__name__)

APOLOGY = N_("Sorry, something went wrong on our side. Please try again in a moment.")
REPLY_PRIORITY = 0


def reply_rows(item: InboxItem, replies: list[Outgoing]) -> list[NewDelivery]:
    """Outbox rows for an update's replies, keyed so a retried update cannot queue twice."""
    rows = []
    for index, message in enumerate(replies):
        edit = message.edit_message_id
        rows.append(
            NewDelivery(
                dedupe_key=f"reply:{item.source}:{item.update_id}:{index}",
                platform=message.chat.platform,
                chat=str(message.chat),
                payload=outbox_payload(message),
                priority=REPLY_PRIORITY,
                collapse_key=f"{message.chat}#{edit}" if edit is not None else None,
            )
        )
    return rows


class Dispatcher:
    def __init__(self, router: Router, services: Services) -> None:
        self.router = router
        self.services = services

    async def handle(
        self, item: InboxItem, incoming: Incoming, lease: tuple[str, datetime] | None
    ) -> list[Delivery]:
        """Handle one update; its replies come back leased to ``lease``'s owner for sending
        right after the commit (without one, they wait in the table for a claim)."""
        store = self.services.store
        language = normalize_language(incoming.user.language_hint)
        try:
            async with store.unit_of_work() as uow:
                ctx = await self._context(uow, incoming)
                language = ctx.language
                await self.router.dispatch(ctx)
                await self._save(uow, ctx)
                return await self._finish(uow, item, ctx.replies, lease)
        except StorageUnavailable:
            raise
        except Exception:
            log.exception("handler failed for %s update %s", incoming.kind, item.update_id)
        apology = Outgoing(
            chat=incoming.chat,
            text=translator(language)._(APOLOGY),
            reply_token=incoming.reply_token,
        )
        async with store.unit_of_work() as uow:
            return await self._finish(uow, item, [apology], lease)

    async def _finish(
        self,
        uow: UnitOfWork,
        item: InboxItem,
        replies: list[Outgoing],
        lease: tuple[str, datetime] | None,
    ) -> list[Delivery]:
        await uow.inbox.mark_handled(item.id, utcnow())
        return await uow.outbox.add(reply_rows(item, replies), lease=lease)

    async def _context(self, uow: UnitOfWork, incoming: Incoming) -> Context:
        user = incoming.user
        account = await uow.people.account(user.platform, user.user_id)
        if incoming.is_private:
            seen = AccountLink(
                platform=user.platform, platform_user_id=user.user_id, dm_chat=str(incoming.chat)
            )
            await note_contact(uow, account, seen)
        person: Person | None = None
        if account is not None and account.person_id is not None:
            person = await uow.people.get(account.person_id)
        key = conversation_key(incoming)
        conversation = await uow.conversations.get(key)
        expired = None
        if conversation is not None and _expired(conversation):
            await uow.conversations.delete(key)
            conversation, expired = None, conversation
        return Context(
            incoming,
            self.services,
            uow,
            person,
            conversation,
            router=self.router,
            expired=expired,
        )

    async def _save(self, uow: UnitOfWork, ctx: Context) -> None:
        """Write through on every event; saving also pushes the idle expiry back."""
        if ctx.conversation is not None:
            await uow.conversations.save(ctx.conversation)
        elif ctx.had_conversation:
            await uow.conversations.delete(ctx.key)


def _expired(conversation: Conversation) -> bool:
    return conversation.expires_at is not None and conversation.expires_at <= utcnow()
