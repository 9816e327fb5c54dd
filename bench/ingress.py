"""Ingress: N users send /start at once; how fast does each get a first reply?

The real bot runs as ``python -m bot run`` (a black box, as in production) against the fake Bot
API answering every call after 50 ms, in polling and in webhook mode; the tutorial bot
(``tutorial_bot.py``) answers the same users against the same fake in the same run, so the ratio
between them does not depend on the machine. The users are a burst: every update is available
at once, so the figures are the bot's throughput and its queueing, not the users' pace.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bench.config import MODES, Config, Mode
from bench.fake_bot_api import TOKEN, FakeBotApi, start_update
from bench.process import (
    BotProcess,
    check_calls,
    describe,
    free_port,
    healthz,
    kolbot_command,
    kolbot_env,
    self_cpu,
    wait_until,
)
from bench.report import Goal, Outcome, Row

TUTORIAL: Final = Path(__file__).with_name("tutorial_bot.py")
GOAL_RATE: Final = Goal(">=", 1000)
GOAL_TIMES_TUTORIAL: Final = Goal(">=", 50)
GOAL_FETCHES: Final = Goal("==", 1.0)
START_TIMEOUT: Final = 60.0
STALL: Final = 30.0
# After the last first reply the bot still works (second replies, confirmations): CPU is read
# once it has called nothing but getUpdates for this long.
QUIET: Final = 1.0
QUIET_LIMIT: Final = 30.0
# The bench process is the fake Bot API: when it is this busy, it may be what limits the figures.
BUSY_FAKE: Final = 0.85

FIRST_NAMES: Final = (
    "Anna", "Maria", "Olga", "Sofia", "Emma", "Lucia", "Zofia", "Chloé", "Ivan", "Pablo",
    "Jan", "Louis", "Dmitri", "Carmen", "Marta", "Nina", "Léa", "Igor", "Julia", "Hugo",
)  # fmt: skip
LANGUAGE_CODES: Final = ("en", "en", "en", "ru", "fr", "es", "pl", "de", "pt-br", None)


@dataclass
class Measured:
    """What one mode's run measured."""

    users: int
    seconds: float  # from the burst to the last first reply
    latencies: list[float]  # seconds from an update's availability to its chat's first reply
    cpu: float  # the bot's CPU seconds from the burst until it fell quiet
    peak_rss_mb: float
    deliveries_per_update: float  # getUpdates returns (webhook: POSTs) per update
    fake_busy: float  # the bench process's CPU share of one core meanwhile
    notes: list[str]

    @property
    def rate(self) -> float:
        return self.users / self.seconds if self.seconds > 0 else 0.0


