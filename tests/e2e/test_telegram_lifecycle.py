"""Starting and stopping: the token stays secret, bad tokens fail loudly, nothing is dropped."""

from __future__ import annotations

import logging
import traceback

import pytest
from pydantic import SecretStr

from bot.adapters.telegram_adapter import TelegramPlatform
from bot.core.messages import Incoming
from bot.core.platform import CannotStart
from bot.settings import Settings
from tests.e2e.telegram_harness import TgUser, eventually, running_bot, sign_up, with_telegram
from tests.fakes.platform import CallbackSink
from tests.fakes.telegram_server import BOT_ID, FakeTelegram

pytest_plugins = ["tests.e2e.telegram_fixtures"]


async def _ignore(_: Incoming) -> None:
    return None


async def test_the_token_never_reaches_the_logs(
    tg_settings: Settings, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 601, "Anna")
        telegram.fail("sendMessage", chat_id=anna.chat_id, status=502)
        telegram.disconnect("sendMessage", chat_id=anna.chat_id)
        await sign_up(anna)
        telegram.fail("getUpdates", status=500)
        await anna.say("/help")
    secret = telegram.token.split(":", 1)[1]
    assert "setMyCommands" in caplog.text  # PTB's debug log was captured...
    assert secret not in caplog.text  # ...without the token that is in every URL


async def test_a_rejected_token_fails_start_without_showing_it(settings: Settings) -> None:
    async with FakeTelegram() as server:
        wrong = with_telegram(settings, server, telegram_token=SecretStr(f"{BOT_ID}:WrongToken"))
        platform = TelegramPlatform(wrong, [])
        with pytest.raises(RuntimeError, match="Telegram refused KOLBOT_TELEGRAM_TOKEN") as raised:
            await platform.start(CallbackSink(_ignore))
        assert "WrongToken" not in "".join(traceback.format_exception(raised.value))
        assert server.errors == ["getMe with a wrong token"]


async def test_a_token_revoked_while_running_ends_the_run(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    telegram.add_group(-602, "Creators", members=[602])

    async def run_until_revoked() -> None:
        async with running_bot(tg_settings, telegram) as bot:
            TgUser(bot, 602, "Anna", chat_id=-602)
            telegram.token = "1:revoked"
            telegram.say(-602, 602, "chatter")  # ends the waiting poll; the next is refused
            await eventually(lambda: bot.task is not None and bot.task.done())

    with pytest.raises(RuntimeError, match="Telegram refused KOLBOT_TELEGRAM_TOKEN"):
        await run_until_revoked()
    assert set(telegram.errors) == {"getUpdates with a wrong token"}
    telegram.errors.clear()


async def test_stopping_finishes_what_was_received(
    tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(tg_settings, telegram) as bot:
        anna = TgUser(bot, 603, "Anna")
        telegram.slow("sendMessage", chat_id=anna.chat_id, delay=0.3, times=None)
        for text in ("/help", "/language"):
            telegram.say(anna.chat_id, anna.user_id, text)
        await eventually(lambda: bool(telegram.calls_to("sendMessage", anna.chat_id)))
    # Stopped while the first reply was in flight and the second still queued.
    assert [m.text.split("\n")[0] for m in anna.messages] == ["Commands:", "Choose your language:"]


@pytest.mark.parametrize(("read_timeout", "starts"), [(0.3, False), (3.0, True)])
async def test_the_first_question_waits_for_the_bot_api_as_long_as_a_send_would(
    tg_settings: Settings, telegram: FakeTelegram, read_timeout: float, starts: bool
) -> None:
    """A Bot API that is slow but there is no reason to refuse to start: getMe before the
    database is opened waits KOLBOT_DELIVERY_READ_TIMEOUT_SECONDS, not a fixed 5 s."""
    telegram.slow("getMe", delay=0.6, times=None)
    settings = tg_settings.model_copy(update={"delivery_read_timeout_seconds": read_timeout})
    platform = TelegramPlatform(settings, [])
    if starts:
        await platform.probe()
    else:
        with pytest.raises(CannotStart, match="cannot be reached") as refused:
            await platform.probe()
        assert not refused.value.lasting
