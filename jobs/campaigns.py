"""Campaign jobs: publish what was marked for publishing, settle the rows a pause, resume
or close owes, close what has ended."""

from __future__ import annotations

import logging

from bot.services import Services
from bot.services.publishing import close_ended, publish_pending, settle_pending
from storage.base import StorageUnavailable

log = logging.getLogger(__name__)


async def publish_campaigns(services: Services) -> int:
    try:
        return await publish_pending(services.store)
    except StorageUnavailable as error:
        log.warning("publishing: the store is busy, carrying on at the next run (%s)", error)
        return 0


async def settle_campaigns(services: Services) -> int:
    try:
        return await settle_pending(services.store)
    except StorageUnavailable as error:
        log.warning(
            "settling campaigns: the store is busy, carrying on at the next run (%s)", error
        )
        return 0


async def close_ended_campaigns(services: Services) -> int:
    try:
        closed = await close_ended(services.store)
    except StorageUnavailable as error:
        log.warning("closing campaigns: the store is busy (%s)", error)
        return 0
    if closed:
        log.info("closed %d campaigns that ended", closed)
    return closed
