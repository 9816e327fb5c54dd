"""Sending to Discord: paced REST sends and edits, resumable parts, refusals as SendErrors.

Every message that is not an interaction's answer goes out here, to a DM (its channel opened
once and remembered) or to a linked server channel: each request within the global budget and,
for a DM, that DM's budget, replies to someone who wrote lately ahead of bulk sends, and past the
invalid-request guard. A 429 is not waited out here beyond what discord.py does by itself: the
core's delivery policy gets RateLimited and the outbox decides what waits. Nothing is remembered
about who refused us: the outbox blocks an unreachable chat, across restarts.

A request that puts something in a chat says, when it fails, whether it may have done so: its
answer is waited for ``read_timeout`` from when it went out, and a 5xx to it is not sent again
by discord.py (which would post a copy per try) but handed to the delivery policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Final, Literal, TypeVar

import aiohttp
import discord

from bot.adapters.discord.ratelimit import InvalidRequests, RequestBudget, retry_after
from bot.adapters.discord.render import NO_MENTIONS, Part
from bot.core.lru import Lru
from bot.core.messages import ChatRef, Outgoing
from bot.core.outbox import lend_slot
from bot.core.platform import BadRequest, RateLimited, SendError, Transient, Unreachable

T = TypeVar("T")
ChatKind = Literal["dm", "channel"]

PLATFORM: Final = "discord"
# DM channel ids, so that sending to someone needs no POST users/@me/channels first. An
# OrderedDict of snowflake ints costs about 170 bytes an entry (tracemalloc): ~170 MB when full.
# Past it, the least recently used are opened again when next needed.
MAX_DM_CHANNELS: Final = 1_000_000
# A DM to someone who wrote this recently is a reply they are waiting for: it goes first.
RECENTLY: Final = 60.0
PRUNE_BUDGETS_AT: Final = 1024
DM_URL: Final = "https://discord.com/channels/@me/{channel_id}"
# 10003 unknown channel, 10013 unknown user, 50007 cannot send messages to this user.
UNREACHABLE_CODES: Final = frozenset({10003, 10013, 50007})
MISSING_PERMISSIONS: Final = 50013
INVALID_STATUSES: Final = frozenset({401, 403, 429})
SEND_FAILURES: Final = (discord.HTTPException, discord.RateLimited, aiohttp.ClientError, OSError)
# Server errors that say the request was not taken: a front's "down" (502) or "busy" (503),
# Cloudflare's "the origin cannot be reached" (521-523). Any other 5xx came after Discord had
# the request, which may then have been carried out.
NOT_TAKEN: Final = frozenset({502, 503, 521, 522, 523})


class ServerFailed(Exception):
    """A 5xx to a request that puts something in a chat, raised from inside discord.py's
    request loop so that it does not try again by itself (it does for 500, 502, 504 and 524,
    up to five times, and each try may post a copy): the delivery policy decides."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status} from Discord")
        self.status = status


@dataclass(slots=True)
class _Exchange:
    """One paced request on its way: when its headers went out, as aiohttp reports it (a
    budget's clock starts then, after any wait in discord.py's route buckets or for a
    connection, and so does the wait for the answer of one that ``delivers``)."""

    delivers: bool
    read_timeout: float | None
    sent: list[float] = field(default_factory=list)
    timer: asyncio.Timeout | None = None


_EXCHANGE: ContextVar[_Exchange | None] = ContextVar("discord_exchange", default=None)

ClientRef = Callable[[], discord.Client | None]


def dm_chat(user_id: int) -> ChatRef:
    """A DM is addressed by its person, so jobs can write to them before any DM exists."""
    return ChatRef(platform=PLATFORM, chat_id=f"dm:{user_id}")


def channel_chat(channel_id: int) -> ChatRef:
    return ChatRef(platform=PLATFORM, chat_id=f"channel:{channel_id}")


def address(chat: ChatRef) -> tuple[ChatKind, int]:
    """``discord:dm:<user id>`` or ``discord:channel:<channel id>``; BadRequest otherwise."""
    kind, _, ident = chat.chat_id.partition(":")
    if chat.platform != PLATFORM or kind not in ("dm", "channel") or not ident.isdigit():
        raise BadRequest(f"not a Discord address: {chat}")
    return ("dm" if kind == "dm" else "channel"), int(ident)


def refusal(error: discord.HTTPException, *, delivering: bool = True) -> SendError:
    """The core's SendError for an HTTP error; the delivery policy decides the rest.
    ``delivering``: the request would have put something in a chat (not opened a DM)."""
    detail = f"HTTP {error.status} (code {error.code}): {error.text}"
    if error.status == 429:
        scope = error.response.headers.get("X-RateLimit-Global") if error.response else None
        return RateLimited(retry_after(error), detail, bot_wide=scope == "true")
    if error.status == 403 and error.code == MISSING_PERMISSIONS:
        # The bot lacks a permission in a server channel: not a person who closed DMs.
        return BadRequest(detail)
    if error.status == 403 or (error.status == 404 and error.code in UNREACHABLE_CODES):
        return Unreachable(detail)
    if error.status >= 500:
        return Transient(detail, may_have_arrived=delivering and error.status not in NOT_TAKEN)
    if error.status == 401:
        return Transient(detail)
    return BadRequest(detail)


