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
        transient_failures = 0
        while True:
            try:
                return await platform.send(message)
            except RateLimited as limited:
                # The platform said when; asking earlier only extends the penalty.
                log.info("rate limited on %s, waiting %.1fs", message.chat, limited.retry_after)
                await self._sleep(limited.retry_after)
            except Unreachable:
                if await self._people.set_reachable(str(message.chat), reachable=False):
                    log.info("%s is unreachable; holding messages until they write", message.chat)
                return None
            except BadRequest as refused:
                log.error("%s refused a message: %s", message.chat, refused)
                return None
            except Transient as failure:
                transient_failures += 1
                if transient_failures >= self._max_attempts:
                    log.error(
                        "giving up on a message to %s after %d tries: %s",
                        message.chat,
                        transient_failures,
                        failure,
                    )
                    return None
                delay = min(self._max_backoff, self._base_backoff * 2 ** (transient_failures - 1))
                await self._sleep(delay)
