"""Every setting, read from the environment and ``.env``; each one is listed in .env.example."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KOLBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database: Path = Path("kolbot.db")
    # Encrypts payout details at rest. Unset: a key file is created beside the database.
    secret_key: SecretStr | None = None
    log_level: str = "INFO"

    min_followers: int = Field(default=1000, ge=0)
    signup_ttl_days: int = Field(default=7, ge=1)

    telegram_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = Field(default=8443, ge=1, le=65535)
    telegram_webhook_secret: SecretStr | None = None
    # Sends paced under Telegram's limits: overall and per private chat a second, per group a
    # minute. Telegram allows ~30/s overall, up to 1000/s with paid broadcasts.
    telegram_rate: int = Field(default=30, ge=2, le=1000)
    telegram_chat_rate: float = Field(default=1.0, gt=0)
    telegram_chat_burst: int = Field(default=3, ge=1)
    telegram_group_rate: int = Field(default=20, ge=2)

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

    @property
    def key_file(self) -> Path:
        return self.database.with_suffix(".key")
