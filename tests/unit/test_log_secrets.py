"""Logs never carry a configured secret, wherever it shows up in a record."""

from __future__ import annotations

import logging
import sys

from pydantic import SecretStr

from bot.cli import JournalFormatter, SecretsHidden, _secrets
from bot.settings import Settings

TOKEN = "123456:telegram-token-secret-0123456789AB"
DISCORD = "discord-token-secret"
KEY = "a passphrase that is secret"


def record_with(message: str, error: BaseException | None = None) -> logging.LogRecord:
    info = (type(error), error, error.__traceback__) if error is not None else None
    return logging.LogRecord("kolbot", logging.ERROR, __file__, 1, message, None, info)


def test_secrets_are_hidden_in_messages_and_tracebacks() -> None:
    settings = Settings(
        _env_file=None,
        telegram_token=SecretStr(TOKEN),
        discord_token=SecretStr(DISCORD),
        secret_key=SecretStr(KEY),
    )
    formatter = SecretsHidden(JournalFormatter("%(message)s"), _secrets(settings))
    try:
        raise RuntimeError(f"could not connect to http://127.0.0.1:9{TOKEN}/getMe")
    except RuntimeError:
        error = sys.exc_info()[1]
    text = formatter.format(record_with(f"tokens {DISCORD} and {KEY}", error))
    assert "<3>tokens <secret> and <secret>" in text
    assert "http://127.0.0.1:9<secret>/getMe" in text
    for secret in (TOKEN, DISCORD, KEY):
        assert secret not in text
