"""Every update is stored before the platform is told it arrived, then handled from memory.

``accept`` writes a batch in one transaction and returns: only then does an adapter advance
its offset or answer its webhook, so an update survives a crash from that moment on and is
never fetched twice. Workers take updates from memory (and, after a crash, from stored rows
not yet handled): one person's updates in order, different people's concurrently, one update
per turn, so one person's backlog never delays anyone else's first reply. A flood from one
person is capped by when its messages were sent (``bot.core.flood``): the excess is dropped
and answered once.

Memory holds at most ``memory_limit`` updates. Past it, stored updates wait in their rows and
are read back in id order as workers catch up, so a backlog of any size (a long outage, a
burst) costs disk, not memory, and each person's updates still go in the order received.

When the store cannot take the handling (locked, full, read-only), the update stays stored
and unhandled and is tried again with backoff; after ``max_attempts`` it is set aside as a dead
letter for an operator (``kolbot inbox status``). The fault is the store's, not the update's:
while updates wait on it, one of them is tried every ``PROBE_INTERVAL`` (a try that does not
count against it), and the first commit that goes through, of any update, lets every waiting
one go at once. Each time a waiting update is let go is reported (``ratelimit.decided``), so
tests bound the times the inbox chose.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from bot.core.delivery import backoff
from bot.core.dispatcher import Dispatcher
from bot.core.flood import FloodGate
from bot.core.messages import Incoming, Outgoing, encodable
from bot.core.outbox import Outbox
from bot.core.ratelimit import decided
from bot.i18n import N_, normalize_language, translator
from storage.base import StorageUnavailable, Store
from storage.clock import utcnow
from storage.models import InboxItem, NewDelivery, NewInboxItem

log = logging.getLogger(__name__)

SLOW_DOWN = N_("You are sending messages faster than I can read them. Please slow down a little.")
RECOVER_BATCH = 1000
MEMORY_LIMIT = 20_000
# While updates wait on a store that failed them, one of them is tried at least this often.
PROBE_INTERVAL = 1.0


class NotAccepting(StorageUnavailable):
    """The bot is stopping: the platform keeps the update and delivers it again later."""


@dataclass(slots=True)
class _Lane:
    """One person's stored, unhandled updates, in order."""

    items: deque[tuple[InboxItem, Incoming]] = field(default_factory=deque)
    queued: bool = False  # waiting in the ready line or being handled
    retry_at: float = 0.0
    timer: asyncio.TimerHandle | None = None  # until retry_at, out of the ready line
    probing: bool = False  # tried before retry_at, to find out whether the store works


