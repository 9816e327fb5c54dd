"""The scheduler runs with the app, and housekeeping forgets only what is old, in batches."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.app import App
from jobs import maintenance
from jobs.maintenance import (
    purge_expired_conversations,
    purge_handled_updates,
    purge_sent_messages,
)
from jobs.scheduler import JOB_DEFAULTS
from storage.clock import utcnow
from storage.models import (
    Conversation,
    ConversationKey,
    DeliveryOutcome,
    NewDelivery,
    NewInboxItem,
)
from tests.fakes.platform import FakePlatform
from tests.fakes.store import conversations, inbox, outbox


async def test_scheduler_starts_and_stops_with_the_app(app: App) -> None:
    stop = asyncio.Event()
    runner = asyncio.create_task(app.run([FakePlatform()], stop))
    await asyncio.sleep(0.05)
    assert app.scheduler.running
    jobs = {job.id: job for job in app.scheduler.get_jobs()}
    assert set(jobs) == {
        "purge_conversations",
        "purge_updates",
        "purge_deliveries",
        "publish",
        "settle",
        "close_campaigns",
        "reminders",
        "digests",
    }
    assert all(
        job.misfire_grace_time == JOB_DEFAULTS["misfire_grace_time"] for job in jobs.values()
    )
    assert all(job.coalesce for job in jobs.values())
    stop.set()
    await asyncio.wait_for(runner, 5)
    await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the next loop turn
    assert not app.scheduler.running


async def test_purge_expired_conversations(app: App) -> None:
    store = conversations(app)
    old = Conversation(key=ConversationKey(platform="t", chat="1", user="1"), flow="f", step="s")
    fresh = Conversation(key=ConversationKey(platform="t", chat="2", user="2"), flow="f", step="s")
    recent = Conversation(
        key=ConversationKey(platform="t", chat="3", user="3"), flow="f", step="s"
    )
    await store.save(old, now=utcnow() - timedelta(days=40))
    await store.save(recent, now=utcnow() - timedelta(days=8))
    await store.save(fresh)
    assert await purge_expired_conversations(app.services) == 1
    assert await store.get(recent.key) is not None
    assert await store.get(old.key) is None
    assert await store.get(fresh.key) is not None


async def test_handled_updates_are_purged_in_batches_after_a_week(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maintenance, "BATCH", 3)
    week_ago = utcnow() - timedelta(days=8)
    items = [
        NewInboxItem(
            source="t", update_id=str(n), sender="t:1", payload="{}", received_at=week_ago
        )
        for n in range(8)
    ]
    stored = await inbox(app).add_many(items)
    for item in stored[:7]:
        await inbox(app).mark_handled(item.id, week_ago)
    assert await purge_handled_updates(app.services) == 7
    # The one never handled stays, however old.
    assert await inbox(app).counts() == {"pending": 1}


async def test_sent_messages_are_purged_after_their_retention(app: App) -> None:
    rows = [
        NewDelivery(dedupe_key=f"k{n}", platform="fake", chat="fake:1", payload="{}")
        for n in range(3)
    ]
    added = await outbox(app).add(rows, lease=("me", utcnow() + timedelta(minutes=1)))
    await outbox(app).finish(
        [DeliveryOutcome(id=row.id, status="sent", message_id="1") for row in added[:2]], "me"
    )
    assert await purge_sent_messages(app.services) == 0  # sent just now: kept a week
    await app.store.db.fetchall("SELECT 1")  # the reader sees the commit
    async with app.store.unit_of_work() as uow:
        assert await uow.outbox.purge_done(utcnow() + timedelta(seconds=1), 10) == 2
    assert await outbox(app).counts() == [("fake", "sending", 1)]
