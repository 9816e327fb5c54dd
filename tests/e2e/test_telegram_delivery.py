"""Sending under pressure: flood waits, blocked users, slow chats, failures, long messages."""

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path

import pytest

from bot.adapters.telegram.request import AiohttpRequest
from bot.core.messages import Button, ChatRef, Image, Outgoing
from bot.settings import Settings
from tests.e2e.telegram_harness import TgUser, eventually, running_bot, sign_up
from tests.fakes.store import delivery_statuses, drained, people, send_later
from tests.fakes.telegram_server import NOT_MODIFIED, FakeTelegram

pytest_plugins = ["tests.e2e.telegram_fixtures"]

# What a machine with both cores busy may add to a wait the bot chose.
LOADED_MARGIN = 2.0


def _chat(chat_id: int) -> ChatRef:
    return ChatRef(platform="telegram", chat_id=str(chat_id))


async def test_a_blocked_chat_is_tried_once_until_the_user_writes(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 503, "Anna")
        await sign_up(anna)
        telegram.block(anna.chat_id)
        # A summary of three parts and a reminder: the first part's 403 stops them all.
        summary = Outgoing(chat=_chat(503), text="\n".join("z" * 99 for _ in range(60)))
        reminder = Outgoing(chat=_chat(503), text="Reminder")
        ids = await send_later(bot.app, [summary, reminder])
        await drained(bot.app)
        assert [c.status for c in telegram.calls_to("sendMessage", anna.chat_id)][-1] == 403
        assert sum(c.status == 403 for c in telegram.calls) == 1
        assert await delivery_statuses(bot.app, ids) == ["blocked", "blocked"]
        account = await people(bot.app).account("telegram", "503")
        assert account is not None
        assert account.reachable is False
        # Nothing more is tried, even after a restart of the sender.
        [later] = await send_later(bot.app, [Outgoing(chat=_chat(503), text="Offer")])
        assert await delivery_statuses(bot.app, [later]) == ["blocked"]

        # Writing to the bot unblocks it.
        [reply] = await anna.say("/help")
        assert reply.text.startswith("Commands:")
        account = await people(bot.app).account("telegram", "503")
        assert account is not None
        assert account.reachable is True
    # The fake records as an error a second send to the blocked chat before the user wrote.


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
    tg_settings: Settings, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    # An outage longer than this loses the message; the real setting is an hour.
    short_outage = tg_settings.model_copy(update={"delivery_give_up_seconds": 1.5})
    async with running_bot(short_outage, telegram) as bot:
        anna = TgUser(bot, 507, "Anna")
        ben = TgUser(bot, 508, "Ben")
        telegram.fail("sendMessage", chat_id=anna.chat_id, status=502, times=2)
        telegram.say(507, 507, "/help")
        await eventually(lambda: len(anna.messages) == 1, within=10)
        assert anna.messages[0].text.startswith("Commands:")
        calls = telegram.calls_to("sendMessage", anna.chat_id)
        assert [c.status for c in calls] == [502, 502, 200]
        # Backed off, with jitter: half to all of 1 s, then of 2 s. Never earlier than the bot
        # chose; later only by what a loaded machine adds (the jitter itself is unit-tested).
        assert 0.5 <= calls[1].at - calls[0].done_at <= 1.0 + LOADED_MARGIN
        assert 1.0 <= calls[2].at - calls[1].done_at <= 2.0 + LOADED_MARGIN

        # A chat Telegram keeps failing is given up on; the bot and other chats go on.
        telegram.fail("sendMessage", chat_id=anna.chat_id, status=500, times=None)
        telegram.say(507, 507, "/help")
        await eventually(
            lambda: any("giving up" in r.getMessage() for r in caplog.records), within=10
        )
        [given_up] = [r for r in caplog.records if "giving up" in r.getMessage()]
        assert given_up.levelno == logging.ERROR
        assert "telegram:507" in given_up.getMessage()
        [reply] = await ben.say("/help")
        assert reply.text.startswith("Commands:")
        telegram.clear_faults()

        # getUpdates failing (5xx, dropped connections, 429) only delays updates.
        telegram.fail("getUpdates", status=502, times=2)
        telegram.disconnect("getUpdates", times=1)
        telegram.fail("getUpdates", status=429, retry_after=0.3, times=1)
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
        telegram.fail("sendMessage", chat_id=512, status=502, after=1)
        [row] = await send_later(bot.app, [Outgoing(chat=_chat(512), text=long)])
        await eventually(lambda: len(telegram.messages(512)) == 2, within=30)
        assert [c.status for c in telegram.calls_to("sendMessage", 512)] == [200, 502, 200]
        assert "\n".join(m.text for m in telegram.messages(512)) == long
        await eventually(lambda: bot.app.idle)
        [found] = await bot.app.store.db.fetchall(
            "SELECT status, parts_sent, message_id FROM deliveries WHERE id = ?", (row,)
        )
        assert found["status"] == "sent"
        assert found["message_id"] == str(telegram.last(512).message_id)


