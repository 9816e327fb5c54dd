"""Slash commands for the core's commands, named and described in every catalog language.

Discord shows each person the command menu in their client's language, so names and
descriptions come from the gettext catalogs (names under msgctxt ``command name``). The bot
always receives the English name, which is what the core routes on.

Publishing runs in the background, with retries: Discord rate-limits command updates, sometimes
for minutes, and the bot serves with the commands Discord already has meanwhile. Commands that
are already registered as they are are not sent again.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
import discord
from discord import app_commands
from discord.http import Route

from bot.adapters.discord.ratelimit import retry_after
from bot.core.router import COMMAND_CONTEXT, Command
from bot.i18n import DEFAULT_LANGUAGE, normalize_language, translator

log = logging.getLogger(__name__)

Json = dict[str, Any]
Sleep = Callable[[float], Awaitable[None]]

MAX_NAME: Final = 32
MAX_DESCRIPTION: Final = 100
GLOBAL_COMMANDS: Final = "/applications/{application_id}/commands"
GUILD_COMMANDS: Final = "/applications/{application_id}/guilds/{guild_id}/commands"
MAX_TRIES: Final = 8
FIRST_BACKOFF: Final = 5.0
MAX_BACKOFF: Final = 600.0
# What Discord reports for a field a command leaves out (or null).
REGISTERED_DEFAULTS: Final[Json] = {
    "type": 1,
    "options": [],
    "nsfw": False,
    "dm_permission": True,
    "name_localizations": {},
    "description_localizations": {},
}


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
    """Feeds the gettext catalogs to discord.py's command payloads."""

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


class PublishingTree(app_commands.CommandTree[Any]):
    """Builds the command payloads. It never runs a command: the adapter routes every
    interaction itself, in the order they arrive, including commands it no longer offers."""

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        return False


async def _routed_by_the_adapter(interaction: discord.Interaction[Any]) -> None:
    """Never called (see PublishingTree); discord.py wants a callback per command."""


def slash_command(command: Command) -> app_commands.Command[Any, Any, Any]:
    return app_commands.Command(
        name=app_commands.locale_str(command.name),
        description=app_commands.locale_str(command_description(command.description)),
        callback=_routed_by_the_adapter,
    )


def up_to_date(registered: list[Json], wanted: list[Json]) -> bool:
    """Whether Discord already has exactly the wanted commands. A field we leave null is
    Discord's to fill in, so only the fields we set are compared."""
    by_name = {command.get("name"): command for command in registered}
    if len(by_name) != len(registered) or by_name.keys() != {c["name"] for c in wanted}:
        return False
    for command in wanted:
        current = by_name[command["name"]]
        for key, value in command.items():
            if value is None:
                continue
            have = current.get(key)
            if (REGISTERED_DEFAULTS.get(key) if have is None else have) != value:
                return False
    return True


def distinct_names(payload: list[Json]) -> None:
    """Discord refuses two commands shown under one name in a locale: a translation that
    clashes with an earlier command's name there is dropped, leaving the English name."""
    locales = {locale for command in payload for locale in command["name_localizations"]}
    for locale in sorted(locales):
        shown: set[str] = set()
        for command in payload:
            names = command["name_localizations"]
            name = names.get(locale, command["name"])
            if name in shown and locale in names:
                log.warning(
                    "/%s is %r in %s, as another command is", command["name"], name, locale
                )
                del names[locale]
                name = command["name"]
            shown.add(name)


@dataclass(order=True)
class _Job:
    not_before: float
    order: int
    guild_id: int | None = field(compare=False)  # None: global
    payload: list[Json] = field(compare=False)
    tries: int = field(default=0, compare=False)

    def where(self) -> str:
        return "globally" if self.guild_id is None else f"to guild {self.guild_id}"


async def publish_commands(
    client: discord.Client,
    commands: Sequence[Command],
    guild_ids: Sequence[int],
    *,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Publish to each guild in ``guild_ids`` (shown at once, for development) and clear what a
    global publish left, or else publish globally (clients may need a restart to show changes).

    A guild that fails does not hold up the others; a rate limit is waited out, a server error
    retried with backoff, a refusal (no access to a guild, say) logged and given up.
    """
    tree = PublishingTree(client)
    catalog = CatalogTranslator()
    payload = [await slash_command(c).get_translated_payload(tree, catalog) for c in commands]
    distinct_names(payload)
    targets: list[tuple[int | None, list[Json]]] = [(guild, payload) for guild in guild_ids]
    if guild_ids:
        targets.append((None, []))
    else:
        targets.append((None, payload))
    queue = [_Job(0.0, order, guild, body) for order, (guild, body) in enumerate(targets)]
    while queue:
        job = heapq.heappop(queue)
        wait = job.not_before - time.monotonic()
        if wait > 0:
            await sleep(wait)
        hint = await _publish(client, job)
        if hint is None:
            continue
        job.tries += 1
        if job.tries >= MAX_TRIES:
            log.error(
                "gave up publishing slash commands %s after %d tries", job.where(), MAX_TRIES
            )
            continue
        delay = hint or min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (job.tries - 1))
        log.warning("publishing slash commands %s: retrying in %.0fs", job.where(), delay)
        job.not_before = time.monotonic() + delay
        heapq.heappush(queue, job)


async def _publish(client: discord.Client, job: _Job) -> float | None:
    """One attempt: None when done (or refused for good), else seconds to wait (0: back off)."""
    ids: Json = {"application_id": client.application_id}
    path = GLOBAL_COMMANDS
    if job.guild_id is not None:
        path, ids["guild_id"] = GUILD_COMMANDS, job.guild_id
    try:
        # Without with_localizations Discord leaves the localization dicts out.
        registered = await client.http.request(
            Route("GET", path, **ids), params={"with_localizations": "true"}
        )
        if up_to_date(registered, job.payload):
            log.info("slash commands %s are up to date", job.where())
            return None
        published = await client.http.request(Route("PUT", path, **ids), json=job.payload)
    except discord.RateLimited as error:
        return max(error.retry_after, 0.001)
    except discord.HTTPException as error:
        if error.status == 429:
            return max(retry_after(error), 0.001)
        if error.status >= 500:
            return 0.0
        log.error(
            "Discord refused the slash commands %s: HTTP %d (code %d): %s",
            job.where(),
            error.status,
            error.code,
            error.text,
        )
        return None
    except (aiohttp.ClientError, OSError):  # TimeoutError is an OSError
        return 0.0
    log.info("published %d slash commands %s", len(published), job.where())
    return None
