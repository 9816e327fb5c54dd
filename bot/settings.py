"""Every setting, read from the environment and ``.env``; each one is listed in .env.example."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KOLBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # A line copied from .env.example with no value means "not set".
        env_ignore_empty=True,
    )

    database: Path = Path("kolbot.db")
    # normal survives a killed process; full survives power loss too, at some speed.
    database_durability: Literal["normal", "full"] = "normal"
    # Encrypts payout details at rest. Unset: a key file is created beside the database.
    secret_key: SecretStr | None = None
    log_level: str = "INFO"

    # Chat accounts that run the programme (review applicants), besides the command line.
    operators: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_operator_accounts)] = ()

    min_followers: int = Field(default=1000, ge=0)
    signup_ttl_days: int = Field(default=7, ge=1)

    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    # Old names of KOLBOT_WEB_LISTEN / KOLBOT_WEB_PORT, still read (with a warning).
    telegram_webhook_listen: str | None = None
    telegram_webhook_port: int | None = Field(default=None, ge=1, le=65535)
    telegram_webhook_secret: SecretStr | None = None
    # Sends paced under Telegram's limits: overall and per private chat a second, per group a
    # minute. Telegram allows ~30/s overall, up to 1000/s with paid broadcasts.
    # Above 1000 only makes sense against a local Bot API server under test (benchmarks).
    telegram_rate: int = Field(default=30, ge=2, le=100_000)
    telegram_chat_rate: float = Field(default=1.0, gt=0)
    telegram_chat_burst: int = Field(default=3, ge=1)
    telegram_group_rate: int = Field(default=20, ge=2)

    # The one web server: the Telegram webhook, /healthz, and later postbacks and sign-in
    # pages. It runs whenever a platform token is set; port 0 turns it off.
    web_listen: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)

    # Delivery: sends at once across all chats, how long a platform outage is ridden out
    # before a message counts as failed, and how long sent messages are kept.
    outbox_concurrency: int = Field(default=128, ge=1, le=1000)
    delivery_give_up_seconds: int = Field(default=3600, ge=60, le=7 * 86400)
    outbox_retention_days: int = Field(default=7, ge=1, le=365)
    # Updates handled at once (different people); one person's always in order.
    inbox_workers: int = Field(default=8, ge=1, le=256)
    # Tries of an update the database could not take before it is set aside.
    inbox_max_attempts: int = Field(default=10, ge=1, le=1000)
    # More than this many messages from one person within the window are dropped.
    flood_limit: int = Field(default=30, ge=5, le=10_000)
    flood_window_seconds: float = Field(default=10.0, ge=1.0, le=3600.0)
    # SIGTERM or SIGINT: finish what is in flight, exit within this many seconds.
    shutdown_timeout_seconds: float = Field(default=5.0, ge=1.0, le=300.0)

    discord_token: SecretStr | None = None
    discord_guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    discord_global_rate: float = Field(default=40.0, gt=0)
    discord_dm_rate: int = Field(default=5, ge=1)
    discord_dm_period: float = Field(default=5.0, gt=0)

    @field_validator("discord_guild_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(" ", "").split(",") if part]
        if isinstance(value, int):
            return [value]
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

    @property
    def key_file(self) -> Path:
        return self.database.with_suffix(".key")