class Inbox:
    def __init__(
        self,
        store: Store,
        dispatcher: Dispatcher,
        outbox: Outbox,
        *,
        workers: int = 8,
        flood_limit: int = 30,
        flood_window: float = 10.0,
        max_attempts: int = 10,
        memory_limit: int = MEMORY_LIMIT,
    ) -> None:
        self._store = store
        self._dispatcher = dispatcher
        self._outbox = outbox
        self._worker_count = workers
        self._max_attempts = max_attempts
        self._lanes: dict[str, _Lane] = {}
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._flood = FloodGate(flood_limit, flood_window)
        self._known: set[tuple[str, str]] = set()  # (source, update id) held in memory
        self._settled: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._accepting = False
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._rng = random.Random()
        self._memory_limit = memory_limit
        # Set while stored, unhandled rows past this id are not in memory: they are read back
        # in order, and updates received meanwhile wait behind them in their rows.
        self._stored_after: int | None = None
        self._waited_in_rows: set[tuple[str, str]] = set()  # deferred updates someone awaits
        self._intake = asyncio.Lock()  # one decision at a time: in memory, or left in rows
        self._refill: asyncio.Task[None] | None = None
        self._pending = 0
        # People whose next update waits on the store, and the next try to find out whether
        # it works again.
        self._stalled: set[str] = set()
        self._probe: asyncio.TimerHandle | None = None

    # Lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the workers, then take up what a crash left stored and unhandled."""
        self._accepting = True
        self._workers = [
            asyncio.create_task(self._work(), name=f"inbox-{n}") for n in range(self._worker_count)
        ]
        await self.recover()

    async def recover(self) -> int:
        """Queue stored, unhandled updates (oldest first) that are not in memory already, as
        many as memory may hold; the rest follow as workers catch up."""
        async with self._intake:
            self._stored_after = 0
            found = await self._read_back()
        if found:
            log.info("taking up %d stored updates not yet handled", found)
        return found

    async def _read_back(self) -> int:
        """Move stored rows past ``_stored_after`` into memory while there is room. Called
        holding ``_intake``, so no update is stored and decided on meanwhile."""
        found = 0
        while self._stored_after is not None and self._pending < self._memory_limit:
            room = min(RECOVER_BATCH, self._memory_limit - self._pending)
            async with self._store.reading() as uow:
                items = await uow.inbox.unhandled(room, self._stored_after)
            for item in items:
                if (item.source, item.update_id) not in self._known:
                    self._schedule(item, Incoming.model_validate_json(item.payload))
                    self._waited_in_rows.discard((item.source, item.update_id))
                    found += 1
            if len(items) < room:
                self._stored_after = None  # every stored row is in memory now
            elif items:
                self._stored_after = items[-1].id
        return found

    def _top_up(self) -> None:
        """Read more stored rows once memory has drained to half its limit."""
        if (
            self._stored_after is None
            or self._pending > self._memory_limit // 2
            or not self._accepting
            or (self._refill is not None and not self._refill.done())
        ):
            return

        async def refill() -> None:
            try:
                async with self._intake:
                    await self._read_back()
            except StorageUnavailable as error:
                log.warning("stored updates could not be read back now: %s", error)
                self._later_top_up()
            except Exception:
                # Whatever it was, the rows are still there: try again rather than stall.
                log.exception("stored updates could not be read back")
                self._later_top_up()

        self._refill = asyncio.create_task(refill(), name="inbox-read-back")

    def _later_top_up(self) -> None:
        def again() -> None:
            self._timers.discard(handle)
            self._top_up()

        handle = asyncio.get_running_loop().call_later(1.0, again)
        self._timers.add(handle)

    async def stop(self, deadline: float) -> None:
        """Take no more; let updates being handled finish until ``deadline`` (loop time).
        Updates still queued stay stored, for the next start."""
        self._accepting = False
        for timer in self._timers:
            timer.cancel()
        if self._refill is not None:
            self._refill.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refill
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(deadline):
                await self._idle.wait()
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []
        # Whoever waits for an update left unhandled is told now; a handled one's wait ends
        # when the outbox has sent its replies, or hands them back at its own stop.
        for key, waiter in self._settled.items():
            if (key in self._known or key in self._waited_in_rows) and not waiter.done():
                waiter.set_result(None)

    @property
    def accepting(self) -> bool:
        """Taking updates: started and not stopping (what /healthz reports)."""
        return self._accepting

    @property
    def pending(self) -> int:
        """Updates in memory not yet handled (queued or being handled)."""
        return self._pending

    # Receiving ---------------------------------------------------------------------------

    async def accept(self, source: str, updates: Sequence[Incoming]) -> None:
        await self._take(source, updates, paced=False)

    async def _take(self, source: str, updates: Sequence[Incoming], *, paced: bool) -> None:
        """Store ``updates`` and put them in line. ``paced``: the sender waits for each
        answer before sending the next (``handle``), so it cannot flood and is not judged."""
        if not self._accepting:
            raise NotAccepting("kolbot is stopping")
        now = utcnow().timestamp()
        updates = [
            u if u.update_id else u.model_copy(update={"update_id": f"local-{uuid.uuid4().hex}"})
            for u in updates
        ]
        stamps = [
            (str(u.user), u.sent_at.timestamp() if u.sent_at is not None else now) for u in updates
        ]
        kept: list[tuple[NewInboxItem, Incoming, tuple[str, float]]] = []
        warnings: list[Incoming] = []
        verdicts = ["keep"] * len(stamps) if paced else self._flood.verdicts(stamps)
        for update, stamp, verdict in zip(updates, stamps, verdicts, strict=True):
            if verdict == "warn":
                warnings.append(update)
            if verdict != "keep":
                continue
            assert update.update_id is not None
            stored_as = _storable(source, update)
            if stored_as is None:
                continue
            storable, payload = stored_as
            item = NewInboxItem(
                source=source,
                update_id=update.update_id,
                sender=stamp[0],
                payload=payload,
                received_at=utcnow(),
            )
            kept.append((item, storable, stamp))
        async with self._intake:
            async with self._store.unit_of_work() as uow:
                stored = await uow.inbox.add_many([item for item, _, _ in kept])
                if warnings:
                    await uow.outbox.add(_slow_down(source, warnings))
            self._store_works()
            by_id = {update.update_id: (update, stamp) for _, update, stamp in kept}
            fresh = [item for item in stored if (item.source, item.update_id) not in self._known]
            self._flood.record(
                [by_id[item.update_id][1] for item in fresh],
                [str(update.user) for update in warnings],
                now,
            )
            if self._stored_after is None and self._pending + len(fresh) > self._memory_limit:
                # Memory is full: these and what follows wait in their rows, read back in order.
                self._stored_after = min(item.id for item in fresh) - 1
            deferred = set()
            for item in fresh:
                if self._stored_after is None:
                    self._schedule(item, by_id[item.update_id][0])
                else:
                    deferred.add((item.source, item.update_id))
        for update in updates:
            # Not in hand now (dropped as a flood, or handled before): nothing more to wait for.
            key = (source, update.update_id or "")
            waiter = self._settled.get(key)
            if waiter is None or waiter.done() or key in self._known:
                continue
            if key in deferred:
                self._waited_in_rows.add(key)
            else:
                waiter.set_result(None)
        if deferred:
            self._top_up()
        if warnings:
            self._outbox.wake()

    async def handle(self, source: str, update: Incoming) -> None:
        """Store, then wait until handled and the replies went out."""
        if update.update_id is None:
            update = update.model_copy(update={"update_id": f"local-{uuid.uuid4().hex}"})
        assert update.update_id is not None
        done = self.settled(source, update.update_id)
        try:
            await self._take(source, [update], paced=True)
        except BaseException:
            done.cancel()
            raise
        await done

    def settled(self, source: str, update_id: str) -> asyncio.Future[None]:
        """Done once the update was handled and its replies tried, or set aside, dropped (a
        duplicate, a flood) or left stored for the next start. Ask before ``accept``;
        cancelling it forgets it."""
        key = (source, update_id)
        waiter = self._settled.get(key)
        if waiter is None:
            waiter = self._settled[key] = asyncio.get_running_loop().create_future()

            def forget(finished: asyncio.Future[None]) -> None:
                if self._settled.get(key) is finished:
                    del self._settled[key]

            waiter.add_done_callback(forget)
        return waiter

    async def send_due(self, platform: str) -> None:
        """Send what is due for ``platform`` now (see UpdateSink)."""
        await self._outbox.send_due(platform)

    # Handling ----------------------------------------------------------------------------

    def _schedule(self, item: InboxItem, incoming: Incoming) -> None:
        key = (item.source, item.update_id)
        if key in self._known:
            return
        self._known.add(key)
        self._pending += 1
        lane = self._lanes.get(item.sender)
        if lane is None:
            lane = self._lanes[item.sender] = _Lane()
        lane.items.append((item, incoming))
        if not lane.queued:
            lane.queued = True
            self._ready.put_nowait(item.sender)

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            sender = await self._ready.get()
            lane = self._lanes[sender]
            if lane.retry_at > loop.time() and not lane.probing:
                self._later(sender, lane.retry_at - loop.time())
                continue
            item, incoming = lane.items[0]
            self._busy += 1
            self._idle.clear()
            try:
                done = await self._handle(item, incoming)
            except Exception:
                # A bug below the handlers: drop it here rather than loop on it; the row
                # stays unhandled in the table, for an operator and the next start.
                log.exception("update %s could not be handled", item.update_id)
                done = True
            finally:
                self._busy -= 1
                if not self._busy:
                    self._idle.set()
            if done:
                lane.items.popleft()
                self._known.discard((item.source, item.update_id))
                self._pending -= 1
                self._top_up()
            if not lane.items:
                del self._lanes[sender]
                self._stalled.discard(sender)
            elif lane.retry_at > loop.time():
                self._later(sender, lane.retry_at - loop.time())
            else:
                # One update per turn: the next person in line goes before this one's next.
                self._ready.put_nowait(sender)

    async def _handle(self, item: InboxItem, incoming: Incoming) -> bool:
        """True when the update is done with (handled, or set aside)."""
        key = (item.source, item.update_id)
        try:
            rows = await self._dispatcher.handle(item, incoming, self._outbox.lease())
        except StorageUnavailable as error:
            return await self._retry(item, error)
        self._store_works()
        sending = self._outbox.push(rows)
        if any(row.status == "pending" for row in rows):
            # Some wait behind an earlier row of their chat: a claim takes them in turn.
            self._outbox.wake()
        waiter = self._settled.get(key)
        if waiter is not None:

            def settle(_: asyncio.Future[None]) -> None:
                if not waiter.done():
                    waiter.set_result(None)

            sending.add_done_callback(settle)
        return True

    async def _retry(self, item: InboxItem, error: StorageUnavailable) -> bool:
        lane = self._lanes[item.sender]
        self._stalled.add(item.sender)
        self._store_failed()
        if lane.probing:
            # Tried early to learn whether the store works: it does not yet. The update keeps
            # its tries and the time of its next.
            lane.probing = False
            return False
        attempts = item.attempts + 1
        delay = backoff(attempts, self._rng)
        log.warning(
            "update %s could not be handled now (try %d of %d): %s",
            item.update_id,
            attempts,
            self._max_attempts,
            error,
        )
        loop = asyncio.get_running_loop()
        updated = item.model_copy(update={"attempts": attempts})
        lane.items[0] = (updated, lane.items[0][1])
        lane.retry_at = loop.time() + delay
        set_aside = False
        with contextlib.suppress(StorageUnavailable):
            async with self._store.unit_of_work() as uow:
                at = utcnow() + timedelta(seconds=delay)
                if attempts >= self._max_attempts:
                    await uow.inbox.set_aside(item.id, str(error))
                    set_aside = True
                else:
                    await uow.inbox.retry_later(item.id, str(error), at)
        if attempts >= self._max_attempts and not set_aside:
            # Not even the dead letter could be written: keep trying, at the longest pause,
            # rather than forget an update whose row still says it is waiting.
            return False
        if set_aside:
            log.error(
                "update %s set aside after %d tries; see `kolbot inbox status`",
                item.update_id,
                attempts,
            )
            lane.retry_at = 0.0
            self._stalled.discard(item.sender)
            waiter = self._settled.get((item.source, item.update_id))
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            return True
        return False

    def _later(self, sender: str, delay: float) -> None:
        lane = self._lanes[sender]

        def ready() -> None:
            self._timers.discard(handle)
            lane.timer = None
            if self._accepting:
                self._ready.put_nowait(sender)

        loop = asyncio.get_running_loop()
        handle = loop.call_later(delay, ready)
        lane.timer = handle
        self._timers.add(handle)
        decided(self, sender, loop.time() + delay)

    def _store_failed(self) -> None:
        """The store failed a try: make sure another comes within PROBE_INTERVAL."""
        if self._probe is not None or not self._accepting:
            return
        loop = asyncio.get_running_loop()
        at = loop.time() + PROBE_INTERVAL

        def probe() -> None:
            self._timers.discard(handle)
            self._probe = None
            self._try_store(at)

        handle = self._probe = loop.call_at(at, probe)
        self._timers.add(handle)

    def _try_store(self, at: float) -> None:
        """Try the soonest of the updates waiting out their pause now, unless one is being
        tried already: whether it goes through tells whether the others may."""
        waiting = [
            self._lanes[sender]
            for sender in self._stalled
            if sender in self._lanes and self._lanes[sender].timer is not None
        ]
        if not self._accepting or not waiting or len(waiting) < len(self._stalled):
            return  # nothing to try, or a try is on its way: it reports back
        lane = min(waiting, key=lambda lane: lane.retry_at)
        assert lane.timer is not None
        lane.timer.cancel()
        self._timers.discard(lane.timer)
        lane.timer = None
        lane.probing = True
        sender = lane.items[0][0].sender
        decided(self, sender, at)
        self._ready.put_nowait(sender)

    def _store_works(self) -> None:
        """A commit went through: every update waiting on the store goes now."""
        if not self._stalled:
            return
        loop = asyncio.get_running_loop()
        if self._probe is not None:
            self._probe.cancel()
            self._timers.discard(self._probe)
            self._probe = None
        now = loop.time()
        for sender in self._stalled:
            lane = self._lanes.get(sender)
            if lane is None:
                continue
            lane.retry_at = 0.0
            if lane.timer is not None:
                lane.timer.cancel()
                self._timers.discard(lane.timer)
                lane.timer = None
                decided(self, sender, now)
                if self._accepting:
                    self._ready.put_nowait(sender)
        log.info("the store takes writes again: %d people's updates go now", len(self._stalled))
        self._stalled.clear()


