"""Discord through discord.py: slash commands, DMs, components, self-imposed limits.

Onboarding happens in DMs: a slash command in a server is answered ephemerally, and /start also
starts the conversation in the person's DM. Interactions and typed DMs are taken the moment the
gateway delivers them: one person's events reach the core one at a time, in that order, while an
interaction is acknowledged at once (Discord allows 3 seconds) without waiting for its turn; the
core's replies then go out as its followups or edits. Every other message is paced by a global
budget and a per-DM one before discord.py sees it, replies to someone waiting going first.

Stopping closes the gateway, lets the events already taken finish, and only then closes the HTTP
session they reply through; App.close() closes the database after that.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Final, Literal, TypeVar, cast

import aiohttp
import discord

from bot.adapters.discord.client import KolbotClient, pressed_data
from bot.adapters.discord.commands import publish_commands
from bot.adapters.discord.ratelimit import InvalidRequests, RequestBudget, retry_after
from bot.adapters.discord.render import NO_MENTIONS, Part, RenderError, escape, render
from bot.adapters.discord.tracking import Recent, Turn, Turns
from bot.core.lru import Lru
from bot.core.messages import ChatRef, Incoming, Outgoing, UserRef
from bot.core.platform import (
    BadRequest,
    RateLimited,
    SendError,
    Transient,
    Unreachable,
    UpdateSink,
)
from bot.core.router import Command
from bot.i18n import DEFAULT_LANGUAGE, N_, normalize_language, translator
from bot.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
ChatKind = Literal["dm", "channel"]

# Interaction tokens live 15 minutes; stop using one a minute early.
INTERACTION_TTL: Final = 14 * 60.0
# DM channel ids, so that sending to someone needs no POST users/@me/channels first. An
# OrderedDict of snowflake ints costs about 170 bytes an entry (tracemalloc): ~170 MB when full.
# Past it, the least recently used are opened again when next needed.
MAX_DM_CHANNELS: Final = 1_000_000
MAX_REMEMBERED_USERS: Final = 100_000
# One person's events waiting for their turn; beyond this they are flooding and are dropped.
MAX_QUEUED_PER_USER: Final = 16
# A DM to someone who wrote this recently is a reply they are waiting for: it goes first.
RECENTLY: Final = 60.0
# How long stop() lets the events already taken finish before cancelling them.
DRAIN_TIMEOUT: Final = 10.0
PRUNE_BUDGETS_AT: Final = 1024
# Commands that, sent in a server, also start their conversation in the person's DM.
OPENS_DM: Final = frozenset({"start"})
DM_URL: Final = "https://discord.com/channels/@me/{channel_id}"
# 10003 unknown channel, 10013 unknown user, 50007 cannot send messages to this user.
UNREACHABLE_CODES: Final = frozenset({10003, 10013, 50007})
MISSING_PERMISSIONS: Final = 50013
INVALID_STATUSES: Final = frozenset({401, 403, 429})
# discord.py raises instead of sleeping through a bucket longer than this (its minimum).
MAX_LIBRARY_WAIT: Final = 30.0
SEND_FAILURES: Final = (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, OSError)
# When the current paced request's headers went out, as aiohttp reports it: a budget's clock
# starts then, after any wait in discord.py's route buckets or for a connection.
_HEADERS_SENT: ContextVar[list[float] | None] = ContextVar("headers_sent", default=None)

DMS_CLOSED: Final = N_(
    "I can't send you direct messages. Please allow direct messages from server members in "
    "this server's privacy settings, then try again."
)
EXPIRED: Final = N_("This button has expired.")


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
    """An interaction whose token carries the core's replies while the core handles it."""

    token: str
    interaction: discord.Interaction[Any]
    expires: float
    # Only its person may see the answers: a command deferred ephemerally, or a press on an
    # ephemeral message, in a server.
    ephemeral: bool
    # A "thinking…" message stands until the first answer.
    placeholder: bool
    answered: bool = False


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
        self._dm_channels: Lru[int, int] = Lru(MAX_DM_CHANNELS)
        self._locales: Lru[int, str] = Lru(MAX_REMEMBERED_USERS)
        # Users whose DMs refused us; nothing is sent to them until they write again.
        # The outbox keeps this across restarts (blocked rows, unreachable accounts); here it
        # saves a refused request, each of which counts towards Discord's invalid-request ban.
        self._unreachable: Lru[int, bool] = Lru(MAX_REMEMBERED_USERS)
        self._recent = Recent(RECENTLY)
        self._turns = Turns(MAX_QUEUED_PER_USER)
        self._pending: dict[str, _Pending] = {}
        self._opening: dict[int, asyncio.Future[int]] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.invalid_requests = InvalidRequests()
        self.client: KolbotClient | None = None
        # Publishing the slash commands; done once they are published or it gave up.
        self.publishing: asyncio.Task[None] | None = None
        self._sink: UpdateSink | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = asyncio.Event()

    # Lifecycle ----------------------------------------------------------------------------

    @property
    def identity(self) -> str:
        """This bot: message and interaction ids are snowflakes, unique anyway."""
        client = self.client
        user = client.user if client is not None else None
        return f"{self.name}:{user.id}" if user is not None else self.name

    async def start(self, sink: UpdateSink) -> None:
        """Log in here, so a bad token fails the start; then run the gateway as a task on the
        shared event loop. Slash commands are published in the background."""
        self._sink = sink
        self._stopping = False
        self._closed.clear()
        client = KolbotClient(
            self,
            intents=intents(),
            guild_ready_timeout=self._guild_ready_timeout,
            http_trace=self._trace(),
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
        self._task = asyncio.create_task(self._run(client), name="discord-gateway")

    async def _run(self, client: KolbotClient) -> None:
        try:
            await client.connect(reconnect=True)
        finally:
            self._closed.set()

    async def stop(self) -> None:
        """Take no more events and close the gateway; let the events already taken finish (for
        up to DRAIN_TIMEOUT); then close the HTTP session their replies go through."""
        self._stopping = True
        background = [task for task in (self.publishing, self._task) if task is not None]
        for task in background:
            task.cancel()
        if background:
            await asyncio.wait(background)
        client = self.client
        if client is not None and client.ws is not None and client.ws.open:
            await client.ws.close(code=1000)
        await self._drain()
        if client is not None:
            await client.close()
        self._closed.set()

    async def _drain(self) -> None:
        if not self._in_flight:
            return
        _, late = await asyncio.wait(self._in_flight, timeout=DRAIN_TIMEOUT)
        if late:
            log.warning("cancelling %d Discord events still running at shutdown", len(late))
            for task in late:
                task.cancel()
            await asyncio.wait(late, timeout=1.0)

    async def wait_closed(self) -> None:
        """Return when the gateway gave up (a revoked token, say), raising what stopped it."""
        await self._closed.wait()
        task = self._task
        if task is not None and task.done() and not task.cancelled():
            task.result()

    async def setup(self, client: KolbotClient) -> None:
        """Called by the client's setup_hook, once logged in."""
        self.publishing = asyncio.create_task(
            publish_commands(client, self._commands, self._guild_ids), name="discord-commands"
        )
        self.publishing.add_done_callback(_report_failure)

    def _trace(self) -> aiohttp.TraceConfig:
        """Watch every request discord.py makes: when it really goes out, and every response,
        including the 429s it retries by itself."""

        async def on_headers_sent(
            _session: aiohttp.ClientSession,
            _context: SimpleNamespace,
            _params: aiohttp.TraceRequestHeadersSentParams,
        ) -> None:
            sent = _HEADERS_SENT.get()
            if sent is not None:
                sent.append(time.monotonic())

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
        trace.on_request_headers_sent.append(on_headers_sent)
        trace.on_request_end.append(on_end)
        return trace

    # Incoming -----------------------------------------------------------------------------

    def interaction_arrived(self, interaction: discord.Interaction[Any]) -> None:
        """Route it and take its person's turn now, in gateway order; the work runs as a task."""
        if self._stopping:
            return  # the gateway is closing; Discord tells the person it failed
        data = cast(dict[str, Any], interaction.data or {})
        handle: Callable[[Turn], Coroutine[Any, Any, None]]
        if interaction.type is discord.InteractionType.application_command:
            # Commands are routed by name, even one no longer offered: the core answers it.
            handle = functools.partial(self._command, interaction, str(data.get("name", "")))
        elif interaction.type is discord.InteractionType.component:
            pressed = pressed_data(str(data.get("custom_id", "")), data.get("values") or [])
            if pressed is None:
                self._spawn(self._expired(interaction))
                return
            handle = functools.partial(self._press, interaction, pressed)
        else:
            return
        self._recent.mark(interaction.user.id)
        turn = self._turns.take(interaction.user.id)
        if turn is None:
            log.info("dropping an interaction: too many queued for one user")
            return
        self._spawn(handle(turn), turn)

    def message_arrived(self, message: discord.Message) -> None:
        """Typed answers: DMs only. Server chatter is none of the bot's business, and its own
        DMs come back through the gateway too."""
        author = message.author
        if self._stopping or author.bot or message.guild is not None:
            return
        if not message.content.strip():
            return
        self._dm_channels.put(author.id, message.channel.id)
        self._heard_from(author.id)
        turn = self._turns.take(author.id)
        if turn is None:
            log.info("dropping a DM: too many queued for one user")
            return
        self._spawn(self._typed(message, turn), turn)

    def _spawn(self, work: Coroutine[Any, Any, None], turn: Turn | None = None) -> None:
        """Run one event's work as a task that stop() waits for."""

        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("handling a Discord event failed")

        def done(task: asyncio.Task[None]) -> None:
            # Also when cancelled before it started (at shutdown): then ``work`` never ran.
            work.close()
            self._in_flight.discard(task)
            if turn is not None:
                self._turns.finish(turn)

        task = asyncio.create_task(run())
        self._in_flight.add(task)
        task.add_done_callback(done)

    async def _typed(self, message: discord.Message, turn: Turn) -> None:
        await turn.wait()
        author = message.author
        text = message.content
        stripped = text.strip()
        common: dict[str, Any] = {
            "chat": _dm_chat(author.id),
            "user": self._user(author, self._locales.get(author.id)),
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

    async def _command(self, interaction: discord.Interaction[Any], name: str, turn: Turn) -> None:
        in_dm = interaction.guild_id is None
        ack = asyncio.ensure_future(
            _acknowledge(interaction.response.defer(ephemeral=not in_dm, thinking=True))
        )
        await turn.wait()
        if not await ack:
            return
        if in_dm or name in OPENS_DM:
            self._heard_from(interaction.user.id)
        user = self._user(interaction.user, interaction.locale.value)
        pending = self._remember(interaction, ephemeral=not in_dm, placeholder=True)
        try:
            if not in_dm and name in OPENS_DM:
                await self._start_in_dm(pending, name, user)
                return
            await self._feed(
                _command(
                    name,
                    self._chat(interaction),
                    user,
                    update_id=str(interaction.id),
                    is_private=in_dm,
                    reply_token=pending.token,
                )
            )
        finally:
            await self._settle(pending)

    async def _start_in_dm(self, pending: _Pending, name: str, user: UserRef) -> None:
        """A command sent in a server that runs in the person's DM: start it there, then answer
        in the server with a link, or, if their DMs are closed, with how to open them.

        Discord opens a DM channel with anyone and refuses only the first message, so the
        conversation goes first: its first message is what tells.
        """
        interaction = pending.interaction
        user_id = interaction.user.id
        dm_url = await self._dm_url(user_id)
        if user_id not in self._unreachable:
            await self._feed(
                _command(name, _dm_chat(user_id), user, update_id=f"{interaction.id}:dm")
            )
        if user_id in self._unreachable:
            language = normalize_language(interaction.locale.value) or DEFAULT_LANGUAGE
            closed = Outgoing(
                chat=_chat_of(interaction),
                text=translator(language)._(DMS_CLOSED),
                reply_token=pending.token,
                private_reply=True,
            )
            with contextlib.suppress(SendError):
                await self.send(closed)
            return
        await self._feed(
            _command(
                name,
                self._chat(interaction),
                user,
                update_id=str(interaction.id),
                is_private=False,
                reply_token=pending.token,
                private_chat_url=dm_url,
            )
        )

    async def _press(self, interaction: discord.Interaction[Any], data: str, turn: Turn) -> None:
        ack = asyncio.ensure_future(_acknowledge(interaction.response.defer()))
        await turn.wait()
        if not await ack:
            return
        in_dm = interaction.guild_id is None
        if in_dm:
            self._heard_from(interaction.user.id)
        pressed = interaction.message
        private = not in_dm and pressed is not None and pressed.flags.ephemeral
        pending = self._remember(interaction, ephemeral=private, placeholder=False)
        try:
            await self._feed(
                Incoming(
                    kind="button",
                    chat=self._chat(interaction),
                    user=self._user(interaction.user, interaction.locale.value),
                    is_private=in_dm,
                    button_data=data,
                    message_id=str(pressed.id) if pressed else None,
                    update_id=str(interaction.id),
                    reply_token=pending.token,
                )
            )
        finally:
            await self._settle(pending)

    async def _expired(self, interaction: discord.Interaction[Any]) -> None:
        """A component this bot does not make (any more): say so rather than let it fail."""
        language = normalize_language(interaction.locale.value) or DEFAULT_LANGUAGE
        text = escape(translator(language)._(EXPIRED))
        await _acknowledge(
            interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        )

    async def _feed(self, incoming: Incoming) -> None:
        if self._sink is None:
            raise RuntimeError("the Discord platform is not started")
        # Stored, handled, and its replies sent (through the interaction while it lives).
        await self._sink.handle(self.identity, incoming)

    def _heard_from(self, user_id: int) -> None:
        """They wrote in private or asked for a DM: their DMs are worth trying again, and they
        are waiting for an answer."""
        self._unreachable.pop(user_id, None)
        self._recent.mark(user_id)

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

    def _remember(
        self, interaction: discord.Interaction[Any], *, ephemeral: bool, placeholder: bool
    ) -> _Pending:
        token = str(interaction.id)
        expires = time.monotonic() + INTERACTION_TTL
        pending = _Pending(token, interaction, expires, ephemeral, placeholder)
        self._pending[token] = pending
        return pending

    def _live(self, token: str | None) -> _Pending | None:
        if token is None:
            return None
        pending = self._pending.get(token)
        if pending is None or pending.expires <= time.monotonic():
            return None
        return pending

    async def _settle(self, pending: _Pending) -> None:
        """Forget the interaction once the core is done with it (every reply is delivered inside
        ``feed``); a "thinking…" placeholder left unanswered would show for 15 minutes."""
        self._pending.pop(pending.token, None)
        live = pending.expires > time.monotonic()
        if pending.placeholder and not pending.answered and live:
            with contextlib.suppress(SendError, *SEND_FAILURES):
                await self._guarded(pending.interaction.delete_original_response)

    async def _dm_url(self, user_id: int) -> str | None:
        """A link to the person's DM; None when it cannot be opened now."""
        try:
            channel_id = await self._dm_channel(user_id, urgent=True)
        except discord.HTTPException as error:
            self._refusal(error, user_id)  # a refusal marks them unreachable
            log.info("could not open a DM with a user: HTTP %d", error.status)
            return None
        except (SendError, *SEND_FAILURES) as error:
            log.info("could not open a DM with a user: %s", error)
            return None
        return DM_URL.format(channel_id=channel_id)

    # Outgoing -----------------------------------------------------------------------------

    async def send(self, message: Outgoing, *, first_part: int = 0) -> str:
        kind, target = self._address(message.chat)
        client = self.client
        if client is None or client.is_closed():
            raise Transient("the Discord client is not running")
        try:
            parts = render(message)
        except RenderError as error:
            raise BadRequest(str(error)) from error
        progress = [first_part]
        try:
            return await self._send(message, kind, target, client, parts, progress)
        except SendError as error:
            error.parts_sent = progress[0]
            raise
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
        progress: list[int],
    ) -> str:
        pending = self._live(message.reply_token)
        if pending is not None and _chat_of(pending.interaction) != message.chat:
            pending = None  # the token answers another chat's interaction
        dm_user = target if kind == "dm" else None
        urgent = message.reply_token is not None or (
            dm_user is not None and dm_user in self._recent
        )
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
                raise RateLimited(cooldown, "(too many invalid requests)", bot_wide=True)
            channel_id = target
            if dm_user is not None:
                channel_id = await self._dm_channel(dm_user, urgent=urgent)
            return await self._to_channel(
                client, channel_id, dm_user, message, parts, urgent, progress
            )
        except discord.HTTPException as error:
            raise self._refusal(error, dm_user) from error
        except discord.RateLimited as error:
            raise RateLimited(error.retry_after, bot_wide=True) from error
        except (aiohttp.ClientError, OSError) as error:  # TimeoutError is an OSError
            raise Transient(f"{type(error).__name__}: {error}") from error
        except RuntimeError as error:
            # aiohttp's "Session is closed": the bot stopped while this send waited its turn.
            if not client.is_closed():
                raise
            raise Transient("the Discord client closed") from error

    def _address(self, chat: ChatRef) -> tuple[ChatKind, int]:
        kind, _, ident = chat.chat_id.partition(":")
        if chat.platform != self.name or kind not in ("dm", "channel") or not ident.isdigit():
            raise BadRequest(f"not a Discord address: {chat}")
        return ("dm" if kind == "dm" else "channel"), int(ident)

    async def _answer(self, pending: _Pending, message: Outgoing, parts: list[Part]) -> str:
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
                edited = await self._guarded(
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
                return await self._to_channel(
                    interaction.client, interaction.channel_id, dm_user, message, parts, True
                )
            # Otherwise the private answer comes as a new ephemeral message.
        last = 0
        for part in parts:
            last = (await self._followup(pending, part, private)).id
        return str(last)

    async def _followup(
        self, pending: _Pending, part: Part, ephemeral: bool
    ) -> discord.WebhookMessage:
        """One followup; the interaction counts as answered once one got through."""
        missing = discord.utils.MISSING
        sent = await self._guarded(
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

    async def _to_channel(
        self,
        client: discord.Client,
        channel_id: int,
        dm_user: int | None,
        message: Outgoing,
        parts: list[Part],
        urgent: bool,
        progress: list[int] | None = None,
    ) -> str:
        """Post (or edit) in a channel; ``progress`` counts the parts sent, and a message sent
        in part before resumes at ``progress[0]``."""
        progress = progress if progress is not None else [0]
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
            last = (await self._paced(dm_user, edit, urgent=urgent)).id
        start = progress[0]
        for index, part in enumerate(parts):
            if index < start:
                continue
            post = functools.partial(
                channel.send,
                content=part.content,
                embeds=part.embeds,
                files=part.files,
                view=part.view,
                allowed_mentions=NO_MENTIONS,
            )
            last = (await self._paced(dm_user, post, urgent=urgent)).id
            progress[0] = index + 1
        return str(last)

    async def _paced(
        self, dm_user: int | None, request: Callable[[], Awaitable[T]], *, urgent: bool
    ) -> T:
        """One REST request within the DM budget (for DMs) and the global one, and past the
        invalid-request guard. Tokens are timed from when the request went out, after every
        wait, so a token held while queueing elsewhere cannot bunch requests up; one that never
        went out comes back at once."""
        budget = self._dm_budget(dm_user) if dm_user is not None else None
        sent: list[float] = []
        if budget is not None:
            await budget.acquire(urgent=urgent)
        try:
            await self._global.acquire(urgent=urgent)
            try:
                async with self.invalid_requests.admit():
                    context = _HEADERS_SENT.set(sent)
                    try:
                        return await request()
                    finally:
                        _HEADERS_SENT.reset(context)
            finally:
                self._global.release(sent[-1] if sent else None)
        finally:
            if budget is not None:
                budget.release(sent[-1] if sent else None)

    async def _guarded(self, request: Callable[[], Awaitable[T]]) -> T:
        """An interaction request: exempt from the global limit, not from the invalid count."""
        async with self.invalid_requests.admit():
            return await request()

    def _dm_budget(self, user_id: int) -> RequestBudget:
        budget = self._dm_budgets.get(user_id)
        if budget is None:
            if len(self._dm_budgets) >= PRUNE_BUDGETS_AT:
                for idle in [key for key, value in self._dm_budgets.items() if value.idle()]:
                    del self._dm_budgets[idle]
            budget = self._dm_budgets[user_id] = RequestBudget(self._dm_rate, self._dm_period)
        return budget

    async def _dm_channel(self, user_id: int, *, urgent: bool) -> int:
        """The DM channel's id, opened once (``POST users/@me/channels``) and remembered;
        concurrent sends to someone new share one request."""
        channel_id = self._dm_channels.get(user_id)
        if channel_id is not None:
            self._dm_channels.move_to_end(user_id)
            return channel_id
        opening = self._opening.get(user_id)
        if opening is None:
            opening = asyncio.ensure_future(self._open_dm(user_id, urgent))
            self._opening[user_id] = opening

            def opened(future: asyncio.Future[int]) -> None:
                self._opening.pop(user_id, None)
                if not future.cancelled():
                    future.exception()  # each waiter gets it; none may be left to ask

            opening.add_done_callback(opened)
        return await asyncio.shield(opening)

    async def _open_dm(self, user_id: int, urgent: bool) -> int:
        client = self.client
        assert client is not None
        channel = await self._paced(
            None, functools.partial(client.create_dm, discord.Object(id=user_id)), urgent=urgent
        )
        self._dm_channels.put(user_id, channel.id)
        return channel.id

    def _refusal(self, error: discord.HTTPException, dm_user: int | None) -> SendError:
        detail = f"HTTP {error.status} (code {error.code}): {error.text}"
        if error.status == 429:
            scope = error.response.headers.get("X-RateLimit-Global") if error.response else None
            return RateLimited(retry_after(error), detail, bot_wide=scope == "true")
        if error.status == 403 and error.code == MISSING_PERMISSIONS:
            # The bot lacks a permission in a server channel: not a person who closed DMs.
            return BadRequest(detail)
        if error.status == 403 or (error.status == 404 and error.code in UNREACHABLE_CODES):
            if dm_user is not None:
                self._unreachable.put(dm_user, True)
            return Unreachable(detail)
        if error.status >= 500 or error.status == 401:
            return Transient(detail)
        return BadRequest(detail)


async def _acknowledge(response: Awaitable[object]) -> bool:
    """Acknowledge an interaction. False when Discord did not take it (too late, say): the
    person saw it fail, so it is not handled either."""
    try:
        await response
    except SEND_FAILURES as error:
        log.info("could not acknowledge an interaction: %s", error)
        return False
    return True


def _report_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("publishing the slash commands failed", exc_info=error)


def _dm_chat(user_id: int) -> ChatRef:
    return ChatRef(platform=DiscordPlatform.name, chat_id=f"dm:{user_id}")


def _chat_of(interaction: discord.Interaction[Any]) -> ChatRef:
    """A DM is addressed by its person, so jobs can write to them before any DM exists."""
    if interaction.guild_id is None:
        return _dm_chat(interaction.user.id)
    return ChatRef(platform=DiscordPlatform.name, chat_id=f"channel:{interaction.channel_id}")


def _command(
    name: str,
    chat: ChatRef,
    user: UserRef,
    *,
    update_id: str,
    is_private: bool = True,
    reply_token: str | None = None,
    private_chat_url: str | None = None,
) -> Incoming:
    """A slash command as the core sees it: the same event whether typed or picked."""
    return Incoming(
        kind="command",
        chat=chat,
        user=user,
        is_private=is_private,
        text=f"/{name}",
        command=name,
        update_id=update_id,
        reply_token=reply_token,
        private_chat_url=private_chat_url,
    )
