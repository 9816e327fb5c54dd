"""Every setting, read from the environment and ``.env``; each one is listed in .env.example."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
from pathlib import Path
from typing import Annotated, Final, Literal
from urllib.parse import urlsplit

from platformdirs import user_data_path
from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# A passphrase shorter than this is refused; a Fernet key (44 characters) always passes.
MIN_PASSPHRASE: Final = 16
DEFAULT_KEY_FILE: Final = "kolbot.key"
DEFAULT_DATABASE_NAME: Final = "kolbot.db"
DEFAULT_TELEGRAM_BASE_URL: Final = "https://api.telegram.org/bot"
# BotFather's tokens: the bot's id, a colon and a secret of 35 characters; a little room either
# way, as Telegram never promised that length. Telegram answers a token of another shape with
# 404, as it answers an address that is no Bot API, so the shape is judged here.
TELEGRAM_TOKEN: Final = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{30,64}")
# A DNS name (RFC 1123 labels; underscores as some internal names have them).
_HOST_NAME: Final = re.compile(
    r"(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
    r"(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?"
)


def _operator_accounts(value: object) -> object:
    """``telegram:123,discord:456``: each one a platform and that platform's user id."""
    if not isinstance(value, str):
        return value
    accounts = tuple(part for part in value.replace(" ", "").split(",") if part)
    for account in accounts:
        platform, _, user_id = account.partition(":")
        if not (platform.isalpha() and platform.islower() and user_id.isalnum()):
            raise ValueError(f"{account!r} is not platform:user_id, e.g. telegram:123")
    return accounts


def default_database() -> Path:
    """Where the database is when KOLBOT_DATABASE does not say: one place whatever the
    current folder, so the bot and every CLI command find the same database (the user's data
    folder, ~/.local/share/kolbot on Linux). A kolbot.db in the current folder, where kolbot
    kept it before, is still the one used: never replaced by a new, empty one."""
    here = Path(DEFAULT_DATABASE_NAME)
    if here.exists():
        return here
    return user_data_path("kolbot") / DEFAULT_DATABASE_NAME


def same_file(one: Path, other: Path) -> bool:
    return os.path.realpath(one) == os.path.realpath(other)


def valid_host(host: str) -> bool:
    """An IP address, or a name DNS can hold (in its IDNA form for a name in letters beyond
    ASCII)."""
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return True
    try:
        ascii_name = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return _HOST_NAME.fullmatch(ascii_name) is not None


