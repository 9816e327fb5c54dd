"""``kolbot``: run the bot and manage its database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta

from bot.app import App
from bot.core.platform import Platform
from bot.core.router import Command
from bot.settings import Settings
from storage.clock import utcnow
from storage.sqlite import Database, SqliteStore

log = logging.getLogger("kolbot")

# Libraries whose DEBUG/INFO logs carry what must never be logged: request URLs with the bot
# token (httpx), SQL parameters with conversation data (aiosqlite), raw gateway events with
# what people typed and interaction tokens (discord.py).
QUIET_LOGGERS = (
    "httpx",
    "apscheduler",
    "aiosqlite",
    "discord.gateway",
    "discord.http",
    "discord.webhook",
    "discord.client",
    "telegram",
    "aiohttp.access",
)


def build_platforms(settings: Settings, commands: Sequence[Command]) -> list[Platform]:
    """Every platform with a token; the console when there is none."""
    platforms: list[Platform] = []
    if settings.telegram_token is not None:
        from bot.adapters.telegram_adapter import TelegramPlatform  # noqa: PLC0415

        platforms.append(TelegramPlatform(settings, commands))
    if settings.discord_token is not None:
        from bot.adapters.discord_adapter import DiscordPlatform  # noqa: PLC0415

        platforms.append(DiscordPlatform(settings, commands))
    if not platforms:
        from bot.adapters.console_adapter import ConsolePlatform  # noqa: PLC0415

        platforms.append(ConsolePlatform())
    return platforms


def _has_platform_token(settings: Settings) -> bool:
    return settings.telegram_token is not None or settings.discord_token is not None


async def _run(settings: Settings) -> None:
    app = await App.open(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        commands = list(app.dispatcher.router.commands.values())
        await app.run(build_platforms(settings, commands), stop)
    finally:
        await app.close()


async def _open_store(settings: Settings) -> SqliteStore:
    return await SqliteStore.open(
        settings.database,
        timedelta(days=settings.signup_ttl_days),
        durability=settings.database_durability,
    )


async def _outbox_status(settings: Settings) -> None:
    store = await _open_store(settings)
    try:
        async with store.reading() as uow:
            counts = await uow.outbox.counts()
            oldest = await uow.outbox.oldest_pending()
    finally:
        await store.close()
    if not counts:
        print("the outbox is empty")
        return
    print(f"{'platform':<10} {'status':<8} {'messages':>9}")
    for platform, status, rows in counts:
        print(f"{platform:<10} {status:<8} {rows:>9}")
    if oldest is not None:
        age = utcnow() - oldest
        print(f"oldest unsent: queued {oldest:%Y-%m-%d %H:%M:%S} UTC ({_age(age)} ago)")


async def _outbox_retry(settings: Settings) -> None:
    store = await _open_store(settings)
    try:
        async with store.unit_of_work() as uow:
            again = await uow.outbox.retry_failed(utcnow())
    finally:
        await store.close()
    print(f"{again} failed message(s) queued again; a running bot sends them within a second")


async def _inbox_status(settings: Settings) -> None:
    store = await _open_store(settings)
    try:
        async with store.reading() as uow:
            counts = await uow.inbox.counts()
            dead = await uow.inbox.dead_letters(20)
    finally:
        await store.close()
    for status in ("pending", "handled", "dead"):
        print(f"{status:<8} {counts.get(status, 0):>9}")
    if dead:
        print("set aside (newest first; kept for inspection, not handled again):")
        for item in dead:
            print(
                f"  #{item.id} {item.source} update {item.update_id} after {item.attempts} "
                f"tries: {item.last_error or ''}"
            )


def _age(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}min"
    return f"{seconds // 3600}h"


async def _upgrade(settings: Settings) -> None:
    db = await Database.open(settings.database, migrate=False)
    try:
        applied = await db.upgrade()
    finally:
        await db.close()
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print(f"{settings.database}: up to date")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="kolbot",
        description="A chat bot for influencer programmes on Telegram and Discord. "
        "Settings come from KOLBOT_* environment variables and .env (see .env.example).",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "run",
        help="start the bot",
        description="Start the bot on every platform with a token set; with none, chat on "
        "the console (stdin/stdout). Migrates the database first.",
    )
    db = commands.add_parser("db", help="manage the database", description="Database commands.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    db_commands.add_parser(
        "upgrade",
        help="apply pending migrations",
        description="Apply the numbered migrations not yet applied; safe to run repeatedly.",
    )
    outbox = commands.add_parser(
        "outbox",
        help="see and retry outgoing messages",
        description="The outbox: every "
        "message kolbot sends waits there until the platform took it.",
    )
    outbox_commands = outbox.add_subparsers(dest="outbox_command", required=True, metavar="CMD")
    outbox_commands.add_parser(
        "status",
        help="messages per platform and status, and the oldest unsent",
        description="Counts of messages per platform and status (pending, sending, sent, "
        "blocked, failed), and how long the oldest unsent one has waited.",
    )
    retry = outbox_commands.add_parser(
        "retry",
        help="queue failed messages again",
        description="Queue again the messages that failed (after a long outage, say).",
    )
    retry.add_argument("--failed", action="store_true", required=True, help="the failed ones")
    inbox = commands.add_parser(
        "inbox",
        help="see received updates",
        description="The inbox: every update is stored "
        "there before it is acknowledged to the platform.",
    )
    inbox_commands = inbox.add_subparsers(dest="inbox_command", required=True, metavar="CMD")
    inbox_commands.add_parser(
        "status",
        help="updates per status, and the ones set aside",
        description="Counts of updates pending, handled and set aside (dead letters: the "
        "database could not take them after every try), with the latest set aside.",
    )
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if args.command == "run":
        if not _has_platform_token(settings) and "log_level" not in settings.model_fields_set:
            # On the console, the chat is the interface: keep routine logs out of it.
            logging.getLogger().setLevel(logging.WARNING)
        asyncio.run(_run(settings))
    elif args.command == "db" and args.db_command == "upgrade":
        asyncio.run(_upgrade(settings))
    elif args.command == "outbox" and args.outbox_command == "status":
        asyncio.run(_outbox_status(settings))
    elif args.command == "outbox" and args.outbox_command == "retry":
        asyncio.run(_outbox_retry(settings))
    elif args.command == "inbox" and args.inbox_command == "status":
        asyncio.run(_inbox_status(settings))
    return 0