async def test_a_press_behind_a_slow_reply_is_answered_within_a_second(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    # One connection for sends, held by a slow reply: answers have their own.
    async with running_bot(tg_settings, telegram, request=AiohttpRequest(connections=1)) as bot:
        anna = TgUser(bot, 550, "Anna")
        await anna.say("/language")
        telegram.slow("sendMessage", chat_id=anna.chat_id, delay=1.5, times=1)
        telegram.say(550, 550, "/help")
        await eventually(lambda: len(telegram.calls_to("sendMessage", anna.chat_id)) == 2)
        press = telegram.press(550, 550, "English")
        query = telegram.update(press)["callback_query"]["id"]
        await eventually(lambda: telegram.query_answered(query), within=1.0)
        await bot.settled(press)
        assert [m.text.split("\n")[0] for m in anna.messages] == ["Language changed.", "Commands:"]
    # The fake records as an error any answer more than a second after the press reached the bot.


async def test_a_failed_answer_is_retried_once_while_it_still_helps(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 551, "Anna")
        answers = telegram.calls_to
        await anna.say("/language")
        telegram.fail("answerCallbackQuery", status=502)
        await anna.press("English")  # checks the press was answered before the reply
        await anna.say("/language")
        telegram.fail("answerCallbackQuery", status=429, retry_after=0.3)
        await anna.press("English")
        limited, retried = answers("answerCallbackQuery")[2:]
        assert retried.at - limited.done_at >= 0.3

        # Waiting longer would make the answer useless: it is dropped; the press is handled.
        await anna.say("/language")
        telegram.fail("answerCallbackQuery", status=429, retry_after=5)
        await bot.settled(telegram.press(551, 551, "English"))
        assert anna.last.text == "Language changed."
        assert [c.status for c in answers("answerCallbackQuery")] == [502, 200, 429, 200, 429]


async def test_a_photo_is_edited_by_its_caption(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    photo = Image(url="https://cdn.example.com/deal.jpg")
    ok = ((Button(label="Take it", data="ok:1"),),)
    async with running_bot(tg_settings, telegram) as bot:
        telegram.add_user(560, "Anna")
        sent = await bot.platform.send(
            Outgoing(chat=_chat(560), text="Brand <deal>", image=photo, buttons=ok)
        )
        edit = Outgoing(chat=_chat(560), text="Taken & done", edit_message_id=sent)
        assert await bot.platform.send(edit) == sent
        [message] = telegram.messages(560)
        assert (message.photo, message.text, message.labels(), message.edits) == (
            photo.url,
            "Taken & done",
            [],
            1,
        )
        assert telegram.calls_to("editMessageText") == []  # it knew the message was a photo

    # A photo another process sent: the text edit is refused, the caption edited instead.
    async with running_bot(tg_settings, telegram) as bot:
        again = Outgoing(chat=_chat(560), text="Expired", edit_message_id=sent)
        assert await bot.platform.send(again) == sent
        [message] = telegram.messages(560)
        assert (message.text, message.edits) == ("Expired", 2)
        assert [c.status for c in telegram.calls_to("editMessageText")] == [400]


async def test_a_group_that_became_a_supergroup_still_gets_its_messages(
    tg_settings: Settings, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    group, supergroup = -570, -1_000_000_000_570
    telegram.add_group(group, "Creators", members=[571])
    async with running_bot(tg_settings, telegram) as bot:
        telegram.upgrade(group, supergroup)
        first = await bot.platform.send(Outgoing(chat=_chat(group), text="Campaign one"))
        second = await bot.platform.send(Outgoing(chat=_chat(group), text="Campaign two"))
        assert [m.text for m in telegram.messages(supergroup)] == ["Campaign one", "Campaign two"]
        assert [first, second] == [str(m.message_id) for m in telegram.messages(supergroup)]
        assert telegram.messages(group) == []
        # Edits of messages in the new chat go there too.
        edit = Outgoing(chat=_chat(group), text="Campaign two (closed)", edit_message_id=second)
        assert await bot.platform.send(edit) == second
        assert telegram.last(supergroup).text == "Campaign two (closed)"
    assert f"telegram chat {group} became {supergroup}" in caplog.text
    # Told once where the group went, the bot never sends to the old id again (else an error).