@contextlib.contextmanager
def send_errors(client: discord.Client, *, delivering: bool = True) -> Iterator[None]:
    """discord.py's and aiohttp's failures as the core's four. Failures after a paced
    request went out are told apart already (``Sender.paced``)."""
    try:
        yield
    except discord.HTTPException as error:
        raise refusal(error, delivering=delivering) from error
    except discord.RateLimited as error:
        # discord.py would have waited longer than it may (max_ratelimit_timeout).
        raise RateLimited(error.retry_after, bot_wide=True) from error
    except (aiohttp.ClientError, OSError) as error:  # TimeoutError is an OSError
        raise Transient(f"{type(error).__name__}: {error}") from error
    except RuntimeError as error:
        # aiohttp's "Session is closed": the bot stopped while this send waited its turn.
        if not client.is_closed():
            raise
        raise Transient("the Discord client closed") from error


class Recent:
    """Who wrote within the last ``window`` seconds; holds only them."""

    def __init__(self, window: float) -> None:
        self._window = window
        self._seen: OrderedDict[int, float] = OrderedDict()

    def mark(self, user_id: int) -> None:
        now = time.monotonic()
        self._seen[user_id] = now
        self._seen.move_to_end(user_id)
        while self._seen and next(iter(self._seen.values())) <= now - self._window:
            self._seen.popitem(last=False)

    def __contains__(self, user_id: int) -> bool:
        seen = self._seen.get(user_id)
        return seen is not None and seen > time.monotonic() - self._window


