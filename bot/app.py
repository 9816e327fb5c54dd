"""The composition root: builds storage, services, the dispatcher, scheduler and platforms."""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import timedelta

from bot.core.delivery import Deliverer
from bot.core.dispatcher import Dispatcher
from bot.core.platform import Platform
from bot.core.services import Services
from bot.settings import Settings
from handlers import build_router
from jobs.scheduler import build_scheduler
from storage.conversations import ConversationRepository
from storage.database import Database
from storage.people import PeopleRepository
from storage.sealing import Sealer
from storage.updates import ProcessedUpdates

log = logging.getLogger(__name__)


class App:
    def __init__(self, settings: Settings, services: Services, dispatcher: Dispatcher) -> None:
        self.settings = settings
        self.services = services
        self.dispatcher = dispatcher
        self.scheduler = build_scheduler(services)

    @classmethod
    async def open(cls, settings: Settings, *, deliverer: Deliverer | None = None) -> App:
        db = await Database.open(settings.database)
        people = PeopleRepository(db)
        services = Services(
            settings=settings,
            db=db,
            people=people,
            conversations=ConversationRepository(db, timedelta(days=settings.signup_ttl_days)),
            updates=ProcessedUpdates(db),
            sealer=Sealer.from_settings(settings.secret_key, settings.key_file),
        )
        dispatcher = Dispatcher(build_router(), services, deliverer or Deliverer(people))
        return cls(settings, services, dispatcher)

    async def close(self) -> None:
        await self.services.db.close()

    async def run(self, platforms: list[Platform], stop: asyncio.Event | None = None) -> None:
        """Serve until ``stop`` is set or a platform's own run ends (the console at EOF)."""
        self.scheduler.start()
        started: list[Platform] = []
        try:
            for platform in platforms:
                await platform.start(functools.partial(self.dispatcher.feed, platform))
                started.append(platform)
                log.info("%s is up", platform.name)
            waiters: list[asyncio.Future[object]] = [
                asyncio.ensure_future(p.wait_closed()) for p in platforms
            ]
            if stop is not None:
                waiters.append(asyncio.ensure_future(stop.wait()))
            done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            for task in done:
                task.result()
        finally:
            for platform in reversed(started):
                await platform.stop()
            self.scheduler.shutdown(wait=False)
