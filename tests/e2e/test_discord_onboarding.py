"""Signing up on Discord end to end: slash commands, buttons, the select menu, typed DMs."""

from __future__ import annotations

from bot.adapters.discord.render import escape
from bot.adapters.discord_adapter import DiscordPlatform
from bot.core.messages import Incoming
from bot.i18n import translator
from bot.settings import Settings
from handlers import build_router
from handlers.private_start import DMS_CLOSED
from tests.e2e.discord_harness import CallbackSink, member, ready, running_bot
from tests.fakes.discord_server import (
    CALLBACK_ROUTE,
    DM_OPEN_ROUTE,
    EPHEMERAL,
    FakeDiscord,
    labels,
)
from tests.fakes.store import people

pytest_plugins = ["tests.e2e.discord_fixtures"]


async def test_complete_signup_in_a_dm(dc_settings: Settings, discord_server: FakeDiscord) -> None:
    server = discord_server
    anna = server.add_user("anna", global_name="Anna Nowak", locale="pl")
    async with running_bot(dc_settings, server) as bot:
        ask = await server.reply_to(anna, server.slash(anna, "start"), label="English")
        assert ask["content"] == translator("pl")._("Choose your language:")
        assert labels(ask)[0] == "Polski"  # the client's locale comes first
        await server.reply_to(anna, server.press(anna, "English"), containing="What name")
        await server.reply_to(anna, server.write(anna, "Anna Nowak"), containing="country")
        await server.reply_to(anna, server.write(anna, "Poland"), containing="network")
        await server.reply_to(anna, server.press(anna, "Instagram"), containing="handle")
        await server.reply_to(anna, server.write(anna, "anna.fit"), containing="followers")
        await server.reply_to(anna, server.write(anna, "12k"), containing="accounts so far")
        picker = await server.reply_to(anna, server.press(anna, "Continue"), containing="topics")
        edited = await server.reply_to(
            anna, server.choose(anna, ["Fashion", "Travel"]), containing="topics"
        )
        assert edited["id"] == picker["id"]  # the select's message is updated in place
        [select] = [c for row in edited["components"] for c in row["components"] if c["type"] == 3]
        assert {o["value"] for o in select["options"] if o.get("default")} == {"fashion", "travel"}
        await server.reply_to(anna, server.press(anna, "Done"), containing="paid")
        await server.reply_to(anna, server.press(anna, "PayPal"), containing="email")
        await server.reply_to(anna, server.write(anna, "anna@example.com"), containing="agree")
        review = await server.reply_to(anna, server.press(anna, "I agree"), containing="check")
        assert "Topics: Fashion, Travel" in review["content"]
        await server.reply_to(
            anna, server.press(anna, "Confirm and apply"), containing="application is in"
        )

        people_repo = people(bot.app)
        account = await people_repo.account("discord", str(anna.id))
        assert account is not None
        assert account.dm_chat == f"discord:dm:{anna.id}"
        assert account.person_id is not None
        person = await people_repo.get(account.person_id)
        assert person is not None
        assert (person.status, person.display_name, person.timezone) == (
            "applicant",
            "Anna Nowak",
            "Europe/Warsaw",
        )
        assert person.niches == ("fashion", "travel")
    # Every interaction was acknowledged exactly once, in time (the fixture checks errors).
    assert all(i.responses for i in server.interactions.values())


