"""Receiving from Discord: gateway events become Incoming updates, handed to the core in the
order the gateway delivered them.

discord.py runs each event's handlers as tasks of their own, whose order nothing guarantees
once they await, so the client hands interactions and messages over synchronously (see
``client.py``) and one intake task gives them to the sink in that order, what is ready at once
as one batch: a press and a DM typed right after it reach the core in that order, and from
there the inbox keeps each person's updates in order (and caps a flood). An interaction is
acknowledged at once, outside that line (``interactions``), and forgotten once its update is
handled and its replies sent.

Discord's gateway never replays what arrived while the bot was down. At start, the DMs of
people with an open conversation are read from where their stored updates end
(``GET /channels/{id}/messages?after=``) and handed over like live messages; a person's live
events wait until their history is in, so they still reach the core in order. The inbox drops
an update it has already stored, so an overlap costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

import discord

from bot.adapters.discord.client import pressed_data
from bot.adapters.discord.interactions import Interactions, Pending, chat_of
from bot.adapters.discord.sending import PLATFORM, ClientRef, Sender, dm_chat
from bot.core.inbox import NotAccepting
from bot.core.lru import Lru
from bot.core.messages import ChatRef, Incoming, UserRef
from bot.core.platform import ResumePoints, SendError, UpdateSink
from storage.base import StorageUnavailable

log = logging.getLogger(__name__)

MAX_REMEMBERED_USERS: Final = 100_000
# Updates handed to the sink in one store, at most.
BATCH: Final = 100
# Waits before trying again to hand over updates the store could not take: short, so they go
# within a second of the database taking writes again.
RETRY_DELAYS: Final = (0.1, 1.0)
# Backfill: DMs read at once, messages read per request (Discord's most), requests per person.
BACKFILL_WORKERS: Final = 4
HISTORY_PAGE: Final = 100
HISTORY_PAGES: Final = 3
# Messages people type: default and replies (not joins, pins, calls...).
TYPED_MESSAGES: Final = frozenset({0, 19})
_SNOWFLAKE: Final = re.compile(r"\d{1,20}")

Json = dict[str, Any]


def intents() -> discord.Intents:
    """DMs and their text; guilds so server interactions resolve. Never members or presences:
    they are privileged and the bot has no use for them."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.dm_messages = True
    chosen.message_content = True
    return chosen


def user_ref(user_id: int, display_name: str, locale: str | None) -> UserRef:
    return UserRef(
        platform=PLATFORM, user_id=str(user_id), display_name=display_name, language_hint=locale
    )


def typed(user: UserRef, message_id: int, text: str) -> Incoming | None:
    """A DM someone typed: a command when it starts with a slash; None when blank. When it
    was sent is in its id (a snowflake), for messages read from history too."""
    stripped = text.strip()
    if not stripped:
        return None
    common: dict[str, Any] = {
        "chat": dm_chat(int(user.user_id)),
        "user": user,
        "update_id": str(message_id),
        "message_id": str(message_id),
        "sent_at": discord.utils.snowflake_time(message_id),
    }
    if stripped.startswith("/") and len(stripped) > 1:
        command, _, args = stripped[1:].partition(" ")
        return Incoming(
            kind="command", text=stripped, command=command.lower(), args=args.strip(), **common
        )
    return Incoming(kind="text", text=text, **common)


def slash(
    name: str,
    chat: ChatRef,
    user: UserRef,
    *,
    update_id: str,
    sent_at: datetime,
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
        sent_at=sent_at,
    )


def snowflake(update_id: str | None) -> int | None:
    """The Discord id an update id starts with (``123`` or ``123:dm``)."""
    if update_id is None:
        return None
    found = _SNOWFLAKE.match(update_id)
    return int(found.group()) if found else None


def _ready(updates: list[Incoming]) -> asyncio.Future[list[Incoming]]:
    future: asyncio.Future[list[Incoming]] = asyncio.get_running_loop().create_future()
    future.set_result(updates)
    return future


