"""In order within a chat, concurrently across chats, with a bound on work and on backlogs.

PTB's seam for this is ``BaseUpdateProcessor``, but its ``process_update`` holds a concurrency
slot for as long as ``do_process_update`` runs, including while an update waits for its chat's
earlier ones: a single chat with a backlog of ``max_concurrent_updates`` updates would fill
every slot and stall every other chat. Here an update waiting for its chat costs a deque entry,
and a chat holds a slot only while one of its updates is actually being handled, and not while
that update waits out a rate limit (``suspended``). Each chat's backlog is capped on its own, so
one flooding chat cannot use up the backlog every chat shares.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]

DEFAULT_CONCURRENCY: Final = 256
DEFAULT_BACKLOG: Final = 10_000
DEFAULT_CHAT_BACKLOG: Final = 100


@dataclass(eq=False, slots=True)
class _Slot:
    """The concurrency slot of the job running in this task, and whether it holds it now."""

    owner: ChatQueues
    held: bool = False


_SLOT: ContextVar[_Slot | None] = ContextVar("telegram_chat_slot", default=None)


class ChatQueues:
    """One worker per busy chat runs that chat's jobs in turn; at most ``concurrency`` run."""

    def __init__(
        self,
        concurrency: int = DEFAULT_CONCURRENCY,
        *,
        backlog: int = DEFAULT_BACKLOG,
        chat_backlog: int = DEFAULT_CHAT_BACKLOG,
    ) -> None:
        """``backlog`` bounds the jobs of all chats, ``chat_backlog`` those waiting in one."""
        if concurrency < 1 or backlog < 1 or chat_backlog < 1:
            raise ValueError("concurrency and backlogs must be positive")
        self._slots = asyncio.Semaphore(concurrency)
        self._backlog = backlog
        self._chat_backlog = chat_backlog
        self._freed = asyncio.Event()
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

    def has_room(self, chat: str) -> bool:
        """Whether ``submit`` would take a job for ``chat`` now."""
        queue = self._queues.get(chat)
        return queue is None or len(queue) < self._chat_backlog

    def submit(self, chat: str, job: Job) -> bool:
        """Queue ``job`` behind the chat's earlier jobs and return at once; False, queueing
        nothing, when ``chat_backlog`` jobs of the chat are already waiting."""
        if not self.has_room(chat):
            return False
        self._pending += 1
        self._idle.clear()
        if self._pending >= self._backlog:
            self._room.clear()
        queue = self._queues.get(chat)
        if queue is not None:
            queue.append(job)
            return True
        self._queues[chat] = deque([job])
        worker = asyncio.create_task(self._work(chat), name=f"telegram-chat-{chat}")
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)
        return True

    async def room(self) -> None:
        """Wait while the backlog is full, so a flood is held at Telegram and not in memory."""
        await self._room.wait()

    async def chat_room(self, chat: str) -> None:
        """Wait until ``submit`` would take a job for ``chat``; submit before awaiting again."""
        while not self.has_room(chat):
            await self._freed.wait()

    @contextlib.asynccontextmanager
    async def suspended(self) -> AsyncIterator[None]:
        """Give the running job's concurrency slot to other chats while it waits, then take
        it back. The job is still its chat's running one, so the chat's order holds.

        For waits that are not work, such as a rate limit: a job sleeping out a 429 in its
        slot would let a few hundred chats in flood waits stall everyone. Outside a job of
        these queues (a proactive send) there is no slot, and this does nothing.
        """
        slot = _SLOT.get()
        if slot is None or slot.owner is not self or not slot.held:
            yield
            return
        slot.held = False
        self._slots.release()
        yield  # if the wait is cancelled (a stop), the job ends here, holding no slot
        await self._slots.acquire()
        slot.held = True

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
                slot = _Slot(self)
                _SLOT.set(slot)
                try:
                    await self._slots.acquire()
                    slot.held = True
                    try:
                        await job()
                    finally:
                        if slot.held:  # not when it ended while suspended
                            slot.held = False
                            self._slots.release()
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
        freed, self._freed = self._freed, asyncio.Event()
        freed.set()
        if self._pending < self._backlog:
            self._room.set()
        if self._pending == 0:
            self._idle.set()
