"""Interactions: acknowledged at once, then the fast lane for the core's replies.

Discord wants every interaction answered within 3 seconds, so each is acknowledged the moment
the gateway delivers it, before the core has even stored it: a slash command with a "thinking…"
placeholder (only its person sees it in a server), a press with a deferred update. While the
core handles it, the interaction carries its replies: a reply whose reply_token names a live
interaction of the same chat goes as its followup, or as an edit of the message whose button
was pressed. Any other reply (a token forgotten, expired, never acknowledged, or of another
chat) goes the ordinary way through ``sending``: that is the outbox's fallback. Once its update
is handled and its replies sent, the interaction is forgotten, and a placeholder the core left
unanswered is removed rather than left thinking for 15 minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Final

import discord

from bot.adapters.discord.render import NO_MENTIONS, Part, escape
from bot.adapters.discord.sending import SEND_FAILURES, Sender, channel_chat, dm_chat
from bot.core.messages import ChatRef, Outgoing
from bot.core.platform import SendError
from bot.i18n import DEFAULT_LANGUAGE, N_, normalize_language, translator

log = logging.getLogger(__name__)

# Interaction tokens live 15 minutes; stop using one a minute early.
INTERACTION_TTL: Final = 14 * 60.0
# Discord refuses an acknowledgement after 3 seconds; waiting longer for one is pointless.
ACK_DEADLINE: Final = 3.0
# Interactions whose update is not settled yet; past this, expired ones are forgotten.
PRUNE_AT: Final = 10_000

EXPIRED: Final = N_("This button has expired.")


def chat_of(interaction: discord.Interaction[Any]) -> ChatRef:
    """A DM is addressed by its person, so jobs can write to them before any DM exists."""
    if interaction.guild_id is None:
        return dm_chat(interaction.user.id)
    assert interaction.channel_id is not None
    return channel_chat(interaction.channel_id)


@dataclass(slots=True)
class Pending:
    """An interaction whose token carries the core's replies while the core handles it."""

    token: str
    interaction: discord.Interaction[Any]
    chat: ChatRef
    expires: float
    # Only its person may see the answers: a command deferred ephemerally, or a press on an
    # ephemeral message, in a server.
    ephemeral: bool
    # A "thinking…" message stands until the first answer.
    placeholder: bool
    # Whether Discord took the acknowledgement; answers wait for it.
    acknowledged: asyncio.Future[bool] = field(repr=False)
    answered: bool = False

    def live(self) -> bool:
        return self.expires > time.monotonic()


