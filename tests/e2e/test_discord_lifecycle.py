"""Starting, failing and stopping: the token stays secret and fatal errors surface."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from bot.adapters.discord_adapter import DiscordPlatform
from bot.core.messages import Incoming
from bot.settings import Settings
from handlers import build_router
from tests.e2e.discord_harness import discord_settings, running_bot
from tests.fakes.discord_server import FakeDiscord

pytest_plugins = ["tests.e2e.discord_fixtures"]


async def ignore(_: Incoming) -> None:
    return None


def platform_for(settings: Settings) -> DiscordPlatform:
    return DiscordPlatform(
        settings, list(build_router().commands.values()), guild_ready_timeout=0.05
    )


async def test_the_token_never_reaches_the_logs(
    dc_settings: Settings, discord_server: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    server = discord_server
    user = server.add_user("ada")
    with caplog.at_level(logging.DEBUG):
        async with running_bot(dc_settings, server) as bot:
            await server.reply_to(user, server.slash(user, "start"), label="English")
            await server.reply_to(user, server.press(user, "English"), containing="name")
            text = f"{bot.platform!r} {dc_settings!r} {bot.platform.__dict__!r}"
    assert len(caplog.records) > 50  # discord.py's debug logging was on
    assert server.token not in "\n".join(record.getMessage() for record in caplog.records)
    assert server.token not in text


async def test_a_wrong_token_fails_the_start(
    settings: Settings, discord_server: FakeDiscord
) -> None:
    wrong = discord_settings(settings, discord_server, discord_token=SecretStr("not-the-token"))
    from discord import LoginFailure  # after the adapter, which imports discord.py quietly

    platform = platform_for(wrong)
    with pytest.raises(LoginFailure):
        await platform.start(ignore)
    assert platform.client is None
    # The fake saw a request without its token; that was the point here.
    assert discord_server.errors == ["GET /users/@me without the bot token"]
    discord_server.errors.clear()


async def test_a_session_discord_ends_for_good_ends_wait_closed(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    from discord import ConnectionClosed

    platform = platform_for(dc_settings)
    await platform.start(ignore)
    try:
        await discord_server.until(
            lambda: platform.client is not None and platform.client.is_ready(), what="ready"
        )
        await discord_server.close_gateway(4004)  # authentication failed: the token was revoked
        with pytest.raises(ConnectionClosed):
            await platform.wait_closed()
    finally:
        await platform.stop()
