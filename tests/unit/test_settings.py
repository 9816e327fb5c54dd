"""Settings: every field is documented in .env.example, and secrets stay secret."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_lists_every_setting() -> None:
    documented = set(re.findall(r"^KOLBOT_([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_tokens_never_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOLBOT_TELEGRAM_TOKEN", "123:very-secret")
    monkeypatch.setenv("KOLBOT_DISCORD_TOKEN", "discord-very-secret")
    settings = Settings(_env_file=None)
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(settings.model_dump())


def test_guild_ids_from_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOLBOT_DISCORD_GUILD_IDS", "123, 456")
    assert Settings(_env_file=None).discord_guild_ids == [123, 456]
