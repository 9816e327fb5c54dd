"""The scheduler runs with the app, and housekeeping forgets only what is old."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.app import App
from jobs.maintenance import purge_expired_conversations, purge_processed_updates
from jobs.scheduler import JOB_DEFAULTS
from storage.database import utcnow
from storage.models import Conversation, ConversationKey
from tests.fakes.platform import FakePlatform


async def test_scheduler_starts_and_stops_with_the_app(app: App) -> None:
    stop = asyncio.Event()
    runner = asyncio.create_task(app.run([FakePlatform()], stop))
    await asyncio.sleep(0.05)
    assert app.scheduler.running
    jobs = {job.id: job for job in app.scheduler.get_jobs()}
    assert set(jobs) == {"purge_conversations", "purge_updates"}
    assert all(
        job.misfire_grace_time == JOB_DEFAULTS["misfire_grace_time"] for job in jobs.values()
    )
    assert all(job.coalesce for job in jobs.values())
    stop.set()
    await asyncio.wait_for(runner, 5)
    await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the next loop turn
    assert not app.scheduler.running


async def test_purge_expired_conversations(app: App) -> None:
    conversations = app.services.conversations
    old = Conversation(key=ConversationKey(platform="t", chat="1", user="1"), flow="f", step="s")
    fresh = Conversation(key=ConversationKey(platform="t", chat="2", user="2"), flow="f", step="s")
    recent = Conversation(
        key=ConversationKey(platform="t", chat="3", user="3"), flow="f", step="s"
    )
    await conversations.save(old, now=utcnow() - timedelta(days=40))
    await conversations.save(recent, now=utcnow() - timedelta(days=8))
    await conversations.save(fresh)
    assert await purge_expired_conversations(app.services) == 1
    assert await conversations.get(recent.key) is not None
    assert await conversations.get(old.key) is None
    assert await conversations.get(fresh.key) is not None


async def test_purge_processed_updates_keeps_recent_ids(app: App) -> None:
    updates = app.services.updates
    assert await updates.claim("t", "1")
    assert await purge_processed_updates(app.services) == 0
    assert not await updates.claim("t", "1")
    assert await updates.purge_before(utcnow() + timedelta(seconds=1)) == 1
    assert await updates.claim("t", "1")
