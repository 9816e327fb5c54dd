"""In order within a chat, concurrently across chats, with a bound on both work and backlog.

PTB's seam for this is ``BaseUpdateProcessor``, but its ``process_update`` holds a concurrency
slot for as long as ``do_process_update`` runs, including while an update waits for its chat's
earlier ones: a single chat with a backlog of ``max_concurrent_updates`` updates would fill
every slot and stall every other chat. Here an update waiting for its chat costs a deque entry,
and a chat holds a slot only while one of its updates is actually being handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Final

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]

DEFAULT_CONCURRENCY: Final = 256
DEFAULT_BACKLOG: Final = 10_000


class ChatQueues:
    """One worker per busy chat runs that chat's jobs in turn; at most ``concurrency`` run."""

    def __init__(
        self, concurrency: int = DEFAULT_CONCURRENCY, *, backlog: int = DEFAULT_BACKLOG
    ) -> None:
        if concurrency < 1 or backlog < 1:
            raise ValueError("concurrency and backlog must be positive")
        self._slots = asyncio.Semaphore(concurrency)
        self._backlog = backlog
        self._queues: dict[str, deque[Job]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._room = asyncio.Event()
        self._room.set()

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet finished, running ones included."""
        return self._pending

    @property
    def busy_chats(self) -> int:
        return len(self._queues)

    def submit(self, chat: str, job: Job) -> None:
        """Queue ``job`` behind the chat's earlier jobs; returns at once."""
        self._pending += 1
        self._idle.clear()
        if self._pending >= self._backlog:
            self._room.clear()
        queue = self._queues.get(chat)
        if queue is not None:
            queue.append(job)
            return
        self._queues[chat] = deque([job])
        worker = asyncio.create_task(self._work(chat), name=f"telegram-chat-{chat}")
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def room(self) -> None:
        """Wait while the backlog is full, so a flood is held at Telegram and not in memory."""
        await self._room.wait()

    async def join(self) -> None:
        """Wait until every submitted job has finished."""
        await self._idle.wait()

    async def close(self, grace: float) -> None:
        """Let queued jobs finish for up to ``grace`` seconds, then cancel what is left."""
        try:
            await asyncio.wait_for(self.join(), grace)
        except TimeoutError:
            log.warning("stopping with %d telegram update(s) unhandled", self._pending)
        workers = list(self._workers)
        for worker in workers:
            worker.cancel()
        for worker in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _work(self, chat: str) -> None:
        queue = self._queues[chat]
        try:
            while queue:
                job = queue.popleft()
                try:
                    async with self._slots:
                        await job()
                except Exception:
                    log.exception("handling a telegram update failed")
                finally:
                    self._finished()
        finally:
            # Nothing awaits between the emptiness check and here, so no job is stranded;
            # jobs left only when cancelled are counted as done, so ``pending`` stays true.
            del self._queues[chat]
            for _ in range(len(queue)):
                self._finished()

    def _finished(self) -> None:
        self._pending -= 1
        if self._pending < self._backlog:
            self._room.set()
        if self._pending == 0:
            self._idle.set()
