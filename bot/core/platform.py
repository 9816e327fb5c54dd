"""The adapter contract and the errors a send may raise.

Adapters translate their library's exceptions into this family, so the delivery policy (wait,
retry, mark unreachable, give up) is written once in the core.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.core.messages import Incoming, Outgoing


class SendError(Exception):
    """A message could not be delivered."""


class RateLimited(SendError):
    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(f"rate limited for {retry_after}s {detail}".strip())
        self.retry_after = retry_after


class Unreachable(SendError):
    """The person blocked the bot or closed DMs, or the bot left the chat."""


class BadRequest(SendError):
    """The platform refused the message itself; sending it again unchanged will fail again."""


class Transient(SendError):
    """A network error or a 5xx: worth trying again later."""


UpdateHandler = Callable[[Incoming], Awaitable[None]]


class Platform(Protocol):
    """What the core needs from a messaging platform."""

    name: str

    async def start(self, on_update: UpdateHandler) -> None:
        """Begin receiving and call ``on_update`` for every event; the core sends the replies."""

    async def stop(self) -> None: ...

    async def wait_closed(self) -> None:
        """Return when the platform stopped by itself (the console at end of input)."""

    async def send(self, message: Outgoing) -> str:
        """Send or edit one message; return its platform message id. Raise a SendError."""
