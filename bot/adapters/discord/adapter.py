"""Discord through discord.py: slash commands, DMs, persistent components, self-imposed limits.

Onboarding happens in DMs: a slash command in a server is answered ephemerally, and /start also
opens the DM where the conversation runs. Every interaction is deferred the moment it arrives
(Discord allows 3 seconds) and the core's replies then go out as its followups or edits; every
other message is paced by a global budget and a per-DM one before discord.py sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Final, Literal, TypeVar

import aiohttp
import discord

from bot.adapters.discord.client import KolbotClient
from bot.adapters.discord.commands import sync_commands
from bot.adapters.discord.ratelimit import InvalidRequests, RequestBudget
from bot.adapters.discord.render import NO_MENTIONS, Part, RenderError, render
from bot.core.messages import ChatRef, Incoming, Outgoing, UserRef
from bot.core.platform import (
    BadRequest,
    RateLimited,
    SendError,
    Transient,
    Unreachable,
    UpdateHandler,
)
from bot.core.router import Command
from bot.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
ChatKind = Literal["dm", "channel"]

# Interaction tokens live 15 minutes; stop using one a minute early.
INTERACTION_TTL: Final = 14 * 60.0
MAX_PENDING: Final = 10_000
MAX_REMEMBERED_USERS: Final = 100_000
PRUNE_BUDGETS_AT: Final = 1024
# Commands that, sent in a server, also start their conversation in the person's DM.
OPENS_DM: Final = frozenset({"start"})
DM_URL: Final = "https://discord.com/channels/@me/{channel_id}"
# 10003 unknown channel, 10013 unknown user, 50007 cannot send messages to this user.
UNREACHABLE_CODES: Final = frozenset({10003, 10013, 50007})
INVALID_STATUSES: Final = frozenset({401, 403, 429})
# discord.py raises instead of sleeping through a bucket longer than this (its minimum).
MAX_LIBRARY_WAIT: Final = 30.0


def intents() -> discord.Intents:
    """DMs and their text; guilds so server interactions resolve. Never members or presences:
    they are privileged and the bot has no use for them."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.dm_messages = True
    chosen.message_content = True
    return chosen


@dataclass(slots=True)
class _Pending:
    """An interaction whose token may still carry the core's replies."""

    interaction: discord.Interaction[Any]
    expires: float
    answered: bool = False