class Sender:
    """REST requests to Discord, paced by the global budget and a budget per DM."""

    def __init__(
        self,
        client: ClientRef,
        *,
        global_rate: float,
        dm_rate: int,
        dm_period: float,
        read_timeout: float | None = None,
    ) -> None:
        self._client = client
        self._read_timeout = read_timeout
        self._dm_rate = dm_rate
        self._dm_period = dm_period
        self._global = RequestBudget.per_second(global_rate)
        self._dm_budgets: dict[int, RequestBudget] = {}
        self._dm_channels: Lru[int, int] = Lru(MAX_DM_CHANNELS)
        self._opening: dict[int, asyncio.Future[int]] = {}
        self.invalid_requests = InvalidRequests()
        self.recent = Recent(RECENTLY)

    def trace(self) -> aiohttp.TraceConfig:
        """Watch every request discord.py makes: when it really goes out, and every response,
        including the 429s it retries by itself."""

        async def on_headers_sent(
            _session: aiohttp.ClientSession,
            _context: SimpleNamespace,
            _params: aiohttp.TraceRequestHeadersSentParams,
        ) -> None:
            exchange = _EXCHANGE.get()
            if exchange is not None:
                exchange.sent.append(time.monotonic())
                if exchange.timer is not None and exchange.read_timeout is not None:
                    loop = asyncio.get_running_loop()
                    exchange.timer.reschedule(loop.time() + exchange.read_timeout)

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
            exchange = _EXCHANGE.get()
            if exchange is None or not exchange.delivers:
                return
            if response.status == 429 and exchange.timer is not None:
                exchange.timer.reschedule(None)  # discord.py may wait it out and ask again
            elif response.status >= 500:
                raise ServerFailed(response.status)

        trace = aiohttp.TraceConfig()
        trace.on_request_headers_sent.append(on_headers_sent)
        trace.on_request_end.append(on_end)
        return trace

    # Messages -----------------------------------------------------------------------------

    async def send(
        self,
        client: discord.Client,
        message: Outgoing,
        parts: list[Part],
        progress: list[int],
    ) -> str:
        """Post (or edit) ``message`` in its DM or channel, from part ``progress[0]`` on."""
        kind, target = address(message.chat)
        dm_user = target if kind == "dm" else None
        if message.private_reply and dm_user is None:
            # Only an interaction can whisper in a server; never post it for all to see.
            raise BadRequest(f"a private reply to {message.chat} without its interaction")
        cooldown = self.invalid_requests.cooldown()
        if cooldown > 0:
            raise RateLimited(cooldown, "(too many invalid requests)", bot_wide=True)
        urgent = message.reply_token is not None or (
            dm_user is not None and dm_user in self.recent
        )
        channel_id = target
        if dm_user is not None:
            # Opening a DM puts nothing in it: a lost answer there proves nothing arrived.
            with send_errors(client, delivering=False):
                channel_id = await self.dm_channel(dm_user, urgent=urgent)
        with send_errors(client):
            return await self.to_channel(
                client, channel_id, dm_user, message, parts, urgent=urgent, progress=progress
            )

    async def to_channel(
        self,
        client: discord.Client,
        channel_id: int,
        dm_user: int | None,
        message: Outgoing,
        parts: list[Part],
        *,
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
            last = (await self.paced(dm_user, edit, urgent=urgent, delivers=True)).id
        for index, part in enumerate(parts[progress[0] :], progress[0]):
            post = functools.partial(
                channel.send,
                content=part.content,
                embeds=part.embeds,
                files=part.files,
                view=part.view,
                allowed_mentions=NO_MENTIONS,
            )
            last = (await self.paced(dm_user, post, urgent=urgent, delivers=True)).id
            progress[0] = index + 1
        return str(last)

    # Requests -----------------------------------------------------------------------------

    async def paced(
        self,
        dm_user: int | None,
        request: Callable[[], Awaitable[T]],
        *,
        urgent: bool,
        delivers: bool = False,
    ) -> T:
        """One REST request within the DM budget (for DMs) and the global one, and past the
        invalid-request guard. Tokens are timed from when the request went out, after every
        wait, so a token held while queueing elsewhere cannot bunch requests up; one that never
        went out comes back at once. While it waits for a token, an outbox send lends its
        concurrency slot to others. ``delivers``: it puts something in a chat, so its answer
        is waited for ``read_timeout`` at most, and a failure after it went out raises
        Transient saying it may have arrived."""
        budget = self._dm_budget(dm_user) if dm_user is not None else None
        exchange = _Exchange(delivers, self._read_timeout if delivers else None)
        sent = exchange.sent
        held: list[RequestBudget] = []
        try:
            async with lend_slot():
                if budget is not None:
                    await budget.acquire(urgent=urgent)
                    held.append(budget)
                await self._global.acquire(urgent=urgent)
                held.append(self._global)
            async with self.invalid_requests.admit():
                context = _EXCHANGE.set(exchange)
                try:
                    return await _answered(exchange, request)
                finally:
                    _EXCHANGE.reset(context)
        finally:
            for token in held:
                token.release(sent[-1] if sent else None)

    async def guarded(self, request: Callable[[], Awaitable[T]]) -> T:
        """An interaction request: exempt from the global limit, not from the invalid count.
        It answers someone, so a 5xx to it is not sent again by discord.py either (each try
        may post a copy); its answer is not timed here, as an interaction's must come fast."""
        exchange = _Exchange(delivers=True, read_timeout=None)
        async with self.invalid_requests.admit():
            context = _EXCHANGE.set(exchange)
            try:
                return await _answered(exchange, request)
            finally:
                _EXCHANGE.reset(context)

    def _dm_budget(self, user_id: int) -> RequestBudget:
        budget = self._dm_budgets.get(user_id)
        if budget is None:
            if len(self._dm_budgets) >= PRUNE_BUDGETS_AT:
                for idle in [key for key, value in self._dm_budgets.items() if value.idle()]:
                    del self._dm_budgets[idle]
            budget = self._dm_budgets[user_id] = RequestBudget(self._dm_rate, self._dm_period)
        return budget

    # DM channels --------------------------------------------------------------------------

    def remember_dm(self, user_id: int, channel_id: int) -> None:
        """A DM channel seen on the gateway: no need to open it to write there."""
        self._dm_channels.put(user_id, channel_id)

    async def dm_channel(self, user_id: int, *, urgent: bool) -> int:
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

    async def dm_url(self, user_id: int) -> str:
        """A link that opens the person's DM with the bot; raises a SendError when the DM
        cannot be opened now."""
        client = self._client()
        if client is None or client.is_closed():
            raise Transient("the Discord client is not running")
        with send_errors(client):
            channel_id = await self.dm_channel(user_id, urgent=True)
        return DM_URL.format(channel_id=channel_id)

    async def _open_dm(self, user_id: int, urgent: bool) -> int:
        client = self._client()
        if client is None:
            raise RuntimeError("the Discord client is not running")
        channel = await self.paced(
            None, functools.partial(client.create_dm, discord.Object(id=user_id)), urgent=urgent
        )
        self._dm_channels.put(user_id, channel.id)
        return channel.id


async def _answered(exchange: _Exchange, request: Callable[[], Awaitable[T]]) -> T:
    """``request``'s answer; a failure once a delivering request went out becomes Transient
    saying it may have arrived, one before (refused, not connected) stays as it was."""
    try:
        async with asyncio.timeout(None) as timer:
            exchange.timer = timer  # started once the headers are out (Sender.trace)
            return await request()
    except ServerFailed as failed:
        arrived = failed.status not in NOT_TAKEN
        raise Transient(str(failed), may_have_arrived=arrived) from failed
    except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
        raise
    except (aiohttp.ClientConnectionError, TimeoutError) as error:
        if not exchange.delivers or not exchange.sent:
            raise
        detail = f"no answer from Discord ({type(error).__name__})"
        raise Transient(detail, may_have_arrived=True) from error
