"""Taking updates by long polling: confirmed once stored, fetched once, bad ones skipped."""

from __future__ import annotations

import logging
import time

import pytest

from bot.settings import Settings
from tests.e2e.telegram_harness import TgUser, eventually, running_bot
from tests.fakes.telegram_server import FakeTelegram

pytest_plugins = ["tests.e2e.telegram_fixtures"]

REPLIES = ["Commands:", "Choose your language:", "There is nothing to cancel."]


def _firsts(user: TgUser) -> list[str]:
    return [message.text.split("\n")[0] for message in user.messages]


async def test_updates_taken_before_a_stop_are_handled_once_after_a_restart(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    quick_stop = tg_settings.model_copy(update={"shutdown_timeout_seconds": 1.0})
    async with running_bot(quick_stop, telegram) as bot:
        anna = TgUser(bot, 701, "Anna")
        telegram.slow("sendMessage", chat_id=anna.chat_id, delay=30, times=1)
        updates = [telegram.say(701, 701, text) for text in ("/help", "/language", "/cancel")]
        await eventually(lambda: bool(telegram.calls_to("sendMessage", anna.chat_id)))
        await eventually(lambda: all(telegram.confirmed(update) for update in updates))
    # Stored, so confirmed at once, while the first reply was still on its way: the next run
    # sends what is left, and Telegram never hands any of them out again.
    telegram.clear_faults()
    async with running_bot(tg_settings, telegram) as bot:
        anna.bot = bot
        await eventually(lambda: len(anna.messages) == 3 and bot.app.idle, within=10)
    assert _firsts(anna) == REPLIES
    assert [telegram.deliveries[update] for update in updates] == [1, 1, 1]


async def test_an_unreadable_update_is_skipped_and_logged_by_id_alone(
    tg_settings: Settings, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "Flat 12, 5 Hidden Street"
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 702, "Anna")
        # A chat without its "type" (python-telegram-bot would refuse it too).
        bad = telegram.push_raw(
            {"message": {"message_id": 1, "date": 1, "chat": {"id": 987_654}, "text": secret}}
        )
        [reply] = await anna.say("/help")  # fetched in the same batch, or after it
        assert reply.text.startswith("Commands:")
        assert telegram.confirmed(bad)
    # A restart is not stuck on it either.
    async with running_bot(tg_settings, telegram) as bot:
        anna.bot = bot
        [reply] = await anna.say("/cancel")
        assert reply.text == "There is nothing to cancel."
    assert telegram.deliveries[bad] == 1
    assert f"ignoring telegram update {bad}: unreadable (TypeError)" in caplog.text
    assert secret not in caplog.text
    assert "987654" not in caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.CRITICAL]


async def test_a_busy_chat_holds_up_no_other(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 703, "Anna")
        ben = TgUser(bot, 704, "Ben")
        telegram.slow("sendMessage", chat_id=anna.chat_id, delay=0.2, times=None)
        texts = ("/help", "/language", "/cancel", "/help", "/cancel")
        updates = [telegram.say(703, 703, text) for text in texts]
        await eventually(lambda: bool(telegram.calls_to("sendMessage", anna.chat_id)))

        began = time.monotonic()
        telegram.say(704, 704, "/help")
        await eventually(lambda: telegram.activity(ben.chat_id) == 1, within=1.0)
        assert time.monotonic() - began < 0.5
        assert telegram.activity(anna.chat_id) <= 2

        await bot.settled(updates[-1])
        # Each fetched once, handled once, answered in order.
        assert _firsts(anna) == [*REPLIES, REPLIES[0], REPLIES[2]]
        assert all(telegram.deliveries[update] == 1 for update in updates)


async def test_getupdates_failures_back_off_doubling_up_to_the_cap(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram, retry_delays=(0.05, 0.2)) as bot:
        anna = TgUser(bot, 705, "Anna")
        # The long poll already waiting returns this; the five polls after it fail.
        telegram.fail("getUpdates", status=502, times=5)
        await anna.say("/help")
        [reply] = await anna.say("/cancel")
        assert reply.text == "There is nothing to cancel."
    calls = telegram.calls_to("getUpdates")
    failed = [index for index, call in enumerate(calls) if call.status == 502]
    assert len(failed) == 5
    gaps = [calls[index + 1].at - calls[index].done_at for index in failed]
    for gap, delay in zip(gaps, [0.05, 0.1, 0.2, 0.2, 0.2], strict=True):
        assert delay <= gap < delay + 0.1


async def test_a_lone_surrogate_is_repaired_and_the_batch_it_came_in_is_answered(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    """Half a UTF-16 pair (``"\\ud800"`` in the JSON) is valid JSON that neither JSON nor
    SQLite can encode again: it once failed the whole batch's store, and polling died with
    it at every restart. Now it reads as U+FFFD and everyone in the batch is answered."""
    telegram.add_user(710, "An\ud800na")
    telegram.add_user(711, "Olek")
    broken = telegram.say(710, 710, "/help \udfff")
    beside = telegram.say(711, 711, "/help")
    async with running_bot(tg_settings, telegram) as bot:
        await bot.settled(broken)
        await bot.settled(beside)
        assert telegram.last(710).text.startswith("Commands:")
        assert telegram.last(711).text.startswith("Commands:")
        olek = TgUser(bot, 711, "Olek")
        [reply] = await olek.say("/cancel")  # polling goes on
        assert reply.text == "There is nothing to cancel."
    assert telegram.confirmed(broken)
    assert telegram.deliveries[broken] == 1


async def test_an_update_nested_past_what_json_can_read_is_stepped_over(
    tg_settings: Settings, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    """A batch that cannot be decoded at all is fetched again one update at a time, and the
    one that cannot be read is stepped over: the updates before and after it are answered."""
    telegram.add_user(712, "Anna")
    before = telegram.say(712, 712, "/help")  # fetched twice: its batch could not be read
    nested = "[" * 100_000 + "]" * 100_000
    bad = telegram.push_verbatim('{"update_id": {id}, "message": ' + nested + "}")
    after = telegram.say(712, 712, "/cancel")
    async with running_bot(tg_settings, telegram) as bot:
        await bot.settled(after)
        assert _firsts(TgUser(bot, 712, "Anna")) == ["Commands:", "There is nothing to cancel."]
        assert telegram.confirmed(before)
        assert telegram.confirmed(bad)
    assert f"ignoring telegram update {bad}: unreadable" in caplog.text