class _Lru(OrderedDict[int, T]):
    """A dict that forgets its least recently used entries past ``size``."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: int, value: T) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class DiscordPlatform:
    """The Platform for Discord. Addresses are ``discord:dm:<user id>`` (the DM is opened on
    first use) and ``discord:channel:<channel id>`` (linked server channels)."""

    name = "discord"

    def __init__(
        self,
        settings: Settings,
        commands: Sequence[Command],
        *,
        guild_ready_timeout: float = 2.0,
    ) -> None:
        if settings.discord_token is None:
            raise ValueError("KOLBOT_DISCORD_TOKEN is not set")
        self._token = settings.discord_token
        self._guild_ids = list(settings.discord_guild_ids)
        self._commands = list(commands)
        self._guild_ready_timeout = guild_ready_timeout
        self._dm_rate = settings.discord_dm_rate
        self._dm_period = settings.discord_dm_period
        self._global = RequestBudget.per_second(settings.discord_global_rate)
        self._dm_budgets: dict[int, RequestBudget] = {}
        self._dm_channels: _Lru[int] = _Lru(MAX_REMEMBERED_USERS)
        self._locales: _Lru[str] = _Lru(MAX_REMEMBERED_USERS)
        # Users whose DMs refused us; nothing is sent to them until they write again.
        self._unreachable: _Lru[bool] = _Lru(MAX_REMEMBERED_USERS)
        self._pending: OrderedDict[str, _Pending] = OrderedDict()
        self._opening: dict[int, asyncio.Future[int]] = {}
        self.invalid_requests = InvalidRequests()
        self.client: KolbotClient | None = None
        self._on_update: UpdateHandler | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    # Lifecycle ----------------------------------------------------------------------------

    async def start(self, on_update: UpdateHandler) -> None:
        """Log in and sync commands here, so a bad token fails the start; then run the
        gateway as a task on the shared event loop."""
        self._on_update = on_update
        self._closed.clear()
        client = KolbotClient(
            self,
            intents=intents(),
            guild_ready_timeout=self._guild_ready_timeout,
            http_trace=self._count_invalid_requests(),
            max_ratelimit_timeout=MAX_LIBRARY_WAIT,
        )
        self.client = client
        try:
            await client.login(self._token.get_secret_value())
        except BaseException:
            await client.close()
            self.client = None
            raise
        self._task = asyncio.create_task(self._run(client), name="discord-gateway")

    async def _run(self, client: KolbotClient) -> None:
        try:
            await client.connect(reconnect=True)
        finally:
            self._closed.set()

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self._task is not None:
            await asyncio.wait({self._task})
        self._pending.clear()
        self._closed.set()

    async def wait_closed(self) -> None:
        """Return when the gateway gave up (a revoked token, say), raising what stopped it."""
        await self._closed.wait()
        task = self._task
        if task is not None and task.done() and not task.cancelled():
            task.result()

    async def setup(self, client: KolbotClient) -> None:
        """Called by the client's setup_hook, once logged in: publish the slash commands."""
        try:
            await sync_commands(client, self._commands, self._on_command, self._guild_ids)
        except discord.HTTPException:
            log.exception("could not sync slash commands; serving the ones Discord has")

    def _count_invalid_requests(self) -> aiohttp.TraceConfig:
        """Watch every response discord.py gets, including the 429s it retries by itself."""

        async def on_end(
            _session: aiohttp.ClientSession,
            _context: SimpleNamespace,
            params: aiohttp.TraceRequestEndParams,
        ) -> None:
            response = params.response
            # Discord does not count 429s from resources shared with other bots.
            if response.status in INVALID_STATUSES and (
                response.headers.get("X-RateLimit-Scope") != "shared"
            ):
                self.invalid_requests.record(response.status)

        trace = aiohttp.TraceConfig()
        trace.on_request_end.append(on_end)
        return trace

    # Incoming -----------------------------------------------------------------------------

    async def _on_command(self, interaction: discord.Interaction[Any], name: str) -> None:
        in_dm = interaction.guild_id is None
        await interaction.response.defer(ephemeral=not in_dm, thinking=True)
        token = self._remember(interaction)
        user = self._user(interaction.user, interaction.locale.value)
        if in_dm or name in OPENS_DM:
            self._heard_from(interaction.user.id)
        dm_url = None if in_dm else await self._dm_url(interaction.user.id)
        try:
            await self._feed(
                Incoming(
                    kind="command",
                    chat=self._chat(interaction),
                    user=user,
                    is_private=in_dm,
                    text=f"/{name}",
                    command=name,
                    update_id=str(interaction.id),
                    reply_token=token,
                    private_chat_url=dm_url,
                )
            )
            if not in_dm and name in OPENS_DM:
                await self._feed(
                    Incoming(
                        kind="command",
                        chat=_dm_chat(interaction.user.id),
                        user=user,
                        text=f"/{name}",
                        command=name,
                        update_id=f"{interaction.id}:dm",
                    )
                )
        finally:
            await self._settle(token)

    async def on_press(self, interaction: discord.Interaction[Any], data: str) -> None:
        await interaction.response.defer()
        token = self._remember(interaction)
        if interaction.guild_id is None:
            self._heard_from(interaction.user.id)
        await self._feed(
            Incoming(
                kind="button",
                chat=self._chat(interaction),
                user=self._user(interaction.user, interaction.locale.value),
                is_private=interaction.guild_id is None,
                button_data=data,
                message_id=str(interaction.message.id) if interaction.message else None,
                update_id=str(interaction.id),
                reply_token=token,
            )
        )

    async def on_message(self, message: discord.Message) -> None:
        """Typed answers: DMs only; server chatter is none of the bot's business."""
        author = message.author
        if author.bot or message.guild is not None or not message.content.strip():
            return
        self._dm_channels.put(author.id, message.channel.id)
        self._heard_from(author.id)
        user = self._user(author, self._locales.get(author.id))
        chat = _dm_chat(author.id)
        text = message.content
        stripped = text.strip()
        common: dict[str, Any] = {
            "chat": chat,
            "user": user,
            "update_id": str(message.id),
            "message_id": str(message.id),
        }
        if stripped.startswith("/") and len(stripped) > 1:
            command, _, args = stripped[1:].partition(" ")
            incoming = Incoming(
                kind="command", text=stripped, command=command.lower(), args=args.strip(), **common
            )
        else:
            incoming = Incoming(kind="text", text=text, **common)
        await self._feed(incoming)

    async def _feed(self, incoming: Incoming) -> None:
        if self._on_update is None:
            raise RuntimeError("the Discord platform is not started")
        await self._on_update(incoming)

    def _heard_from(self, user_id: int) -> None:
        """They wrote in private, so their DMs are worth trying again."""
        self._unreachable.pop(user_id, None)

    def _user(self, user: discord.User | discord.Member, locale: str | None) -> UserRef:
        if locale is not None:
            self._locales.put(user.id, locale)
        return UserRef(
            platform=self.name,
            user_id=str(user.id),
            display_name=user.display_name,
            language_hint=locale,
        )

    def _chat(self, interaction: discord.Interaction[Any]) -> ChatRef:
        if interaction.guild_id is None and interaction.channel_id is not None:
            self._dm_channels.put(interaction.user.id, interaction.channel_id)
        return _chat_of(interaction)

    def _remember(self, interaction: discord.Interaction[Any]) -> str:
        now = time.monotonic()
        while self._pending:
            oldest = next(iter(self._pending.values()))
            if oldest.expires > now and len(self._pending) < MAX_PENDING:
                break
            self._pending.popitem(last=False)
        token = str(interaction.id)
        self._pending[token] = _Pending(interaction, now + INTERACTION_TTL)
        return token

    def _live(self, token: str | None) -> _Pending | None:
        if token is None:
            return None
        pending = self._pending.get(token)
        if pending is not None and pending.expires <= time.monotonic():
            del self._pending[token]
            return None
        return pending

    async def _settle(self, token: str) -> None:
        """A slash command the core left unanswered would show "thinking…" for 15 minutes."""
        pending = self._pending.get(token)
        if pending is None or pending.answered:
            return
        pending.answered = True
        with contextlib.suppress(discord.HTTPException):
            await pending.interaction.delete_original_response()

    async def _dm_url(self, user_id: int) -> str | None:
        try:
            channel_id = await self._dm_channel(user_id)
        except discord.HTTPException as error:
            log.info("could not open a DM with a user: HTTP %d", error.status)
            return None
        return DM_URL.format(channel_id=channel_id)

    # Outgoing -----------------------------------------------------------------------------

    async def send(self, message: Outgoing) -> str:
        kind, target = self._address(message.chat)
        client = self.client
        if client is None or client.is_closed():
            raise Transient("the Discord client is not running")
        try:
            parts = render(message)
        except RenderError as error:
            raise BadRequest(str(error)) from error
        try:
            return await self._send(message, kind, target, client, parts)
        finally:
            for part in parts:
                for file in part.files:
                    file.close()

    async def _send(
        self,
        message: Outgoing,
        kind: ChatKind,
        target: int,
        client: discord.Client,
        parts: list[Part],
    ) -> str:
        pending = self._live(message.reply_token)
        if pending is not None and _chat_of(pending.interaction) != message.chat:
            pending = None  # the token answers another chat's interaction
        dm_user = target if kind == "dm" else None
        try:
            if pending is not None:
                # Interaction responses are exempt from the global limit and need no DM.
                return await self._answer(pending, message, parts)
            if message.private_reply and dm_user is None:
                # Only an interaction can whisper in a server; never post it for all to see.
                raise BadRequest(f"a private reply to {message.chat} without its interaction")
            if dm_user is not None and dm_user in self._unreachable:
                raise Unreachable(f"{message.chat} refused DMs; waiting for them to write")
            cooldown = self.invalid_requests.cooldown()
            if cooldown > 0:
                raise RateLimited(cooldown, "(too many invalid requests)")
            channel_id = target if dm_user is None else await self._dm_channel(dm_user)
            return await self._to_channel(client, channel_id, dm_user, message, parts)
        except discord.HTTPException as error:
            raise self._refusal(error, dm_user) from error
        except discord.RateLimited as error:
            raise RateLimited(error.retry_after) from error
        except (aiohttp.ClientError, OSError) as error:  # TimeoutError is an OSError
            raise Transient(f"{type(error).__name__}: {error}") from error

    def _address(self, chat: ChatRef) -> tuple[ChatKind, int]:
        kind, _, ident = chat.chat_id.partition(":")
        if chat.platform != self.name or kind not in ("dm", "channel") or not ident.isdigit():
            raise BadRequest(f"not a Discord address: {chat}")
        return ("dm" if kind == "dm" else "channel"), int(ident)

    async def _answer(self, pending: _Pending, message: Outgoing, parts: list[Part]) -> str:
        """Followups to the interaction, or an edit of the message whose button was pressed."""
        pending.answered = True
        interaction = pending.interaction
        private = message.private_reply
        pressed = interaction.message
        if message.edit_message_id is not None:
            if pressed is None or str(pressed.id) != message.edit_message_id:
                assert interaction.channel_id is not None
                dm_user = interaction.user.id if interaction.guild_id is None else None
                return await self._to_channel(
                    interaction.client, interaction.channel_id, dm_user, message, parts
                )
            first, *rest = parts
            edited = await interaction.edit_original_response(
                content=first.content,
                embeds=first.embeds,
                attachments=first.files,
                view=first.view,
                allowed_mentions=NO_MENTIONS,
            )
            last = edited.id
            for part in rest:
                last = (await self._followup(interaction, part, private)).id
            return str(last)
        for part in parts:
            last = (await self._followup(interaction, part, private)).id
        return str(last)

    @staticmethod
    async def _followup(
        interaction: discord.Interaction[Any], part: Part, ephemeral: bool
    ) -> discord.WebhookMessage:
        missing = discord.utils.MISSING
        return await interaction.followup.send(
            content=part.content if part.content is not None else missing,
            embeds=part.embeds,
            files=part.files,
            view=part.view if part.view is not None else missing,
            ephemeral=ephemeral,
            allowed_mentions=NO_MENTIONS,
            wait=True,
        )

    async def _to_channel(
        self,
        client: discord.Client,
        channel_id: int,
        dm_user: int | None,
        message: Outgoing,
        parts: list[Part],
    ) -> str:
        kind = discord.ChannelType.private if dm_user is not None else None
        channel = client.get_partial_messageable(channel_id, type=kind)
        last = 0
        if message.edit_message_id is not None:
            if not message.edit_message_id.isdigit():
                raise BadRequest(f"not a Discord message id: {message.edit_message_id}")
            first, *parts = parts
            target = channel.get_partial_message(int(message.edit_message_id))
            edit = functools.partial(
                target.edit,
                content=first.content,
                embeds=first.embeds,
                attachments=first.files,
                view=first.view,
                allowed_mentions=NO_MENTIONS,
            )
            last = (await self._paced(dm_user, edit)).id
        for part in parts:
            post = functools.partial(
                channel.send,
                content=part.content,
                embeds=part.embeds,
                files=part.files,
                view=part.view,
                allowed_mentions=NO_MENTIONS,
            )
            last = (await self._paced(dm_user, post)).id
        return str(last)

    async def _paced(self, dm_user: int | None, request: Callable[[], Awaitable[T]]) -> T:
        """One REST request within the DM budget (for DMs) and the global one."""
        budget = self._dm_budget(dm_user) if dm_user is not None else None
        if budget is not None:
            await budget.acquire()
        try:
            async with self._global:
                return await request()
        finally:
            if budget is not None:
                budget.release()

    def _dm_budget(self, user_id: int) -> RequestBudget:
        budget = self._dm_budgets.get(user_id)
        if budget is None:
            if len(self._dm_budgets) >= PRUNE_BUDGETS_AT:
                for idle in [key for key, value in self._dm_budgets.items() if value.idle()]:
                    del self._dm_budgets[idle]
            budget = self._dm_budgets[user_id] = RequestBudget(self._dm_rate, self._dm_period)
        return budget

    async def _dm_channel(self, user_id: int) -> int:
        """The DM channel's id, opened once (``POST users/@me/channels``) and remembered;
        concurrent sends to someone new share one request."""
        channel_id = self._dm_channels.get(user_id)
        if channel_id is not None:
            self._dm_channels.move_to_end(user_id)
            return channel_id
        opening = self._opening.get(user_id)
        if opening is None:
            opening = self._opening[user_id] = asyncio.ensure_future(self._open_dm(user_id))
            opening.add_done_callback(lambda _: self._opening.pop(user_id, None))
        return await asyncio.shield(opening)

    async def _open_dm(self, user_id: int) -> int:
        client = self.client
        assert client is not None
        async with self._global:
            channel = await client.create_dm(discord.Object(id=user_id))
        self._dm_channels.put(user_id, channel.id)
        return channel.id

    def _refusal(self, error: discord.HTTPException, dm_user: int | None) -> SendError:
        detail = f"HTTP {error.status} (code {error.code}): {error.text}"
        if error.status == 429:
            return RateLimited(_retry_after(error), detail)
        if error.status == 403 or (error.status == 404 and error.code in UNREACHABLE_CODES):
            if dm_user is not None:
                self._unreachable.put(dm_user, True)
            return Unreachable(detail)
        if error.status >= 500 or error.status == 401:
            return Transient(detail)
        return BadRequest(detail)


def _dm_chat(user_id: int) -> ChatRef:
    return ChatRef(platform=DiscordPlatform.name, chat_id=f"dm:{user_id}")


def _chat_of(interaction: discord.Interaction[Any]) -> ChatRef:
    """A DM is addressed by its person, so jobs can write to them before any DM exists."""
    if interaction.guild_id is None:
        return _dm_chat(interaction.user.id)
    return ChatRef(platform=DiscordPlatform.name, chat_id=f"channel:{interaction.channel_id}")


def _retry_after(error: discord.HTTPException) -> float:
    headers = error.response.headers
    for header in ("X-RateLimit-Reset-After", "Retry-After"):
        value = headers.get(header)
        if value is not None:
            with contextlib.suppress(ValueError):
                return max(float(value), 0.0)
    return 1.0
