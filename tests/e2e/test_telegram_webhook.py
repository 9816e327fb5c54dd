"""Webhook mode: only Telegram, proven by the secret header, gets updates in."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

import aiohttp
import pytest
from pydantic import SecretStr

from bot.adapters.telegram_adapter import TelegramPlatform
from bot.app import App
from bot.core.messages import Incoming
from bot.settings import Settings
from tests.e2e.telegram_harness import TgUser, eventually, running_bot
from tests.fakes.telegram_server import SECRET_HEADER, FakeTelegram, post_body, post_update

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
            "web_listen": "127.0.0.1",
            "web_port": port,
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


async def test_webhook_answers_once_the_update_is_stored(
    hook_settings: Settings, telegram: FakeTelegram, port: int
) -> None:
    """200 as soon as the update is safe in the inbox, not after its handling: a slow reply
    holds up neither Telegram's connection nor the next update's answer."""
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with running_bot(hook_settings, telegram) as bot:
        TgUser(bot, 402, "Anna")
        telegram.slow("sendMessage", chat_id=402, delay=1.0, times=None)
        first = telegram.text_update(402, 402, "/help")
        second = telegram.text_update(402, 402, "/cancel")
        assert await post_update(url, first, SECRET) == 200
        assert await post_update(url, second, SECRET) == 200
        assert telegram.messages(402) == []  # both answered before any reply landed
        stored = await bot.app.store.db.fetchall("SELECT update_id FROM inbox ORDER BY id")
        assert [row["update_id"] for row in stored] == [
            str(first["update_id"]),
            str(second["update_id"]),
        ]
        await bot.settled()
        assert [m.text.split("\n")[0] for m in telegram.messages(402)] == [
            "Commands:",
            "There is nothing to cancel.",
        ]
        health = f"http://127.0.0.1:{port}/healthz"
        async with aiohttp.ClientSession() as session, session.get(health) as response:
            assert response.status == 200
            assert await response.json() == {"status": "ok"}


async def test_a_webhook_update_stored_before_a_stop_is_handled_at_the_next_start(
    hook_settings: Settings, telegram: FakeTelegram, port: int
) -> None:
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with running_bot(hook_settings, telegram) as bot:
        TgUser(bot, 404, "Anna")
        first = telegram.text_update(404, 404, "/help")
        telegram.slow("sendMessage", chat_id=404, delay=30, times=1)
        assert await post_update(url, first, SECRET) == 200
        await eventually(lambda: bool(telegram.calls_to("sendMessage", 404)))
        update = telegram.text_update(404, 404, "/cancel")
        assert await post_update(url, update, SECRET) == 200
    # Stopped mid-send: both were acknowledged, neither lost.
    telegram.clear_faults()
    async with running_bot(hook_settings, telegram) as bot:
        await eventually(lambda: len(telegram.messages(404)) == 2 and bot.app.idle)
    assert [m.text.split("\n")[0] for m in telegram.messages(404)] == [
        "Commands:",
        "There is nothing to cancel.",
    ]


async def test_a_stopping_bot_refuses_updates_for_redelivery(
    hook_settings: Settings, telegram: FakeTelegram, port: int
) -> None:
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with running_bot(hook_settings, telegram) as bot:
        TgUser(bot, 406, "Anna")
        await bot.app.inbox.stop(0.0)  # what a SIGTERM does first
        # Not stored, so not acknowledged: Telegram sends it again to the next process.
        assert await post_update(url, telegram.text_update(406, 406, "/help"), SECRET) == 503
        # And a load balancer is told to send no more.
        health = f"http://127.0.0.1:{port}/healthz"
        async with aiohttp.ClientSession() as session, session.get(health) as response:
            assert response.status == 503


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
    app = await App.open(hook_settings)
    try:
        platform = TelegramPlatform(hook_settings, [])
        with pytest.raises(RuntimeError, match="could not start on Telegram") as refused:
            await app.run([platform])
    finally:
        await app.close()
    # Only Telegram can tell a host it cannot reach: the line names what to correct.
    assert str(refused.value) == (
        "could not start on Telegram: KOLBOT_TELEGRAM_WEBHOOK_URL "
        "https://bot.example.com/telegram/hook: Bad webhook: failed to resolve host"
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # raises if the failed start left it bound


def test_the_old_webhook_port_names_still_work(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("KOLBOT_TELEGRAM_WEBHOOK_LISTEN", "0.0.0.0")
    monkeypatch.setenv("KOLBOT_TELEGRAM_WEBHOOK_PORT", "8443")
    settings = Settings(_env_file=None)
    assert (settings.web_listen, settings.web_port) == ("0.0.0.0", 8443)
    assert "KOLBOT_TELEGRAM_WEBHOOK_PORT is deprecated; use KOLBOT_WEB_PORT" in caplog.text
    monkeypatch.setenv("KOLBOT_WEB_PORT", "9000")
    assert Settings(_env_file=None).web_port == 9000  # the new name wins


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


async def test_updates_posted_at_once_are_stored_together(
    hook_settings: Settings, telegram: FakeTelegram, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram posts many updates at once: they are stored in a few transactions, not one
    each, and every one is answered only once stored."""
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with running_bot(hook_settings, telegram) as bot:
        inbox = bot.app.inbox
        batches: list[int] = []
        accept = inbox.accept

        async def counted(source: str, updates: Sequence[Incoming]) -> None:
            batches.append(len(updates))
            if len(batches) == 1:
                await asyncio.sleep(1.0)  # a slow write: the others arrive meanwhile
            await accept(source, updates)

        monkeypatch.setattr(inbox, "accept", counted)
        for user in range(420, 440):
            telegram.add_user(user, f"User{user}")
        updates = [telegram.text_update(user, user, "/help") for user in range(420, 440)]
        statuses = await asyncio.gather(*(post_update(url, u, SECRET) for u in updates))
        assert statuses == [200] * 20
        assert sum(batches) == 20
        assert len(batches) <= 3
        stored = await bot.app.store.db.fetchall("SELECT update_id FROM inbox")
        assert {row["update_id"] for row in stored} >= {str(u["update_id"]) for u in updates}
        await bot.settled()


async def test_a_lone_surrogate_is_repaired_and_fails_none_of_its_batch(
    hook_settings: Settings, telegram: FakeTelegram, port: int
) -> None:
    """Once a 500 for it and for every update stored beside it, so Telegram sent them all
    again: now the update with half a UTF-16 pair is taken (200) and answered with the rest."""
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with running_bot(hook_settings, telegram) as bot:
        for user in range(450, 460):
            telegram.add_user(user, "An\ud800na" if user == 450 else f"User{user}")
        updates = [
            telegram.text_update(user, user, "/help \udfff" if user == 450 else "/help")
            for user in range(450, 460)
        ]
        statuses = await asyncio.gather(*(post_update(url, u, SECRET) for u in updates))
        assert statuses == [200] * 10
        await bot.settled()
        for user in range(450, 460):
            assert telegram.last(user).text.startswith("Commands:")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"update_id": 1, "message": ' + b"[" * 100 + b"]" * 100 + b"}",
    ],
    ids=["arrays", "objects", "an update nested 100 deep"],
)
async def test_nesting_deeper_than_any_update_is_a_bad_request(
    hook_settings: Settings, telegram: FakeTelegram, port: int, body: bytes
) -> None:
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with running_bot(hook_settings, telegram) as bot:
        telegram.add_user(461, "Anna")
        assert await post_body(url, body, SECRET) == 400
        assert await post_update(url, telegram.text_update(461, 461, "/help"), SECRET) == 200
        await bot.settled()
        assert telegram.last(461).text.startswith("Commands:")
