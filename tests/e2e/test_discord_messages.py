"""How the core's Outgoing messages look on Discord: parts, embeds, edits, layouts, channels."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.discord_adapter import embed_for
from bot.core.messages import Button, ChatRef, Image, MultiSelect, Option, Outgoing
from bot.core.platform import BadRequest
from bot.settings import Settings
from tests.e2e.discord_harness import running_bot
from tests.fakes.discord_server import FakeDiscord, FakeUser, Json

pytest_plugins = ["tests.e2e.discord_fixtures"]


def to(user: FakeUser) -> ChatRef:
    return ChatRef(platform="discord", chat_id=f"dm:{user.id}")


def rows(message: Json) -> list[list[str]]:
    return [
        [c.get("label") or c["custom_id"] for c in row["components"]]
        for row in message["components"]
    ]


async def test_long_text_is_split_into_escaped_parts(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    reader = server.add_user("reader")
    text = "".join(f"Line {n}: **not bold**, `not code`, _not italic_.\n" for n in range(120))
    text += "x" * 4500  # one word longer than two messages
    async with running_bot(dc_settings, server) as bot:
        last = await bot.platform.send(
            Outgoing(chat=to(reader), text=text, buttons=((Button(label="OK", data="ok:1"),),))
        )
    parts = server.inbox(reader)
    assert len(parts) >= 5
    assert all(len(part["content"]) <= 2000 for part in parts)  # the fake also checks
    assert "".join(part["content"] for part in parts).replace("\\", "") == text
    assert parts[-1]["id"] == last  # the id of the part that carries the buttons
    assert [bool(part["components"]) for part in parts] == [False] * (len(parts) - 1) + [True]


async def test_images_go_in_embeds(
    dc_settings: Settings, discord_server: FakeDiscord, tmp_path: Path
) -> None:
    server = discord_server
    fan = server.add_user("fan")
    poster = tmp_path / "summer.png"
    poster.write_bytes(b"\x89PNG fake")
    offer = Outgoing(
        chat=to(fan),
        text="Summer sale: *20%* commission",
        image=Image(url="https://cdn.example.com/summer.png", caption="Until Friday"),
    )
    embed = embed_for(offer)
    assert embed is not None
    assert embed.description == "Summer sale: \\*20%\\* commission"
    assert embed_for(Outgoing(chat=to(fan), text="plain")) is None
    async with running_bot(dc_settings, server) as bot:
        await bot.platform.send(offer)
        await bot.platform.send(
            Outgoing(chat=to(fan), text="Your summary", image=Image(path=str(poster)))
        )
        missing = Image(path=str(tmp_path / "gone.png"))
        with pytest.raises(BadRequest):
            await bot.platform.send(Outgoing(chat=to(fan), text="Lost", image=missing))
    linked, uploaded = server.inbox(fan)
    assert linked["content"] == ""
    [card] = linked["embeds"]
    assert card["description"] == embed.description
    assert card["image"]["url"] == "https://cdn.example.com/summer.png"
    assert card["footer"]["text"] == "Until Friday"
    assert uploaded["attachments"][0]["filename"] == "summer.png"
    assert uploaded["embeds"][0]["image"]["url"] == "attachment://summer.png"


async def test_an_edit_outside_an_interaction_edits_the_message_in_place(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    fan = server.add_user("fan")
    async with running_bot(dc_settings, server) as bot:
        first = await bot.platform.send(
            Outgoing(chat=to(fan), text="Pick one", buttons=((Button(label="A", data="a:1"),),))
        )
        edited = await bot.platform.send(
            Outgoing(chat=to(fan), text="Picked A", edit_message_id=first)
        )
    assert edited == first
    [message] = server.inbox(fan)
    assert (message["content"], message["components"]) == ("Picked A", [])
    assert message["edited_timestamp"] is not None


async def test_buttons_are_reflowed_into_discords_rows(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    fan = server.add_user("fan")
    seven = tuple(Button(label=f"B{n}", data=f"b:{n}") for n in range(7))
    picker = MultiSelect(key="niche", options=(Option(value="tech", label="Tech"),))
    async with running_bot(dc_settings, server) as bot:
        await bot.platform.send(
            Outgoing(chat=to(fan), text="Choose", buttons=(seven,), multiselect=picker)
        )
        too_many = tuple((Button(label=f"B{n}", data=f"b:{n}"),) for n in range(26))
        with pytest.raises(BadRequest):
            await bot.platform.send(Outgoing(chat=to(fan), text="Too many", buttons=too_many))
        twice = Option(value="tech", label="Tech again")
        clash = MultiSelect(key="niche", options=(*picker.options, twice))
        with pytest.raises(BadRequest):  # Discord refuses repeated option values
            await bot.platform.send(Outgoing(chat=to(fan), text="Twice", multiselect=clash))
    [message] = server.inbox(fan)
    assert rows(message) == [["ks:niche"], ["B0", "B1", "B2", "B3", "B4"], ["B5", "B6"]]
    [[select]] = [row["components"] for row in message["components"][:1]]
    assert (select["min_values"], select["max_values"]) == (0, 1)


async def test_a_linked_server_channel_gets_broadcasts(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    viewer = server.add_user("viewer")
    channel = ChatRef(platform="discord", chat_id=f"channel:{server.guild_channel_id}")
    join = Button(label="Join", data="campaign:7")
    async with running_bot(dc_settings, server) as bot:
        await bot.platform.send(Outgoing(chat=channel, text="New campaign", buttons=((join,),)))
        [post] = server.visible(server.guild_channel_id)
        assert post["content"] == "New campaign"
        with pytest.raises(BadRequest):  # only an interaction can answer privately in a server
            await bot.platform.send(Outgoing(chat=channel, text="Just you", private_reply=True))
        pressed = await server.press(viewer, "Join", channel_id=server.guild_channel_id)
        await server.until(lambda: pressed.responses, what="the press to be acknowledged")
    assert pressed.responses == [{"type": 6}]  # a deferred update: nothing shown to the channel
    assert server.visible(server.guild_channel_id) == [post]