class Interactions:
    def __init__(self, sender: Sender) -> None:
        self._sender = sender
        self._pending: dict[str, Pending] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # Acknowledging ------------------------------------------------------------------------

    def command(self, interaction: discord.Interaction[Any]) -> Pending:
        """A slash command: "thinking…" until the core answers, visible only to its person in
        a server."""
        in_dm = interaction.guild_id is None
        ack = interaction.response.defer(ephemeral=not in_dm, thinking=True)
        return self._remember(interaction, ack, ephemeral=not in_dm, placeholder=True)

    def press(self, interaction: discord.Interaction[Any]) -> Pending:
        """A button or a select: a deferred update, nothing shown until the core answers."""
        pressed = interaction.message
        private = interaction.guild_id is not None and (
            pressed is not None and pressed.flags.ephemeral
        )
        ack = interaction.response.defer()
        return self._remember(interaction, ack, ephemeral=private, placeholder=False)

    def expired(self, interaction: discord.Interaction[Any]) -> None:
        """A component this bot does not make (any more): say so rather than let it fail."""
        language = normalize_language(interaction.locale.value) or DEFAULT_LANGUAGE
        text = escape(translator(language)._(EXPIRED))
        self._spawn(
            _acknowledge(
                interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=NO_MENTIONS
                )
            )
        )

    def _remember(
        self,
        interaction: discord.Interaction[Any],
        ack: Awaitable[object],
        *,
        ephemeral: bool,
        placeholder: bool,
    ) -> Pending:
        if len(self._pending) >= PRUNE_AT:
            now = time.monotonic()
            for token in [t for t, p in self._pending.items() if p.expires <= now]:
                del self._pending[token]
        acknowledged = self._spawn(_acknowledge(ack))
        pending = Pending(
            token=str(interaction.id),
            interaction=interaction,
            chat=chat_of(interaction),
            expires=time.monotonic() + INTERACTION_TTL,
            ephemeral=ephemeral,
            placeholder=placeholder,
            acknowledged=acknowledged,
        )
        self._pending[pending.token] = pending
        return pending

    def _spawn(self, work: Awaitable[bool]) -> asyncio.Task[bool]:
        async def run() -> bool:
            return await work

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        """Let acknowledgements still on their way finish."""
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=ACK_DEADLINE)

    # The fast lane ------------------------------------------------------------------------

    async def live(self, token: str | None, chat: ChatRef) -> Pending | None:
        """The interaction that may carry a reply to ``chat``: known, acknowledged, not
        expired, and of that chat (a token of another chat's interaction does not count)."""
        pending = self._pending.get(token) if token is not None else None
        if pending is None or pending.chat != chat or not pending.live():
            return None
        if not await pending.acknowledged:
            return None
        return pending if pending.live() else None

    async def answer(self, pending: Pending, message: Outgoing, parts: list[Part]) -> str:
        """Followups to the interaction, or an edit of the message whose button was pressed.

        A private reply, or any answer to an interaction only its person sees, is ephemeral:
        it is never posted, nor edited into a message, where the whole server can read it.
        """
        interaction = pending.interaction
        private = message.private_reply or pending.ephemeral
        pressed = interaction.message
        if message.edit_message_id is not None:
            own = pressed is not None and str(pressed.id) == message.edit_message_id
            if pressed is not None and own and (not private or pressed.flags.ephemeral):
                first, *rest = parts
                edited = await self._sender.guarded(
                    functools.partial(
                        interaction.edit_original_response,
                        content=first.content,
                        embeds=first.embeds,
                        attachments=first.files,
                        view=first.view,
                        allowed_mentions=NO_MENTIONS,
                    )
                )
                pending.answered = True
                last = edited.id
                for part in rest:
                    last = (await self._followup(pending, part, private)).id
                return str(last)
            if not own and not private:
                assert interaction.channel_id is not None
                dm_user = interaction.user.id if interaction.guild_id is None else None
                return await self._sender.to_channel(
                    interaction.client,
                    interaction.channel_id,
                    dm_user,
                    message,
                    parts,
                    urgent=True,
                )
            # Otherwise the private answer comes as a new ephemeral message.
        last = 0
        for part in parts:
            last = (await self._followup(pending, part, private)).id
        return str(last)

    async def _followup(
        self, pending: Pending, part: Part, ephemeral: bool
    ) -> discord.WebhookMessage:
        """One followup; the interaction counts as answered once one got through."""
        missing = discord.utils.MISSING
        sent = await self._sender.guarded(
            functools.partial(
                pending.interaction.followup.send,
                content=part.content if part.content is not None else missing,
                embeds=part.embeds,
                files=part.files,
                view=part.view if part.view is not None else missing,
                ephemeral=ephemeral,
                allowed_mentions=NO_MENTIONS,
                wait=True,
            )
        )
        pending.answered = True
        return sent

    async def settle(self, pending: Pending) -> None:
        """Forget the interaction once its update is handled and its replies sent; remove a
        "thinking…" placeholder the core left unanswered."""
        self._pending.pop(pending.token, None)
        if not await pending.acknowledged:
            return
        if pending.placeholder and not pending.answered and pending.live():
            with contextlib.suppress(SendError, *SEND_FAILURES):
                await self._sender.guarded(pending.interaction.delete_original_response)


async def _acknowledge(response: Awaitable[object]) -> bool:
    """Acknowledge an interaction. False when Discord did not take it (too late, say): the
    person saw it fail, and its replies go the ordinary way."""
    try:
        async with asyncio.timeout(ACK_DEADLINE):
            await response
    except (TimeoutError, *SEND_FAILURES) as error:
        log.info("could not acknowledge an interaction: %s", error)
        return False
    return True
