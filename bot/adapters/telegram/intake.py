"""Which fetched updates Telegram may forget: the getUpdates offset, kept at the oldest unhandled.

getUpdates confirms every update below the offset it is called with, and Telegram drops what is
confirmed. Confirming an update as soon as it is queued loses whatever a crash, or a stop whose
drain runs out, leaves in the queues. So the offset stays at the oldest update not yet handled,
and what Telegram returns again in the meantime is skipped while it is still held here.

"Handled" is the core's word: the Dispatcher records an update as processed once its state change
is saved, and skips recorded ones. An update is handled here when the core sends its first reply
(replies go out after the save), or when the core returns or fails on it, or when there is nothing
to do with it. A redelivered update is thus handled at least once and never twice, and a reply
waiting out a rate limit does not hold the offset back.

The price is Telegram's window: getUpdates returns at most 100 updates from the offset, so an
update that stays unhandled holds up fetching once 100 more have arrived behind it.
"""

from __future__ import annotations

import asyncio


class Intake:
    """Update ids fetched by long polling, from the getUpdates offset on."""

    def __init__(self) -> None:
        self._unhandled: set[int] = set()  # queued, running until handled, or deferred
        self._held: set[int] = set()  # in memory from the offset on: queued, running or handled
        self._deferred: set[int] = set()  # left at Telegram to be fetched again
        self._next: int | None = None  # one past the newest update fetched
        self._changed = asyncio.Event()

    @property
    def unhandled(self) -> int:
        return len(self._unhandled)

    @property
    def deferred(self) -> int:
        return len(self._deferred)

    def offset(self) -> int | None:
        """The offset for getUpdates: the oldest unhandled update, else one past the newest
        fetched; None before the first fetch (Telegram then starts at its oldest unconfirmed)."""
        if self._next is None:
            return None
        low = min(self._unhandled, default=self._next)
        # Telegram no longer returns what is below the offset: no need to know it.
        self._held = {update_id for update_id in self._held if update_id >= low}
        return low

    def take(self, update_id: int) -> bool:
        """Note a fetched update; False when it is held already (fetched again before the
        offset moved past it), and must not be handled again."""
        if update_id in self._held:
            return False
        self._held.add(update_id)
        self._unhandled.add(update_id)
        self._deferred.discard(update_id)
        self._next = max(self._next or 0, update_id + 1)
        return True

    def defer(self, update_id: int) -> bool:
        """Leave a taken update unhandled and not held, so it is fetched again and taken then;
        True the first time it is deferred."""
        self._held.discard(update_id)
        first = update_id not in self._deferred
        self._deferred.add(update_id)
        return first

    def handled(self, update_id: int) -> None:
        """Its state change is saved, or it failed and was logged, or there was nothing to do."""
        if update_id in self._unhandled:
            self._unhandled.discard(update_id)
            self._changed.set()

    async def moved(self, offset: int | None) -> None:
        """Wait until the offset is no longer ``offset``."""
        while self.offset() == offset:
            self._changed.clear()
            await self._changed.wait()
