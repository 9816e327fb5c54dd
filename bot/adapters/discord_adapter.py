"""Discord through discord.py: slash commands, DMs, components, self-imposed limits.

The platform the CLI starts when KOLBOT_DISCORD_TOKEN is set. Its parts, each in
``bot.adapters.discord``, along their jobs as the Telegram adapter's: ``receiving`` (gateway
events handed to the core in arrival order, and the DMs' history read at start), ``sending``
(paced, escaped, resumable sends and edits), ``interactions`` (acknowledged at once, then the
fast lane for the core's replies), ``commands`` (the slash-command menus). Helpers: ``render``
turns an Outgoing into Discord messages, ``client`` is the discord.py Client and the
components whose custom_id carries everything a press needs, ``ratelimit`` the budgets.

Stopping: ``stop_receiving`` closes the gateway and hands over what is already in line;
``stop`` then lets interactions finish and closes the HTTP session the replies went through.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Final

import discord

from bot.adapters.discord.chats import is_channel_admin
from bot.adapters.discord.client import KolbotClient
from bot.adapters.discord.commands import publish_commands
from bot.adapters.discord.interactions import Interactions
from bot.adapters.discord.ratelimit import InvalidRequests
from bot.adapters.discord.receiving import Backfill, Intake, Receiver, intents
from bot.adapters.discord.render import RenderError, embed_for, render
from bot.adapters.discord.sending import PLATFORM, Sender, address, send_errors
from bot.core.messages import ChatRef, Outgoing
from bot.core.platform import (
    BadRequest,
    ChatInfo,
    ResumePoints,
    SendError,
    Transient,
    Unreachable,
    UpdateSink,
)
from bot.core.router import Command
from bot.settings import Settings

__all__ = ["DiscordPlatform", "ResumePoints", "embed_for"]

log = logging.getLogger(__name__)

# discord.py raises instead of sleeping through a bucket longer than this (its minimum).
MAX_LIBRARY_WAIT: Final = 30.0
# How long stop() lets the events already handed over finish before cancelling them.
DRAIN_TIMEOUT: Final = 10.0


class DiscordPlatform:
    """The Platform for Discord. Addresses are ``discord:dm:<user id>`` (the DM is opened on
    first use) and ``discord:channel:<channel id>`` (linked server channels).

    ``resume`` tells where the DMs of open conversations left off, so that what people wrote
    while the bot was down is read at start; without it nothing is backfilled."""

    name = PLATFORM

    def __init__(
        self,
        settings: Settings,
        commands: Sequence[Command],
        *,
        guild_ready_timeout: float = 2.0,
        resume: ResumePoints | None = None,
    ) -> None:
        if settings.discord_token is None:
            raise ValueError("KOLBOT_DISCORD_TOKEN is not set")
        self._token = settings.discord_token
        self._guild_ids = list(settings.discord_guild_ids)
        self._commands = list(commands)
        self._guild_ready_timeout = guild_ready_timeout
        self.client: KolbotClient | None = None
        self._sender = Sender(
            lambda: self.client,
            global_rate=settings.discord_global_rate,
            dm_rate=settings.discord_dm_rate,
            dm_period=settings.discord_dm_period,
            read_timeout=settings.delivery_read_timeout_seconds,
        )
        self._interactions = Interactions(self._sender)
        self._intake = Intake(lambda: self.identity)
        self._receiver = Receiver(
            self._sender,
            self._interactions,
            self._intake,
            frozenset(command.name for command in self._commands if command.opens_private),
        )
        self._backfill = (
            Backfill(
                resume, self._sender, self._intake, lambda: self.client, lambda: self.identity
            )
            if resume is not None
            else None
        )
        if self._backfill is not None:
            self._intake.on_held = self._backfill.hurry
        # Publishing the slash commands; done once they are published or it gave up.
        self.publishing: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    @property
    def invalid_requests(self) -> InvalidRequests:
        """401, 403 and 429 answers in Discord's window; past its halt, nothing is sent."""
        return self._sender.invalid_requests

    @invalid_requests.setter
    def invalid_requests(self, counter: InvalidRequests) -> None:
        self._sender.invalid_requests = counter

    # Lifecycle ----------------------------------------------------------------------------

    @property
    def identity(self) -> str:
        """This bot: message and interaction ids are snowflakes, unique anyway."""
        client = self.client
        user = client.user if client is not None else None
        return f"{self.name}:{user.id}" if user is not None else self.name

    async def start(self, sink: UpdateSink) -> None:
        """Log in here, so a bad token fails the start; then run the gateway as a task on the
        shared event loop. Slash commands are published in the background, and the DMs of
        open conversations read from where they left off."""
        self._receiver.stopping = False
        self._closed.clear()
        client = KolbotClient(
            self,
            intents=intents(),
            guild_ready_timeout=self._guild_ready_timeout,
            http_trace=self._sender.trace(),
            max_ratelimit_timeout=MAX_LIBRARY_WAIT,
        )
        self.client = client
        try:
            await client.login(self._token.get_secret_value())
        except BaseException:
            if self.publishing is not None:
                self.publishing.cancel()
            await client.close()
            self.client = None
            raise
        # Before the gateway connects: their live events wait for their history.
        behind = await self._backfill.people() if self._backfill is not None else []
        self._intake.start(sink, hold=behind)
        if self._backfill is not None:
            self._backfill.start(behind)
        self._task = asyncio.create_task(self._run(client), name="discord-gateway")

    async def _run(self, client: KolbotClient) -> None:
        try:
            await client.connect(reconnect=True)
        finally:
            self._closed.set()

    async def stop_receiving(self) -> None:
        """The first step of a stop: the gateway closes (an interaction arriving now is not
        acknowledged, so Discord tells its person it failed), history is no longer read, and
        what is already in line is handed to the core. Sends still work until ``stop``."""
        self._receiver.stopping = True
        background = [task for task in (self.publishing, self._task) if task is not None]
        for task in background:
            task.cancel()
        if background:
            await asyncio.wait(background)
        client = self.client
        if client is not None and client.ws is not None and client.ws.open:
            await client.ws.close(code=1000)
        if self._backfill is not None:
            await self._backfill.stop()
        await self._intake.drain()

    async def stop(self) -> None:
        """Stop receiving if still receiving; let the events handed over finish (for up to
        DRAIN_TIMEOUT); then close the HTTP session their replies go through."""
        await self.stop_receiving()
        await self._intake.stop(DRAIN_TIMEOUT)
        await self._interactions.close()
        if self.client is not None:
            await self.client.close()
        self._closed.set()

    async def wait_closed(self) -> None:
        """Return when the gateway gave up (a revoked token, say), raising what stopped it."""
        await self._closed.wait()
        task = self._task
        if task is not None and task.done() and not task.cancelled():
            task.result()

    # The client's events ------------------------------------------------------------------

    async def setup(self, client: KolbotClient) -> None:
        """Called by the client's setup_hook, once logged in."""
        self.publishing = asyncio.create_task(
            publish_commands(client, self._commands, self._guild_ids), name="discord-commands"
        )
        self.publishing.add_done_callback(_report_failure)

    def interaction_arrived(self, interaction: discord.Interaction[Any]) -> None:
        self._receiver.interaction_arrived(interaction)

    def message_arrived(self, message: discord.Message) -> None:
        self._receiver.message_arrived(message)

    # Chats --------------------------------------------------------------------------------

    async def is_chat_admin(self, chat: ChatRef, user_id: str) -> bool:
        client = self.client
        if client is None or client.is_closed():
            return False
        return await is_channel_admin(client, chat, user_id)

    async def find_chat(self, name: str) -> ChatInfo | None:
        """Discord channels have no public @names: they are linked from inside."""
        return None

    # Sending ------------------------------------------------------------------------------

    async def send(self, message: Outgoing, *, first_part: int = 0) -> str:
        """Through the interaction it answers while that lives; else to the DM or channel."""
        kind, target = address(message.chat)
        client = self.client
        if client is None or client.is_closed():
            raise Transient("the Discord client is not running")
        try:
            parts = render(message)
        except RenderError as error:
            raise BadRequest(str(error)) from error
        progress = [first_part]
        try:
            pending = await self._interactions.live(message.reply_token, message.chat)
            if pending is not None:
                # Interaction responses are exempt from the global limit and need no DM.
                with send_errors(client):
                    return await self._interactions.answer(pending, message, parts)
            return await self._sender.send(client, message, parts, progress)
        except SendError as error:
            error.parts_sent = progress[0]
            if isinstance(error, Unreachable) and kind == "dm":
                self._receiver.dm_refused(target)
            raise
        finally:
            for part in parts:
                for file in part.files:
                    file.close()


def _report_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("publishing the slash commands failed", exc_info=error)