async def test_a_button_still_works_after_a_restart(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    omar = server.add_user("omar", locale="en-US")
    async with running_bot(dc_settings, server):
        await server.reply_to(omar, server.slash(omar, "start"), containing="language")
    identifies = len(server.identifies)
    async with running_bot(dc_settings, server):  # a new client and app, the same database
        assert len(server.identifies) == identifies + 1
        await server.reply_to(omar, server.press(omar, "English"), containing="What name")


async def test_after_a_restart_a_typed_answer_is_taken_and_start_asks_again(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    lena = server.add_user("lena", locale="en-US")
    async with running_bot(dc_settings, server):
        await server.reply_to(lena, server.slash(lena, "start"), containing="language")
        await server.reply_to(lena, server.press(lena, "English"), containing="What name")
    async with running_bot(dc_settings, server):
        # The question is still on screen: what is typed answers it, nothing is asked first.
        await server.reply_to(lena, server.write(lena, "Lena"), containing="Which country")
        assert not any("Welcome back" in text for text in server.texts(server.dm_channel(lena)))
        again = await server.reply_to(lena, server.slash(lena, "start"), containing="Welcome back")
        assert again["content"] == "Welcome back! Let's continue where you left off."
        await server.until(
            lambda: server.texts(server.dm_channel(lena))[-1].startswith("Which country"),
            what="the country question asked again",
        )
        await server.reply_to(lena, server.write(lena, "Germany"), containing="time zone")


async def test_start_in_a_server_answers_privately_and_opens_the_dm(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    lena = server.add_user("lena", locale="fr")
    async with running_bot(dc_settings, server):
        interaction = await server.slash(lena, "start", channel_id=server.guild_channel_id)
        await server.until(lambda: interaction.followups, what="the ephemeral answer")
        assert interaction.responses == [{"type": 5, "data": {"flags": EPHEMERAL}}]
        [answer] = server.visible(server.guild_channel_id, lena)
        assert answer["flags"] & EPHEMERAL
        french = translator("fr")
        assert answer["content"] == french._(
            "Signup happens in a private chat with me, so your details stay private."
        )
        [link] = [c for row in answer["components"] for c in row["components"]]
        assert link["url"] == f"https://discord.com/channels/@me/{server.dm_channel(lena)}"
        assert server.visible(server.guild_channel_id) == []  # nobody else sees it
        await server.until(
            lambda: any(m["components"] for m in server.inbox(lena)), what="the first question"
        )
        question = server.inbox(lena)[-1]
        assert question["content"] == french._("Choose your language:")
        assert labels(question)[0] == "Français"


async def test_start_in_a_server_with_closed_dms_says_how_to_open_them(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    lena = server.add_user("lena", locale="fr")
    channel = server.guild_channel_id
    server.block_dms(lena)
    async with running_bot(dc_settings, server):
        asked = await server.slash(lena, "start", channel_id=channel)
        await server.until(lambda: asked.followups, what="the answer")
        [answer] = server.visible(channel, lena)
        assert answer["flags"] & EPHEMERAL
        assert answer["content"] == escape(translator("fr")._(DMS_CLOSED))
        assert answer["components"] == []  # no link to a DM that cannot be used
        assert server.inbox(lena) == []
        assert server.visible(channel) == []
        # Once DMs are allowed, trying again works.
        server.unblock_dms(lena)
        again = await server.slash(lena, "start", channel_id=channel)
        await server.until(lambda: again.followups, what="the second answer")
        [link] = [
            c for row in server.visible(channel, lena)[-1]["components"] for c in row["components"]
        ]
        assert link["url"].endswith(str(server.dm_channel(lena)))
        assert labels(server.inbox(lena)[-1])[0] == "Français"


async def test_user_text_comes_back_escaped_and_never_pings(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    mallory = server.add_user("mallory")
    raw = "**bold** @everyone <@123456789012345678>"
    async with running_bot(dc_settings, server) as bot:
        await member(bot.app, mallory, name=raw)
        card = await server.reply_to(mallory, server.slash(mallory, "profile"), containing="Name")
        # An unknown command's name is said back in a plain channel message, not a followup.
        echo = await server.reply_to(
            mallory, server.write(mallory, "/__nope__"), containing="nope"
        )
    escaped = "\\*\\*bold\\*\\* @\u200beveryone <@\u200b123456789012345678>"
    assert f"Name: {escaped}\n" in card["content"]
    assert "/\\_\\_nope\\_\\_" in echo["content"]
    for message in (card, echo):
        assert message["allowed_mentions"] == {"parse": []}


async def test_buttons_on_a_private_answer_in_a_server_edit_it_in_place(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    piotr = server.add_user("piotr", locale="en-GB")
    channel = server.guild_channel_id
    async with running_bot(dc_settings, server):
        asked = await server.slash(piotr, "language", channel_id=channel)
        await server.until(lambda: asked.followups, what="the language buttons")
        [choice] = server.visible(channel, piotr)
        assert choice["flags"] & EPHEMERAL
        pressed = await server.press(piotr, "Polski", channel_id=channel)
        await server.until(lambda: pressed.edits, what="the answer to be edited")
    [changed] = server.visible(channel, piotr)
    assert changed["id"] == choice["id"]
    assert changed["content"] == translator("pl")._("Language changed.")
    assert changed["components"] == []
    assert server.visible(channel) == []


async def test_a_command_the_core_leaves_unanswered_does_not_keep_thinking(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    quiet = server.add_user("quiet")
    seen: list[Incoming] = []

    async def ignore(incoming: Incoming) -> None:
        seen.append(incoming)

    platform = DiscordPlatform(
        dc_settings, list(build_router().commands.values()), guild_ready_timeout=0.05
    )
    await platform.start(CallbackSink(ignore))
    try:
        await server.until(lambda: ready(platform), what="ready")
        asked = await server.slash(quiet, "help")
        channel = asked.channel_id
        await server.until(
            lambda: asked.responses and seen and server.messages[channel] == [],
            what="the thinking message to go",
        )
    finally:
        await platform.stop()
    [incoming] = seen
    assert (incoming.command, incoming.reply_token) == ("help", str(asked.id))
    assert asked.responses == [{"type": 5}]


async def test_an_answer_typed_right_after_a_press_is_taken_after_it(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    anna = server.add_user("anna")
    async with running_bot(dc_settings, server):
        await server.reply_to(anna, server.slash(anna, "start"), label="English")
        server.slow(CALLBACK_ROUTE, 0.3, times=1)  # Discord is slow to take the press
        await server.press(anna, "English")
        await server.reply_to(anna, server.write(anna, "Anna Nowak"), containing="country")
    texts = server.texts(server.dm_channel(anna), anna)
    assert [t for t in texts if "button" in t] == []  # the name was never taken for a language


async def test_a_server_start_waiting_for_its_dm_holds_up_nobody_else(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    lena, ada = server.add_user("lena"), server.add_user("ada")
    async with running_bot(dc_settings, server):
        opening = server.hold(DM_OPEN_ROUTE, times=1)  # Discord is slow to open lena's DM
        asked = await server.slash(lena, "start", channel_id=server.guild_channel_id)
        await server.until(lambda: server.times(DM_OPEN_ROUTE), what="the DM being opened")
        await server.reply_to(ada, server.write(ada, "hello"), containing="/start")
        assert asked.followups == []  # still waiting for her DM
        opening.set()
        await server.until(lambda: asked.followups, what="her answer")
        await server.until(lambda: server.inbox(lena), what="her first question")


async def test_a_lone_surrogate_from_the_gateway_is_repaired_and_answered(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    """Half a UTF-16 pair in a name or a message is valid JSON on the gateway, yet neither
    JSON nor SQLite can encode it again: it reads as U+FFFD, and the person is answered."""
    server = discord_server
    anna = server.add_user("anna", global_name="An\ud800na")
    async with running_bot(dc_settings, server) as bot:
        await server.reply_to(anna, server.slash(anna, "start"), label="English")
        await server.reply_to(anna, server.press(anna, "English"), containing="What name")
        await server.reply_to(anna, server.write(anna, "An\udfffna"), containing="country")
        account = await people(bot.app).account("discord", str(anna.id))
        assert account is not None
        assert server.errors == []
