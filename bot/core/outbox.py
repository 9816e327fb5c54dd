"""Sends what the deliveries table holds: replies right after their commit, the rest by claim.

Each row is leased (owner, until) before its send and finished after it, so several processes
can share one outbox; at start, rows left in flight by a process that is gone are sent again at
once. Rows of one chat go one at a time, in order (priority, then id); different chats go
concurrently, at most ``concurrency`` sends at once, each platform's adapter pacing them under
its limits. Outcomes are written by group commit, and a send keeps its slot until its outcome
is written: a crash between a send and its write sends that row again, so duplicates are
bounded by ``concurrency``. Waits longer than a few seconds (a long 429, a backoff) are not sat
out in memory: the chat's rows go back to the table, due when the wait ends, and the chat stays
parked there so that the claim's head-of-chat rule keeps its order.

A backoff is each row's own, but an outage is the platform's: while rows of a platform wait
out a backoff and nothing is being sent to it, one of them is tried every ``probe_interval``;
and once a send to it succeeds, every row of it waiting out a backoff is due at once. So a
backlog moves within about a second of the platform's return, not when each row's pause ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import socket
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from bot.core.delivery import UNCONFIRMED_REPEATS, Decision, decide, sent
from bot.core.lru import Lru
from bot.core.messages import Outgoing
from bot.core.platform import BadRequest, Platform, SendError, Transient
from bot.services.people import mark_unreachable
from storage.base import StorageUnavailable, Store, UnitOfWork
from storage.clock import utcnow
from storage.models import Delivery, DeliveryOutcome

log = logging.getLogger(__name__)

ChatKey = tuple[str, str]
# Turns a ``ref`` (``offer:12``) into the message to send now, or None when there is nothing
# to send any more (withdrawn). Registered per prefix.
Renderer = Callable[[UnitOfWork, str], Awaitable[Outgoing | None]]
# Told, in the unit of work that records the send, the platform's id of a message sent from a
# ref: so what a ref stands for keeps its messages for later edits, whatever the outbox keeps.
SentRecorder = Callable[[UnitOfWork, Delivery, str], Awaitable[None]]


# The slot of the send running in this task: an adapter lends it back while it waits for
# its pacing, so waiting sends do not keep ready ones from going.
class _Slot:
    """One send's hold on the outbox's concurrency, which it may lend and take back: it
    knows whether it holds, so a cancellation while taking it back never frees it twice."""

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self._slots = slots
        self.held = False
        # Cut off while it waited for its pacing: that send never went out.
        self.cut_while_waiting = False

    async def take(self) -> None:
        await self._slots.acquire()
        self.held = True

    def give(self) -> None:
        if self.held:
            self.held = False
            self._slots.release()


_SLOT: ContextVar[_Slot | None] = ContextVar("outbox_slot", default=None)
# Whether the send running in this task answers someone (a reply) rather than a bulk send.
_URGENT: ContextVar[bool] = ContextVar("outbox_urgent", default=True)


def sending_urgently() -> bool:
    """For an adapter's pacing: a reply goes ahead of bulk sends waiting for their turn."""
    return _URGENT.get()


_NO_SLOT = _Slot(asyncio.Semaphore(0))

# A reply is written to its row and sent from it moments later, in the same process: the
# message itself is kept for that moment rather than parsed back from the row. The row stays
# the whole truth; one sent later, or by another process, is parsed.
_JUST_WRITTEN: Lru[str, Outgoing] = Lru(4096)


def outbox_payload(message: Outgoing) -> str:
    """What a deliveries row holds for ``message``."""
    payload = message.model_dump_json(exclude_defaults=True)
    _JUST_WRITTEN.put(payload, message)
    return payload


@asynccontextmanager
async def lend_slot() -> AsyncIterator[None]:
    """Around a wait inside a send (pacing): others may use the slot meanwhile."""
    slot = _SLOT.get()
    if slot is None or not slot.held:
        yield
        return
    slot.give()
    try:
        yield
    except asyncio.CancelledError:
        slot.cut_while_waiting = True
        raise
    finally:
        await slot.take()


