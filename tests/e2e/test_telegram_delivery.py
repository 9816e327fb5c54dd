"""Sending under pressure: flood waits, blocked users, slow chats, failures, long messages."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from bot.core.messages import Button, ChatRef, Image, Outgoing
from bot.settings import Settings
from tests.e2e.telegram_harness import TgUser, eventually, running_bot, sign_up
from tests.fakes.telegram_server import NOT_MODIFIED, FakeTelegram

pytest_plugins = ["tests.e2e.telegram_fixtures"]


def _chat(chat_id: int) -> ChatRef:
    return ChatRef(platform="telegram", chat_id=str(chat_id))


async def test_a_429_storm_waits_retry_after_and_loses_nothing(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 501, "Anna")
        ben = TgUser(bot, 502, "Ben")
        telegram.fail("sendMessage", chat_id=anna.chat_id, status=429, retry_after=1, times=2)
        updates = [telegram.say(501, 501, text) for text in ("/help", "/language", "/cancel")]
        await eventually(lambda: bool(telegram.calls_to("sendMessage", anna.chat_id)))

        # Another chat is not held by Anna's flood wait.
        began = time.monotonic()
        telegram.say(502, 502, "/help")
        await eventually(lambda: telegram.activity(ben.chat_id) == 1, within=0.5)
        assert time.monotonic() - began < 0.5
        assert telegram.activity(anna.chat_id) == 0

        await bot.settled(updates[-1])
        assert [m.text.split("\n")[0] for m in anna.messages] == [
            "Commands:",
            "Choose your language:",
            "There is nothing to cancel.",
        ]
        calls = telegram.calls_to("sendMessage", anna.chat_id)
        assert [c.status for c in calls] == [429, 429, 200, 200, 200]
        for limited, retried in itertools.pairwise(calls):
            if limited.status == 429:
                assert retried.at - limited.at >= 1.0
        # The fake also answers 429 to (and records as an error) any call inside the wait.


async def test_a_blocked_user_is_unreachable_until_they_write(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 503, "Anna")
        await sign_up(anna)
        people = bot.app.services.people
        telegram.fail("sendMessage", chat_id=anna.chat_id, status=403)
        assert await anna.say("/help") == []
        account = await people.account("telegram", "503")
        assert account is not None
        assert account.reachable is False

        [reply] = await anna.say("/help")
        assert reply.text.startswith("Commands:")
        account = await people.account("telegram", "503")
        assert account is not None
        assert account.reachable is True


async def test_a_slow_chat_holds_up_no_other_and_keeps_its_order(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 505, "Anna")
        ben = TgUser(bot, 506, "Ben")
        telegram.slow("sendMessage", chat_id=anna.chat_id, delay=0.3, times=None)
        updates = [telegram.say(505, 505, text) for text in ("/help", "/language", "/cancel")]
        await eventually(lambda: bool(telegram.calls_to("sendMessage", anna.chat_id)))
        began = time.monotonic()
        telegram.say(506, 506, "/help")
        await eventually(lambda: telegram.activity(ben.chat_id) == 1, within=0.5)
        assert time.monotonic() - began < 0.25
        assert telegram.activity(anna.chat_id) <= 1

        await bot.settled(updates[-1])
        assert [m.text.split("\n")[0] for m in anna.messages] == [
            "Commands:",
            "Choose your language:",
            "There is nothing to cancel.",
        ]
        # Strictly one at a time within the chat: each reply starts after the last finished.
        calls = telegram.calls_to("sendMessage", anna.chat_id)
        for earlier, later in itertools.pairwise(calls):
            assert later.at >= earlier.done_at


async def test_failed_sends_are_retried_and_polling_outlives_failures(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 507, "Anna")
        ben = TgUser(bot, 508, "Ben")
        telegram.fail("sendMessage", chat_id=anna.chat_id, status=502, times=2)
        [reply] = await anna.say("/help")
        assert reply.text.startswith("Commands:")
        assert [c.status for c in telegram.calls_to("sendMessage", anna.chat_id)] == [
            502,
            502,
            200,
        ]

        # A chat Telegram keeps failing is given up on; the bot and other chats go on.
        telegram.fail("sendMessage", chat_id=anna.chat_id, status=500, times=None)
        assert await anna.say("/help") == []
        assert len(telegram.calls_to("sendMessage", anna.chat_id)) == 3 + 5
        [reply] = await ben.say("/help")
        assert reply.text.startswith("Commands:")
        telegram.clear_faults()

        # getUpdates failing (5xx, dropped connections, 429) only delays updates.
        telegram.fail("getUpdates", status=502, times=2)
        telegram.disconnect("getUpdates", times=1)
        telegram.fail("getUpdates", status=429, retry_after=1, times=1)
        first = await anna.say("/language")  # fetched by the poll already waiting
        assert [m.text for m in first] == ["Choose your language:"]
        [reply] = await anna.say("/cancel")
        assert reply.text == "There is nothing to cancel."
        statuses = [c.status for c in telegram.calls_to("getUpdates")]
        assert statuses.count(502) == 2
        assert -1 in statuses
        assert 429 in statuses


async def test_edits_fall_back_sensibly(tg_settings: Settings, telegram: FakeTelegram) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 509, "Anna")
        [picker] = await anna.say("/language")
        # "Not modified" means it already shows the right thing: nothing more is sent.
        telegram.fail("editMessageText", chat_id=anna.chat_id, description=NOT_MODIFIED)
        assert await anna.press("English") == []
        assert telegram.calls_to("editMessageText", anna.chat_id)[-1].status == 400

        # A message that cannot be edited any more is replaced by a new one.
        telegram.fail(
            "editMessageText",
            chat_id=anna.chat_id,
            description="Bad Request: message can't be edited",
        )
        [fresh] = await anna.press("English")
        assert fresh.message_id != picker.message_id
        assert fresh.text == "Language changed."

        [picker] = await anna.say("/language")
        [edited] = await anna.press("English")
        assert (edited.message_id, edited.text, edited.keyboard) == (
            picker.message_id,
            "Language changed.",
            [],
        )


async def test_an_unparsable_message_is_sent_as_plain_text(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 510, "Anna")
        telegram.fail(
            "sendMessage",
            chat_id=anna.chat_id,
            description='Bad Request: can\'t parse entities: Unsupported start tag "x" at '
            "byte offset 0",
        )
        [reply] = await anna.say("/help")
        assert reply.parse_mode is None
        assert reply.raw == reply.text
        assert reply.text.startswith("Commands:")


async def test_long_text_is_split_and_images_carry_captions(
    tg_settings: Settings, telegram: FakeTelegram, tmp_path: Path
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        telegram.add_user(511, "Anna")
        ok = ((Button(label="OK", data="ok:1"),),)
        long = "\n".join(f"line {i:04d} <&> " + "x" * 50 for i in range(150))
        sent_id = await bot.platform.send(Outgoing(chat=_chat(511), text=long, buttons=ok))
        parts = telegram.messages(511)
        assert len(parts) == 3
        assert "\n".join(p.text for p in parts) == long
        assert all(len(p.text) <= 4096 for p in parts)
        assert [p.labels() for p in parts] == [[], [], ["OK"]]
        assert sent_id == str(parts[-1].message_id)

        # The limit is on the text after entity parsing, not on the escaped HTML.
        brackets = "<" * 4000
        await bot.platform.send(Outgoing(chat=_chat(511), text=brackets))
        assert telegram.last(511).text == brackets

        photo = Image(url="https://cdn.example.com/campaign.jpg")
        await bot.platform.send(Outgoing(chat=_chat(511), text="New <campaign>", image=photo))
        assert (telegram.last(511).photo, telegram.last(511).text) == (photo.url, "New <campaign>")

        picture = tmp_path / "brand.png"
        picture.write_bytes(b"\x89PNG\r\n\x1a\nfake image bytes")
        upload = Image(path=str(picture), caption="Brand")
        await bot.platform.send(
            Outgoing(chat=_chat(511), text="a" * 1500, image=upload, buttons=ok)
        )
        *_, photo_part, text_part = telegram.messages(511)
        assert (photo_part.photo_bytes, photo_part.text, photo_part.labels()) == (
            picture.read_bytes(),
            "Brand",
            [],
        )
        assert (text_part.text, text_part.labels()) == ("a" * 1500, ["OK"])


async def test_a_split_message_resumes_where_it_failed(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        telegram.add_user(512, "Anna")
        long = "\n".join("y" * 99 for _ in range(60))
        telegram.fail("sendMessage", chat_id=512, status=429, retry_after=1, after=1)
        deliverer = bot.app.dispatcher.deliverer
        sent = await deliverer.deliver(bot.platform, Outgoing(chat=_chat(512), text=long))
        assert [c.status for c in telegram.calls_to("sendMessage", 512)] == [200, 429, 200]
        assert "\n".join(m.text for m in telegram.messages(512)) == long
        assert sent == str(telegram.last(512).message_id)
