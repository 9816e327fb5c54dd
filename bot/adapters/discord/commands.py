"""Slash commands for the core's commands, named and described in every catalog language.

Discord shows each person the command menu in their client's language, so names and
descriptions come from the gettext catalogs (names under msgctxt ``command name``). The bot
always receives the English name, which is what the core routes on.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import discord
from discord import app_commands

from bot.core.router import COMMAND_CONTEXT, Command
from bot.i18n import DEFAULT_LANGUAGE, normalize_language, translator

log = logging.getLogger(__name__)

MAX_NAME = 32
MAX_DESCRIPTION = 100
CommandHandler = Callable[[discord.Interaction[Any], str], Awaitable[None]]


def language_for(locale: discord.Locale) -> str | None:
    """The catalog language for a Discord locale, or None when English (the default) or none."""
    language = normalize_language(locale.value)
    return language if language != DEFAULT_LANGUAGE else None


def _allowed(char: str) -> bool:
    """Discord's ``[-_\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]``."""
    if char in "-_" or unicodedata.category(char)[0] in "LN":
        return True
    return "\u0900" <= char <= "\u097f" or "\u0e00" <= char <= "\u0e7f"


def command_name(translated: str, english: str) -> str:
    """A translated name as Discord accepts it (lowercase, no spaces, 1-32 characters), or the
    English name when the translation cannot be made to fit."""
    name = "-".join(translated.lower().split())
    if 0 < len(name) <= MAX_NAME and all(_allowed(char) for char in name):
        return name
    log.warning("command name %r does not fit Discord's rules; using %r", translated, english)
    return english


def command_description(translated: str) -> str:
    text = " ".join(translated.split())
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


class CatalogTranslator(app_commands.Translator):
    """Feeds the gettext catalogs to discord.py's command sync."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        language = language_for(locale)
        if language is None:
            return None
        t = translator(language)
        if context.location is app_commands.TranslationContextLocation.command_name:
            return command_name(t.pgettext(COMMAND_CONTEXT, string.message), string.message)
        if context.location is app_commands.TranslationContextLocation.command_description:
            return command_description(t._(string.message))
        return None


def slash_command(
    command: Command, handler: CommandHandler
) -> app_commands.Command[Any, Any, Any]:
    async def callback(interaction: discord.Interaction[Any]) -> None:
        await handler(interaction, command.name)

    return app_commands.Command(
        name=app_commands.locale_str(command.name),
        description=app_commands.locale_str(command_description(command.description)),
        callback=callback,
    )


async def sync_commands(
    client: discord.Client,
    commands: Sequence[Command],
    handler: CommandHandler,
    guild_ids: Sequence[int],
) -> app_commands.CommandTree[Any]:
    """Register every command and publish them: to each guild in ``guild_ids`` (shown at once,
    for development), else globally (clients may need a restart to show changes)."""
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
    await tree.set_translator(CatalogTranslator())
    for command in commands:
        tree.add_command(slash_command(command, handler))
    if guild_ids:
        for guild_id in guild_ids:
            guild = discord.Object(id=guild_id)
            tree.copy_global_to(guild=guild)
            synced = await tree.sync(guild=guild)
            log.info("synced %d commands to guild %d", len(synced), guild_id)
    else:
        synced = await tree.sync()
        log.info("synced %d commands globally", len(synced))
    return tree