@dataclass(slots=True, eq=False)
class Entry:
    """One gateway event's updates (ready, or being prepared) and what to do once every one
    of them is handled and its replies sent."""

    user_id: int
    updates: asyncio.Future[list[Incoming]]
    then: Callable[[], Awaitable[None]] | None = None


@dataclass(slots=True)
class _Watch:
    """A DM start waiting to learn whether the DM took its first messages."""

    refused: bool = False
    waiting: int = 0


class Intake:
    """Hands entries to the sink in the order they were put, a batch per store. A person
    whose history is being read, or whose event is being prepared (a DM opened to link to),
    has their entries held meanwhile: the others' go on."""

    def __init__(self, source: Callable[[], str]) -> None:
        self._source = source
        self._queue: deque[Entry] = deque()
        self._wake = asyncio.Event()
        # Set while nothing is in line or being handed over.
        self._idle = asyncio.Event()
        self._idle.set()
        self._held: dict[int, list[Entry]] = {}
        self._sink: UpdateSink | None = None
        self._task: asyncio.Task[None] | None = None
        self._after: set[asyncio.Task[None]] = set()
        # False once the sink said it takes no more (the core is stopping).
        self.accepting = True
        # Told when an event is held for a person's backfill.
        self.on_held: Callable[[int], None] | None = None
        self._closed = False
        # Entries whose updates are still being prepared (their person's later ones held).
        self._preparing: set[Entry] = set()

    def start(self, sink: UpdateSink, hold: Iterable[int] = ()) -> None:
        self._sink = sink
        self.accepting = True
        self._closed = False
        self._held = {user_id: [] for user_id in hold}
        self._task = asyncio.create_task(self._run(), name="discord-intake")

    def put(self, entry: Entry) -> None:
        if self._closed:
            return
        user_id = entry.user_id
        held = self._held.get(user_id)
        if held is not None:
            held.append(entry)
            if self.on_held is not None:
                self.on_held(user_id)
            return
        if not entry.updates.done():
            # Their later events wait for this one; everyone else's go on.
            self._held[user_id] = []
            self._preparing.add(entry)

            def prepared(_: object) -> None:
                self._preparing.discard(entry)
                self.release(user_id, entry)

            entry.updates.add_done_callback(prepared)
            return
        self._queue.append(entry)
        self._idle.clear()
        self._wake.set()

    def holding(self, user_id: int) -> bool:
        """Whether this person's events wait for their backfill; and they have some."""
        return bool(self._held.get(user_id))

    def release(self, user_id: int, first: Entry | None = None) -> None:
        """Their history is in (``first``): their held events follow it."""
        held = self._held.pop(user_id, [])
        for entry in [first, *held] if first is not None else held:
            self.put(entry)

    async def drain(self) -> None:
        """Until everything put so far was prepared and handed over (or the core took no
        more); the history of people still being backfilled is not waited for."""
        while self._task is not None and not self._task.done():
            if self._preparing:
                await asyncio.wait([entry.updates for entry in self._preparing])
            elif not self._idle.is_set():
                await self._idle.wait()
            else:
                return

    async def stop(self, within: float) -> None:
        """Hand over nothing more; let what waits for its update to settle finish (for up to
        ``within`` seconds)."""
        self.accepting = False
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        left = [*self._preparing, *self._queue, *(e for h in self._held.values() for e in h)]
        self._preparing.clear()
        if left:
            log.info("discord: %d events not handed over at shutdown", len(left))
        for entry in left:
            entry.updates.cancel()
            if entry.then is not None:
                self._spawn(entry.then())
        self._queue.clear()
        self._held.clear()
        self._idle.set()
        if self._after:
            _, late = await asyncio.wait(self._after, timeout=within)
            for task in late:
                task.cancel()
            if late:
                log.warning("cancelled %d Discord events still running at shutdown", len(late))
                await asyncio.wait(late, timeout=1.0)

    # The line -----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
                await self._hand_over(batch)
            self._idle.set()

    async def _hand_over(self, batch: list[Entry]) -> None:
        sink = self._sink
        assert sink is not None
        source = self._source()
        updates: list[Incoming] = []
        mine: list[list[Incoming]] = []
        for entry in batch:
            prepared = _result(entry.updates)
            updates += prepared
            mine.append(prepared)
        waits: dict[str, asyncio.Future[None]] = {}
        for entry, prepared in zip(batch, mine, strict=True):
            if entry.then is None:
                continue
            for update in prepared:
                assert update.update_id is not None
                # Asked before the batch is stored, so no worker can finish it unseen.
                waits[update.update_id] = sink.settled(source, update.update_id)
        stored = await self._accept(sink, source, updates) if updates else True
        for entry, prepared in zip(batch, mine, strict=True):
            if entry.then is None:
                continue
            futures = [waits[u.update_id] for u in prepared if u.update_id in waits]
            if not stored:
                for future in futures:
                    future.cancel()
                futures = []
            self._spawn(_after(futures, entry.then))

    async def _accept(self, sink: UpdateSink, source: str, updates: list[Incoming]) -> bool:
        """Store them, trying again while the store cannot take them; False once the core
        takes no more (it is stopping)."""
        first, longest = RETRY_DELAYS
        delay = first
        while True:
            try:
                await sink.accept(source, updates)
                return True
            except NotAccepting:
                self.accepting = False
                log.info("discord: the core is stopping; %d events not taken", len(updates))
                return False
            except StorageUnavailable as error:
                log.warning("discord events not stored (%s); retrying in %.1fs", error, delay)
            except Exception:
                # A bug in the sink: these are lost, the line goes on.
                log.exception("discord: %d events could not be handed over", len(updates))
                return False
            await asyncio.sleep(delay)
            delay = min(longest, delay * 2)

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("finishing a Discord event failed")

        task = asyncio.create_task(run())
        self._after.add(task)
        task.add_done_callback(self._after.discard)


