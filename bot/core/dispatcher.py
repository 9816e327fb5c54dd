"""Turns one Incoming into state changes and replies, for every platform alike."""

from __future__ import annotations

import logging

from bot.core.context import Context, conversation_key
from bot.core.delivery import Deliverer
from bot.core.locks import KeyedLock
from bot.core.messages import Incoming, Outgoing
from bot.core.platform import Platform
from bot.core.router import Router
from bot.core.services import Services
from bot.i18n import N_, normalize_language, translator
from storage.database import utcnow
from storage.models import Conversation, Person

log = logging.getLogger(__name__)

APOLOGY = N_("Sorry, something went wrong on our side. Please try again in a moment.")


class Dispatcher:
    def __init__(self, router: Router, services: Services, deliverer: Deliverer) -> None:
        self.router = router
        self.services = services
        self.deliverer = deliverer
        self._locks = KeyedLock()

    async def feed(self, platform: Platform, incoming: Incoming) -> None:
        """Handle one event and deliver its replies, in order, within this user's chat.

        An update counts as handled once its state change is saved, not when it arrives: a
        crash in between handles it again on redelivery (at least once), and a redelivery
        racing the first copy waits on the lock and then sees it was handled. The lock is per
        person, not per chat, so one account writing from two chats cannot sign up twice.
        """
        updates = self.services.updates
        update_id = incoming.update_id
        async with self._locks.hold((incoming.user.platform, incoming.user.user_id)):
            if update_id and await updates.seen(platform.name, update_id):
                log.debug("skipping update %s seen before", update_id)
                return
            replies = await self._handle(incoming)
            if update_id:
                await updates.claim(platform.name, update_id)
            await self.deliverer.deliver_all(platform, replies)

    async def _handle(self, incoming: Incoming) -> list[Outgoing]:
        """Route and save; on any failure, an apology and no state change."""
        ctx: Context | None = None
        try:
            ctx = await self._context(incoming)
            had_conversation = ctx.conversation is not None
            await self.router.dispatch(ctx)
            await self._save(ctx, had_conversation)
        except Exception:
            log.exception("handler failed for %s", incoming.kind)
            language = ctx.language if ctx else normalize_language(incoming.user.language_hint)
            return [
                Outgoing(
                    chat=incoming.chat,
                    text=translator(language)._(APOLOGY),
                    reply_token=incoming.reply_token,
                )
            ]
        return ctx.replies

    async def _context(self, incoming: Incoming) -> Context:
        people = self.services.people
        user = incoming.user
        account = await people.account(user.platform, user.user_id)
        person: Person | None = None
        if account is not None:
            if not account.reachable and incoming.is_private:
                await people.set_reachable(account.dm_chat, reachable=True)
            if account.person_id is not None:
                person = await people.get(account.person_id)
        key = conversation_key(incoming)
        conversation = await self.services.conversations.get(key)
        expired = None
        if conversation is not None and _expired(conversation):
            await self.services.conversations.delete(key)
            conversation, expired = None, conversation
        return Context(
            incoming, self.services, person, conversation, router=self.router, expired=expired
        )

    async def _save(self, ctx: Context, had_conversation: bool) -> None:
        """Write through on every event; saving also pushes the idle expiry back."""
        conversations = self.services.conversations
        if ctx.conversation is not None:
            await conversations.save(ctx.conversation)
        elif had_conversation:
            await conversations.delete(ctx.key)


def _expired(conversation: Conversation) -> bool:
    return conversation.expires_at is not None and conversation.expires_at <= utcnow()
