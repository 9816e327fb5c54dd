"""Telegram and Discord served together by one App.run on one event loop, as ``kolbot run``
does when both tokens are set."""

from __future__ import annotations

import asyncio

from bot.adapters.discord_adapter import DiscordPlatform
from bot.adapters.telegram_adapter import TelegramPlatform
from bot.app import App
from bot.i18n import translator
from bot.settings import Settings
from tests.e2e.discord_harness import discord_settings, ready
from tests.e2e.telegram_harness import RunningBot, TgUser, eventually, with_telegram
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.telegram_server import FakeTelegram

pytest_plugins = ["tests.e2e.telegram_fixtures", "tests.e2e.discord_fixtures"]


async def test_both_platforms_answer_in_one_run_and_stop_cleanly(
    settings: Settings, telegram: FakeTelegram, discord_server: FakeDiscord
) -> None:
    both = discord_settings(with_telegram(settings, telegram), discord_server)
    app = await App.open(both)
    commands = list(app.dispatcher.router.commands.values())
    tg = TelegramPlatform(both, commands, retry_delays=(0.05, 0.2))
    dc = DiscordPlatform(both, commands, guild_ready_timeout=0.05)
    stop = asyncio.Event()
    run = asyncio.create_task(app.run([tg, dc], stop))
    try:
        await eventually(
            lambda: run.done() or (bool(telegram.calls_to("getUpdates")) and ready(dc)),
            what="both platforms to start",
        )
        assert not run.done()
        heading = translator("en")._("Commands:")

        anna = TgUser(RunningBot(app, tg, telegram), 801, "Anna")
        answered = await anna.say("/help")
        assert answered[-1].text.startswith(heading)

        ada = discord_server.add_user("ada")
        reply = await discord_server.reply_to(
            ada, discord_server.slash(ada, "help"), containing=heading
        )
        assert reply["content"].startswith(heading)
    finally:
        stop.set()
        await run
        await app.close()
    assert app.idle
    assert dc.client is not None
    assert dc.client.is_closed()