def _result(future: asyncio.Future[list[Incoming]]) -> list[Incoming]:
    if future.cancelled():
        return []
    if (error := future.exception()) is not None:
        log.error("preparing a Discord event failed", exc_info=error)
        return []
    return future.result()


async def _after(futures: list[asyncio.Future[None]], then: Callable[[], Awaitable[None]]) -> None:
    if futures:
        await asyncio.wait(futures)
    await then()


class Receiver:
    """Gateway events in; entries for the intake out."""

    def __init__(
        self,
        sender: Sender,
        interactions: Interactions,
        intake: Intake,
        opens_dm: frozenset[str] = frozenset(),
    ) -> None:
        self._sender = sender
        self._interactions = interactions
        self._intake = intake
        # Commands the core goes on with in a private chat (``Command.opens_private``).
        self._opens_dm = opens_dm
        self._locales: Lru[int, str] = Lru(MAX_REMEMBERED_USERS)
        self._watches: dict[int, _Watch] = {}
        self.stopping = False

    def interaction_arrived(self, interaction: discord.Interaction[Any]) -> None:
        """Acknowledge it now and put its update in line."""
        if self.stopping or not self._intake.accepting:
            return  # Discord tells the person it failed
        data = cast(Json, interaction.data or {})
        user = interaction.user
        if interaction.type is discord.InteractionType.application_command:
            # Commands are routed by name, even one no longer offered: the core answers it.
            name = str(data.get("name", ""))
            pending = self._interactions.command(interaction)
            in_dm = interaction.guild_id is None
            if not in_dm and name in self._opens_dm:
                self._sender.recent.mark(user.id)
                self._intake.put(self._dm_start(interaction, pending, name))
                return
            if in_dm:
                self._heard_from(interaction)
            incoming = slash(
                name,
                pending.chat,
                self._user(interaction),
                update_id=pending.token,
                sent_at=interaction.created_at,
                is_private=in_dm,
                reply_token=pending.token,
            )
        elif interaction.type is discord.InteractionType.component:
            pressed = pressed_data(str(data.get("custom_id", "")), data.get("values") or [])
            if pressed is None:
                self._interactions.expired(interaction)
                return
            pending = self._interactions.press(interaction)
            in_dm = interaction.guild_id is None
            if in_dm:
                self._heard_from(interaction)
            message = interaction.message
            incoming = Incoming(
                kind="button",
                chat=pending.chat,
                user=self._user(interaction),
                is_private=in_dm,
                button_data=pressed,
                message_id=str(message.id) if message is not None else None,
                update_id=pending.token,
                reply_token=pending.token,
                sent_at=interaction.created_at,
            )
        else:
            return
        settle = functools.partial(self._interactions.settle, pending)
        self._intake.put(Entry(user.id, _ready([incoming]), then=settle))

    def message_arrived(self, message: discord.Message) -> None:
        """Typed answers: DMs only. Server chatter is none of the bot's business, and its own
        DMs come back through the gateway too."""
        author = message.author
        if self.stopping or author.bot or message.guild is not None:
            return
        user = user_ref(author.id, author.display_name, self._locales.get(author.id))
        incoming = typed(user, message.id, message.content)
        if incoming is None:
            return
        self._sender.remember_dm(author.id, message.channel.id)
        self._sender.recent.mark(author.id)
        self._intake.put(Entry(author.id, _ready([incoming])))

    def dm_refused(self, user_id: int) -> None:
        """A send to this person's DM was refused."""
        watch = self._watches.get(user_id)
        if watch is not None:
            watch.refused = True

    def _heard_from(self, interaction: discord.Interaction[Any]) -> None:
        """They used the bot in their DM: they are waiting for an answer there."""
        self._sender.recent.mark(interaction.user.id)
        if interaction.channel_id is not None:
            self._sender.remember_dm(interaction.user.id, interaction.channel_id)

    def _user(self, interaction: discord.Interaction[Any]) -> UserRef:
        user = interaction.user
        locale = interaction.locale.value
        self._locales.put(user.id, locale)
        return user_ref(user.id, user.display_name, locale)

    # A command that opens the DM -----------------------------------------------------------

    def _dm_start(
        self, interaction: discord.Interaction[Any], pending: Pending, name: str
    ) -> Entry:
        """A command sent in a server that the core goes on with in the person's DM.

        Discord opens a DM with anyone and refuses only the message, so whether the DM works
        is known only once the first message was tried. So the adapter hands over the command
        as sent in the DM, and once its replies went out, the command as sent here, with a
        link to the DM, or without one when the DM refused them. It decides nothing a person
        reads: which commands do this is the core's (``Command.opens_private``), and what the
        server is told is the handlers' (``handlers.private_start``).
        """
        user = self._user(interaction)
        user_id = interaction.user.id
        link: list[str | None] = [None]
        watch = self._watches.setdefault(user_id, _Watch())
        watch.waiting += 1

        async def prepare() -> list[Incoming]:
            try:
                link[0] = await self._sender.dm_url(user_id)
            except SendError as error:
                log.info("could not open a DM with a user: %s", error)
            in_dm = slash(
                name,
                dm_chat(user_id),
                user,
                update_id=f"{pending.token}:dm",
                sent_at=interaction.created_at,
            )
            return [in_dm]

        async def answer_here() -> None:
            watch.waiting -= 1
            if not watch.waiting:
                self._watches.pop(user_id, None)
            here = slash(
                name,
                chat_of(interaction),
                user,
                update_id=pending.token,
                sent_at=interaction.created_at,
                is_private=False,
                reply_token=pending.token,
                private_chat_url=None if watch.refused else link[0],
            )
            settle = functools.partial(self._interactions.settle, pending)
            if not self._intake.accepting:
                await settle()
                return
            self._intake.put(Entry(user_id, _ready([here]), then=settle))

        return Entry(user_id, asyncio.ensure_future(prepare()), then=answer_here)


