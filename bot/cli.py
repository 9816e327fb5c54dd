"""``kolbot``: run the bot and manage its database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from bot.app import App
from bot.core.platform import Platform
from bot.core.router import Command
from bot.settings import Settings
from storage.database import Database

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
    return 0
