"""The outbox against a real SQLite file: leases, order, the policy's waits, restarts."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import timedelta

import pytest

from bot.core.delivery import decide
from bot.core.messages import Button, ChatRef, Outgoing
from bot.core.outbox import CLAIM_GAP, Outbox, lend_slot, outbox_payload
from bot.core.platform import BadRequest, RateLimited, Transient, Unreachable
from storage.base import UnitOfWork
from storage.clock import utcnow
from storage.models import AccountLink, Delivery, DeliveryOutcome, NewDelivery
from storage.sqlite import SqliteStore
from storage.sqlite.database import InlineSession, to_db_time
from storage.sqlite.outbox import SqliteOutbox
from tests.e2e.telegram_harness import eventually
from tests.fakes.platform import FakePlatform

CHAT = ChatRef(platform="fake", chat_id="1")


def message(text: str, chat: ChatRef = CHAT, **fields: object) -> NewDelivery:
    outgoing = Outgoing(chat=chat, text=text, **fields)
    return NewDelivery(
        dedupe_key=f"{chat}:{text}",
        platform=chat.platform,
        chat=str(chat),
        payload=outgoing.model_dump_json(),
    )


@pytest.fixture
async def store(tmp_path: object) -> AsyncIterator[SqliteStore]:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    opened = await SqliteStore.open(tmp_path / "outbox.db", timedelta(days=7))
    yield opened
    await opened.close()


async def queue(store: SqliteStore, *rows: NewDelivery) -> list[Delivery]:
    async with store.unit_of_work() as uow:
        return await uow.outbox.add(rows)


async def statuses(store: SqliteStore) -> dict[str, str]:
    found = await store.db.fetchall("SELECT dedupe_key, status FROM deliveries ORDER BY id")
    return {row["dedupe_key"]: row["status"] for row in found}


async def running(store: SqliteStore, fake: FakePlatform, **options: object) -> Outbox:
    options.setdefault("poll_interval", 0.05)
    outbox = Outbox(store, {fake.name: fake}, **options)  # type: ignore[arg-type]
    await outbox.start()
    return outbox


async def stop(outbox: Outbox, within: float = 2.0) -> None:
    await outbox.stop(asyncio.get_running_loop().time() + within)


async def test_rows_from_another_process_go_out_within_a_second(store: SqliteStore) -> None:
    fake = FakePlatform()
    outbox = await running(store, fake, poll_interval=0.5)
    try:
        loop = asyncio.get_running_loop()
        queued_at = loop.time()
        await queue(store, message("one"), message("two"))
        await eventually(lambda: len(fake.sent) == 2, within=5)
        assert fake.attempts[0][0] - queued_at < 1.0
        assert [m.text for m in fake.sent] == ["one", "two"]
    finally:
        await stop(outbox)
    assert set((await statuses(store)).values()) == {"sent"}


async def test_replies_go_ahead_of_bulk_sends(store: SqliteStore) -> None:
    fake = FakePlatform()
    bulk = message("offer").model_copy(update={"priority": 10})
    await queue(store, bulk, message("reply"))
    outbox = await running(store, fake)
    try:
        await eventually(lambda: len(fake.sent) == 2)
    finally:
        await stop(outbox)
    assert [m.text for m in fake.sent] == ["reply", "offer"]


async def test_a_rate_limit_holds_the_chat_until_retry_after(store: SqliteStore) -> None:
    fake = FakePlatform()
    fake.failures = [RateLimited(0.6)]
    other = ChatRef(platform="fake", chat_id="2")
    await queue(store, message("first"), message("second"), message("elsewhere", other))
    outbox = await running(store, fake)
    try:
        await eventually(lambda: len(fake.sent) == 3, within=5)
    finally:
        await stop(outbox)
    limited_at = fake.attempts[0][0]
    to_chat = [(at, m.text) for at, m, _ in fake.attempts if m.chat == CHAT]
    assert [text for _, text in to_chat] == ["first", "first", "second"]
    # Nothing to that chat before retry_after; the other chat was not held.
    assert all(at - limited_at >= 0.6 for at, _ in to_chat[1:])
    [(other_at, _, _)] = [a for a in fake.attempts if a[1].chat == other]
    assert other_at - limited_at < 0.6


async def test_a_long_rate_limit_waits_in_the_table_not_in_memory(store: SqliteStore) -> None:
    fake = FakePlatform()
    fake.failures = [RateLimited(3600)]
    await queue(store, message("first"), message("second"))
    outbox = await running(store, fake)
    try:
        await eventually(lambda: outbox.in_flight == 0 and len(fake.attempts) == 1)
        await asyncio.sleep(0.2)
        assert len(fake.attempts) == 1
    finally:
        await stop(outbox)
    found = await store.db.fetchall("SELECT status, next_attempt_at FROM deliveries ORDER BY id")
    assert [row["status"] for row in found] == ["pending", "pending"]
    later = (utcnow() + timedelta(minutes=59)).isoformat()
    assert all(row["next_attempt_at"] > later for row in found)


async def test_a_blocked_chat_blocks_its_rows_across_restarts(store: SqliteStore) -> None:
    async with store.unit_of_work() as uow:
        await uow.people.save_account(
            AccountLink(platform="fake", platform_user_id="1", dm_chat="fake:1")
        )
        await uow.people.save_account(
            AccountLink(platform="other", platform_user_id="1", dm_chat="other:1")
        )
    fake = FakePlatform()
    fake.failures = [Unreachable("blocked by the user")]
    await queue(store, message("first"), message("second"))
    outbox = await running(store, fake)
    try:
        await eventually(lambda: outbox.in_flight == 0 and len(fake.attempts) == 1)
    finally:
        await stop(outbox)
    await eventually_status(store, {"fake:1:first": "blocked", "fake:1:second": "blocked"})
    # Later messages are blocked as they are queued, and a new run sends none of them.
    await queue(store, message("third"))
    again = FakePlatform()
    outbox = await running(store, again)
    try:
        await asyncio.sleep(0.2)
    finally:
        await stop(outbox)
    assert again.attempts == []
    assert (await statuses(store))["fake:1:third"] == "blocked"
    async with store.reading() as uow:
        assert await uow.people.is_unreachable("fake", "fake:1")
        # The same person's account elsewhere is not affected.
        assert not await uow.people.is_unreachable("other", "other:1")


async def eventually_status(store: SqliteStore, expected: dict[str, str]) -> None:
    for _ in range(200):
        found = await statuses(store)
        if all(found.get(key) == value for key, value in expected.items()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"statuses {await statuses(store)} never became {expected}")


async def test_a_bad_request_fails_the_row_and_the_rest_go(store: SqliteStore) -> None:
    fake = FakePlatform()
    fake.failures = [BadRequest("message is too long")]
    await queue(store, message("bad"), message("good"))
    outbox = await running(store, fake)
    try:
        await eventually(lambda: len(fake.sent) == 1)
    finally:
        await stop(outbox)
    await eventually_status(store, {"fake:1:bad": "failed", "fake:1:good": "sent"})


async def test_transient_failures_retry_until_sent(store: SqliteStore) -> None:
    fake = FakePlatform()
    fake.failures = [Transient("502 Bad Gateway")]
    await queue(store, message("hello"))
    outbox = await running(store, fake)
    try:
        await eventually(lambda: len(fake.sent) == 1, within=5)
    finally:
        await stop(outbox)
    found = await store.db.fetchall("SELECT status, attempts, last_error FROM deliveries")
    assert [tuple(row) for row in found] == [("sent", 2, "502 Bad Gateway")]


async def test_a_split_message_resumes_after_the_parts_sent(store: SqliteStore) -> None:
    fake = FakePlatform()
    failure = Transient("connection reset")
    failure.parts_sent = 2
    fake.failures = [failure]
    await queue(store, message("long"))
    outbox = await running(store, fake)
    try:
        await eventually(lambda: len(fake.sent) == 1, within=5)
    finally:
        await stop(outbox)
    assert [first for _, _, first in fake.attempts] == [0, 2]


async def test_rows_in_flight_of_a_gone_process_are_sent_again_at_once(
    store: SqliteStore,
) -> None:
    async with store.unit_of_work() as uow:
        await uow.outbox.add(
            [message("in flight")], lease=("gone-host-run", utcnow() + timedelta(minutes=5))
        )
    # Another host's lease is left to run out (holding its chat meanwhile); this host's dead
    # run is taken back at start.
    fake = FakePlatform()
    outbox = await running(store, fake)
    await asyncio.sleep(0.2)
    await stop(outbox)
    assert fake.sent == []
    import os
    import socket

    async with store.unit_of_work() as uow:
        await uow.outbox.add(
            [message("left by a crash", ChatRef(platform="fake", chat_id="2"))],
            lease=(f"{socket.gethostname()}:{os.getpid()}:dead", utcnow() + timedelta(minutes=5)),
        )
    outbox = await running(store, fake)
    try:
        await eventually(lambda: len(fake.sent) == 1)
    finally:
        await stop(outbox)
    assert [m.text for m in fake.sent] == ["left by a crash"]


async def test_pending_edits_of_one_message_collapse_into_the_latest(store: SqliteStore) -> None:
    edits = [message(f"v{n}", edit_message_id="5") for n in range(3)]
    edits = [e.model_copy(update={"collapse_key": "fake:1#5"}) for e in edits]
    for edit in edits:
        await queue(store, edit)
    fake = FakePlatform()
    outbox = await running(store, fake)
    try:
        await eventually(lambda: len(fake.sent) == 1)
        await asyncio.sleep(0.1)
    finally:
        await stop(outbox)
    assert [m.text for m in fake.sent] == ["v2"]


async def test_references_are_rendered_at_send_time(store: SqliteStore) -> None:
    fake = FakePlatform()
    rendered: list[str] = []

    async def offer(uow: UnitOfWork, ref: str) -> Outgoing | None:
        rendered.append(ref)
        if ref == "offer:withdrawn":
            return None
        return Outgoing(chat=CHAT, text=f"fresh {ref}")

    outbox = await running(store, fake, renderers={"offer": offer})
    try:
        await queue(
            store,
            NewDelivery(dedupe_key="o1", platform="fake", chat="fake:1", ref="offer:1"),
            NewDelivery(dedupe_key="o2", platform="fake", chat="fake:1", ref="offer:withdrawn"),
        )
        outbox.wake()
        await eventually(lambda: len(rendered) == 2)
    finally:
        await stop(outbox)
    assert [m.text for m in fake.sent] == ["fresh offer:1"]
    with pytest.raises(ValueError, match="registered already"):
        outbox.add_renderer("offer", offer)


async def test_stop_hands_unsent_rows_back_by_the_deadline(store: SqliteStore) -> None:
    fake = FakePlatform()
    slow_chats = [ChatRef(platform="fake", chat_id=str(n)) for n in range(50)]

    async def slow_send(message: Outgoing, *, first_part: int = 0) -> str:
        await asyncio.sleep(0.05)
        fake.sent.append(message)
        return "1"

    fake.send = slow_send  # type: ignore[method-assign]
    await queue(store, *(message("hi", chat) for chat in slow_chats))
    outbox = await running(store, fake, concurrency=1)
    await eventually(lambda: len(fake.sent) >= 2)
    loop = asyncio.get_running_loop()
    before = loop.time()
    await outbox.stop(loop.time() + 0.3)
    assert loop.time() - before < 1.0
    sent_first = len(fake.sent)
    assert sent_first < 50
    found = await statuses(store)
    assert sum(status == "sent" for status in found.values()) == sent_first
    assert sum(status == "pending" for status in found.values()) == 50 - sent_first
    again = FakePlatform()
    outbox = await running(store, again)
    try:
        await eventually(lambda: len(again.sent) == 50 - sent_first, within=5)
    finally:
        await stop(outbox)
    # None twice: together the two runs sent each chat exactly one message.
    assert sorted(m.chat.chat_id for m in fake.sent + again.sent) == sorted(
        c.chat_id for c in slow_chats
    )


async def test_a_reply_pushed_while_its_chat_waits_out_a_429_keeps_its_turn(
    store: SqliteStore,
) -> None:
    fake = FakePlatform()
    fake.failures = [RateLimited(0.5)]
    await queue(store, message("first"))
    outbox = await running(store, fake)
    try:
        await eventually(lambda: len(fake.attempts) == 1)
        await eventually(lambda: outbox.in_flight == 0)
        # A reply committed now, leased for a send right after its commit...
        lease = outbox.lease()
        assert lease is not None
        async with store.unit_of_work() as uow:
            rows = await uow.outbox.add([message("second")], lease=lease)
        await outbox.push(rows)
        await eventually(lambda: len(fake.sent) == 2, within=5)
    finally:
        await stop(outbox)
    # ...goes after the message that was waiting, not before it.
    assert [m.text for m in fake.sent] == ["first", "second"]


async def test_a_claim_never_steps_over_rows_waiting_for_a_later_time(store: SqliteStore) -> None:
    """20,000 rows wait for a later time (quiet hours, a retry) with one due row among them:
    the claim reads its way to the due row without visiting the others, counted in SQLite's
    virtual-machine instructions."""
    waiting = [
        message(f"later {n}", ChatRef(platform="fake", chat_id=str(n))) for n in range(20_000)
    ]
    async with store.unit_of_work() as uow:
        await uow.outbox.enqueue(waiting)
    tomorrow = (utcnow() + timedelta(days=1)).isoformat()
    with closing(sqlite3.connect(store.db.path, isolation_level=None)) as raw:
        raw.execute("UPDATE deliveries SET next_attempt_at = ?", (tomorrow,))
    await queue(store, message("due now", ChatRef(platform="fake", chat_id="due")))
    with closing(sqlite3.connect(store.db.path, isolation_level=None)) as conn:
        conn.row_factory = sqlite3.Row
        instructions = 0

        def count() -> int:
            nonlocal instructions
            instructions += 100
            return 0

        conn.set_progress_handler(count, 100)
        conn.execute("BEGIN IMMEDIATE")
        claimed = await SqliteOutbox(InlineSession(conn)).claim(
            "me", utcnow() + timedelta(minutes=1), utcnow(), 100, ["fake"]
        )
        conn.execute("COMMIT")
    assert [row.dedupe_key for row in claimed] == ["fake:due:due now"]
    assert instructions < 5_000


async def test_wakes_close_together_share_one_claim(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every handled update wakes the outbox though its replies were leased already: a claim
    that found nothing is not repeated for each wake, and rows queued meanwhile still go."""

    claims = 0
    claim = SqliteOutbox.claim

    async def counted(self: SqliteOutbox, *args: object, **kwargs: object) -> list[Delivery]:
        nonlocal claims
        claims += 1
        return await claim(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SqliteOutbox, "claim", counted)
    fake = FakePlatform()
    outbox = await running(store, fake, poll_interval=10.0)
    try:
        await asyncio.sleep(0.1)
        loop = asyncio.get_running_loop()
        before, began = claims, loop.time()
        for _ in range(100):
            outbox.wake()
            await asyncio.sleep(0.001)
        took = loop.time() - began
        # A hundred wakes; one claim per CLAIM_GAP at most, however long a busy machine took.
        assert claims - before <= took / CLAIM_GAP + 2
        await queue(store, message("late"))
        outbox.wake()
        await eventually(lambda: len(fake.sent) == 1, within=2)
    finally:
        await stop(outbox)


