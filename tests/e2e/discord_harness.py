"""Running the real Discord adapter, and the whole app, against the fake Discord.

discord.py has no base-URL option, so while a test runs its REST base and gateway URL class
attributes point at the fake; they are put back afterwards. Fixtures live in
``discord_fixtures`` (load them with ``pytest_plugins``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

import yarl
from pydantic import SecretStr

from bot.adapters.discord_adapter import DiscordPlatform
from bot.app import App
from bot.core.messages import Incoming
from bot.core.router import Command
from bot.settings import Settings
from handlers import build_router
from storage.clock import utcnow
from storage.models import AccountLink, Person, Profile, Screening, SealedPayout, SocialClaim
from tests.fakes.discord_server import FakeDiscord, FakeUser
from tests.fakes.store import people


@contextlib.asynccontextmanager
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    import discord.gateway
    import discord.http

    server = FakeDiscord()
    await server.start()
    route_base = discord.http.Route.BASE
    gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = server.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)
    try:
        yield server
    finally:
        discord.http.Route.BASE = route_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
        await server.close()


def discord_settings(settings: Settings, server: FakeDiscord, **overrides: object) -> Settings:
    """Fast but still finite limits, so pacing is exercised without slowing the suite."""
    values: dict[str, object] = {
        "discord_token": SecretStr(server.token),
        "discord_global_rate": 100.0,
        "discord_dm_rate": 5,
        "discord_dm_period": 0.5,
    }
    values.update(overrides)
    return settings.model_copy(update=values)


def default_limits(settings: Settings, server: FakeDiscord) -> Settings:
    """The limits a deployment gets unless it sets them (40/s overall, 5 per 5 s per DM)."""
    fields = Settings.model_fields
    return discord_settings(
        settings,
        server,
        **{
            name: fields[name].default
            for name in ("discord_global_rate", "discord_dm_rate", "discord_dm_period")
        },
    )


@contextlib.contextmanager
def no_collector_pauses() -> Iterator[None]:
    """The fake shares the bot's event loop, so a garbage collector pause between a request
    going out and the fake stamping its arrival looks like network jitter. Timing tests that
    count requests per window hold the collector off."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass
class RunningBot:
    app: App
    platform: DiscordPlatform


def ready(platform: DiscordPlatform, *, commands: bool = True) -> bool:
    """Connected, and (unless ``commands`` is False) done publishing the slash commands."""
    client, publishing = platform.client, platform.publishing
    if client is None or not client.is_ready():
        return False
    return not commands or (publishing is not None and publishing.done())


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings, server: FakeDiscord, *, wait_for_commands: bool = True
) -> AsyncIterator[RunningBot]:
    """The app serving Discord as ``kolbot run`` would, until the block ends; what people
    wrote to it while it was down is read from their DMs at start."""
    app = await App.open(settings)
    commands = list(app.dispatcher.router.commands.values())
    platform = DiscordPlatform(
        settings, commands, guild_ready_timeout=0.05, resume=app.resume_points
    )
    stop = asyncio.Event()
    run = asyncio.create_task(app.run([platform], stop))
    try:
        await server.until(
            lambda: run.done() or ready(platform, commands=wait_for_commands),
            what="the bot to connect",
        )
        if run.done():
            run.result()
        yield RunningBot(app, platform)
    finally:
        stop.set()
        await run
        await app.close()


async def member(app: App, user: FakeUser, *, name: str = "Anna", language: str = "en") -> Person:
    """Someone who signed up on Discord earlier, stored through the repository."""
    sealer = app.services.sealer
    email = f"{user.username}@example.com"
    profile = Profile(
        display_name=name,
        language=language,
        country="PL",
        timezone="Europe/Warsaw",
        socials=(SocialClaim(network="instagram", handle=user.username, followers=5000),),
        niches=("tech",),
        payout=SealedPayout(
            method="paypal",
            sealed=sealer.seal(email),
            masked="a***@example.com",
            fingerprint=sealer.fingerprint(f"paypal:{email}"),
        ),
        consent_version="2026-11-01",
        consent_at=utcnow(),
    )
    account = AccountLink(
        platform="discord", platform_user_id=str(user.id), dm_chat=f"discord:dm:{user.id}"
    )
    person: Person = await people(app).create_applicant(
        profile, account, lambda _profile, _evidence: Screening(status="applicant")
    )
    return person


class CallbackSink:
    """Hands every event to one function instead of the core; an update is settled once the
    function returned (``settled`` as the core is asked to offer it)."""

    def __init__(self, on_update: Callable[[Incoming], Awaitable[None]]) -> None:
        self._on_update = on_update
        self._settled: dict[str, asyncio.Future[None]] = {}

    def settled(self, source: str, update_id: str) -> asyncio.Future[None]:
        future = self._settled.get(update_id)
        if future is None:
            future = self._settled[update_id] = asyncio.get_running_loop().create_future()
            future.add_done_callback(lambda _: self._settled.pop(update_id, None))
        return future

    async def accept(self, source: str, updates: Sequence[Incoming]) -> None:
        for update in updates:
            try:
                await self._on_update(update)
            finally:
                future = self._settled.get(update.update_id or "")
                if future is not None and not future.done():
                    future.set_result(None)

    async def handle(self, source: str, update: Incoming) -> None:
        await self._on_update(update)

    async def send_due(self, platform: str) -> None:
        """Nothing is queued: the function is all there is."""


@contextlib.asynccontextmanager
async def bare_platform(
    settings: Settings,
    server: FakeDiscord,
    on_update: Callable[[Incoming], Awaitable[None]],
    commands: Sequence[Command] | None = None,
) -> AsyncIterator[DiscordPlatform]:
    """The adapter alone, handing every event to ``on_update`` instead of the core; with the
    app's commands unless given others."""
    if commands is None:
        commands = list(build_router().commands.values())
    platform = DiscordPlatform(settings, commands, guild_ready_timeout=0.05)
    await platform.start(CallbackSink(on_update))
    try:
        await server.until(lambda: ready(platform), what="the bot to connect")
        yield platform
    finally:
        await platform.stop()