def _storable(source: str, update: Incoming) -> tuple[Incoming, str] | None:
    """``update`` as it is stored, and its JSON; repaired when a platform sent a string that
    cannot be encoded (a lone surrogate), so one bad update never fails the batch it came
    in. None, logged by its id alone, for one that still cannot be stored."""
    with contextlib.suppress(ValueError):
        return update, update.model_dump_json(exclude_defaults=True)
    try:
        repaired = encodable(update)
        return repaired, repaired.model_dump_json(exclude_defaults=True)
    except ValueError as error:
        log.error(
            "ignoring %s update %s: it cannot be stored (%s)",
            source,
            update.update_id,
            type(error).__name__,
        )
        return None


def _slow_down(source: str, floods: Sequence[Incoming]) -> list[NewDelivery]:
    rows = []
    for incoming in floods:
        language = normalize_language(incoming.user.language_hint)
        message = Outgoing(chat=incoming.chat, text=translator(language)._(SLOW_DOWN))
        window = int(utcnow().timestamp() // 60)
        rows.append(
            NewDelivery(
                dedupe_key=f"slowdown:{source}:{incoming.user}:{window}",
                platform=incoming.chat.platform,
                chat=str(incoming.chat),
                payload=message.model_dump_json(exclude_defaults=True),
            )
        )
    return rows
