"""How a send is retried: the one place that reacts to the SendError family."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.core.messages import Outgoing
from bot.core.platform import BadRequest, Platform, RateLimited, Transient, Unreachable
from storage.people import PeopleRepository

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class Deliverer:
    def __init__(
        self,
        people: PeopleRepository,
        *,
        max_attempts: int = 5,
        base_backoff: float = 1.0,
        max_backoff: float = 30.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._people = people
        self._max_attempts = max_attempts
        self._base_backoff = base_backoff
        self._max_backoff = max_backoff
        self._sleep = sleep

    async def deliver(self, platform: Platform, message: Outgoing) -> str | None:
        """Send once it works; returns the message id, or None when it cannot be delivered."""
        message_id, _ = await self._send(platform, message)
        return message_id

    async def deliver_all(self, platform: Platform, messages: list[Outgoing]) -> None:
        """Send in order; once the chat turns out unreachable, the rest is not attempted."""
        for message in messages:
            try:
                _, unreachable = await self._send(platform, message)
            except Exception:
                # An adapter bug must not take down this chat's later replies or others.
                log.exception("delivery to %s failed", message.chat)
                continue
            if unreachable:
                return

    async def _send(self, platform: Platform, message: Outgoing) -> tuple[str | None, bool]:
        """The message id (None when not delivered), and whether the chat is unreachable."""
        transient_failures = 0
        while True:
            try:
                return await platform.send(message), False
            except RateLimited as limited:
                # The platform said when; asking earlier only extends the penalty.
                log.info("rate limited on %s, waiting %.1fs", message.chat, limited.retry_after)
                await self._sleep(limited.retry_after)
            except Unreachable:
                if await self._people.set_reachable(str(message.chat), reachable=False):
                    log.info("%s is unreachable; holding messages until they write", message.chat)
                return None, True
            except BadRequest as refused:
                log.error("%s refused a message: %s", message.chat, refused)
                return None, False
            except Transient as failure:
                transient_failures += 1
                if transient_failures >= self._max_attempts:
                    log.error(
                        "giving up on a message to %s after %d tries: %s",
                        message.chat,
                        transient_failures,
                        failure,
                    )
                    return None, False
                delay = min(self._max_backoff, self._base_backoff * 2 ** (transient_failures - 1))
                await self._sleep(delay)
