"""The adapter contract, the errors a send may raise, and where received updates go.

Adapters translate their library's exceptions into this family, so the delivery policy (wait,
retry, mark unreachable, give up) is written once in the core (``bot.core.delivery``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Literal, Protocol, cast

from pydantic import BaseModel, ConfigDict

from bot.core.messages import ChatRef, Incoming, Outgoing
from storage.base import StorageUnavailable  # what accept raises; adapters catch it


class SendError(Exception):
    """A message could not be delivered. ``parts_sent``: how many parts of a message split in
    several did go out before the failure, so a retry resumes after them."""

    parts_sent: int = 0


class RateLimited(SendError):
    """Wait ``retry_after`` seconds; ``bot_wide`` when the limit is on the whole bot (Telegram's
    flood wait across chats, Discord's global limit) rather than on one chat."""

    def __init__(self, retry_after: float, detail: str = "", *, bot_wide: bool = False) -> None:
        super().__init__(f"rate limited for {retry_after}s {detail}".strip())
        self.retry_after = retry_after
        self.bot_wide = bot_wide


class Unreachable(SendError):
    """The person blocked the bot or closed DMs, or the bot left the chat."""


class BadRequest(SendError):
    """The platform refused the message itself; sending it again unchanged will fail again."""


class Transient(SendError):
    """A network error or a 5xx: worth trying again later.

    ``may_have_arrived``: the request went out and its answer was lost (a read timeout, a
    connection dropped before the answer, a server error after the platform had it), so the
    platform may have carried it out. An adapter says so wherever it cannot rule that out, and
    only there: a refused connection, a connect timeout or a front's "the service is down"
    proves nothing arrived. The delivery policy bounds how often such a send is repeated."""

    def __init__(self, detail: str = "", *, may_have_arrived: bool = False) -> None:
        super().__init__(detail)
        self.may_have_arrived = may_have_arrived


class CannotStart(RuntimeError):
    """A platform cannot start; the message is one line naming the setting. ``lasting``: only
    the operator can change that (a token refused, an address that is no API), so starting
    again is no use; otherwise it may pass by itself (the platform cannot be reached now)."""

    def __init__(self, message: str, *, lasting: bool) -> None:
        super().__init__(message)
        self.lasting = lasting


__all__ = [
    "BadRequest",
    "CannotStart",
    "ChatInfo",
    "ChatQueries",
    "Platform",
    "PlatformQueries",
    "RateLimited",
    "ResumePoints",
    "SendError",
    "StorageUnavailable",
    "Transient",
    "Unreachable",
    "UpdateSink",
]


class UpdateSink(Protocol):
    """Where a platform hands what it receives. Once ``accept`` returns, the updates are
    stored and the platform may tell its server they arrived; handling happens later."""

    async def accept(self, source: str, updates: Sequence[Incoming]) -> None:
        """Store durably; raises StorageUnavailable when it could not (do not acknowledge)."""

    async def handle(self, source: str, update: Incoming) -> None:
        """Store, then wait until the update is handled and its replies went out: for
        platforms that answer within the same exchange (the console). A sender that waits for
        each answer cannot flood the bot, so the flood limit does not judge these."""

    def settled(self, source: str, update_id: str) -> asyncio.Future[None]:
        """Done once the update is handled and its replies tried (or it was set aside,
        dropped, or left for the next start): asked for before ``accept``, so a batch can be
        stored in one go and each of its updates still be waited for."""

    async def send_due(self, platform: str) -> None:
        """Send what is due for ``platform`` now and return once each was tried: for a
        platform about to stop by itself (the console at the end of its input), which the
        outbox's next look for what other processes queued would come too late for."""


class ResumePoints(Protocol):
    """Where the DMs of open conversations left off: what the backfill needs from the store,
    passed in by the composition root (an adapter does not reach storage itself)."""

    async def open_chats(self, platform: str) -> Sequence[str]:
        """Chats (``dm:<user id>``, ``channel:<id>``) with a conversation in progress."""

    async def last_update_id(self, source: str, sender: str) -> str | None:
        """The newest update stored from ``sender`` (``discord:<user id>``) on this bot."""


class Platform(Protocol):
    """What the core needs from a messaging platform.

    Three methods are optional, looked up by name: ``probe()`` asks the platform whether it
    would start (a token it takes, an address that answers), before the database is opened or
    created, and raises CannotStart when not; ``mount(web)`` adds the platform's routes (a
    webhook) to the app's web server before it starts; and ``stop_receiving()`` is a stop's
    first step (no more updates in, sends still work until ``stop``). So is one attribute:
    ``own_commands``, the (name, description msgid) pairs of commands the platform answers
    itself, which /help lists on it. Chat questions are optional too (``ChatQueries``), for
    linking groups and channels."""

    name: str

    @property
    def identity(self) -> str:
        """This bot on this platform (``telegram:<bot id>``): update ids are unique per bot."""

    async def start(self, sink: UpdateSink) -> None:
        """Begin receiving and hand every event to ``sink``; the core sends the replies."""

    async def stop(self) -> None: ...

    async def wait_closed(self) -> None:
        """Return when the platform stopped by itself (the console at end of input)."""

    async def send(self, message: Outgoing, *, first_part: int = 0) -> str:
        """Send or edit one message from part ``first_part`` on; return its platform message
        id. Raise a SendError."""


class ChatInfo(BaseModel):
    """A group or channel as its platform describes it."""

    model_config = ConfigDict(frozen=True)

    chat: ChatRef
    title: str
    kind: Literal["group", "channel"]


class ChatQueries(Protocol):
    """What a platform can be asked about its chats, where it can answer: the checks before
    a group or channel becomes an agency's broadcast target."""

    async def is_chat_admin(self, chat: ChatRef, user_id: str) -> bool:
        """Whether the user (the bot itself when ``user_id`` is ``"self"``) administers the
        chat: may post and manage there. False when the chat is unknown or out of reach."""

    async def find_chat(self, name: str) -> ChatInfo | None:
        """A public group or channel by its @name; None when there is none the bot sees."""


class PlatformQueries:
    """The running platforms' answers to chat questions, for handlers: they never see an
    adapter, only whether a platform can answer and what it said."""

    def __init__(self) -> None:
        self._platforms: dict[str, object] = {}

    def add(self, platform: Platform) -> None:
        self._platforms[platform.name] = platform

    def chats(self, platform: str) -> ChatQueries | None:
        """The platform's chat questions, or None when it has none (the console)."""
        found = self._platforms.get(platform)
        if found is None or not callable(getattr(found, "is_chat_admin", None)):
            return None
        return cast(ChatQueries, found)
