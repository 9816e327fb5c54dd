"""Bounded bookkeeping about people: their events' turns, and who wrote lately.

None grows with the number of people the bot has ever met: both hold only who is active.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class Turn:
    """One event's place in its person's line."""

    user_id: int
    previous: asyncio.Future[None] | None
    done: asyncio.Future[None]

    async def wait(self) -> None:
        """Until the same person's previous event is finished."""
        if self.previous is not None:
            await asyncio.shield(self.previous)


class Turns:
    """One person's events one at a time, in the order taken. A person's chain exists only
    while they have events in flight, and holds at most ``bound`` of them."""

    def __init__(self, bound: int) -> None:
        self._bound = bound
        self._chains: dict[int, tuple[asyncio.Future[None], int]] = {}  # last one, how many

    def take(self, user_id: int) -> Turn | None:
        last, queued = self._chains.get(user_id, (None, 0))
        if queued >= self._bound:
            return None
        turn = Turn(user_id, last, asyncio.get_running_loop().create_future())
        self._chains[user_id] = (turn.done, queued + 1)
        return turn

    def finish(self, turn: Turn) -> None:
        if not turn.done.done():
            turn.done.set_result(None)
        last, queued = self._chains[turn.user_id]
        if queued > 1:
            self._chains[turn.user_id] = (last, queued - 1)
        else:
            del self._chains[turn.user_id]


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