def web_address_problem(url: str) -> str | None:
    """What keeps ``url`` from being an http:// or https:// address to connect to, or None:
    aiohttp would otherwise say it at the first request, in a traceback."""
    try:
        parts = urlsplit(url)
    except ValueError:  # a broken [IPv6] address
        return f"{url!r} names no valid host"
    try:
        port = parts.port
    except ValueError:  # out of range, or not a number
        return f"{url!r} has no valid port (a whole number from 1 to 65535)"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{url!r} is not an http:// or https:// address"
    if not parts.hostname or not valid_host(parts.hostname):
        return f"{url!r} names no valid host"
    if port == 0:
        return f"{url!r} has no valid port (a whole number from 1 to 65535)"
    return None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KOLBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # A line copied from .env.example with no value means "not set".
        env_ignore_empty=True,
    )

    database: Path = Field(default_factory=default_database)
    # normal survives a killed process; full survives power loss too, at some speed.
    database_durability: Literal["normal", "full"] = "normal"
    # Encrypts payout details at rest: a passphrase of 16 characters or more, or a Fernet key.
    # Unset: the key is kept in ``key_file``, created with the database.
    secret_key: SecretStr | None = None
    # Unset: kolbot.key in the database's folder, whatever the database is called, so that
    # renaming the database never parts it from its key.
    key_file: Path | None = None
    log_level: str = "INFO"

    # Chat accounts that run the programme (review applicants), besides the command line.
    operators: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_operator_accounts)] = ()

    min_followers: int = Field(default=1000, ge=0, le=1_000_000_000)
    # Kept well inside what dates can hold: a signup's expiry is now plus this.
    signup_ttl_days: int = Field(default=7, ge=1, le=365)

    telegram_token: SecretStr | None = None
    telegram_base_url: str = DEFAULT_TELEGRAM_BASE_URL
    telegram_webhook_url: str | None = None
    # Old names of KOLBOT_WEB_LISTEN / KOLBOT_WEB_PORT, still read (with a warning).
    telegram_webhook_listen: str | None = None
    telegram_webhook_port: int | None = Field(default=None, ge=1, le=65535)
    telegram_webhook_secret: SecretStr | None = None
    # Sends paced under Telegram's limits: overall and per private chat a second, per group a
    # minute. Telegram allows ~30/s overall, up to 1000/s with paid broadcasts.
    # Above 1000 only makes sense against a local Bot API server under test (benchmarks).
    telegram_rate: int = Field(default=30, ge=2, le=100_000)
    telegram_chat_rate: float = Field(default=1.0, ge=0.1, le=1000.0, allow_inf_nan=False)
    telegram_chat_burst: int = Field(default=3, ge=1, le=100)
    telegram_group_rate: int = Field(default=20, ge=2, le=60_000)

    # The one web server: the Telegram webhook, /healthz, and later postbacks and sign-in
    # pages. It runs whenever a platform token is set; port 0 turns it off.
    web_listen: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)

    # Delivery: sends at once across all chats, how long a platform outage is ridden out
    # before a message counts as failed, and how long sent messages are kept.
    outbox_concurrency: int = Field(default=512, ge=1, le=1000)
    delivery_give_up_seconds: int = Field(default=3600, ge=60, le=7 * 86400)
    # How long a send waits for the platform's answer: past it, the message may have arrived
    # all the same, so it is repeated at most ``delivery_unconfirmed_repeats`` times and then
    # left unconfirmed for an operator. Long enough to wait for a platform that is just slow;
    # at most two minutes, so a send (twice that, at most) never outlives its 5-minute lease.
    delivery_read_timeout_seconds: float = Field(
        default=30.0, ge=0.05, le=120.0, allow_inf_nan=False
    )
    delivery_unconfirmed_repeats: int = Field(default=1, ge=0, le=10)
    outbox_retention_days: int = Field(default=7, ge=1, le=365)
    # Updates handled at once (different people); one person's always in order.
    inbox_workers: int = Field(default=8, ge=1, le=256)
    # Tries of an update the database could not take before it is set aside.
    inbox_max_attempts: int = Field(default=10, ge=1, le=1000)
    # More than this many messages from one person within the window are dropped.
    flood_limit: int = Field(default=30, ge=5, le=10_000)
    flood_window_seconds: float = Field(default=10.0, ge=1.0, le=3600.0, allow_inf_nan=False)
    # SIGTERM or SIGINT: finish what is in flight, exit within this many seconds.
    shutdown_timeout_seconds: float = Field(default=5.0, ge=1.0, le=300.0, allow_inf_nan=False)

    discord_token: SecretStr | None = None
    discord_guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Discord bans an IP over its global limit of 50 requests a second.
    discord_global_rate: float = Field(default=40.0, ge=0.5, le=50.0, allow_inf_nan=False)
    discord_dm_rate: int = Field(default=5, ge=1, le=50)
    discord_dm_period: float = Field(default=5.0, ge=0.1, le=3600.0, allow_inf_nan=False)

    @field_validator("discord_guild_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part for part in value.replace(" ", "").split(",") if part]
            for part in parts:
                if not part.isdigit():
                    raise ValueError(f"{part!r} is not a server id")
            return [int(part) for part in parts]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("telegram_token", "discord_token", "telegram_webhook_secret", mode="before")
    @classmethod
    def _without_spaces(cls, value: object) -> object:
        """Tokens hold no spaces: a pasted one's trailing line break is no part of it, and a
        blank one is not set (as an empty one is)."""
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("telegram_token")
    @classmethod
    def _a_bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        """A token of another shape would be polled with forever, each poll refused."""
        if value is not None and not TELEGRAM_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("the value is not a Telegram bot token")
        return value

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        """A short passphrase is guessed quickly, and each guess can be tried offline against
        any copy of the database."""
        # Spaces around it count for nothing: sixteen of them are no passphrase.
        length = len(value.get_secret_value().strip()) if value is not None else MIN_PASSPHRASE
        if length < MIN_PASSPHRASE:
            raise ValueError(
                f"too short ({length} characters); to leave a short "
                "one, set a long one here and run `kolbot db rekey`, giving it the short one"
            )
        return value

    @field_validator("database")
    @classmethod
    def _a_file(cls, value: Path) -> Path:
        """SQLite reads ":memory:" as a database that each connection has on its own, gone at
        every stop."""
        if str(value) == ":memory:":
            raise ValueError("kolbot keeps its data in a file, not in memory")
        return value

    @field_validator("key_file")
    @classmethod
    def _apart_from_the_database(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        """The key cannot live in the database; and a key file found holding no key may be
        deleted, as kolbot advises, which would delete the database."""
        database = info.data.get("database")
        # realpath, unlike Path.resolve, does not raise on a loop of links.
        if value is not None and database is not None and same_file(value, database):
            raise ValueError("it is the database file itself; the key needs a file of its own")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown level {value!r}")
        return level

    @field_validator("telegram_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        problem = web_address_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("web_listen")
    @classmethod
    def _listen_address(cls, value: str) -> str:
        """An address the web server could listen on; whether it is this machine's is
        learnt by trying, before anything is created."""
        if not valid_host(value.strip("[]")):
            raise ValueError(f"{value!r} is no IP address or host name")
        return value

    @model_validator(mode="after")
    def _old_webhook_names(self) -> Settings:
        """KOLBOT_TELEGRAM_WEBHOOK_LISTEN / _PORT became KOLBOT_WEB_LISTEN / _PORT."""
        for old, new in (
            ("telegram_webhook_listen", "web_listen"),
            ("telegram_webhook_port", "web_port"),
        ):
            value = getattr(self, old)
            if value is None:
                continue
            logging.getLogger(__name__).warning(
                "KOLBOT_%s is deprecated; use KOLBOT_%s", old.upper(), new.upper()
            )
            if new not in self.model_fields_set:
                setattr(self, new, value)
        return self

    @model_validator(mode="after")
    def _webhook_served(self) -> Settings:
        """Telegram posts a webhook's updates to the web server, which port 0 turns off."""
        if self.telegram_token is not None and self.telegram_webhook_url and not self.web_port:
            raise ValueError(
                "KOLBOT_TELEGRAM_WEBHOOK_URL is set, and KOLBOT_WEB_PORT=0 turns off the web "
                "server that would receive its updates: set KOLBOT_WEB_PORT to the port the "
                "TLS proxy forwards the webhook to, or unset KOLBOT_TELEGRAM_WEBHOOK_URL to poll"
            )
        return self

    @property
    def key_path(self) -> Path:
        """Where the key is kept when KOLBOT_SECRET_KEY is not set."""
        if self.key_file is not None:
            return self.key_file
        return self.database.parent / DEFAULT_KEY_FILE

    @property
    def old_key_path(self) -> Path | None:
        """Where versions that named the key after the database kept it, when that differs:
        a key found there is moved to ``key_path`` once."""
        if self.key_file is not None:
            return None
        old = self.database.with_suffix(".key")
        return None if old == self.key_path else old