async def test_rescheduling_by_reference_never_reads_other_rows(store: SqliteStore) -> None:
    """A paused campaign's rows are found by their reference through an index: with 20,000
    other rows waiting, rescheduling one costs a handful of instructions, not a pass."""
    others = [
        message(f"other {n}", ChatRef(platform="fake", chat_id=str(n))) for n in range(20_000)
    ]
    offer = NewDelivery(dedupe_key="offer:1:1", platform="fake", chat="fake:7", ref="offer:1")
    async with store.unit_of_work() as uow:
        await uow.outbox.enqueue([*others, offer])
    later = utcnow() + timedelta(days=1)
    with closing(sqlite3.connect(store.db.path, isolation_level=None)) as conn:
        conn.row_factory = sqlite3.Row
        instructions = 0

        def count() -> int:
            nonlocal instructions
            instructions += 100
            return 0

        conn.set_progress_handler(count, 100)
        conn.execute("BEGIN IMMEDIATE")
        moved = await SqliteOutbox(InlineSession(conn)).reschedule([("offer:1", later)], 5)
        conn.execute("COMMIT")
    assert moved == 1
    assert instructions < 5_000


async def test_a_row_written_here_is_sent_without_parsing_it_back(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replies go out moments after they were written: the message is not parsed back from
    its row; a row written elsewhere (or earlier) is."""
    parsed: list[str] = []
    validate = Outgoing.model_validate_json

    def counted(payload: str | bytes) -> Outgoing:
        parsed.append(str(payload))
        return validate(payload)

    monkeypatch.setattr(Outgoing, "model_validate_json", counted)
    fake = FakePlatform()
    outbox = await running(store, fake)
    try:
        here = Outgoing(
            chat=CHAT, text="written here", buttons=((Button(label="OK", data="ok:1"),),)
        )
        row = NewDelivery(
            dedupe_key="here", platform="fake", chat=str(CHAT), payload=outbox_payload(here)
        )
        async with store.unit_of_work() as uow:
            leased = await uow.outbox.add([row], lease=outbox.lease())
        await outbox.push(leased)
        await queue(store, message("written elsewhere"))
        outbox.wake()
        await eventually(lambda: len(fake.sent) == 2, within=5)
    finally:
        await stop(outbox)
    assert fake.sent[0] == here
    assert [m.text for m in fake.sent] == ["written here", "written elsewhere"]
    assert len(parsed) == 1
    assert "written elsewhere" in parsed[0]


async def test_hastening_makes_due_what_waits_out_a_backoff_and_nothing_else(
    store: SqliteStore,
) -> None:
    """A platform answers again: its rows waiting out a backoff, and the rows handed back to
    wait behind them, are due now; a row waiting out a 429, or queued for a later hour, is
    not; nor is another platform's."""
    now = utcnow()
    later = now + timedelta(seconds=40)
    chat = {n: ChatRef(platform="fake", chat_id=str(n)) for n in range(1, 4)}
    rows = [
        message("failed", chat[1]),
        message("behind it", chat[1]),
        message("limited", chat[2]),
        message("tonight", chat[3]).model_copy(
            update={"next_attempt_at": now + timedelta(hours=9)}
        ),
        message("elsewhere", ChatRef(platform="other", chat_id="1")),
    ]
    async with store.unit_of_work() as uow:
        added = await uow.outbox.add(rows, lease=("me", now + timedelta(minutes=5)))
        failed, behind, limited, _, elsewhere = added
        await uow.outbox.finish(
            [
                DeliveryOutcome(
                    id=failed.id, status="pending", next_attempt_at=later, failing_since=now
                ),
                DeliveryOutcome(id=behind.id, status="pending", next_attempt_at=later),
                DeliveryOutcome(id=limited.id, status="pending", next_attempt_at=later),
                DeliveryOutcome(
                    id=elsewhere.id, status="pending", next_attempt_at=later, failing_since=now
                ),
            ],
            "me",
        )
    async with store.unit_of_work() as uow:
        assert await uow.outbox.hasten("fake", now, chats=1) == ["fake:1"]
        assert await uow.outbox.hasten("fake", now) == []
    found = await store.db.fetchall("SELECT dedupe_key, next_attempt_at FROM deliveries")
    due = {
        row["dedupe_key"].split(":")[-1]
        for row in found
        if row["next_attempt_at"] <= to_db_time(now)
    }
    assert due == {"failed", "behind it"}


async def test_an_operator_retries_unconfirmed_rows_once_each(store: SqliteStore) -> None:
    """A retry starts the row afresh but for its lost answers: it goes once more, and one
    more lost answer leaves it unconfirmed again, not 1 + repeats more copies."""
    now = utcnow()
    async with store.unit_of_work() as uow:
        [row] = await uow.outbox.add([message("lost")], lease=("me", now + timedelta(minutes=5)))
        await uow.outbox.finish(
            [DeliveryOutcome(id=row.id, status="unconfirmed", attempts=2, lost_answers=2)], "me"
        )
    async with store.unit_of_work() as uow:
        assert await uow.outbox.retry("failed", now) == 0
        assert await uow.outbox.retry("unconfirmed", now) == 1
        [again] = await uow.outbox.claim("me", now + timedelta(minutes=5), now, 10, ["fake"])
    assert (again.status, again.attempts, again.lost_answers, again.failing_since) == (
        "sending",
        0,
        2,
        None,
    )
    lost = decide(
        again,
        Transient("no answer", may_have_arrived=True),
        now,
        timedelta(hours=1),
        random.Random(0),
        repeats=1,
    )
    assert lost.outcome.status == "unconfirmed"


class _Stalled(FakePlatform):
    """A platform whose sends never end: waiting for their pacing (``pacing``) or on the
    wire, as an adapter's send does while a long 429 pause holds every chat."""

    def __init__(self, *, pacing: bool) -> None:
        super().__init__()
        self.pacing = pacing

    async def send(self, message: Outgoing, *, first_part: int = 0) -> str:
        self.attempts.append((asyncio.get_running_loop().time(), message, first_part))
        if self.pacing:
            async with lend_slot():
                await asyncio.Event().wait()
        await asyncio.Event().wait()
        raise AssertionError("never answered")


@pytest.mark.parametrize(("pacing", "lost"), [(True, 0), (False, 1)])
async def test_the_send_timeout_counts_a_lost_answer_only_for_a_send_on_the_wire(
    store: SqliteStore, pacing: bool, lost: int
) -> None:
    """Past the outbox's own send timeout, a send that spent it waiting for its pacing never
    went out: retried, not counted against the repeats a lost answer has."""
    fake = _Stalled(pacing=pacing)
    [row] = await queue(store, message("summary"))
    outbox = await running(store, fake, send_timeout=0.2)
    try:
        await eventually(lambda: len(fake.attempts) == 1)

        async def counted() -> bool:
            [found] = await store.db.fetchall(
                "SELECT lost_answers, attempts FROM deliveries WHERE id = ?", (row.id,)
            )
            return bool(found["attempts"] >= 1)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not await counted():
            assert loop.time() < deadline
            await asyncio.sleep(0.02)
        [found] = await store.db.fetchall(
            "SELECT lost_answers FROM deliveries WHERE id = ?", (row.id,)
        )
        assert found["lost_answers"] == lost
    finally:
        await stop(outbox)