class Backfill:
    """Reads the DMs of open conversations from where their stored updates end."""

    def __init__(
        self,
        resume: ResumePoints,
        sender: Sender,
        intake: Intake,
        client: ClientRef,
        source: Callable[[], str],
    ) -> None:
        self._resume = resume
        self._sender = sender
        self._intake = intake
        self._client = client
        self._source = source
        self._todo: OrderedDict[int, None] = OrderedDict()
        self._task: asyncio.Task[None] | None = None

    async def people(self) -> list[int]:
        """Whose DMs to read: people with an open conversation in their DM."""
        try:
            chats = await self._resume.open_chats(PLATFORM)
        except Exception as error:
            log.warning("discord: no backfill, open conversations unknown (%s)", error)
            return []
        users = []
        for chat in chats:
            kind, _, ident = chat.partition(":")
            if kind == "dm" and ident.isdigit():
                users.append(int(ident))
        return users

    def start(self, users: Iterable[int]) -> None:
        self._todo = OrderedDict.fromkeys(users)
        if self._todo:
            log.info(
                "discord: reading %d DMs for messages sent while kolbot was down", len(self._todo)
            )
            self._task = asyncio.create_task(self._run(), name="discord-backfill")

    def hurry(self, user_id: int) -> None:
        """Someone waits on this person's history: read it next."""
        if user_id in self._todo:
            self._todo.move_to_end(user_id, last=False)

    async def stop(self) -> None:
        """Read no more; whoever was still waiting for their history goes on without it."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while self._todo:
            user_id, _ = self._todo.popitem(last=False)
            self._intake.release(user_id)

    async def _run(self) -> None:
        workers = [asyncio.create_task(self._work()) for _ in range(BACKFILL_WORKERS)]
        try:
            await asyncio.gather(*workers)
        finally:
            for worker in workers:
                worker.cancel()
            await asyncio.wait(workers)

    async def _work(self) -> None:
        while self._todo:
            user_id, _ = self._todo.popitem(last=False)
            updates: list[Incoming] = []
            try:
                updates = await self._read(user_id)
            except Exception as error:
                log.warning("discord: could not read a DM's history: %s", error)
            finally:
                self._intake.release(user_id, Entry(user_id, _ready(updates)))

    async def _read(self, user_id: int) -> list[Incoming]:
        last = await self._resume.last_update_id(self._source(), f"{PLATFORM}:{user_id}")
        after = snowflake(last)
        client = self._client()
        if after is None or client is None:
            return []
        urgent = self._intake.holding(user_id)
        channel_id = await self._sender.dm_channel(user_id, urgent=urgent)
        found: dict[int, Json] = {}
        for _ in range(HISTORY_PAGES):
            page: list[Any] = await self._sender.paced(
                None,
                functools.partial(client.http.logs_from, channel_id, HISTORY_PAGE, after=after),
                urgent=self._intake.holding(user_id),
            )
            for message in page:
                found[int(message["id"])] = message
            if len(page) < HISTORY_PAGE:
                break
            after = max(int(message["id"]) for message in page)
        else:
            log.warning("discord: more than %d messages to read from one DM", len(found))
        updates = []
        for message_id in sorted(found):
            incoming = _from_history(found[message_id], user_id)
            if incoming is not None:
                updates.append(incoming)
        return updates


def _from_history(message: Json, user_id: int) -> Incoming | None:
    """A message from a DM's history as the core would have had it live; None for the bot's
    own, and anything not typed by its person."""
    author = message.get("author") or {}
    if str(author.get("id")) != str(user_id) or author.get("bot"):
        return None
    if message.get("type", 0) not in TYPED_MESSAGES:
        return None
    name = author.get("global_name") or author.get("username") or str(user_id)
    return typed(user_ref(user_id, name, None), int(message["id"]), message.get("content") or "")
