"""What people wrote while the bot was down is read from their DMs at start, in order, once."""

from __future__ import annotations

import asyncio

import pytest

import bot.adapters.discord.receiving
from bot.i18n import translator
from bot.settings import Settings
from storage.models import ConversationKey
from tests.e2e.discord_harness import discord_settings, running_bot
from tests.fakes.discord_server import HISTORY_ROUTE, FakeDiscord, FakeInteraction, FakeUser
from tests.fakes.store import conversations

pytest_plugins = ["tests.e2e.discord_fixtures"]

english = translator("en")


async def to_the_name_step(server: FakeDiscord, user: FakeUser) -> FakeInteraction:
    """Signup started and English chosen: the bot waits for a name. The press is returned."""
    await server.reply_to(user, server.slash(user, "start"), label="English")
    pressed = asyncio.ensure_future(server.press(user, "English"))
    await server.reply_to(user, pressed, containing="What name")
    return pressed.result()


async def offline(server: FakeDiscord) -> None:
    await server.until(lambda: not server.connected, what="the gateway to close")


def asked(server: FakeDiscord, user: FakeUser, words: str) -> int:
    return sum(words in text for text in server.texts(server.dm_channel(user), user))


async def test_dms_written_while_the_bot_was_down_are_answered_at_start(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    anna, idle = server.add_user("anna"), server.add_user("idle")
    async with running_bot(dc_settings, server):
        pressed = await to_the_name_step(server, anna)
        await server.reply_to(idle, server.write(idle, "hello"), containing="/start")
    await offline(server)
    await server.write(anna, "Anna Nowak", online=False)
    await server.write(anna, "Germany", online=False)
    await server.write(idle, "anyone there?", online=False)  # no conversation: not read
    async with running_bot(dc_settings, server) as bot:
        await server.until(lambda: asked(server, anna, "time zone"), what="the time zone step")
        key = ConversationKey(platform="discord", chat=f"dm:{anna.id}", user=str(anna.id))
        conversation = await conversations(bot.app).get(key)
    assert conversation is not None
    assert (conversation.data["name"], conversation.data["country"]) == ("Anna Nowak", "DE")
    # Read once, from the last update stored (the press), as Discord pages: newest first.
    assert server.history_reads == [
        (server.dm_channel(anna), {"limit": "100", "after": str(pressed.id)})
    ]
    assert asked(server, anna, "country") == 1


async def test_a_dm_written_as_the_bot_starts_waits_for_the_history(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    anna = server.add_user("anna")
    async with running_bot(dc_settings, server):
        await to_the_name_step(server, anna)
    await offline(server)
    await server.write(anna, "Anna Nowak", online=False)
    server.slow(HISTORY_ROUTE, 0.5)  # the history comes in after she writes again
    async with running_bot(dc_settings, server):
        assert server.history_reads == []
        await server.write(anna, "Germany")  # live, and also in the history being read
        await server.until(lambda: asked(server, anna, "time zone"), what="the time zone step")
    # The name first, then the country; the DM both live and in the history counted once.
    assert asked(server, anna, "country") == 1
    assert asked(server, anna, "time zone") == 1
    assert not any("valid" in text for text in server.texts(server.dm_channel(anna), anna))


async def test_a_long_history_is_read_page_by_page(
    dc_settings: Settings, discord_server: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = discord_server
    anna = server.add_user("anna")
    monkeypatch.setattr(bot.adapters.discord.receiving, "HISTORY_PAGE", 2)
    async with running_bot(dc_settings, server):
        pressed = await to_the_name_step(server, anna)
    await offline(server)
    answers = ("Anna", "Germany", "Europe/Berlin")
    written = [await server.write(anna, text, online=False) for text in answers]
    async with running_bot(dc_settings, server):
        await server.until(lambda: asked(server, anna, "network"), what="the network step")
    # The bot's own question after the press and her first answer, then her other two: two
    # full pages, and one more to see that nothing follows.
    assert [query for _, query in server.history_reads] == [
        {"limit": "2", "after": str(pressed.id)},
        {"limit": "2", "after": written[0]["id"]},
        {"limit": "2", "after": written[2]["id"]},
    ]
    assert {channel for channel, _ in server.history_reads} == {server.dm_channel(anna)}


async def test_the_fake_refuses_history_requests_discord_would_refuse(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    import discord

    server = discord_server
    ada = server.add_user("ada")
    channel = server.dm_channel(ada)
    async with running_bot(dc_settings, server) as bot:
        client = bot.platform.client
        assert client is not None
        for limit, after in ((0, None), (101, None), (50, "not-a-snowflake")):
            with pytest.raises(discord.HTTPException) as refused:
                await client.http.logs_from(channel, limit, after=after)
            assert refused.value.code == 50035
        with pytest.raises(discord.HTTPException):
            await client.http.logs_from(channel, 10, after=1, before=2)
    assert len(server.errors) == 4
    server.errors.clear()


async def test_a_backlog_written_over_an_hour_is_not_taken_for_a_flood(
    settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    strict = discord_settings(settings, server, flood_limit=5, flood_window_seconds=10.0)
    anna = server.add_user("anna")
    async with running_bot(strict, server):
        await to_the_name_step(server, anna)
    await offline(server)
    answers = ("Anna Nowak", "Germany", "Europe/Berlin", "Instagram", "anna.fit", "12k")
    for text in answers:  # one every ten minutes while the bot was down
        server.advance(600)
        await server.write(anna, text, online=False)
    async with running_bot(strict, server):
        await server.until(
            lambda: asked(server, anna, "accounts so far"), what="every answer taken"
        )
    slow_down = english._(
        "You are sending messages faster than I can read them. Please slow down a little."
    )
    assert slow_down not in server.texts(server.dm_channel(anna), anna)
