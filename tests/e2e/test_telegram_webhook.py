"""Webhook mode: only Telegram, proven by the secret header, gets updates in."""

from __future__ import annotations

import asyncio
import socket
import time

import aiohttp
import pytest
from pydantic import SecretStr

from bot.adapters.telegram_adapter import TelegramPlatform
from bot.app import App
from bot.core.messages import Incoming
from bot.settings import Settings
from tests.e2e.telegram_harness import TgUser, eventually, running_bot
from tests.fakes.telegram_server import SECRET_HEADER, FakeTelegram, post_update

pytest_plugins = ["tests.e2e.telegram_fixtures"]

SECRET = "s3cret_Token-1"


async def _ignore(_: Incoming) -> None:
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def port() -> int:
    return _free_port()


@pytest.fixture
def hook_settings(tg_settings: Settings, port: int) -> Settings:
    return tg_settings.model_copy(
        update={
            "telegram_webhook_url": "https://bot.example.com/telegram/hook",
            "telegram_webhook_listen": "127.0.0.1",
            "telegram_webhook_port": port,
            "telegram_webhook_secret": SecretStr(SECRET),
        }
    )


async def test_only_updates_with_the_secret_are_handled(
    hook_settings: Settings, telegram: FakeTelegram, port: int
) -> None:
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with running_bot(hook_settings, telegram) as bot:
        assert telegram.webhook == {
            "url": "https://bot.example.com/telegram/hook",
            "secret_token": SECRET,
            "allowed_updates": ["message", "callback_query"],
        }
        assert telegram.calls_to("getUpdates") == []
        telegram.add_user(401, "Anna")

        assert await post_update(url, telegram.text_update(401, 401, "/start"), "wrong") == 403
        assert await post_update(url, telegram.text_update(401, 401, "/start"), None) == 403
        assert await post_update(url, telegram.text_update(401, 401, "/start"), "") == 403
        assert await post_update(url, telegram.text_update(401, 401, "/start"), SECRET[:-1]) == 403
        await bot.settled()
        assert telegram.messages(401) == []

        assert await post_update(url, telegram.text_update(401, 401, "/start"), SECRET) == 200
        await bot.settled()
        assert telegram.last(401).text == "Choose your language:"

        press = telegram.press_update(401, 401, "English")
        assert await post_update(url, press, SECRET) == 200
        await bot.settled()
        assert telegram.query_answered(press["callback_query"]["id"])
        assert telegram.last(401).text == "What name should brands see?"
        # A press delivered twice is answered once and handled once.
        assert await post_update(url, press, SECRET) == 200
        await bot.settled()
        assert len(telegram.calls_to("answerCallbackQuery")) == 1
        assert sum(m.text == "What name should brands see?" for m in telegram.messages(401)) == 1

        # Telegram retries a delivery it saw fail: the same update is handled once.
        name = telegram.text_update(401, 401, "Anna W")
        assert await post_update(url, name, SECRET) == 200
        assert await post_update(url, name, SECRET) == 200
        await bot.settled()
        assert [m.text for m in telegram.messages(401)][-1].startswith("Which country")
        assert sum(m.text.startswith("Which country") for m in telegram.messages(401)) == 1

        async with aiohttp.ClientSession() as session:
            for body in (b"not json", b"[1, 2]"):
                headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
                async with session.post(url, data=body, headers=headers) as response:
                    assert response.status == 400

        other_path = f"http://127.0.0.1:{port}/elsewhere"
        assert (
            await post_update(other_path, telegram.text_update(401, 401, "/help"), SECRET) == 404
        )


