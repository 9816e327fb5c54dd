"""Webhook mode: only Telegram, proven by the secret header, gets updates in."""

from __future__ import annotations

import socket
import time

import aiohttp
import pytest
from pydantic import SecretStr

from bot.adapters.telegram_adapter import TelegramPlatform
from bot.settings import Settings
from tests.e2e.telegram_harness import TgUser, running_bot
from tests.fakes.telegram_server import SECRET_HEADER, FakeTelegram, post_update

pytest_plugins = ["tests.e2e.telegram_fixtures"]

SECRET = "s3cret_Token-1"


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


async def test_webhook_answers_before_the_update_is_handled(
    hook_settings: Settings, telegram: FakeTelegram, port: int
) -> None:
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with running_bot(hook_settings, telegram) as bot:
        anna = TgUser(bot, 402, "Anna")
        telegram.slow("sendMessage", chat_id=anna.chat_id, delay=1.0, times=1)
        began = time.monotonic()
        assert await post_update(url, telegram.text_update(402, 402, "/help"), SECRET) == 200
        assert time.monotonic() - began < 0.5
        assert telegram.messages(402) == []
        await bot.settled()
        assert anna.last.text.startswith("Commands:")


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
