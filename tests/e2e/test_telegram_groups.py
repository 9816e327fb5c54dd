"""Groups: kolbot answers only what is addressed to it, and sends signup to a private chat."""

from __future__ import annotations

import logging

import pytest

from bot.core.messages import ChatRef, Outgoing
from bot.settings import Settings
from tests.e2e.telegram_harness import TgUser, running_bot
from tests.fakes.store import delivery_statuses, drained, send_later
from tests.fakes.telegram_server import FakeTelegram

pytest_plugins = ["tests.e2e.telegram_fixtures"]

GROUP = -1001234567890


async def test_group_chatter_is_ignored_and_addressed_commands_answered(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    telegram.add_group(GROUP, "Creators", members=[301, 302])
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 301, "Anna", chat_id=GROUP)
        assert await anna.say("hello everyone") == []
        assert await anna.say("/help@some_other_bot") == []
        assert await anna.say("/start@Some_Other_Bot") == []
        [help_reply] = await anna.say("/help@kolbot_test_bot")
        assert help_reply.text.startswith("Commands:")
        [help_reply] = await anna.say("/HELP@KolBot_Test_Bot")  # bot names ignore case
        assert help_reply.text.startswith("Commands:")
        [help_reply] = await anna.say("/help")
        assert help_reply.text.startswith("Commands:")
        assert await anna.say("thanks!") == []
        # Button presses in a group do reach the bot.
        [picker] = await anna.say("/language@kolbot_test_bot")
        [edited] = await anna.press("English")
        assert (edited.message_id, edited.text) == (picker.message_id, "Language changed.")


async def test_start_in_a_group_links_to_a_private_signup(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    telegram.add_group(GROUP, "Creators", members=[303])
    async with running_bot(tg_settings, telegram) as bot:
        in_group = TgUser(bot, 303, "Ewa", chat_id=GROUP)
        [reply] = await in_group.say("/start")
        assert reply.chat_id == GROUP
        [link] = [b for b in reply.buttons() if "url" in b]
        assert link["url"] == "https://t.me/kolbot_test_bot?start=signup"

        # The deep link opens the private chat, which sends /start signup.
        in_private = TgUser(bot, 303, "Ewa")
        await in_private.say("/start signup")
        assert in_private.last.text == "Choose your language:"
        assert telegram.messages(GROUP) == [reply]


async def test_command_menu_is_published_in_every_language(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        names = sorted(bot.app.dispatcher.router.commands)
        assert set(telegram.commands) == {
            ("default", ""),
            ("default", "en"),
            ("default", "ru"),
            ("default", "fr"),
            ("default", "es"),
            ("default", "pl"),
        }
        english = {c["command"]: c["description"] for c in telegram.commands[("default", "")]}
        assert sorted(english) == names
        assert english["help"] == "What I can do"
        for menu in telegram.commands.values():
            assert sorted(c["command"] for c in menu) == names
            assert all(c["description"] for c in menu)


async def test_a_rate_limited_menu_is_retried_once_or_left(
    tg_settings: Settings, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    # A short wait is worth it: the menu is set after it.
    telegram.fail("setMyCommands", status=429, retry_after=0.3)
    async with running_bot(tg_settings, telegram):
        calls = telegram.calls_to("setMyCommands")
        [limited] = [c for c in calls if c.status == 429]
        language = limited.params.get("language_code")
        [retried] = [c for c in calls if c.ok and c.params.get("language_code") == language]
        assert retried.at - limited.done_at >= 0.3
        assert len(telegram.commands) == 6

    # A long one is not: the bot starts without that menu, and says so.
    telegram.commands.clear()
    telegram.fail("setMyCommands", status=429, retry_after=30)
    with caplog.at_level(logging.WARNING):
        async with running_bot(tg_settings, telegram) as bot:
            [reply] = await TgUser(bot, 304, "Ola").say("/help")
            assert reply.text.startswith("Commands:")
            assert len(telegram.commands) == 5
    assert "command menu" in caplog.text


async def test_a_private_reply_never_goes_to_a_group(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    """Telegram cannot whisper in a group: a message meant for one person fails rather than
    being posted for everyone to read."""
    telegram.add_group(GROUP, "Creators", members=[303])
    async with running_bot(tg_settings, telegram) as bot:
        group = ChatRef(platform="telegram", chat_id=str(GROUP))
        secret = Outgoing(
            chat=group, text="Your payout: PayPal a***@example.com", private_reply=True
        )
        public = Outgoing(chat=group, text="A new campaign is out!")
        ids = await send_later(bot.app, [secret, public])
        await drained(bot.app)
        assert await delivery_statuses(bot.app, ids) == ["failed", "sent"]
        assert [m.text for m in telegram.messages(GROUP)] == ["A new campaign is out!"]
