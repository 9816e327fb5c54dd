"""Dispatch: the outbox sender draining pending messages to Telegram.

With no limit at the fake, the figure is what the sender itself can do (it must never be what
slows a 1,000 msg/s paid broadcast); against fakes that refuse more than 30 or 1,000 sends in
any second, it is how close the sender's pacing runs to the cap without a single 429. Messages
are enqueued in the database before the bot starts, so the bot's start-up is not timed: the
rate runs from the first send's arrival to the last's.
"""

from __future__ import annotations

import math
import random
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Final

from bench.config import Config
from bench.fake_bot_api import FakeBotApi
from bench.process import (
    UNPACED_RATE,
    BotProcess,
    Usage,
    check_calls,
    describe,
    free_port,
    kolbot_command,
    kolbot_env,
    wait_until,
)
from bench.report import Goal, Outcome, Row
from bot.core.messages import ChatRef, Outgoing
from storage.models import NewDelivery
from storage.sqlite import SqliteStore

GOAL_UNLIMITED: Final = 5000.0
SHARE_OF_CAP: Final = 0.95
START_TIMEOUT: Final = 60.0
STALL: Final = 30.0
BATCH: Final = 5_000
BULK_PRIORITY: Final = 10


async def enqueue_messages(database_path: Path, n: int, chat_ids: Sequence[int]) -> None:
    """Leave ``n`` pending Telegram text messages in the outbox of the database at
    ``database_path``, message ``i`` to private chat ``chat_ids[i % len(chat_ids)]``, as bulk
    sends (behind replies), so that ``python -m bot run`` on that database sends them at start.

    The database may not exist yet: create and migrate it as the bot would. Enqueue in
    batches: this is set-up, and it is not timed.
    """
    store = await SqliteStore.open(database_path, timedelta(days=7))
    try:
        for start in range(0, n, BATCH):
            rows = []
            for index in range(start, min(n, start + BATCH)):
                chat = ChatRef(platform="telegram", chat_id=str(chat_ids[index % len(chat_ids)]))
                text = f"Campaign news #{index}: a new brand is looking for creators like you."
                rows.append(
                    NewDelivery(
                        dedupe_key=f"bench:{index}",
                        platform="telegram",
                        chat=str(chat),
                        payload=Outgoing(chat=chat, text=text).model_dump_json(),
                        priority=BULK_PRIORITY,
                    )
                )
            async with store.unit_of_work() as uow:
                await uow.outbox.enqueue(rows)
    finally:
        await store.close()


def pacing_env(cap: int | None) -> dict[str, str]:
    """kolbot's pacing for a run: at the cap (the bot's job is to stay under it), or out of
    the way when there is none. Each message goes to its own chat, so per-chat pacing never
    applies."""
    rate = UNPACED_RATE if cap is None else cap
    return {"KOLBOT_TELEGRAM_RATE": str(rate), "KOLBOT_TELEGRAM_CHAT_RATE": "1000"}


def chat_ids(count: int, seed: int) -> list[int]:
    """``count`` distinct private chats, the same for the same seed."""
    return random.Random(seed).sample(range(100_000_000, 2_000_000_000), count)


def name(cap: int | None) -> str:
    return "dispatch: no limit" if cap is None else f"dispatch: cap {cap:,}/s"


async def measure(cap: int | None, config: Config) -> Outcome:
    count = config.messages if cap is None else math.ceil(cap * config.cap_seconds)
    chats = chat_ids(count, config.seed)
    outcome = Outcome(name(cap), details={"messages": count, "cap": cap})
    with tempfile.TemporaryDirectory(prefix="kolbot-bench-dispatch-") as directory:
        workdir = Path(directory)
        await enqueue_messages(workdir / "kolbot.db", count, chats)
        async with FakeBotApi(delay=config.delay, cap=cap) as api:
            for chat in chats:
                api.add_user(chat, "Reader")
            first: list[Usage] = []
            last: list[Usage] = []
            env = kolbot_env(
                workdir, api.base_url, free_port(), extra=pacing_env(cap), source=config.source
            )
            bot = await BotProcess.start(kolbot_command(), cwd=workdir, env=env)

            def on_send(sends: int) -> None:
                if sends == 1:
                    first.append(bot.usage())
                if len(api.first_reply_at) >= count and not last:
                    last.append(bot.usage())

            api.on_send = on_send
            try:
                await wait_until(
                    lambda: len(api.first_reply_at) >= count,
                    bot=bot,
                    what=f"{count:,} messages sent",
                    within=START_TIMEOUT + 3 * count / (cap or 1000),
                    progress=lambda: api.sends,
                    stall=STALL,
                )
            finally:
                await bot.stop()
                if (note := bot.stop_note()) is not None:
                    outcome.notes.append(note)
            check_calls(api)
            assert api.first_send_at is not None
            assert api.last_send_at is not None
            span = api.last_send_at - api.first_send_at
            rate = (count - 1) / span if span > 0 else float(count)
            cpu = last[0].cpu - first[0].cpu
    goal = GOAL_UNLIMITED if cap is None else SHARE_OF_CAP * cap
    label = "" if cap is None else f"{goal:,.1f} (95% of {cap:,})"
    outcome.rows = [
        Row("messages/s", rate, Goal(">=", goal, label)),
        Row("CPU s per 1,000 messages", cpu / count * 1000, digits=2),
        Row("429s", float(api.rate_limited), Goal("==", 0) if cap else None, digits=0),
        Row("sends beyond one per message", float(api.sends - count), digits=0),
    ]
    outcome.details |= {"seconds": span, "cpu_seconds": cpu, "delay": config.delay}
    return outcome


async def run(config: Config) -> list[Outcome]:
    outcomes = []
    for cap in config.caps:
        try:
            outcomes.append(await measure(cap, config))
        except Exception as error:
            outcomes.append(Outcome(name(cap), "failed", describe(error)))
    return outcomes
