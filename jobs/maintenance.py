"""Housekeeping in small batches, never one long write: idle signups, handled updates, sent
messages past their retention."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.services import Services
from storage.base import UnitOfWork
from storage.clock import utcnow

log = logging.getLogger(__name__)

# Platforms redeliver an update for at most a day; a week leaves room for outages.
UPDATE_RETENTION = timedelta(days=7)
# An expired signup is kept this long after expiring, so a person who comes back is told it
# expired instead of meeting a bot that forgot them.
EXPIRED_NOTICE_WINDOW = timedelta(days=30)
BATCH = 1000


async def _in_batches(services: Services, purge: Callable[[UnitOfWork], Awaitable[int]]) -> int:
    """Repeat one short transaction until a batch comes back short."""
    total = 0
    while True:
        async with services.store.unit_of_work() as uow:
            purged = await purge(uow)
        total += purged
        if purged < BATCH:
            return total


async def purge_expired_conversations(services: Services) -> int:
    before = utcnow() - EXPIRED_NOTICE_WINDOW
    purged = await _in_batches(
        services, lambda uow: uow.conversations.purge_expired(before, BATCH)
    )
    if purged:
        log.info("purged %d expired conversations", purged)
    return purged


async def purge_handled_updates(services: Services) -> int:
    before = utcnow() - UPDATE_RETENTION
    return await _in_batches(services, lambda uow: uow.inbox.purge_handled(before, BATCH))


async def purge_sent_messages(services: Services) -> int:
    before = utcnow() - timedelta(days=services.settings.outbox_retention_days)
    purged = await _in_batches(services, lambda uow: uow.outbox.purge_done(before, BATCH))
    if purged:
        log.info("purged %d delivered messages past their retention", purged)
    return purged
