"""The composition root: builds storage, services, inbox, outbox, web server, scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from bot.core.dispatcher import Dispatcher
from bot.core.inbox import Inbox
from bot.core.outbox import SEND_TIMEOUT, Outbox
from bot.core.platform import Platform
from bot.services import Services
from bot.services.offer_cards import (
    post_renderer,
    record_offer_message,
    record_post_message,
    render_offer,
)
from bot.services.publishing import OFFER_REF, POST_REF
from bot.services.sealing import key_source, unlock
from bot.settings import Settings
from bot.web import WebServer
from handlers import build_router
from jobs.scheduler import build_scheduler
from storage.base import Store
from storage.sqlite import SqliteStore

log = logging.getLogger(__name__)


def serves_web(platforms: Sequence[Platform]) -> bool:
    """The web server runs beside every platform but the console (unless its port is 0)."""
    return any(p.name != "console" for p in platforms)


class StoreResumePoints:
    """Where the DMs of open conversations left off, read from the store: what the Discord
    adapter backfills from at start (the gateway never replays what came while down)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def open_chats(self, platform: str) -> Sequence[str]:
        async with self._store.reading() as uow:
            return await uow.conversations.open_chats(platform)

    async def last_update_id(self, source: str, sender: str) -> str | None:
        async with self._store.reading() as uow:
            return await uow.inbox.last_update_id(source, sender)


class App:
    def __init__(self, settings: Settings, services: Services, store: SqliteStore) -> None:
        self.settings = settings
        self.services = services
        self.store = store
        self.dispatcher = Dispatcher(build_router(), services)
        self.outbox = Outbox(
            store,
            {},
            concurrency=settings.outbox_concurrency,
            give_up_after=timedelta(seconds=settings.delivery_give_up_seconds),
            unconfirmed_repeats=settings.delivery_unconfirmed_repeats,
            # The adapter's read timeout, and its pacing, come first.
            send_timeout=max(SEND_TIMEOUT, 2 * settings.delivery_read_timeout_seconds),
        )
        self.platforms: dict[str, Platform] = {}
        self.outbox.add_renderer(OFFER_REF, render_offer, on_sent=record_offer_message)
        self.outbox.add_renderer(
            POST_REF, post_renderer(self.private_link), on_sent=record_post_message
        )
        self.inbox = Inbox(
            store,
            self.dispatcher,
            self.outbox,
            workers=settings.inbox_workers,
            flood_limit=settings.flood_limit,
            flood_window=settings.flood_window_seconds,
            max_attempts=settings.inbox_max_attempts,
        )
        self.scheduler = build_scheduler(services)
        self.web: WebServer | None = None
        self.resume_points = StoreResumePoints(store)

    @classmethod
    async def open(cls, settings: Settings) -> App:
        """Open the database and its key; whatever fails closes what was opened."""
        store = await SqliteStore.open(
            settings.database,
            timedelta(days=settings.signup_ttl_days),
            durability=settings.database_durability,
        )
        try:
            async with store.unit_of_work() as uow:
                sealer = await unlock(uow, key_source(settings))
        except BaseException:
            await store.close()
            raise
        return cls(settings, Services(settings=settings, store=store, sealer=sealer), store)

    async def close(self) -> None:
        await self.store.close()

    def private_link(self, platform: str, payload: str) -> str | None:
        """A link that opens the bot's private chat on ``platform`` with ``/start payload``,
        where the platform has such links (an optional capability of its adapter)."""
        link: Callable[[str], str | None] | None = getattr(
            self.platforms.get(platform), "private_start_link", None
        )
        return link(payload) if link is not None else None

    @property
    def idle(self) -> bool:
        """Nothing received is left unhandled, and nothing handled is left unsent."""
        return self.inbox.pending == 0 and self.outbox.in_flight == 0

    async def run(
        self,
        platforms: list[Platform],
        stop: asyncio.Event | None = None,
        *,
        web: bool | None = None,
    ) -> None:
        """Serve until ``stop`` is set or a platform's own run ends (the console at EOF).

        The web server runs when asked, or by default whenever a platform other than the
        console does."""
        for platform in platforms:
            self.platforms[platform.name] = platform
            self.services.platforms.add(platform)
            self.outbox.expect(platform.name)
            own: tuple[tuple[str, str], ...] = getattr(platform, "own_commands", ())
            self.dispatcher.router.platform_commands[platform.name] = own
        if web is None:
            web = serves_web(platforms)
        if web and self.settings.web_port:
            self.web = WebServer(self.settings.web_listen, self.settings.web_port)
            self.web.add_check(lambda: self.inbox.accepting)
            for platform in platforms:
                mount: Callable[[WebServer], None] | None = getattr(platform, "mount", None)
                if mount is not None:
                    mount(self.web)
        started: list[Platform] = []
        try:
            await self.outbox.start()
            await self.inbox.start()
            if self.web is not None:
                await self.web.start()
            for platform in platforms:
                await platform.start(self.inbox)
                self.outbox.register(platform)
                started.append(platform)
                log.info("%s is up", platform.name)
            self.scheduler.start()
            await self._serve(platforms, stop)
        finally:
            await self._shutdown(started)

    async def _serve(self, platforms: list[Platform], stop: asyncio.Event | None) -> None:
        waiters: list[asyncio.Future[object]] = [
            asyncio.ensure_future(p.wait_closed()) for p in platforms
        ]
        if stop is not None:
            waiters.append(asyncio.ensure_future(stop.wait()))
        try:
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waiters:
                task.cancel()
        for task in done:
            if not task.cancelled():
                task.result()

    async def _shutdown(self, started: list[Platform]) -> None:
        """Stop taking updates, finish what is in flight, and be gone within the timeout:
        what is left stays stored and goes out at the next start."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.shutdown_timeout_seconds
        self.shutdown_deadline = deadline
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for platform in started:
            stop_receiving: Callable[[], Awaitable[None]] | None = getattr(
                platform, "stop_receiving", None
            )
            if stop_receiving is not None:
                try:
                    async with asyncio.timeout(max(0.1, deadline - loop.time())):
                        await stop_receiving()
                except Exception:
                    log.exception("%s did not stop receiving cleanly", platform.name)
        # Handlers get a fifth of the time; sends most of the rest; closing the last bit.
        await self.inbox.stop(loop.time() + (deadline - loop.time()) * 0.2)
        await self.outbox.stop(deadline - min(1.0, self.settings.shutdown_timeout_seconds / 5))
        for platform in reversed(started):
            remaining = max(0.1, deadline - loop.time())
            try:
                async with asyncio.timeout(remaining):
                    await platform.stop()
            except TimeoutError:
                log.warning("%s did not stop in time", platform.name)
            except Exception:
                log.exception("stopping %s failed", platform.name)
        if self.web is not None:
            with contextlib.suppress(Exception):
                await self.web.stop()
