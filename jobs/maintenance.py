"""Housekeeping: forget idle signups and the ids of long-processed updates."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.core.services import Services
from storage.database import utcnow

log = logging.getLogger(__name__)

# Platforms redeliver an update for at most a day; a week leaves room for outages.
UPDATE_ID_RETENTION = timedelta(days=7)
# An expired signup is kept this long after expiring, so a person who comes back is told it
# expired instead of meeting a bot that forgot them.
EXPIRED_NOTICE_WINDOW = timedelta(days=30)


async def purge_expired_conversations(services: Services) -> int:
    purged = await services.conversations.purge_expired(utcnow() - EXPIRED_NOTICE_WINDOW)
    if purged:
        log.info("purged %d expired conversations", purged)
    return purged


async def purge_processed_updates(services: Services) -> int:
    return await services.updates.purge_before(utcnow() - UPDATE_ID_RETENTION)
