"""Interactions: acknowledged at once, handled in arrival order, answered privately where they
were private, forgotten once handled, and never left unanswered."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

import bot.adapters.discord.interactions
from bot.adapters.discord_adapter import DiscordPlatform
from bot.core.messages import Button, ChatRef, Incoming, MultiSelect, Option, Outgoing
from bot.core.platform import BadRequest
from bot.i18n import translator
from bot.settings import Settings
from handlers import build_router
from tests.e2e.discord_harness import bare_platform, running_bot
from tests.fakes.discord_server import (
    CALLBACK_ROUTE,
    EPHEMERAL,
    FOLLOWUP_ROUTE,
    MESSAGE_CREATE_ROUTE,
    FakeDiscord,
    FakeUser,
)

pytest_plugins = ["tests.e2e.discord_fixtures"]


def dm(user: FakeUser) -> ChatRef:
    return ChatRef(platform="discord", chat_id=f"dm:{user.id}")


class Recorder:
    """An on_update that keeps what it was given, and may answer through the platform."""

    def __init__(self) -> None:
        self.seen: list[Incoming] = []
        self.platform: DiscordPlatform | None = None
        self.replies: list[Outgoing] = []

    async def __call__(self, incoming: Incoming) -> None:
        self.seen.append(incoming)
        for reply in self.replies:
            assert self.platform is not None
            update = {"chat": incoming.chat, "reply_token": incoming.reply_token}
            if reply.edit_message_id == "pressed":
                update["edit_message_id"] = incoming.message_id
            await self.platform.send(reply.model_copy(update=update))


async def test_a_press_and_a_quick_dm_reach_the_core_in_order(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    ada = server.add_user("ada")
    record = Recorder()
    async with bare_platform(dc_settings, server, record) as platform:
        pick = Button(label="A", data="pick:a")
        await platform.send(Outgoing(chat=dm(ada), text="Pick one", buttons=((pick,),)))
        server.slow(CALLBACK_ROUTE, 0.3, times=1)  # Discord takes its time to ack the press
        pressed = await server.press(ada, "A")
        await server.write(ada, "typed right after")
        await server.until(lambda: len(record.seen) == 2, what="both events")
    assert [incoming.kind for incoming in record.seen] == ["button", "text"]
    assert pressed.responses == [{"type": 6}]


async def test_every_answer_to_a_server_command_stays_ephemeral(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    asker, bystander = server.add_user("asker"), server.add_user("bystander")
    channel = server.guild_channel_id
    record = Recorder()
    record.replies = [Outgoing(chat=dm(asker), text=text) for text in ("Commands:", "More")]
    async with bare_platform(dc_settings, server, record) as platform:
        record.platform = platform
        asked = await server.slash(asker, "help", channel_id=channel)
        await server.until(lambda: len(asked.followups) == 2, what="both answers")
    assert server.texts(channel, asker) == ["Commands:", "More"]
    assert server.visible(channel) == server.visible(channel, bystander) == []


async def test_a_private_answer_to_a_press_on_a_public_post_stays_private(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    viewer, bystander = server.add_user("viewer"), server.add_user("bystander")
    channel = ChatRef(platform="discord", chat_id=f"channel:{server.guild_channel_id}")
    record = Recorder()
    record.replies = [
        # An edit of the pressed message, but private: it must not change the public post.
        Outgoing(chat=channel, text="You joined", edit_message_id="pressed", private_reply=True),
        Outgoing(chat=channel, text="Details follow", private_reply=True),
    ]
    async with bare_platform(dc_settings, server, record) as platform:
        join = Button(label="Join", data="campaign:7")
        await platform.send(Outgoing(chat=channel, text="New campaign", buttons=((join,),)))
        record.platform = platform
        pressed = await server.press(viewer, "Join", channel_id=server.guild_channel_id)
        await server.until(lambda: len(pressed.followups) == 2, what="the private answers")
    post, *private = server.visible(server.guild_channel_id, viewer)
    assert post["content"] == "New campaign"
    assert post["edited_timestamp"] is None
    assert [(m["content"], bool(m["flags"] & EPHEMERAL)) for m in private] == [
        ("You joined", True),
        ("Details follow", True),
    ]
    assert server.visible(server.guild_channel_id, bystander) == [post]


async def test_a_select_still_works_after_a_restart(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    ada = server.add_user("ada")
    topics = MultiSelect(
        key="niche",
        options=(Option(value="tech", label="Tech"), Option(value="travel", label="Travel")),
    )
    async with bare_platform(dc_settings, server, Recorder()) as platform:
        await platform.send(Outgoing(chat=dm(ada), text="Your topics?", multiselect=topics))
    record = Recorder()
    async with bare_platform(dc_settings, server, record):  # a new client, nothing in memory
        await server.choose(ada, ["Tech", "Travel"])
        await server.until(lambda: record.seen, what="the submission")
    [chosen] = record.seen
    assert (chosen.kind, chosen.button_data) == ("button", "niche=tech,travel")


async def test_a_reply_token_is_forgotten_once_its_event_was_handled(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    ada = server.add_user("ada")
    record = Recorder()
    async with bare_platform(dc_settings, server, record) as platform:
        asked = await server.slash(ada, "help")
        await server.until(lambda: record.seen and not server.messages[asked.channel_id])
        late = Outgoing(chat=dm(ada), text="Later", reply_token=record.seen[0].reply_token)
        await platform.send(late)
    assert asked.followups == []  # not a followup: an ordinary message in the DM
    assert server.texts(asked.channel_id, ada) == ["Later"]
    assert len(server.times(MESSAGE_CREATE_ROUTE)) == 1


async def test_a_failed_first_answer_does_not_leave_the_placeholder(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    ada = server.add_user("ada")
    refused: list[BadRequest] = []

    async def answer(incoming: Incoming) -> None:
        server.fail(FOLLOWUP_ROUTE, 400, code=50035)
        try:
            await platform.send(
                Outgoing(chat=incoming.chat, text="Hi", reply_token=incoming.reply_token)
            )
        except BadRequest as error:
            refused.append(error)

    async with bare_platform(dc_settings, server, answer) as platform:
        asked = await server.slash(ada, "help")
        await server.until(
            lambda: refused and not server.messages[asked.channel_id],
            what="the thinking placeholder to go",
        )
    assert asked.responses == [{"type": 5}]


async def test_stale_commands_and_components_are_still_answered(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    ada = server.add_user("ada", locale="fr")
    async with running_bot(dc_settings, server):
        # A command an older version published, still in Discord's menu.
        stale = {**server.commands[None][0], "id": "1", "name": "oldie"}
        server.commands[None].append(stale)
        await server.reply_to(ada, server.slash(ada, "oldie"), containing="/oldie")
        # A button an older version sent, whose custom_id nothing makes any more.
        old = {"type": 2, "style": 1, "label": "Old", "custom_id": "legacy:42"}
        server.plant(server.dm_channel(ada), "An old offer", [{"type": 1, "components": [old]}])
        pressed = await server.press(ada, "Old")
        await server.until(lambda: pressed.responses, what="the answer")
    [response] = pressed.responses
    assert response["type"] == 4
    assert response["data"]["flags"] & EPHEMERAL
    assert response["data"]["content"] == translator("fr")._("This button has expired.")


async def test_an_expired_interaction_token_is_not_used(
    dc_settings: Settings, discord_server: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = discord_server
    ada = server.add_user("ada")
    monkeypatch.setattr(bot.adapters.discord.interactions, "INTERACTION_TTL", 0.0)

    async def answer_late(incoming: Incoming) -> None:
        # The core may get the command before Discord has the acknowledgement: let it land.
        acknowledged = server.interactions[int(incoming.update_id or 0)]
        await server.until(lambda: acknowledged.responses, what="the acknowledgement")
        server.clock = lambda: time.monotonic() + 15 * 60 + 1  # expired at Discord, too
        await platform.send(
            Outgoing(chat=incoming.chat, text="Late", reply_token=incoming.reply_token)
        )

    async with bare_platform(dc_settings, server, answer_late) as platform:
        asked = await server.slash(ada, "help")
        await server.until(lambda: "Late" in server.texts(asked.channel_id, ada), what="it")
    assert asked.followups == []  # an ordinary message instead


async def test_the_core_names_the_commands_that_go_on_in_the_dm(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    """Sent in a server, a command the core marks ``opens_private`` is handed over as sent in
    the DM, then as sent in the server; any other only as sent in the server."""
    server = discord_server
    ada = server.add_user("ada")
    channel = ChatRef(platform="discord", chat_id=f"channel:{server.guild_channel_id}")
    commands = [
        replace(command, opens_private=command.name == "help")
        for command in build_router().commands.values()
    ]
    record = Recorder()
    async with bare_platform(dc_settings, server, record, commands):
        await server.slash(ada, "help", channel_id=server.guild_channel_id)
        await server.until(lambda: len(record.seen) == 2, what="/help in the DM and the server")
        await server.slash(ada, "start", channel_id=server.guild_channel_id)
        await server.until(lambda: len(record.seen) == 3, what="/start in the server")
    assert [(seen.command, seen.chat, seen.is_private) for seen in record.seen] == [
        ("help", dm(ada), True),
        ("help", channel, False),
        ("start", channel, False),
    ]
    assert record.seen[1].private_chat_url is not None
