"""Runs kolbot's real Telegram adapter against the fake Bot API, and plays its users.

Fixtures live in ``telegram_fixtures`` (load them with ``pytest_plugins``). Waiting is always
on a condition with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from pydantic import SecretStr

from bot.adapters.telegram_adapter import TelegramPlatform
from bot.app import App
from bot.settings import Settings
from tests.fakes.store import drained
from tests.fakes.telegram_server import Call, FakeTelegram, SentMessage


async def eventually(
    predicate: Callable[[], bool], *, within: float = 5.0, what: str = "a condition"
) -> None:
    """Poll ``predicate`` until it holds; fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.005)


def with_telegram(settings: Settings, server: FakeTelegram, **changes: Any) -> Settings:
    """``settings`` pointed at the fake, with a real SQLite file from the shared fixture.

    Pacing is loosened so conversations run at test speed; tests of the limits set their own.
    """
    update: dict[str, Any] = {
        "telegram_token": SecretStr(server.token),
        "telegram_base_url": server.base_url,
        "telegram_rate": 1000,
        "telegram_chat_rate": 1000.0,
        "telegram_group_rate": 60_000,
    }
    update.update(changes)
    return settings.model_copy(update=update)


class RunningBot:
    """kolbot serving one TelegramPlatform through ``App.run``, as ``kolbot run`` does."""

    def __init__(self, app: App, platform: TelegramPlatform, server: FakeTelegram) -> None:
        self.app = app
        self.platform = platform
        self.server = server
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def settled(self, update_id: int | None = None) -> None:
        """Wait until the bot has taken ``update_id`` (if any), handled all it received and
        sent every reply, retries included."""
        await eventually(
            lambda: (update_id is None or self.server.confirmed(update_id)) and self.app.idle,
            what=f"the bot to handle update {update_id}",
        )
        await drained(self.app, waiting=True)

    async def stop(self) -> None:
        self.stopping.set()
        if self.task is not None:
            await self.task


@asynccontextmanager
async def running_bot(
    settings: Settings, server: FakeTelegram, **options: Any
) -> AsyncIterator[RunningBot]:
    """Open the app on ``settings.database``, start the adapter, stop and close on exit.

    A failed getUpdates is retried after 50 ms (at most 200 ms)."""
    app = await App.open(settings)
    options.setdefault("retry_delays", (0.05, 0.2))
    commands = list(app.dispatcher.router.commands.values())
    bot = RunningBot(app, TelegramPlatform(settings, commands, **options), server)
    calls_before = len(server.calls)
    bot.task = asyncio.create_task(app.run([bot.platform], bot.stopping))
    try:
        # This bot's first long poll has arrived (it answers later), or its webhook is set.
        def receiving() -> bool:
            calls = server.calls[calls_before:]
            if settings.telegram_webhook_url:
                return any(call.ok and call.method == "setWebhook" for call in calls)
            return any(call.method == "getUpdates" for call in calls)

        await eventually(
            lambda: bot.task is not None and (bot.task.done() or receiving()),
            what="the bot to start",
        )
        if bot.task.done():
            bot.task.result()
        yield bot
    finally:
        try:
            await bot.stop()
        finally:
            await app.close()


class TgUser:
    """One person in one chat (their private chat unless ``chat_id`` says otherwise)."""

    def __init__(
        self,
        bot: RunningBot,
        user_id: int,
        first_name: str,
        *,
        chat_id: int | None = None,
        **profile: Any,
    ) -> None:
        self.bot = bot
        self.server = bot.server
        self.user_id = user_id
        self.chat_id = chat_id if chat_id is not None else user_id
        self.server.add_user(user_id, first_name, **profile)

    async def say(self, text: str) -> list[SentMessage]:
        """Type a line and wait until the bot has answered it; returns what changed."""
        before = self._snapshot()
        await self.bot.settled(self.server.say(self.chat_id, self.user_id, text))
        return self._changed(before)

    async def press(
        self, label: str | None = None, *, data: str | None = None
    ) -> list[SentMessage]:
        """Press a button (by label or data) on the latest message that has it, and wait.

        Also checks that the press was answered (the client's spinner stopped).
        """
        before = self._snapshot()
        calls_before = len(self.server.calls)
        update_id = self.server.press(self.chat_id, self.user_id, label, data=data)
        await self.bot.settled(update_id)
        query_id = self.server.update(update_id)["callback_query"]["id"]

        def answers() -> list[Call]:
            return [
                c
                for c in self.server.calls[calls_before:]
                if c.method == "answerCallbackQuery"
                and str(c.params["callback_query_id"]) == query_id
            ]

        # Answered at once, beside the handling rather than before it: the fake records as an
        # error any answer later than a second after the press reached the bot.
        await eventually(lambda: any(c.ok for c in answers()), what="the press to be answered")
        return self._changed(before)

    @property
    def last(self) -> SentMessage:
        return self.server.last(self.chat_id)

    @property
    def messages(self) -> list[SentMessage]:
        return self.server.messages(self.chat_id)

    def _snapshot(self) -> dict[int, tuple[str, int]]:
        return {m.message_id: (m.text, m.edits) for m in self.messages}

    def _changed(self, before: dict[int, tuple[str, int]]) -> list[SentMessage]:
        return [m for m in self.messages if before.get(m.message_id) != (m.text, m.edits)]


async def sign_up(
    user: TgUser, *, language: str = "en", name: str | None = None, followers: str = "12000"
) -> None:
    """A whole signup by button data and typed answers, independent of translations."""
    await user.say("/start")
    await user.press(data=f"lang:{language}")
    if name is None:
        await user.press(data="name:platform")
    else:
        await user.say(name)
    await user.say("PL")  # one zone: not asked
    await user.press(data="net:instagram")
    await user.say(f"creator{user.user_id}")
    await user.say(followers)
    await user.press(data="more:done")
    await user.press(data="niche~fashion")
    await user.press(data="niche~travel")
    await user.press(data="niche:done")
    await user.press(data="pay:paypal")
    await user.say(f"creator{user.user_id}@example.com")
    await user.press(data="consent:yes")
    await user.press(data="review:confirm")
