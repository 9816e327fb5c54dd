"""Refusals through the outbox: a closed DM stays closed across restarts until its person
writes again, and a permission missing in a server channel is not a closed DM."""

from __future__ import annotations

import pytest

from bot.core.messages import ChatRef, Outgoing
from bot.core.platform import BadRequest, Unreachable
from bot.settings import Settings
from tests.e2e.discord_harness import member, running_bot
from tests.fakes.discord_server import DM_OPEN_ROUTE, MESSAGE_CREATE_ROUTE, FakeDiscord, FakeUser
from tests.fakes.store import delivery_statuses, drained, people, send_later

pytest_plugins = ["tests.e2e.discord_fixtures"]


def dm(user: FakeUser, text: str = "A new campaign matches your profile.") -> Outgoing:
    return Outgoing(chat=ChatRef(platform="discord", chat_id=f"dm:{user.id}"), text=text)


def to_user(server: FakeDiscord, user: FakeUser, since: int = 0) -> list[str]:
    """The requests that opened, or posted in, ``user``'s DM from request number ``since``."""
    channel = str(server.dm_channel(user))
    return [
        r.route
        for r in server.requests[since:]
        if r.route == DM_OPEN_ROUTE
        or (r.route == MESSAGE_CREATE_ROUTE and r.params.get("channel_id") == channel)
    ]


async def test_a_closed_dm_is_not_tried_again_after_a_restart(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    zoe = server.add_user("zoe")
    server.block_dms(zoe)
    async with running_bot(dc_settings, server) as bot:
        await member(bot.app, zoe)
        refused = await send_later(bot.app, [dm(zoe)])
        await drained(bot.app)
        assert await delivery_statuses(bot.app, refused) == ["blocked"]
        account = await people(bot.app).account("discord", str(zoe.id))
        assert account is not None
        assert not account.reachable
    assert to_user(server, zoe) == [DM_OPEN_ROUTE, MESSAGE_CREATE_ROUTE]  # one 403, once
    since = len(server.requests)

    async with running_bot(dc_settings, server) as bot:  # a new process, the same database
        later = await send_later(bot.app, [dm(zoe, "Your daily summary")])
        await drained(bot.app)
        assert await delivery_statuses(bot.app, later) == ["blocked"]
        assert to_user(server, zoe, since) == []  # not even the DM opened again

        # Once she writes again, her DM is worth trying: it works now.
        server.unblock_dms(zoe)
        await server.reply_to(zoe, server.write(zoe, "hello again"), containing="/help")
        account = await people(bot.app).account("discord", str(zoe.id))
        assert account is not None
        assert account.reachable
        again = await send_later(bot.app, [dm(zoe, "Welcome back")])
        await drained(bot.app)
        assert await delivery_statuses(bot.app, again) == ["sent"]
    assert server.texts(server.dm_channel(zoe), zoe)[-1] == "Welcome back"


async def test_a_closed_dm_and_a_missing_permission_are_told_apart(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    kim = server.add_user("kim")
    channel = server.guild_channel_id
    async with running_bot(dc_settings, server) as bot:
        server.block_dms(kim)
        with pytest.raises(Unreachable, match="50007"):
            await bot.platform.send(dm(kim))
        # A permission the bot lacks in a server channel: nobody closed anything.
        server.fail(MESSAGE_CREATE_ROUTE, 403, code=50013, channel_id=channel)
        news = Outgoing(chat=ChatRef(platform="discord", chat_id=f"channel:{channel}"), text="x")
        with pytest.raises(BadRequest, match="50013"):
            await bot.platform.send(news)
        # Through the outbox: failed, not blocked, and the channel stays open to later posts.
        server.fail(MESSAGE_CREATE_ROUTE, 403, code=50013, channel_id=channel)
        failed = await send_later(bot.app, [news])
        await drained(bot.app)
        assert await delivery_statuses(bot.app, failed) == ["failed"]
        posted = await send_later(bot.app, [news.model_copy(update={"text": "y"})])
        await drained(bot.app)
        assert await delivery_statuses(bot.app, posted) == ["sent"]
    assert server.texts(channel) == ["y"]
