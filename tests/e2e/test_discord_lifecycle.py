"""Starting, failing and stopping: the token stays secret, fatal errors surface, a rate limit
on publishing commands does not, and stopping lets received events finish."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pydantic import SecretStr

from bot.adapters.discord_adapter import DiscordPlatform
from bot.core.messages import ChatRef, Incoming, Outgoing
from bot.core.platform import Transient
from bot.i18n import translator
from bot.settings import Settings
from handlers import build_router
from tests.e2e.discord_harness import CallbackSink, bare_platform, discord_settings, running_bot
from tests.fakes.discord_server import (
    FOLLOWUP_ROUTE,
    GLOBAL_COMMANDS_ROUTE,
    MESSAGE_CREATE_ROUTE,
    FakeDiscord,
)

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
        await platform.start(CallbackSink(ignore))
    assert platform.client is None
    # The fake saw a request without its token; that was the point here.
    assert discord_server.errors == ["GET /users/@me without the bot token"]
    discord_server.errors.clear()


async def test_a_session_discord_ends_for_good_ends_wait_closed(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    from discord import ConnectionClosed

    platform = platform_for(dc_settings)
    await platform.start(CallbackSink(ignore))
    try:
        await discord_server.until(
            lambda: platform.client is not None and platform.client.is_ready(), what="ready"
        )
        await discord_server.close_gateway(4004)  # authentication failed: the token was revoked
        with pytest.raises(ConnectionClosed):
            await platform.wait_closed()
    finally:
        await platform.stop()


async def test_stopping_lets_the_events_already_taken_finish(
    dc_settings: Settings, discord_server: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    server = discord_server
    users = [server.add_user(f"early{n}") for n in range(20)]
    server.slow(FOLLOWUP_ROUTE, 0.1)  # so that replies are still going out when the stop comes
    caplog.set_level(logging.INFO)
    async with running_bot(dc_settings, server):
        asked = [await server.slash(user, "start") for user in users]
        await server.until(lambda: any(i.followups for i in asked), what="the first reply")
    # The database is closed now: every handler finished before it was.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    english = translator("en")
    question = english._("Choose your language:")
    for interaction in asked:
        texts = server.texts(interaction.channel_id, interaction.user)
        if interaction.responses:  # taken before the stop: handled completely
            assert len(texts) == 2
            assert texts[-1] == question
        else:  # arrived as the gateway closed: not touched at all
            assert texts == []
            server.unanswered.add(interaction.id)
    assert any(interaction.responses for interaction in asked)


async def test_a_send_still_waiting_when_the_bot_stops_fails_as_transient(
    settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    slow = discord_settings(settings, server, discord_global_rate=2.0)
    channel = ChatRef(platform="discord", chat_id=f"channel:{server.guild_channel_id}")
    async with bare_platform(slow, server, ignore) as platform:
        sends = [
            asyncio.ensure_future(platform.send(Outgoing(chat=channel, text=f"news {n}")))
            for n in range(4)
        ]
        await server.until(lambda: len(server.times(MESSAGE_CREATE_ROUTE)) == 2, what="2 sent")
    results = await asyncio.gather(*sends, return_exceptions=True)
    assert [type(result) for result in results[2:]] == [Transient, Transient]
    assert len(server.times(MESSAGE_CREATE_ROUTE)) == 2


async def test_a_long_rate_limit_on_publishing_commands_does_not_stop_the_bot(
    dc_settings: Settings, discord_server: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    server = discord_server
    ada = server.add_user("ada")
    server.rate_limit(f"PUT {GLOBAL_COMMANDS_ROUTE}", retry_after=120.0)
    caplog.set_level(logging.WARNING)
    async with running_bot(dc_settings, server, wait_for_commands=False) as bot:
        await server.until(lambda: "retrying in 120s" in caplog.text, what="a retry planned")
        await server.reply_to(ada, server.write(ada, "hello"), containing="/start")
        publishing = bot.platform.publishing
        assert publishing is not None
        assert not publishing.done()  # still waiting out the rate limit
    assert None not in server.commands


async def test_the_bots_own_dms_coming_back_are_ignored(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    ada = server.add_user("ada")
    seen: list[Incoming] = []

    async def record(incoming: Incoming) -> None:
        seen.append(incoming)

    async with bare_platform(dc_settings, server, record) as platform:
        sent = await platform.send(
            Outgoing(chat=ChatRef(platform="discord", chat_id=f"dm:{ada.id}"), text="Hi there")
        )
        await server.write(ada, "ping")
        await server.until(lambda: seen, what="the typed DM")
    assert server.echoed == [sent]
    # Events are handled in arrival order, so the echo, had it counted, would come first.
    assert [(incoming.user.user_id, incoming.text) for incoming in seen] == [(str(ada.id), "ping")]