async def test_webhook_answers_once_the_update_is_handled(
    hook_settings: Settings, telegram: FakeTelegram, port: int
) -> None:
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with running_bot(hook_settings, telegram) as bot:
        TgUser(bot, 402, "Anna")
        telegram.slow("sendMessage", chat_id=402, delay=0.5, times=1)
        first = asyncio.create_task(
            post_update(url, telegram.text_update(402, 402, "/help"), SECRET)
        )
        await eventually(lambda: bool(telegram.calls_to("sendMessage", 402)))
        # Its reply is on the way, so its state is saved: the first is answered, before the
        # slow reply has landed.
        assert await first == 200
        assert telegram.messages(402) == []

        # The second waits its turn behind that slow reply; Telegram hears of it after that.
        began = time.monotonic()
        second = telegram.text_update(402, 402, "/cancel")
        assert await post_update(url, second, SECRET) == 200
        assert time.monotonic() - began >= 0.4
        assert await bot.app.services.updates.seen("telegram", str(second["update_id"]))
        await bot.settled()
        assert telegram.last(402).text == "There is nothing to cancel."


async def test_a_webhook_update_a_stop_cut_short_is_refused_for_redelivery(
    hook_settings: Settings, telegram: FakeTelegram, port: int
) -> None:
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with running_bot(hook_settings, telegram, drain_timeout=0.05) as bot:
        TgUser(bot, 404, "Anna")
        telegram.slow("sendMessage", chat_id=404, delay=0.5, times=1)
        first = asyncio.create_task(
            post_update(url, telegram.text_update(404, 404, "/help"), SECRET)
        )
        await eventually(lambda: bool(telegram.calls_to("sendMessage", 404)))
        update = telegram.text_update(404, 404, "/cancel")
        second = asyncio.create_task(post_update(url, update, SECRET))
        await eventually(lambda: bot.platform.pending == 2)
    assert await first == 200
    # Never handled: 503, so Telegram delivers it again (to the next process).
    assert await second == 503
    app = await App.open(hook_settings)
    try:
        assert not await app.services.updates.seen("telegram", str(update["update_id"]))
    finally:
        await app.close()


async def test_an_update_ptb_cannot_read_is_dropped_and_logged_by_id_alone(
    hook_settings: Settings, telegram: FakeTelegram, port: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with running_bot(hook_settings, telegram) as bot:
        anna = TgUser(bot, 405, "Anna")
        secret = "Flat 12, 5 Hidden Street"
        bad = {
            "update_id": 90_001,
            "message": {"message_id": 1, "date": 1, "chat": {"id": 987_654}, "text": secret},
        }
        # Taken (200), or Telegram would send it again and again.
        assert await post_update(url, bad, SECRET) == 200
        assert await post_update(url, telegram.text_update(405, 405, "/help"), SECRET) == 200
        await bot.settled()
        assert anna.last.text.startswith("Commands:")
    assert "ignoring telegram update 90001: unreadable (TypeError)" in caplog.text
    assert secret not in caplog.text
    assert "987654" not in caplog.text


async def test_a_failed_webhook_start_frees_its_port(
    hook_settings: Settings, telegram: FakeTelegram, port: int
) -> None:
    telegram.fail("setWebhook", description="Bad Request: bad webhook: Failed to resolve host")
    platform = TelegramPlatform(hook_settings, [])
    with pytest.raises(RuntimeError, match="could not start on Telegram"):
        await platform.start(_ignore)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # raises if the failed start left it bound


async def test_webhook_mode_refuses_to_start_without_a_secret(tg_settings: Settings) -> None:
    no_secret = tg_settings.model_copy(
        update={"telegram_webhook_url": "https://bot.example.com/hook"}
    )
    with pytest.raises(ValueError, match="KOLBOT_TELEGRAM_WEBHOOK_SECRET must be set"):
        TelegramPlatform(no_secret, [])
    bad_secret = no_secret.model_copy(update={"telegram_webhook_secret": SecretStr("not ok!")})
    with pytest.raises(ValueError, match="A-Z, a-z, 0-9"):
        TelegramPlatform(bad_secret, [])


async def test_polling_after_webhook_removes_the_webhook(
    hook_settings: Settings, tg_settings: Settings, telegram: FakeTelegram
) -> None:
    async with running_bot(hook_settings, telegram):
        assert telegram.webhook is not None
    async with running_bot(tg_settings, telegram) as bot:
        assert telegram.webhook is None
        anna = TgUser(bot, 403, "Anna")
        [reply] = await anna.say("/help")
        assert reply.text.startswith("Commands:")