# Waits up to this long are sat out in memory; longer ones go back to the table.
MEMORY_WAIT = 5.0
# After a claim that found less than it had room for, wakes within this long share the next
# one: every handled update wakes the outbox, and its replies were leased already.
CLAIM_GAP = 0.05
SEND_TIMEOUT = 60.0
# While a platform fails, one of its waiting rows is tried at least this often; a success
# releases the rest at most this often.
PROBE_INTERVAL = 1.0
# Rows at or below this priority answer someone waiting (replies); above, bulk sends.
URGENT_PRIORITY = 0
# At a stop past its deadline, the final writes still get this long.
FINAL_WRITES = 0.5
FLUSH_BATCH = 500


def new_owner() -> str:
    """Who holds a lease: this host, this process, this run (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_gone(owner: str, me: str) -> bool:
    """A lease holder on this host whose process no longer runs (or an earlier run of this
    same pid). Other hosts' leases are left to run out."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or owner == me:
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Outbox:
    def __init__(
        self,
        store: Store,
        platforms: Mapping[str, Platform],
        *,
        owner: str | None = None,
        concurrency: int = 64,
        lease: timedelta = timedelta(minutes=5),
        give_up_after: timedelta = timedelta(hours=1),
        poll_interval: float = 0.5,
        retry_write: float = 0.5,
        renderers: Mapping[str, Renderer] | None = None,
        rng: random.Random | None = None,
        unconfirmed_repeats: int = UNCONFIRMED_REPEATS,
        send_timeout: float = SEND_TIMEOUT,
        probe_interval: float = PROBE_INTERVAL,
    ) -> None:
        self._store = store
        self._platforms = dict(platforms)
        # Platforms being started: a row for one waits for it rather than fail (a reply to an
        # update taken up at start is sent before its platform has finished starting).
        self._starting: dict[str, asyncio.Event] = {}
        self.owner = owner or new_owner()
        self._lease = lease
        self._give_up_after = give_up_after
        self._poll_interval = poll_interval
        self._retry_write = retry_write
        self._renderers = dict(renderers or {})
        self._recorders: dict[str, SentRecorder] = {}
        self._rng = rng or random.Random()
        self._repeats = unconfirmed_repeats
        self._send_timeout = send_timeout
        self._probe_interval = probe_interval
        self._slots = asyncio.Semaphore(concurrency)
        # Rows held in memory at most: what a lease comfortably covers.
        self._capacity = max(256, concurrency * 4)
        self._queues: dict[ChatKey, deque[Delivery]] = {}
        self._workers: dict[ChatKey, asyncio.Task[None]] = {}
        self._slot_of: dict[asyncio.Task[None], _Slot] = {}
        self._holds: dict[ChatKey, float] = {}
        # Chats whose hold is a backoff (the platform failed), not a 429.
        self._backoff_holds: set[ChatKey] = set()
        self._paused: dict[str, float] = {}
        # Platforms whose last tries failed, and when (loop time) the last one did, or the
        # last probe began; those of them that answered since, and when; when each was last
        # released.
        self._failing: dict[str, float] = {}
        self._answered: dict[str, float] = {}
        self._released_at: dict[str, float] = {}
        self._release_timer: asyncio.TimerHandle | None = None
        self._trying: Counter[str] = Counter()
        self._held = 0
        self._more_due = False
        # Chats whose rows went back to the table, and until when they wait there.
        self._parked: dict[ChatKey, datetime] = {}
        self._waiters: dict[int, asyncio.Future[None]] = {}
        self._outcomes: list[tuple[Delivery, Decision, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._unwritten = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False

    # Lifecycle ---------------------------------------------------------------------------

    def expect(self, name: str) -> None:
        """``name`` is starting: its rows wait for ``register`` instead of failing."""
        self._starting.setdefault(name, asyncio.Event())

    def register(self, platform: Platform) -> None:
        """Send through ``platform`` from now on (started, or able to send without starting)."""
        self._platforms[platform.name] = platform
        starting = self._starting.pop(platform.name, None)
        if starting is not None:
            starting.set()

    def add_renderer(
        self, prefix: str, renderer: Renderer, *, on_sent: SentRecorder | None = None
    ) -> None:
        if prefix in self._renderers:
            raise ValueError(f"a renderer for {prefix!r} is registered already")
        self._renderers[prefix] = renderer
        if on_sent is not None:
            self._recorders[prefix] = on_sent

    async def start(self) -> None:
        """Take back what gone processes left in flight, then send."""
        async with self._store.unit_of_work() as uow:
            gone = [o for o in await uow.outbox.lease_owners() if owner_is_gone(o, self.owner)]
            if gone:
                released = await uow.outbox.release(gone)
                log.info("sending again %d messages left in flight by a stopped run", released)
        self._running = True
        # Rows an earlier run left waiting out a backoff: found out about at the first poll.
        due = asyncio.get_running_loop().time() - self._probe_interval
        self._failing = dict.fromkeys([*self._platforms, *self._starting], due)
        self._tasks = [
            asyncio.create_task(self._poll(), name="outbox-poll"),
            asyncio.create_task(self._flush_loop(), name="outbox-flush"),
        ]

    async def stop(self, deadline: float) -> None:
        """Send what is in memory until ``deadline`` (loop time), then hand the rest back to
        the table for the next start; write every outcome."""
        self._running = False
        self._wake.set()
        loop = asyncio.get_running_loop()
        workers = list(self._workers.values())
        if workers:
            _, late = await asyncio.wait(workers, timeout=max(0.0, deadline - loop.time()))
            # A send waiting for its pacing (its slot lent) has not gone out: stop it. One on
            # the wire gets a moment more, so that its answer is written and a SIGTERM does
            # not send it twice.
            on_the_wire = {task for task in late if self._slot_of.get(task, _NO_SLOT).held}
            for task in late - on_the_wire:
                task.cancel()
            if on_the_wire:
                _, stuck = await asyncio.wait(on_the_wire, timeout=FINAL_WRITES)
                for task in stuck:
                    task.cancel()
            if late:
                await asyncio.wait(late)
        if self._release_timer is not None:
            self._release_timer.cancel()
            self._release_timer = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        # The last writes get what is left of the time, and a little: a store another process
        # keeps locked must not keep kolbot from stopping. What they miss, the next start
        # recovers (rows still leased to a run that is gone are sent again).
        with contextlib.suppress(StorageUnavailable, TimeoutError):
            async with asyncio.timeout_at(max(deadline, loop.time() + FINAL_WRITES)):
                await self._flush()
                async with self._store.unit_of_work() as uow:
                    await uow.outbox.release([self.owner])
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    # Entry points ------------------------------------------------------------------------

    def lease(self) -> tuple[str, datetime] | None:
        """A lease for rows about to be pushed, or None when memory is full: then they wait
        in the table for a claim."""
        if not self._running or self._held >= self._capacity:
            return None
        return self.owner, utcnow() + self._lease

    def push(self, rows: Iterable[Delivery]) -> asyncio.Future[None]:
        """Send rows leased to this outbox; the future is done once every one was tried."""
        loop = asyncio.get_running_loop()
        waiters = []
        for row in rows:
            if row.status != "sending":
                continue  # blocked at once, or left for a claim
            waiter = loop.create_future()
            self._waiters[row.id] = waiter
            waiters.append(waiter)
            self._enqueue(row)
        if not waiters:
            done = loop.create_future()
            done.set_result(None)
            return done
        return asyncio.ensure_future(_all(waiters))

    def wake(self) -> None:
        """Look for due rows now (another process or a job queued some)."""
        self._wake.set()

    async def send_due(self, platform: str) -> None:
        """Claim what is due for ``platform`` now and return once each row was tried: a
        platform about to stop by itself would otherwise leave what another process queued
        since the last poll to its next start."""
        if not self._running or platform not in self._platforms:
            return
        loop = asyncio.get_running_loop()
        while (room := self._capacity - self._held) > 0:
            async with self._store.unit_of_work() as uow:
                now = utcnow()
                rows = await uow.outbox.claim(self.owner, now + self._lease, now, room, [platform])
            waiters = []
            for row in rows:
                waiter = self._waiters[row.id] = loop.create_future()
                waiters.append(waiter)
                self._enqueue(row, claimed=True)
            await _all(waiters)
            if len(rows) < room:
                return

    @property
    def in_flight(self) -> int:
        """Rows held in memory or sent and not yet recorded."""
        return self._held + len(self._outcomes)

    # Claiming ----------------------------------------------------------------------------

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        claimed_at = -CLAIM_GAP
        while self._running:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._until_probe(loop.time()))
            if not self._more_due and (gap := claimed_at + CLAIM_GAP - loop.time()) > 0:
                await asyncio.sleep(gap)
            self._wake.clear()
            if not self._running:
                return
            await self._probe(loop.time())
            room = self._capacity - self._held
            if room <= 0 or not self._platforms:
                continue
            try:
                async with self._store.unit_of_work() as uow:
                    now = utcnow()
                    rows = await uow.outbox.claim(
                        self.owner, now + self._lease, now, room, list(self._platforms)
                    )
            except StorageUnavailable as error:
                log.warning("outbox: cannot claim messages now (%s)", error)
                continue
            claimed_at = loop.time()
            # A claim that filled the room may have left more behind: claim again as soon as
            # there is room, rather than at the next poll.
            self._more_due = len(rows) == room
            for row in rows:
                self._enqueue(row, claimed=True)

    def _until_probe(self, now: float) -> float:
        """How long the poll may sleep: its interval, or less when a probe is due sooner."""
        probes = [
            at + self._probe_interval - now
            for name, at in self._failing.items()
            if name not in self._answered
        ]
        return max(0.0, min([self._poll_interval, *probes]))

    async def _probe(self, now: float) -> None:
        """For each platform that failed its last tries and has nothing on the way, make the
        soonest of its rows waiting out a backoff due now: whether it answers tells whether
        the rest may go."""
        for name, at in list(self._failing.items()):
            if name in self._answered or self._trying[name] or now - at < self._probe_interval:
                continue
            try:
                async with self._store.unit_of_work() as uow:
                    chats = await uow.outbox.hasten(name, utcnow(), chats=1)
            except StorageUnavailable as error:
                log.warning("outbox: cannot try %s again now (%s)", name, error)
                return
            if not chats:
                self._failing.pop(name, None)  # nothing of it waits: nothing to find out
                continue
            self._failing[name] = now
            self._unhold(name, chats)

    def _unhold(self, name: str, chats: Iterable[str]) -> None:
        """Rows of these chats were made due: nothing in memory holds them back any more."""
        for chat in chats:
            key = (name, chat)
            if key in self._backoff_holds:
                self._backoff_holds.discard(key)
                self._holds.pop(key, None)
            if key in self._parked:
                self._parked[key] = utcnow()
        self._wake.set()

    def _platform_answered(self, name: str) -> None:
        """A send to ``name`` went through: if its last tries had failed, what waits out a
        backoff because of them may go (released by the next flush)."""
        if name in self._failing and name not in self._answered:
            self._answered[name] = asyncio.get_running_loop().time()
            self._unwritten.set()

    def _releases(self) -> dict[str, float]:
        """Platforms that answered again (and when) to release now: at most once a probe
        interval each, so a chat whose own sends keep failing is not tried after every
        success of the others."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        ready = {}
        for name, at in list(self._answered.items()):
            wait = self._released_at.get(name, -math.inf) + self._probe_interval - now
            if wait <= 0:
                ready[name] = at
                del self._answered[name]
            elif self._release_timer is None:
                self._release_timer = loop.call_later(wait, self._release_later)
        return ready

    def _release_later(self) -> None:
        self._release_timer = None
        self._unwritten.set()

    def _enqueue(self, row: Delivery, *, claimed: bool = False) -> None:
        key = (row.platform, row.chat)
        if claimed:
            # The table hands a parked chat's rows back in order: its turn has come.
            self._parked.pop(key, None)
        elif key in self._parked:
            # Earlier rows of this chat went back to the table: this one follows them there,
            # so the claim keeps the chat's order.
            again = DeliveryOutcome(
                id=row.id,
                status="pending",
                next_attempt_at=self._parked[key],
                attempts=row.attempts,
                parts_sent=row.parts_sent,
            )
            self._record(row, Decision(again))
            return
        self._queues.setdefault(key, deque()).append(row)
        self._held += 1
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._run_chat(key), name=f"send-{key}")

    # Sending -----------------------------------------------------------------------------

    async def _run_chat(self, key: ChatKey) -> None:
        slot = _Slot(self._slots)
        _SLOT.set(slot)  # this task's own context: see lend_slot
        this = asyncio.current_task()
        assert this is not None
        self._slot_of[this] = slot
        queue = self._queues[key]
        loop = asyncio.get_running_loop()
        try:
            while queue:
                wait = max(self._holds.get(key, 0.0), self._paused.get(key[0], 0.0))
                wait -= loop.time()
                if wait > MEMORY_WAIT or (wait > 0 and not self._running):
                    self._give_back(key, queue, utcnow() + timedelta(seconds=max(wait, 0.0)))
                    break
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                row = queue[0]
                _URGENT.set(row.priority <= URGENT_PRIORITY)
                await slot.take()
                try:
                    decision = await self._deliver_or_cut_off(row, slot)
                    queue.popleft()
                    self._held -= 1
                    # The slot is held until the outcome is written: a crash can repeat at
                    # most ``concurrency`` messages.
                    await asyncio.shield(self._record(row, decision))
                finally:
                    slot.give()
                if self._held <= self._capacity // 2 and self._more_due:
                    self._wake.set()  # room for the next claim: no need to wait for the poll
                if decision.unreachable:
                    while queue:
                        other = queue.popleft()
                        self._held -= 1
                        blocked = DeliveryOutcome(
                            id=other.id,
                            status="blocked",
                            error="the chat is unreachable",
                            attempts=other.attempts,
                        )
                        self._record(other, Decision(blocked))
                elif decision.outcome.status == "pending":
                    self._hold(key, decision, loop.time())
                    when = decision.outcome.next_attempt_at or utcnow()
                    self._give_back(key, queue, when)
        finally:
            self._slot_of.pop(this, None)
            self._workers.pop(key, None)
            if not queue:
                self._queues.pop(key, None)
            if self._holds.get(key, 0.0) <= loop.time():
                self._holds.pop(key, None)
                self._backoff_holds.discard(key)

    async def _deliver_or_cut_off(self, row: Delivery, slot: _Slot) -> Decision:
        """A send stopped while on the wire (kolbot stopping) may have arrived: it counts as
        a lost answer, as a read timeout does, so restarts during a slow spell cannot send
        it more often than lost answers may. The stop's last flush writes it."""
        try:
            return await self._deliver(row)
        except asyncio.CancelledError:
            if slot.held:
                cut = Transient("stopped before the platform answered", may_have_arrived=True)
                self._record(row, self._decide(row, cut, utcnow()))
            raise

    def _hold(self, key: ChatKey, decision: Decision, now: float) -> None:
        def seconds(moment: datetime | None) -> float:
            return 0.0 if moment is None else (moment - utcnow()).total_seconds()

        if decision.hold_chat_until is not None:
            self._holds[key] = now + seconds(decision.hold_chat_until)
            if decision.platform_failing:
                self._backoff_holds.add(key)
            else:
                self._backoff_holds.discard(key)
        if decision.pause_platform_until is not None:
            until = now + seconds(decision.pause_platform_until)
            self._paused[key[0]] = max(self._paused.get(key[0], 0.0), until)
            log.warning("%s: pausing every send for %.1fs", key[0], until - now)

    def _give_back(self, key: ChatKey, queue: deque[Delivery], when: datetime) -> None:
        """Rows waiting longer than memory should hold go back to the table, due ``when``;
        the chat stays parked there until a claim hands its rows out again, in order."""
        self._parked[key] = when
        while queue:
            row = queue.popleft()
            self._held -= 1
            again = DeliveryOutcome(
                id=row.id,
                status="pending",
                next_attempt_at=when,
                attempts=row.attempts,
                parts_sent=row.parts_sent,
            )
            self._record(row, Decision(again))

    async def _deliver(self, row: Delivery) -> Decision:
        platform = self._platforms.get(row.platform)
        starting = self._starting.get(row.platform)
        if platform is None and starting is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SEND_TIMEOUT):
                    await starting.wait()
            platform = self._platforms.get(row.platform)
        now = utcnow()
        try:
            if platform is None:
                raise Transient(f"{row.platform} is not running")
            message = await self._render(row)
            if message is None:
                withdrawn = DeliveryOutcome(
                    id=row.id, status="sent", error="withdrawn", attempts=row.attempts
                )
                return Decision(withdrawn)
            self._trying[row.platform] += 1
            slot = _SLOT.get()
            if slot is not None:
                slot.cut_while_waiting = False
            try:
                async with asyncio.timeout(self._send_timeout):
                    message_id = await platform.send(message, first_part=row.parts_sent)
            finally:
                self._trying[row.platform] -= 1
        except SendError as error:
            return self._decide(row, error, utcnow())
        except TimeoutError:
            # The adapter's own timeouts come first; past this, it may be on the wire, unless
            # the time went in waiting for its pacing (a long 429 pause of every chat).
            waited = (slot := _SLOT.get()) is not None and slot.cut_while_waiting
            late = Transient(
                f"no answer within {self._send_timeout:.0f}s", may_have_arrived=not waited
            )
            return self._decide(row, late, utcnow())
        except Exception as error:
            # An adapter bug must not take down this chat's later messages, or others'.
            log.exception("delivery %d to %s failed", row.id, row.platform)
            failure = BadRequest(f"{type(error).__name__}: {error}")
            return self._decide(row, failure, now)
        self._platform_answered(row.platform)
        return Decision(sent(row, message_id, 0))

    def _decide(self, row: Delivery, error: SendError, now: datetime) -> Decision:
        return decide(row, error, now, self._give_up_after, self._rng, repeats=self._repeats)

    async def _render(self, row: Delivery) -> Outgoing | None:
        if row.payload is not None:
            message = _JUST_WRITTEN.pop(row.payload, None)
            return message or Outgoing.model_validate_json(row.payload)
        assert row.ref is not None
        prefix = row.ref.partition(":")[0]
        renderer = self._renderers.get(prefix)
        if renderer is None:
            raise BadRequest(f"no renderer for {row.ref!r}")
        async with self._store.reading() as uow:
            return await renderer(uow, row.ref)

    # Recording ---------------------------------------------------------------------------

    def _record(self, row: Delivery, decision: Decision) -> asyncio.Future[None]:
        """Note an outcome; the future is done once it is written (group commit: whatever
        gathered while the last write ran goes in the next)."""
        loop = asyncio.get_running_loop()
        written = loop.create_future()
        if decision.platform_failing:
            self._failing[row.platform] = loop.time()
        self._outcomes.append((row, decision, written))
        waiter = self._waiters.pop(row.id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._unwritten.set()
        return written

    async def _flush_loop(self) -> None:
        while True:
            await self._unwritten.wait()
            self._unwritten.clear()
            if not await self._flush():
                await asyncio.sleep(self._retry_write)

    async def _flush(self) -> bool:
        """Write the outcomes gathered so far, and release what waits on platforms that
        answer again: in one transaction, so that every failure noted before the answer is
        written by then and released with the rest. False when the store could not."""
        releases = self._releases()
        if not self._outcomes and not releases:
            return True
        batch, self._outcomes = self._outcomes, []
        hastened: dict[str, list[str]] = {}
        try:
            async with self._store.unit_of_work() as uow:
                if batch:
                    outcomes = [decision.outcome for _, decision, _ in batch]
                    await uow.outbox.finish(outcomes, self.owner)
                for row, decision, _ in batch:
                    if decision.unreachable:
                        await mark_unreachable(uow, row.platform, row.chat)
                    await self._recorded(uow, row, decision.outcome)
                for name in releases:
                    hastened[name] = await uow.outbox.hasten(name, utcnow())
        except StorageUnavailable as error:
            log.warning("outbox: cannot record %d outcomes now (%s)", len(batch), error)
            self._outcomes[:0] = batch
            self._answered.update(releases)
            self._unwritten.set()
            return False
        except BaseException:
            self._outcomes[:0] = batch  # cancelled mid-write: the next flush writes them
            self._answered.update(releases)
            raise
        now = asyncio.get_running_loop().time()
        for name, chats in hastened.items():
            self._released_at[name] = now
            if self._failing.get(name, math.inf) <= releases[name]:
                del self._failing[name]  # no try failed since it answered
            if chats:
                log.info(
                    "%s answers again: %d chats waiting out a backoff go now", name, len(chats)
                )
            self._unhold(name, chats)
        for _, _, written in batch:
            if not written.done():
                written.set_result(None)
        if any(decision.outcome.status == "pending" for _, decision, _ in batch):
            self._wake.set()
        return True

    async def _recorded(self, uow: UnitOfWork, row: Delivery, outcome: DeliveryOutcome) -> None:
        if row.ref is None or outcome.status != "sent" or not outcome.message_id:
            return
        recorder = self._recorders.get(row.ref.partition(":")[0])
        if recorder is not None:
            await recorder(uow, row, outcome.message_id)


async def _all(waiters: list[asyncio.Future[None]]) -> None:
    await asyncio.gather(*waiters)