def make_users(count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` distinct Telegram users, the same ones for the same seed."""
    rng = random.Random(seed)
    users = []
    for user_id in rng.sample(range(100_000_000, 2_000_000_000), count):
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": rng.choice(FIRST_NAMES),
        }
        language = rng.choice(LANGUAGE_CODES)
        if language is not None:
            user["language_code"] = language
        users.append(user)
    return users


async def measure(mode: Mode, users: Sequence[dict[str, Any]], config: Config) -> Measured:
    """One bot, one fake, one burst of /start from every user."""
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix=f"kolbot-bench-{mode}-") as directory:
        workdir = Path(directory)
        async with FakeBotApi(delay=config.delay) as api:
            for user in users:
                api.add_user(user["id"], user["first_name"])
            web_port = free_port()
            if mode == "tutorial":
                command = [sys.executable, str(TUTORIAL), TOKEN, api.base_url, "conversations"]
                env = {k: v for k, v in os.environ.items() if not k.startswith("KOLBOT_")}
            else:
                command = kolbot_command()
                env = kolbot_env(
                    workdir,
                    api.base_url,
                    web_port,
                    webhook=mode == "webhook",
                    source=config.source,
                )
            bot = await BotProcess.start(command, cwd=workdir, env=env)
            try:
                ready = api.webhook_set if mode == "webhook" else api.polling
                await wait_until(ready.is_set, bot=bot, what="start-up", within=START_TIMEOUT)
                if mode == "webhook":
                    status = await healthz(web_port)
                    if status != 200:
                        notes.append(f"GET /healthz answered {status}, not 200")
                return await _burst(api, bot, users, notes)
            finally:
                await bot.stop()
                if (note := bot.stop_note()) is not None:
                    notes.append(note)


async def _burst(
    api: FakeBotApi, bot: BotProcess, users: Sequence[dict[str, Any]], notes: list[str]
) -> Measured:
    count = len(users)
    before = bot.usage()
    fake_before = self_cpu()
    start = time.monotonic()
    update_ids = {api.push(start_update(api.next_update_id(), user)): user["id"] for user in users}
    await wait_until(
        lambda: len(api.first_reply_at) >= count,
        bot=bot,
        what=f"a first reply to each of {count} users",
        within=START_TIMEOUT + count / 5,
        progress=lambda: len(api.first_reply_at),
        stall=STALL,
    )
    last_reply = max(api.first_reply_at.values())
    waited_from = time.monotonic()
    while time.monotonic() - api.last_call_at < QUIET:
        if time.monotonic() - waited_from > QUIET_LIMIT:
            notes.append(f"still calling the Bot API {QUIET_LIMIT:.0f} s after the last reply")
            break
        await asyncio.sleep(0.05)
    settled = bot.usage()
    fake_busy = (self_cpu() - fake_before) / max(time.monotonic() - start, 1e-9)
    check_calls(api)
    if fake_busy > BUSY_FAKE:
        notes.append(f"the fake Bot API used {fake_busy:.0%} of a core: it may be the limit")
    latencies = [
        api.first_reply_at[chat] - api.available_at[update_id]
        for update_id, chat in update_ids.items()
    ]
    delivered = api.posted if api.webhook_set.is_set() else api.fetched
    return Measured(
        users=count,
        seconds=last_reply - start,
        latencies=latencies,
        cpu=settled.cpu - before.cpu,
        peak_rss_mb=settled.peak_rss_mb,
        deliveries_per_update=sum(delivered[u] for u in update_ids) / count,
        fake_busy=fake_busy,
        notes=notes,
    )


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def rows(mode: Mode, measured: Measured, tutorial: Measured | None) -> list[Row]:
    kolbot = mode != "tutorial"
    result = [Row("updates/s", measured.rate, GOAL_RATE if kolbot else None)]
    if kolbot:
        times = measured.rate / tutorial.rate if tutorial and tutorial.rate else None
        result.append(Row("× the tutorial bot", times, GOAL_TIMES_TUTORIAL))
    result += [
        Row("p50 to first reply, ms", percentile(measured.latencies, 0.50) * 1000, digits=0),
        Row("p99 to first reply, ms", percentile(measured.latencies, 0.99) * 1000, digits=0),
        Row("CPU s per 1,000 updates", measured.cpu / measured.users * 1000, digits=2),
        Row("peak RSS, MB", measured.peak_rss_mb),
        Row(
            "webhook deliveries per update" if mode == "webhook" else "fetches per update",
            measured.deliveries_per_update,
            GOAL_FETCHES if kolbot else None,
            digits=2,
        ),
    ]
    return result


async def run(config: Config) -> list[Outcome]:
    """Every mode asked for, the tutorial bot first so the others' ratios can use it."""
    measured: dict[Mode, Measured] = {}
    failures: dict[Mode, str] = {}
    order = sorted(config.modes, key=lambda mode: mode != "tutorial")
    for mode in order:
        count = config.tutorial_users if mode == "tutorial" else config.users
        try:
            measured[mode] = await measure(mode, make_users(count, config.seed), config)
        except Exception as error:
            failures[mode] = describe(error)
    outcomes = []
    for mode in MODES:
        if mode not in config.modes:
            continue
        name = "ingress: tutorial bot" if mode == "tutorial" else f"ingress: kolbot {mode}"
        if mode in failures:
            outcomes.append(Outcome(name, "failed", failures[mode]))
            continue
        result = measured[mode]
        details = {
            "users": result.users,
            "seconds": result.seconds,
            "cpu_seconds": result.cpu,
            "fake_busy": result.fake_busy,
            "delay": config.delay,
            "seed": config.seed,
        }
        outcome = Outcome(name, rows=rows(mode, result, measured.get("tutorial")))
        outcome.notes, outcome.details = result.notes, details
        outcomes.append(outcome)
    return outcomes
