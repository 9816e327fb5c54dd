"""The command menu, in English for everyone and in each language for its speakers."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Final

from telegram import Bot, BotCommand
from telegram import error as tg

from bot.core.router import Command
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, translator

log = logging.getLogger(__name__)

_COMMAND_NAME: Final = re.compile(r"[a-z0-9_]{1,32}")
_DESCRIPTION_LIMIT: Final = 256
# The command menu is worth this long a wait at start, not more.
_MENU_WAIT_LIMIT: Final = 10.0


def retry_after(error: tg.RetryAfter) -> float:
    # A timedelta once PTB_TIMEDELTA is on (see bot.adapters.telegram), else whole seconds.
    wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


async def publish_commands(bot: Bot, commands: Sequence[Command]) -> None:
    offered = []
    for command in commands:
        if _COMMAND_NAME.fullmatch(command.name):
            offered.append(command)
        else:
            log.warning("/%s cannot be a Telegram command (a-z, 0-9, _)", command.name)
    languages: list[str | None] = [None, *LANGUAGES]
    await asyncio.gather(*(_publish_menu(bot, offered, code) for code in languages))


async def _publish_menu(bot: Bot, commands: list[Command], language: str | None) -> None:
    t = translator(language or DEFAULT_LANGUAGE)
    menu = [
        BotCommand(command.name, t._(command.description)[:_DESCRIPTION_LIMIT] or command.name)
        for command in commands
    ]
    for attempt in range(2):
        try:
            await bot.set_my_commands(menu, language_code=language)
            return
        except tg.RetryAfter as limited:
            wait = retry_after(limited)
            if attempt == 0 and wait <= _MENU_WAIT_LIMIT:
                await asyncio.sleep(wait)
                continue
            error: tg.TelegramError = limited
        except tg.TelegramError as failure:
            error = failure
        # The menu is a convenience: typed commands work without it.
        log.warning("could not set the %s command menu: %s", language or "default", error)
        return
