"""Slash commands are published at start, in every catalog language Discord has, and only
when Discord does not have them already."""

from __future__ import annotations

import gettext
import logging
from typing import ClassVar

import pytest

from bot.core.router import COMMAND_CONTEXT
from bot.i18n import translator
from bot.settings import Settings
from tests.e2e.discord_harness import discord_settings, running_bot
from tests.fakes.discord_server import (
    GLOBAL_COMMANDS_ROUTE,
    GUILD_COMMANDS_ROUTE,
    FakeDiscord,
    Json,
    valid_command_name,
)

pytest_plugins = ["tests.e2e.discord_fixtures"]

LOCALES = {"ru": "ru", "fr": "fr", "es-ES": "es", "pl": "pl"}


class RussianCatalog(gettext.NullTranslations):
    """Translations chosen to exercise every rule, whether or not .mo files are compiled."""

    NAMES: ClassVar[dict[str, str]] = {
        "start": "Начать",
        "profile": "Мой профиль",
        "help": "помощь!",
        "edit": "начать",  # a clash Discord would refuse: /edit keeps its English name
    }
    TEXTS: ClassVar[dict[str, str]] = {
        "Join the programme": "Вступить в программу",
        "Show your profile": "Профиль " * 20,
    }

    def pgettext(self, context: str, message: str) -> str:
        assert context == COMMAND_CONTEXT
        return self.NAMES.get(message, message)

    def gettext(self, message: str) -> str:
        return self.TEXTS.get(message, message)


def expected_name(language: str, name: str) -> str:
    translated = "-".join(translator(language).pgettext(COMMAND_CONTEXT, name).lower().split())
    return translated if valid_command_name(translated) else name


def by_name(commands: list[Json]) -> dict[str, Json]:
    return {command["name"]: command for command in commands}


async def test_commands_are_synced_with_their_translations(
    dc_settings: Settings, discord_server: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(translator("ru"), "_catalog", RussianCatalog())
    async with running_bot(dc_settings, discord_server) as bot:
        core_commands = bot.app.dispatcher.router.commands
    synced = by_name(discord_server.commands[None])
    assert synced.keys() == core_commands.keys()
    for name, command in synced.items():
        assert command["description"] == core_commands[name].description
        assert command["description_localizations"].keys() >= LOCALES.keys()
        for locale, language in LOCALES.items():
            if (locale, name) != ("ru", "edit"):
                assert command["name_localizations"][locale] == expected_name(language, name)
            description = translator(language)._(core_commands[name].description)
            if len(description) <= 100:
                assert command["description_localizations"][locale] == description
    russian = {
        name: synced[name]["name_localizations"].get("ru", name) for name in RussianCatalog.NAMES
    }
    assert russian == {"start": "начать", "profile": "мой-профиль", "help": "help", "edit": "edit"}
    descriptions = synced["profile"]["description_localizations"]
    assert len(descriptions["ru"]) == 100
    assert descriptions["ru"].endswith("…")
    assert synced["start"]["description_localizations"]["ru"] == "Вступить в программу"


async def test_development_guilds_get_the_commands_instantly(
    settings: Settings, discord_server: FakeDiscord
) -> None:
    in_guild = discord_settings(
        settings, discord_server, discord_guild_ids=[discord_server.guild_id]
    )
    async with running_bot(in_guild, discord_server):
        pass
    assert None not in discord_server.commands  # nothing published globally
    guild_commands = by_name(discord_server.commands[discord_server.guild_id])
    assert "start" in guild_commands
    assert guild_commands["start"]["name_localizations"].keys() >= LOCALES.keys()


def requests_to(server: FakeDiscord, method: str, route: str) -> int:
    return sum(1 for r in server.requests if r.route == f"{method} {route}")


async def test_commands_discord_already_has_are_not_sent_again(
    dc_settings: Settings, discord_server: FakeDiscord
) -> None:
    server = discord_server
    async with running_bot(dc_settings, server):
        pass
    first = server.commands[None]
    async with running_bot(dc_settings, server):  # a restart: the same commands
        pass
    assert requests_to(server, "GET", GLOBAL_COMMANDS_ROUTE) == 2
    assert requests_to(server, "PUT", GLOBAL_COMMANDS_ROUTE) == 1
    assert server.commands[None] is first


async def test_guild_commands_replace_the_global_ones_and_survive_a_bad_guild(
    settings: Settings, discord_server: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    server = discord_server
    async with running_bot(discord_settings(settings, server), server):
        pass
    published = by_name(server.commands[None]).keys()
    assert published
    not_joined = server.guild_id + 1
    guilds = [not_joined, server.guild_id]
    with caplog.at_level(logging.ERROR):
        async with running_bot(
            discord_settings(settings, server, discord_guild_ids=guilds), server
        ):
            pass
    assert server.commands[None] == []  # nothing left over from the global publish
    assert by_name(server.commands[server.guild_id]).keys() == published
    assert [r.getMessage() for r in caplog.records] == [
        f"Discord refused the slash commands to guild {not_joined}: "
        "HTTP 403 (code 50001): Missing Access"
    ]
    assert requests_to(server, "PUT", GUILD_COMMANDS_ROUTE) == 1
