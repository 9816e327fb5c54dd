"""On Discord too, a message whose answer was lost may have been posted: it is repeated a
bounded number of times, then left for an operator; discord.py does not repeat it by itself."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import App
from bot.core.messages import ChatRef, Incoming, Outgoing
from bot.core.platform import Transient
from bot.settings import Settings
from tests.e2e.discord_harness import RunningBot, bare_platform, running_bot
from tests.fakes.discord_server import (
    FOLLOWUP_ROUTE,
    MESSAGE_CREATE_ROUTE,
    FakeDiscord,
    FakeUser,
)
from tests.fakes.store import delivery_statuses, send_later

pytest_plugins = ["tests.e2e.discord_fixtures"]

READ_TIMEOUT = 0.3


def dm(user: FakeUser, text: str) -> Outgoing:
    return Outgoing(chat=ChatRef(platform="discord", chat_id=f"dm:{user.id}"), text=text)


def impatient(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"delivery_read_timeout_seconds": READ_TIMEOUT, "delivery_unconfirmed_repeats": 1}
    )


async def opened(bot: RunningBot, server: FakeDiscord, user: FakeUser) -> int:
    await bot.platform.send(dm(user, "hi"))
    return server.dm_channel(user)


def posts(server: FakeDiscord, channel: int) -> int:
    return len(server.times(MESSAGE_CREATE_ROUTE, channel_id=channel))


async def eventually_status(app: App, row: int, status: str, within: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (await delivery_statuses(app, [row])) != [status]:
        if loop.time() > deadline:
            raise AssertionError(f"delivery {row} is not {status} after {within}s")
        await asyncio.sleep(0.02)


async def test_a_failure_says_whether_the_message_may_have_been_posted(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    kim = server.add_user("kim")
    async with running_bot(impatient(dc_settings), server) as bot:
        channel = await opened(bot, server, kim)
        # A 503: Discord did not take it.
        server.fail(MESSAGE_CREATE_ROUTE, 503, channel_id=channel)
        with pytest.raises(Transient) as busy:
            await bot.platform.send(dm(kim, "one"))
        assert not busy.value.may_have_arrived
        # A 500 after the message was posted: said so, and not posted again by discord.py,
        # which would try a 500 five times.
        before = posts(server, channel)
        server.fail(MESSAGE_CREATE_ROUTE, 500, channel_id=channel, done=True)
        with pytest.raises(Transient) as failed:
            await bot.platform.send(dm(kim, "two"))
        assert failed.value.may_have_arrived
        assert posts(server, channel) == before + 1
        # An answer later than the read timeout.
        server.slow(MESSAGE_CREATE_ROUTE, READ_TIMEOUT + 0.5, times=1)
        with pytest.raises(Transient) as late:
            await bot.platform.send(dm(kim, "three"))
        assert late.value.may_have_arrived
        await server.until(lambda: server.texts(channel, kim)[-1:] == ["three"])
        assert server.texts(channel, kim) == ["hi", "two", "three"]


async def test_a_post_answered_too_late_goes_twice_then_waits_for_an_operator(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    lea = server.add_user("lea")
    async with running_bot(impatient(dc_settings), server) as bot:
        channel = await opened(bot, server, lea)
        server.slow(MESSAGE_CREATE_ROUTE, READ_TIMEOUT + 0.7)
        [late] = await send_later(bot.app, [dm(lea, "Your summary")])
        await eventually_status(bot.app, late, "unconfirmed")
        await server.until(lambda: len(server.texts(channel, lea)) == 3)
        assert server.texts(channel, lea) == ["hi", "Your summary", "Your summary"]

        server.slowness.clear()
        server.fail(MESSAGE_CREATE_ROUTE, 500, channel_id=channel, done=True, times=20)
        [failing] = await send_later(bot.app, [dm(lea, "Offer")])
        await eventually_status(bot.app, failing, "unconfirmed")
        assert server.texts(channel, lea).count("Offer") == 2


async def test_an_answer_to_an_interaction_is_not_posted_again_by_discord_py(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    """A followup that Discord posted and then answered 500: discord.py's webhook client
    would post it up to five times; the delivery policy hears that it may have arrived."""
    server = discord_server
    ada = server.add_user("ada")
    lost: list[Transient] = []

    async def answer(incoming: Incoming) -> None:
        server.fail(FOLLOWUP_ROUTE, 500, done=True, times=5)
        try:
            await platform.send(
                Outgoing(chat=incoming.chat, text="Hi", reply_token=incoming.reply_token)
            )
        except Transient as error:
            lost.append(error)

    async with bare_platform(dc_settings, server, answer) as platform:
        asked = await server.slash(ada, "help")
        await server.until(lambda: bool(lost), what="the followup to fail")
    assert lost[0].may_have_arrived
    assert [followup.get("content") for followup in asked.followups] == ["Hi"]
