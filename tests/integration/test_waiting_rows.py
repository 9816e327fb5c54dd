"""Outbox rows that wait for a moment (a person's quiet hours) on a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from storage.clock import utcnow
from storage.models import DeliveryOutcome, NewDelivery
from storage.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(tmp_path / "k.db", timedelta(days=7))
    yield opened
    await opened.close()


def row(key: str, chat: str = "fake:1", **fields: object) -> NewDelivery:
    return NewDelivery(dedupe_key=key, platform="fake", chat=chat, payload="{}", **fields)


async def test_a_row_waits_until_its_moment_and_does_not_hold_up_replies(
    store: SqliteStore,
) -> None:
    now = utcnow()
    morning = now + timedelta(hours=8)
    async with store.unit_of_work() as uow:
        [offer] = await uow.outbox.add([row("offer", priority=10, next_attempt_at=morning)])
        [reply] = await uow.outbox.add(
            [row("reply", priority=0)], lease=("me", now + timedelta(minutes=5))
        )
        # Leasing at once is for rows due now: one that must wait stays pending.
        [held] = await uow.outbox.add(
            [row("held", chat="fake:2", next_attempt_at=morning)],
            lease=("me", now + timedelta(minutes=5)),
        )
    assert offer.next_attempt_at == morning
    assert (offer.status, reply.status, held.status) == ("pending", "sending", "pending")
    async with store.unit_of_work() as uow:
        await uow.outbox.finish([DeliveryOutcome(id=reply.id, status="sent")], "me")
        before = await uow.outbox.claim("me", now + timedelta(minutes=5), now, 10, ["fake"])
        after = await uow.outbox.claim("me", morning + timedelta(minutes=5), morning, 10, ["fake"])
    assert before == []
    assert sorted(d.dedupe_key for d in after) == ["held", "offer"]
